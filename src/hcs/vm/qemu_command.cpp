#include "hcs/vm/qemu_command.h"

#include <sys/un.h>

namespace hc::hcs::vm {

namespace {

// QEMU's option parser treats ',' as a separator; a literal comma in a value is written ",,".
std::string escapeOptionValue(const std::string& value)
{
    std::string out;
    for (char c : value) {
        out += c;
        if (c == ',') out += ',';
    }
    return out;
}

}  // namespace

std::vector<std::string> buildQemuCommand(const schema::VirtualMachineConfig& vm, const QemuLaunchSettings& s)
{
    std::vector<std::string> args{s.qemuBinary};
    auto add = [&](std::initializer_list<std::string> items) { args.insert(args.end(), items); };
    add({"-name", "guest=" + escapeOptionValue(s.name)});
    add({"-machine", "q35", "-accel", acceleratorName(s.accelerator)});
    if (s.accelerator == Accelerator::Kvm) add({"-cpu", "host"});
    add({"-m", std::to_string(vm.memorySizeInMB) + "M", "-smp", std::to_string(vm.processorCount)});
    // Nothing implicit: no default NIC, VGA, serial or monitor; no user config files.
    add({"-nodefaults", "-no-user-config", "-display", "none"});
    // Paused until StartComputeSystem sends "cont": Create builds the VM, Start powers it on.
    add({"-S"});
    add({"-chardev", "socket,id=hcs-qmp,fd=" + std::to_string(s.qmpListenFd) + ",server=on,wait=off", "-mon",
         "chardev=hcs-qmp,mode=control"});
    if (vm.stopOnReset) add({"-no-reboot"});
    if (vm.useUtc) add({"-rtc", "base=utc"});
    if (vm.uefi) {
        add({"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + escapeOptionValue(s.ovmfCodePath)});
        add({"-drive", "if=pflash,format=raw,unit=1,file=" + escapeOptionValue(s.ovmfVarsPath)});
    }
    if (vm.linuxKernelDirect) {
        add({"-kernel", vm.linuxKernelDirect->kernelFilePath});
        if (!vm.linuxKernelDirect->initRdPath.empty()) add({"-initrd", vm.linuxKernelDirect->initRdPath});
        if (!vm.linuxKernelDirect->kernelCmdLine.empty()) add({"-append", vm.linuxKernelDirect->kernelCmdLine});
    }
    for (const auto& [port, socketPath] : s.comPortSockets) {
        std::string id = "hcs-com" + std::to_string(port);
        // A listening socket anyone with access to the path can attach to (socat, nc -U); output is
        // dropped while nobody is attached, so a guest never blocks on its console.
        add({"-chardev", "socket,id=" + id + ",path=" + escapeOptionValue(socketPath) + ",server=on,wait=off"});
        add({"-device", "isa-serial,chardev=" + id + ",index=" + std::to_string(port)});
    }
    return args;
}

Result<std::string> namedPipeSocketPath(const std::string& namedPipe, const std::string& pipeDirectory)
{
    std::string path;
    if (!namedPipe.empty() && namedPipe[0] == '/') {
        path = namedPipe;
    } else {
        static const std::string kPrefix = "\\\\.\\pipe\\";
        if (namedPipe.size() <= kPrefix.size() || namedPipe.compare(0, kPrefix.size(), kPrefix) != 0) {
            return makeError(E_INVALIDARG, "NamedPipe \"" + namedPipe +
                                               "\" is neither \\\\.\\pipe\\<name> nor an absolute socket path");
        }
        std::string name = namedPipe.substr(kPrefix.size());
        if (name == "." || name == "..") return makeError(E_INVALIDARG, "NamedPipe name \"" + name + "\" is reserved");
        for (unsigned char c : name) {
            if (c == '/' || c == '\\' || c < 0x20) {
                return makeError(E_INVALIDARG,
                                 "NamedPipe name \"" + name + "\" contains a path separator or control character");
            }
        }
        path = pipeDirectory + "/" + name;
    }
    if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
        return makeError(E_INVALIDARG, "the socket path for NamedPipe \"" + namedPipe + "\" is too long: " + path);
    }
    return path;
}

}  // namespace hc::hcs::vm
