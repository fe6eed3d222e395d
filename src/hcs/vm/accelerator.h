// Which accelerator QEMU should use: KVM only when a KVM vCPU really runs guest code here (creating a
// VM is not enough: on some hosts KVM_CREATE_VM succeeds and every KVM_RUN fails), else TCG.
#pragma once

#include <string>

namespace hc::hcs::vm {

enum class Accelerator { Kvm, Tcg };

struct AcceleratorChoice {
    Accelerator accelerator = Accelerator::Tcg;
    std::string reason;  // why: "KVM vCPU ran a test program", "/dev/kvm: No such file or directory", ...
};

const char* acceleratorName(Accelerator accelerator);  // "kvm" | "tcg"

// Two steps, each in a child process bounded by a timeout so a wedged KVM cannot hang the caller:
// a KVM vCPU must run a few real-mode instructions (ioctls on /dev/kvm), then `qemuBinary` with
// -accel kvm must take its firmware through POST within 2 s (on some hosts vCPUs run but a real
// machine crawls). The result is cached in `cacheFile` (if not empty) until the host reboots.
// HCSD_ACCEL=tcg skips the probe.
AcceleratorChoice probeAccelerator(const std::string& qemuBinary, const std::string& cacheFile);

}  // namespace hc::hcs::vm
