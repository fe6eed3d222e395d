#include "exec.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/strings.h"
#include "hcs_session.h"

namespace hcsctl {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int c_UsageExitCode = 2;
// After the exit event, output still in flight gets this long to reach EOF (a process that left a
// background child holding its stdout open would otherwise keep hcsctl forever).
constexpr auto c_OutputGrace = std::chrono::seconds(5);
// With every output closed and no exit event yet, ask hcsd this often whether the process exited.
constexpr int c_ExitPollMs = 5000;
// Wake-up byte for "the process callback has news" (signal numbers use 1..64).
constexpr unsigned char c_ProcessEventByte = 0xFF;

// The write end of the wake-up pipe, for signal handlers and the process callback.
int g_wakeFd = -1;

void wake(unsigned char byte)
{
    if (g_wakeFd >= 0) (void)!write(g_wakeFd, &byte, 1);
}

void onSignal(int signal)
{
    const int saved = errno;
    wake(static_cast<unsigned char>(signal));
    errno = saved;
}

// The signals hcsctl exec handles itself for as long as it lives; the previous dispositions come back
// on every exit path.
class SignalRouting {
public:
    SignalRouting()
    {
        struct sigaction action {};
        action.sa_handler = onSignal;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        for (size_t i = 0; i < kSignals.size(); ++i)
            sigaction(kSignals[i], &action, &previous_[i]);
        struct sigaction ignore {};
        ignore.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &ignore, &previousPipe_);  // a closed local stdout is an EPIPE, not death
    }
    ~SignalRouting()
    {
        for (size_t i = 0; i < kSignals.size(); ++i)
            sigaction(kSignals[i], &previous_[i], nullptr);
        sigaction(SIGPIPE, &previousPipe_, nullptr);
    }
    SignalRouting(const SignalRouting&) = delete;
    SignalRouting& operator=(const SignalRouting&) = delete;

private:
    static constexpr std::array<int, 5> kSignals{SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH};
    std::array<struct sigaction, 5> previous_{};
    struct sigaction previousPipe_ {};
};

// The local terminal in raw mode (-t), restored when this goes away — on every exit path.
class RawTerminal {
public:
    explicit RawTerminal(int fd) : fd_(fd)
    {
        if (!isatty(fd_) || tcgetattr(fd_, &saved_) != 0) return;
        termios raw = saved_;
        cfmakeraw(&raw);
        active_ = tcsetattr(fd_, TCSADRAIN, &raw) == 0;
    }
    ~RawTerminal()
    {
        if (active_) tcsetattr(fd_, TCSADRAIN, &saved_);
    }
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;

private:
    int fd_;
    termios saved_{};
    bool active_ = false;
};

// What the process callback saw, handed to the main loop. Lifecycle: on execProcess' stack, declared
// before the process handle, whose close (which waits for a running callback) comes first.
struct ProcessEvents {
    std::mutex mutex;
    std::optional<std::string> exitStatus;  // ProcessStatus of ProcessExited
    bool disconnected = false;
};

void CALLBACK onProcessEvent(HCS_EVENT* event, void* context)
{
    auto* events = static_cast<ProcessEvents*>(context);
    {
        std::lock_guard lock(events->mutex);
        if (event->Type == HcsEventProcessExited)
            events->exitStatus = event->EventData ? hc::toUtf8Lossy(event->EventData) : std::string("{}");
        else if (event->Type == HcsEventServiceDisconnect)
            events->disconnected = true;
        else
            return;
    }
    wake(c_ProcessEventByte);
}

class ProcessHandle {
public:
    ~ProcessHandle()
    {
        if (process_) HcsCloseProcess(process_);
    }
    HCS_PROCESS get() const { return process_; }
    HCS_PROCESS* put() { return &process_; }

private:
    HCS_PROCESS process_ = nullptr;
};

