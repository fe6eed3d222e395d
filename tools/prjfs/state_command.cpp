#include "state_command.h"

#include "base/hresult.h"
#include "base/strings.h"

#include <cstdio>

namespace prjfs {

std::string fileStateNames(PRJ_FILE_STATE state)
{
    static const struct {
        PRJ_FILE_STATE flag;
        const char* name;
    } kNames[] = {
        {PRJ_FILE_STATE_PLACEHOLDER, "PLACEHOLDER"},
        {PRJ_FILE_STATE_HYDRATED_PLACEHOLDER, "HYDRATED_PLACEHOLDER"},
        {PRJ_FILE_STATE_DIRTY_PLACEHOLDER, "DIRTY_PLACEHOLDER"},
        {PRJ_FILE_STATE_FULL, "FULL"},
        {PRJ_FILE_STATE_TOMBSTONE, "TOMBSTONE"},
    };
    std::string text;
    unsigned rest = static_cast<unsigned>(state);
    for (const auto& entry : kNames) {
        if (rest & entry.flag) {
            if (!text.empty()) text += '|';
            text += entry.name;
            rest &= ~static_cast<unsigned>(entry.flag);
        }
    }
    if (rest != 0) {
        char hex[16];
        std::snprintf(hex, sizeof(hex), "0x%x", rest);
        if (!text.empty()) text += '|';
        text += hex;
    }
    return text.empty() ? "NONE" : text;
}

int runStateCommand(int argc, char** argv)
{
    int status = 0;
    for (int i = 0; i < argc; ++i) {
        auto wide = hc::fromUtf8(argv[i]);
        if (!wide.ok()) {
            std::fprintf(stderr, "prjfs state: %s: not valid UTF-8\n", argv[i]);
            status = 1;
            continue;
        }
        PRJ_FILE_STATE state = {};
        HRESULT hr = PrjGetOnDiskFileState(wide->c_str(), &state);
        if (FAILED(hr)) {
            std::fprintf(stderr, "prjfs state: %s: %s (%s)\n", argv[i], hc::hresultName(hr).c_str(),
                         hc::hresultHex(hr).c_str());
            status = 1;
            continue;
        }
        std::printf("%s: %s\n", argv[i], fileStateNames(state).c_str());
    }
    return status;
}

}  // namespace prjfs
