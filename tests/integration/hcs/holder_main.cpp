// hcs_it_holder ID CONFIG_FILE: creates and starts a compute system, prints "ready", then holds its
// handle until killed. The integration tests SIGKILL it to check what happens to systems whose creator
// dies (ShouldTerminateOnLastHandleClosed).
#include <computecore.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "base/hresult.h"
#include "base/strings.h"
#include "hcs_session.h"

int main(int argc, char** argv)
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: hcs_it_holder ID CONFIG_FILE\n");
        return 2;
    }
    std::ifstream in(argv[2]);
    std::ostringstream configuration;
    configuration << in.rdbuf();
    auto id = hc::fromUtf8(argv[1]);
    auto document = hc::fromUtf8(configuration.str());
    if (!in || !id || !document) {
        std::fprintf(stderr, "hcs_it_holder: cannot read %s\n", argv[2]);
        return 2;
    }
    hcsctl::SystemHandle system;
    auto created = hcsctl::runOperation(60'000, [&](HCS_OPERATION operation) {
        return HcsCreateComputeSystem(id->c_str(), document->c_str(), operation, nullptr, system.put());
    });
    if (FAILED(created.hr)) {
        std::fprintf(stderr, "create: %s %s\n", hc::hresultName(created.hr).c_str(), created.document.c_str());
        return 1;
    }
    auto started = hcsctl::runOperation(
        60'000, [&](HCS_OPERATION operation) { return HcsStartComputeSystem(system.get(), operation, nullptr); });
    if (FAILED(started.hr)) {
        std::fprintf(stderr, "start: %s %s\n", hc::hresultName(started.hr).c_str(), started.document.c_str());
        return 1;
    }
    std::printf("ready\n");
    std::fflush(stdout);
    for (;;) {
        ::pause();
    }
}