class Descriptor {
public:
    Descriptor() = default;
    explicit Descriptor(HANDLE handle) : fd_(handle ? static_cast<int>(reinterpret_cast<intptr_t>(handle)) : -1) {}
    ~Descriptor() { reset(); }
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;
    int get() const { return fd_; }
    bool open() const { return fd_ >= 0; }
    void reset()
    {
        if (fd_ >= 0) close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

bool writeAll(int fd, const char* data, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            pollfd p{fd, POLLOUT, 0};
            (void)poll(&p, 1, -1);
            continue;
        }
        if (n <= 0) return false;
        data += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

std::pair<int, int> localConsoleSize()
{
    winsize size{};
    for (int fd : {STDIN_FILENO, STDOUT_FILENO})
        if (ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_row > 0 && size.ws_col > 0) return {size.ws_row, size.ws_col};
    return {0, 0};
}

// Runs one process call to completion, bounded; the result matters to nobody but the log.
HRESULT runProcessCall(HRESULT(WINAPI* call)(HCS_PROCESS, HCS_OPERATION, PCWSTR), HCS_PROCESS process,
                       const std::wstring& document)
{
    return runOperation(5000,
                        [&](HCS_OPERATION operation) {
                            return call(process, operation, document.empty() ? nullptr : document.c_str());
                        })
        .hr;
}

}  // namespace

bool parseExecArguments(const std::vector<std::string>& args, ExecRequest& request, std::string& error)
{
    size_t i = 0;
    auto needValue = [&](const std::string& option, std::string& value) {
        if (i + 1 >= args.size()) {
            error = "exec: " + option + " needs a value";
            return false;
        }
        value = args[++i];
        return true;
    };
    for (; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--") {
            ++i;
            break;
        }
        if (arg.size() > 1 && arg[0] == '-' && arg[1] != '-' && arg.find_first_not_of("it", 1) == std::string::npos) {
            for (char flag : arg.substr(1))
                (flag == 'i' ? request.interactive : request.tty) = true;
        } else if (arg == "-e" || arg == "--env") {
            std::string pair;
            if (!needValue(arg, pair)) return false;
            size_t eq = pair.find('=');
            if (eq == std::string::npos || eq == 0) {
                error = "exec: -e wants NAME=VALUE, not \"" + pair + "\"";
                return false;
            }
            request.environment[pair.substr(0, eq)] = pair.substr(eq + 1);
        } else if (arg == "-w" || arg == "--workdir") {
            if (!needValue(arg, request.workingDirectory)) return false;
        } else if (arg == "-u" || arg == "--user") {
            if (!needValue(arg, request.user)) return false;
        } else if (arg == "--interactive") {
            request.interactive = true;
        } else if (arg == "--tty") {
            request.tty = true;
        } else if (!arg.empty() && arg[0] == '-') {
            error = "exec: unknown option " + arg;
            return false;
        } else if (request.system.empty()) {
            request.system = arg;
        } else {
            break;  // the command starts here
        }
    }
    if (request.system.empty()) {
        error = "exec needs a SYSTEM";
        return false;
    }
    request.command.assign(args.begin() + static_cast<std::ptrdiff_t>(std::min(i, args.size())), args.end());
    if (request.command.empty()) {
        error = "exec needs a command to run (hcsctl exec SYSTEM -- CMD ARGS...)";
        return false;
    }
    return true;
}

std::string processParametersFor(const ExecRequest& request, int consoleHeight, int consoleWidth)
{
    json parameters = {{"CommandArgs", request.command},
                       {"EmulateConsole", request.tty},
                       {"CreateStdInPipe", request.interactive},
                       {"CreateStdOutPipe", true},
                       // A console merges stderr into its one stream, as a terminal does.
                       {"CreateStdErrPipe", !request.tty}};
    if (!request.environment.empty()) parameters["Environment"] = request.environment;
    if (!request.workingDirectory.empty()) parameters["WorkingDirectory"] = request.workingDirectory;
    if (!request.user.empty()) parameters["User"] = request.user;
    if (request.tty && consoleHeight > 0 && consoleWidth > 0)
        parameters["ConsoleSize"] = json::array({consoleHeight, consoleWidth});
    return parameters.dump();
}

int exitCodeFromStatus(const std::string& processStatus)
{
    auto status = json::parse(processStatus, nullptr, false);
    if (!status.is_object()) return -1;
    if (auto signal = status.find("Signal"); signal != status.end() && signal->is_number_integer())
        return 128 + (signal->get<int>() & 0x7F);
    auto exited = status.find("Exited");
    if (exited != status.end() && exited->is_boolean() && !exited->get<bool>()) return -1;
    auto code = status.find("ExitCode");
    if (code == status.end() || !code->is_number()) return -1;
    if (code->is_number_unsigned() && code->get<uint64_t>() == 0xFFFFFFFFu) return -1;  // fate unknown
    return static_cast<int>(code->get<int64_t>() & 0xFF);
}

