// The HCS documentation samples (tests/data/win32-samples/hcs-docs: the code blocks of
// MicrosoftDocs/Virtualization-Documentation hcs/Reference/*.md, the seed's "Operation Completion Samples"
// among them) compiled against the Win32 compatibility headers with no shim: this file only places each
// block where the page puts it (file scope or a function body, `system` being "the same system as the
// previous sample") and runs the blocks named on the command line.
//
// Usage: hcs_docs_samples SAMPLE...   (talks to the hcsd at $HCS_SOCKET; SAMPLE as listed in c_Samples)
// Prints "<sample>: ok" per sample; on the first failure the wil::ResultException's text, exit 1.
#include <computecore.h>
#include <wil/resource.h>
#include <windows.h>

#include <cstring>
#include <iostream>

// OperationCompletionSample block 1 (the seed's global definitions): c_EmptyVM, unique_hcs_operation,
// unique_hcs_system.
#include "hcs-docs/OperationCompletionSample.1.inc"

namespace {

// ---- the seed: "Operation Completion Samples" ----
void SeedWaitForOperation()
{
#include "hcs-docs/OperationCompletionSample.2.inc"
}
void SeedOperationCallback()
{
#include "hcs-docs/OperationCompletionSample.3.inc"
}
void SeedEventCallback()
{
#include "hcs-docs/OperationCompletionSample.4.inc"
}

// ---- Event Callback Samples ----
void EventCallback()
{
#include "hcs-docs/EventCallbackSample.1.inc"
}

// ---- Compute System Samples: open "Sample", then pause/resume and save it ----
void ComputeSystemPauseResume(unique_hcs_system& system)
{
#include "hcs-docs/ComputeSystemSample.3.inc"
}
void ComputeSystemSave(unique_hcs_system& system)
{
#include "hcs-docs/ComputeSystemSample.4.inc"
}
void ComputeSystemOpenPauseResume()
{
#include "hcs-docs/ComputeSystemSample.1.inc"
    ComputeSystemPauseResume(system);
}
void ComputeSystemEnumerate()
{
#include "hcs-docs/ComputeSystemSample.2.inc"
}

// ---- Host Service Samples ----
void ServiceProperties()
{
#include "hcs-docs/ServiceSample.1.inc"
}
void ServiceModifySettings()
{
#include "hcs-docs/ServiceSample.2.inc"
}
void ServiceSubmitCrashReport(unique_hcs_system& system)
{
#include "hcs-docs/ServiceSample.3.inc"
}

// ---- Virtual Machine Utilities Samples ----
void UtilityCreateFilesGrantAccess()
{
#include "hcs-docs/UtilityFunctionSample.1.inc"
}

// ---- Quick Start (a VM booting c:\HCS_Test\utilityvm.vhdx: compiled, not run) ----
void Tutorial()
{
#include "hcs-docs/Tutorial.1.inc"
}

struct Sample {
    const char* name;
    void (*run)();
};
// The samples that can run here (the others need Windows paths, a crashing guest or functions this version
// answers E_NOTIMPL; they are compiled all the same).
constexpr Sample c_Samples[] = {
    {"seed-wait", SeedWaitForOperation},
    {"seed-operation-callback", SeedOperationCallback},
    {"seed-event-callback", SeedEventCallback},
    {"event-callback", EventCallback},
    {"open-pause-resume", ComputeSystemOpenPauseResume},
    {"enumerate", ComputeSystemEnumerate},
    {"service-properties", ServiceProperties},
};

}  // namespace

int main(int argc, char** argv)
{
    // Referenced so that the compile-only samples are type-checked and linked like the others.
    void (*compiledOnly[])() = {ServiceModifySettings, UtilityCreateFilesGrantAccess, Tutorial};
    void (*compiledOnlyWithSystem[])(unique_hcs_system&) = {ComputeSystemSave, ServiceSubmitCrashReport};
    (void)compiledOnly;
    (void)compiledOnlyWithSystem;

    if (argc < 2) {
        std::cerr << "usage: hcs_docs_samples SAMPLE...\n";
        return 2;
    }
    for (int i = 1; i < argc; ++i) {
        const Sample* sample = nullptr;
        for (const Sample& candidate : c_Samples) {
            if (std::strcmp(candidate.name, argv[i]) == 0) {
                sample = &candidate;
            }
        }
        if (sample == nullptr) {
            std::cerr << "unknown sample: " << argv[i] << "\n";
            return 2;
        }
        try {
            sample->run();
        } catch (const wil::ResultException& e) {
            std::wcout.flush();
            std::cerr << sample->name << ": failed: " << e.what() << "\n";
            return 1;
        }
        std::wcout << sample->name << L": ok" << std::endl;
    }
    return 0;
}
