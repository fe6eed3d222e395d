// SIGINT / SIGTERM handling shared by the long-running `prjfs` commands: the signals are blocked in
// every thread (construct before starting any) and collected by the main thread with sigwait.
// `withRequests` adds SIGUSR1, which `prjfs git` uses as "a request is waiting in the admin directory".
#pragma once

#include <pthread.h>
#include <signal.h>

namespace prjfs {

class StopSignals {
public:
    explicit StopSignals(bool withRequests = false)
    {
        sigemptyset(&set_);
        sigaddset(&set_, SIGINT);
        sigaddset(&set_, SIGTERM);
        if (withRequests) sigaddset(&set_, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    }
    // Returns the signal that arrived.
    int wait() const
    {
        int signal = 0;
        sigwait(&set_, &signal);
        return signal;
    }

private:
    sigset_t set_;
};

}  // namespace prjfs
