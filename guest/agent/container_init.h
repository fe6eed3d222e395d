// hcs-guest's container mode: the init of a process-isolated container (docs/containers.md).
//
// hcsd creates a listening Unix socket in its private state directory and hands it to the OCI
// runtime as descriptor 3; the runtime passes it to the container's init, this program. The socket's
// path is never inside the container, so no container process can connect to it; only hcsd (and a
// restarted hcsd) can.
//
// Two processes:
//   pid 1 (the reaper): reaps every orphan of the container's pid namespace; on SIGTERM (a ShutDown)
//       it sends SIGTERM to every process of the namespace, waits for them (at most kShutdownGrace,
//       then SIGKILL) and exits 0; when the agent dies otherwise it exits with the agent's status.
//   the agent (its child): accepts one host connection at a time on the listening socket and serves
//       it with AgentCore; when the host goes away (an hcsd restart) the processes it started are
//       killed, as in a VM, and the next connection is served.
#pragma once

namespace hc::guest_agent {

// Never returns. `listenFd` is the inherited listening socket.
[[noreturn]] void runContainerInit(int listenFd, const char* agentVersion);

}  // namespace hc::guest_agent
