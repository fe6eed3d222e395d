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

// Runs a few real-mode instructions in a KVM vCPU (in a child process, bounded by a timeout, so a
// wedged KVM cannot hang the caller). HCSD_ACCEL=tcg|kvm overrides the probe (kvm still requires
// the probe to pass). Takes a few milliseconds; callers cache the result.
AcceleratorChoice probeAccelerator();

}  // namespace hc::hcs::vm