int execProcess(const Options& options, const ExecRequest& request)
{
    std::wstring wideId;
    auto converted = hc::fromUtf8(request.system);
    if (!converted) {
        std::cerr << "hcsctl: the system id is not valid UTF-8" << std::endl;
        return c_UsageExitCode;
    }
    wideId = std::move(*converted);
    auto [height, width] = request.tty ? localConsoleSize() : std::pair<int, int>{0, 0};
    auto parameters = hc::fromUtf8(processParametersFor(request, height, width));
    if (!parameters) {
        std::cerr << "hcsctl: exec: the command is not valid UTF-8" << std::endl;
        return c_UsageExitCode;
    }
    auto report = [&](const std::string& what, HRESULT hr, const std::string& document) {
        std::string message = errorMessageOf(document);
        std::cerr << "hcsctl: " << what << ": " << describeHresult(hr) << (message.empty() ? "" : ": ") << message
                  << std::endl;
        return exitCodeFor(hr);
    };

    int wakePipe[2];
    if (pipe2(wakePipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        std::cerr << "hcsctl: exec: pipe: " << std::strerror(errno) << std::endl;
        return 1;
    }
    Descriptor wakeRead(reinterpret_cast<HANDLE>(static_cast<intptr_t>(wakePipe[0])));
    Descriptor wakeWrite(reinterpret_cast<HANDLE>(static_cast<intptr_t>(wakePipe[1])));
    g_wakeFd = wakeWrite.get();
    struct ResetWake {
        ~ResetWake() { g_wakeFd = -1; }
    } resetWake;
    SignalRouting signals;

    ProcessEvents events;  // outlives the process handle (declared first)
    SystemHandle system;
    if (HRESULT hr = openSystem(wideId, system).hr; FAILED(hr)) return report("open " + request.system, hr, {});
    ProcessHandle process;
    HCS_PROCESS_INFORMATION info{};
    {
        HCS_OPERATION operation = HcsCreateOperation(nullptr, nullptr);
        if (!operation) return report("exec", E_OUTOFMEMORY, {});
        HRESULT hr = HcsCreateProcess(system.get(), parameters->c_str(), operation, nullptr, process.put());
        // Registered before the create can complete, so the exit event cannot come before it.
        if (SUCCEEDED(hr)) hr = HcsSetProcessCallback(process.get(), HcsEventOptionNone, &events, onProcessEvent);
        PWSTR document = nullptr;
        if (SUCCEEDED(hr)) hr = HcsWaitForOperationResultAndProcessInfo(operation, options.timeoutMs, &info, &document);
        if (hr == HCS_E_OPERATION_TIMEOUT) (void)HcsCancelOperation(operation);
        HcsCloseOperation(operation);
        std::string text = takeResultString(document);
        if (FAILED(hr)) return report("exec " + request.system, hr, text);
    }
    Descriptor processIn(info.StdInput);
    Descriptor processOut(info.StdOutput);
    Descriptor processErr(info.StdError);
    if (processIn.open()) fcntl(processIn.get(), F_SETFL, fcntl(processIn.get(), F_GETFL) | O_NONBLOCK);

    std::optional<RawTerminal> raw;
    if (request.tty) raw.emplace(STDIN_FILENO);

    bool localInOpen = request.interactive;
    std::string pending;  // read from local stdin, not yet written to the process
    bool interrupted = false;
    std::optional<std::string> exitStatus;
    std::optional<Clock::time_point> exitedAt;
    std::array<char, 65536> buffer;

    for (;;) {
        {
            std::lock_guard lock(events.mutex);
            if (events.disconnected && !exitStatus)
                return report("exec " + request.system, HCS_E_SERVICE_DISCONNECT, {});
            if (events.exitStatus && !exitStatus) {
                exitStatus = events.exitStatus;
                exitedAt = Clock::now();
            }
        }
        const bool outputsOpen = processOut.open() || processErr.open();
        if (exitStatus && (!outputsOpen || Clock::now() - *exitedAt > c_OutputGrace)) break;

        std::vector<pollfd> fds{{wakeRead.get(), POLLIN, 0}};
        auto watch = [&](int fd, short what) {
            fds.push_back({fd, what, 0});
            return fds.size() - 1;
        };
        size_t outIndex = processOut.open() ? watch(processOut.get(), POLLIN) : 0;
        size_t errIndex = processErr.open() ? watch(processErr.get(), POLLIN) : 0;
        size_t localIndex = localInOpen && processIn.open() && pending.empty() ? watch(STDIN_FILENO, POLLIN) : 0;
        size_t inIndex = !pending.empty() && processIn.open() ? watch(processIn.get(), POLLOUT) : 0;
        int timeout = -1;
        if (exitStatus)
            timeout = 100;
        else if (!outputsOpen)
            timeout = c_ExitPollMs;
        int ready = poll(fds.data(), fds.size(), timeout);
        if (ready < 0 && errno != EINTR) break;
        if (ready == 0 && !exitStatus && !outputsOpen) {
            // No exit event yet although the outputs are done: ask hcsd (a lost event must not hang us).
            PWSTR document = nullptr;
            if (HcsWaitForProcessExit(process.get(), 0, &document) == S_OK) {
                exitStatus = takeResultString(document);
                exitedAt = Clock::now();
            } else {
                takeResultString(document);
            }
            continue;
        }
        if (ready <= 0) continue;

        if (fds[0].revents & POLLIN) {
            unsigned char bytes[64];
            ssize_t n = read(wakeRead.get(), bytes, sizeof bytes);
            for (ssize_t k = 0; k < n; ++k) {
                const int signal = bytes[k];
                if (bytes[k] == c_ProcessEventByte) continue;  // handled at the top of the loop
                if (signal == SIGWINCH) {
                    auto [rows, columns] = localConsoleSize();
                    if (request.tty && rows > 0)
                        (void)runProcessCall(HcsModifyProcess, process.get(),
                                             L"{\"Operation\":\"ConsoleSize\",\"ConsoleSize\":{\"Height\":" +
                                                 std::to_wstring(rows) + L",\"Width\":" + std::to_wstring(columns) +
                                                 L"}}");
                } else if (signal == SIGINT && !request.tty && interrupted) {
                    (void)runProcessCall(HcsTerminateProcess, process.get(), {});  // the second Ctrl-C
                } else {
                    interrupted = interrupted || signal == SIGINT;
                    (void)runProcessCall(HcsSignalProcess, process.get(),
                                         L"{\"Signal\":" + std::to_wstring(signal) + L"}");
                }
            }
        }
        auto pump = [&](size_t index, Descriptor& from, int to) {
            if (index == 0 || !(fds[index].revents & (POLLIN | POLLHUP | POLLERR))) return;
            ssize_t n = read(from.get(), buffer.data(), buffer.size());
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
            if (n <= 0 || !writeAll(to, buffer.data(), static_cast<size_t>(n))) from.reset();  // EOF, or nobody reads
        };
        pump(outIndex, processOut, STDOUT_FILENO);
        pump(errIndex, processErr, STDERR_FILENO);
        if (localIndex != 0 && (fds[localIndex].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(STDIN_FILENO, buffer.data(), buffer.size());
            if (n > 0) {
                pending.assign(buffer.data(), static_cast<size_t>(n));
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                localInOpen = false;
                processIn.reset();  // the process's EOF
            }
        }
        if (inIndex != 0 && (fds[inIndex].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t n = write(processIn.get(), pending.data(), pending.size());
            if (n > 0) {
                pending.erase(0, static_cast<size_t>(n));
            } else if (n < 0 && errno != EINTR && errno != EAGAIN) {
                pending.clear();  // the process closed its stdin
                processIn.reset();
                localInOpen = false;
            }
        }
    }
    raw.reset();  // the terminal is back before anything is printed
    if (!exitStatus) return report("exec " + request.system, E_FAIL, {});
    int code = exitCodeFromStatus(*exitStatus);
    if (code < 0) {
        json status = json::parse(*exitStatus, nullptr, false);
        HRESULT hr = status.is_object() && status.value("LastWaitResult", 0) != 0
                         ? static_cast<HRESULT>(status.value("LastWaitResult", 0))
                         : E_FAIL;
        return report("exec " + request.system + ": the process's end is unknown", hr, *exitStatus);
    }
    return code;
}

int listProcesses(const Options& options, const std::string& id)
{
    auto wideId = hc::fromUtf8(id);
    if (!wideId) {
        std::cerr << "hcsctl: the system id is not valid UTF-8" << std::endl;
        return c_UsageExitCode;
    }
    SystemHandle system;
    CallOutcome opened = openSystem(*wideId, system);
    if (FAILED(opened.hr)) {
        std::cerr << "hcsctl: open " << id << ": " << describeHresult(opened.hr) << std::endl;
        return exitCodeFor(opened.hr);
    }
    CallOutcome outcome = runOperation(options.timeoutMs, [&](HCS_OPERATION operation) {
        return HcsGetComputeSystemProperties(system.get(), operation, LR"({"PropertyTypes":["ProcessList"]})");
    });
    if (FAILED(outcome.hr)) {
        std::string message = errorMessageOf(outcome.document);
        std::cerr << "hcsctl: ps " << id << ": " << describeHresult(outcome.hr) << (message.empty() ? "" : ": ")
                  << message << std::endl;
        return exitCodeFor(outcome.hr);
    }
    auto properties = json::parse(outcome.document, nullptr, false);
    json list =
        properties.is_object() && properties.contains("ProcessList") ? properties["ProcessList"] : json::array();
    std::cout << list.dump(options.compact ? -1 : 2) << std::endl;
    return 0;
}

}  // namespace hcsctl
