// main() for programs that start at wmain (libhostcompute-win32-wmain): decodes argv (and the environment,
// for the three-argument form) from UTF-8 into wchar_t strings and calls the program's wmain, whichever of
// the forms Windows accepts it was written in. The process locale is left as it is ("C"), as on Windows.
#include <locale.h>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cwchar>
#include <string>
#include <vector>

// The program's wmain. C++ programs declare it in one of these forms (C++ linkage: each is a different
// symbol); C programs define the unmangled symbol. Weak: the forms the program did not write are null.
int wmain(int argc, wchar_t** argv) __attribute__((weak));
int wmain(int argc, const wchar_t** argv) __attribute__((weak));
int wmain(int argc, wchar_t** argv, wchar_t** envp) __attribute__((weak));
extern "C" int hostcompute_c_wmain(int argc, wchar_t** argv, wchar_t** envp) __asm__("wmain") __attribute__((weak));

extern char** environ;

namespace {

// UTF-8 -> wchar_t with a private UTF-8 locale (the process locale is not changed). False on invalid input.
bool decode(const char* text, std::wstring& out, locale_t utf8)
{
    locale_t previous = uselocale(utf8);
    std::mbstate_t state{};
    const char* source = text;
    size_t length = std::mbsrtowcs(nullptr, &source, 0, &state);
    bool ok = length != static_cast<size_t>(-1);
    if (ok) {
        out.assign(length, L'\0');
        source = text;
        state = std::mbstate_t{};
        std::mbsrtowcs(out.data(), &source, length, &state);
    }
    uselocale(previous);
    return ok;
}

bool decodeAll(char** in, std::vector<std::wstring>& strings, locale_t utf8, const char* what)
{
    for (size_t i = 0; in != nullptr && in[i] != nullptr; ++i) {
        std::wstring wide;
        if (!decode(in[i], wide, utf8)) {
            std::fprintf(stderr, "%s %zu is not valid UTF-8: %s\n", what, i, in[i]);
            return false;
        }
        strings.push_back(std::move(wide));
    }
    return true;
}

std::vector<wchar_t*> pointers(std::vector<std::wstring>& strings)
{
    std::vector<wchar_t*> result;
    for (auto& s : strings) {
        result.push_back(s.data());
    }
    result.push_back(nullptr);
    return result;
}

}  // namespace

int main(int argc, char** argv)
{
    locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
    if (utf8 == static_cast<locale_t>(nullptr)) {
        std::fprintf(stderr, "hostcompute-win32-wmain: the C.UTF-8 locale is not available\n");
        return 127;
    }
    std::vector<std::wstring> args;
    std::vector<std::wstring> env;
    bool ok = decodeAll(argv, args, utf8, "argument") && decodeAll(environ, env, utf8, "environment entry");
    freelocale(utf8);
    if (!ok || static_cast<int>(args.size()) != argc) {
        return 127;
    }
    std::vector<wchar_t*> wargv = pointers(args);
    std::vector<wchar_t*> wenvp = pointers(env);

    int (*plain)(int, wchar_t**) = &wmain;
    int (*constArgs)(int, const wchar_t**) = &wmain;
    int (*withEnv)(int, wchar_t**, wchar_t**) = &wmain;
    if (plain != nullptr) {
        return plain(argc, wargv.data());
    }
    if (constArgs != nullptr) {
        return constArgs(argc, const_cast<const wchar_t**>(wargv.data()));
    }
    if (withEnv != nullptr) {
        return withEnv(argc, wargv.data(), wenvp.data());
    }
    if (&hostcompute_c_wmain != nullptr) {
        return hostcompute_c_wmain(argc, wargv.data(), wenvp.data());
    }
    std::fprintf(stderr, "hostcompute-win32-wmain: the program defines no wmain\n");
    return 127;
}
