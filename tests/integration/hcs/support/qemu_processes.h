// Finding the QEMU processes that back a test's compute systems, from /proc, without knowing how hcsd
// lays out its state: a QEMU of ours mentions our private directory (QMP socket, files) on its command line.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace hcs_test {

// qemu-system-* processes whose command line contains `text`.
std::vector<pid_t> qemuProcessesMentioning(const std::string& text);

// True when no such process remains within `timeout`.
bool waitForNoQemuMentioning(const std::string& text, std::chrono::milliseconds timeout);

// True when `pid` exists and is not a zombie.
bool processAlive(pid_t pid);

}  // namespace hcs_test
