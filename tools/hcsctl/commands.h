// hcsctl's commands: each takes its parsed arguments, makes the HCS calls, prints the result document
// as JSON on stdout and any failure on stderr, and returns the process exit code (hcs_session.h).
#pragma once

#include <computecore.h>

#include <optional>
#include <string>
#include <vector>

#include "hcs/protocol/calls.h"

namespace hcsctl {

struct Options {
    DWORD timeoutMs = 300'000;  // every wait is bounded; --timeout changes it
    bool compact = false;       // one-line JSON instead of indented
};

int listSystems(const Options& options, const std::optional<std::string>& query);
int createSystem(const Options& options, const std::string& id, const std::string& configurationFile);
// A call on one system with its one document (start, shutdown, terminate, pause, resume, save, crash,
// props, modify): `method` is the catalogue's; the system is opened by id first.
int systemCall(const Options& options, hc::hcs::protocol::Method method, const std::string& id,
               const std::optional<std::string>& document);
// modify ID FILE: the ModifySettingRequest read from FILE ("-" = stdin), then systemCall.
int modifySystem(const Options& options, const std::string& id, const std::string& requestFile);
// hcsctl run: create ID from FILE, start it, wait (up to waitMs) for it to stop on the same handle, print its
// SystemExitStatus and exit with 0 (GracefulExit: the guest powered off), c_RunForcedExitCode (terminated),
// c_RunUnexpectedExitCode (crashed or QEMU died), or the usual failure codes.
constexpr int c_RunForcedExitCode = 3;
constexpr int c_RunUnexpectedExitCode = 4;
int runSystem(const Options& options, const std::string& id, const std::string& configurationFile, DWORD waitMs);
int waitForExit(const Options& options, const std::string& id, DWORD timeoutMs);
int streamEvents(const Options& options, const std::string& id, DWORD timeoutMs);
int serviceProperties(const Options& options, const std::optional<std::string>& query);
// grant / revoke: HcsGrantVmAccess / HcsRevokeVmAccess.
int vmAccess(const Options& options, hc::hcs::protocol::Method method, const std::string& id, const std::string& file);

}  // namespace hcsctl
