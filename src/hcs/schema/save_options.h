// The option documents of HcsSaveComputeSystem (SaveOptions) and HcsCrashComputeSystem (CrashOptions),
// each field checked and named by its path like the configuration (HCS_E_INVALID_JSON / E_NOTIMPL).
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace hc::hcs::schema {

enum class SaveType { ToFile, AsTemplate };

// SaveOptions {SaveType: ToFile|AsTemplate, SaveStateFilePath}. An empty or null document is ToFile
// with no path (hcsd then writes GuestState.RuntimeStateFilePath, or refuses naming the field).
struct SaveOptions {
    SaveType type = SaveType::ToFile;
    std::string saveStateFilePath;  // absolute; empty = not given
};
Result<SaveOptions> parseSaveOptions(std::string_view text);

// CrashOptions {Type: "CrashGuest", GuestDebugStateFile}: the one crash type; a debug state file
// (Hyper-V's guest memory dump) is refused with E_NOTIMPL.
Status parseCrashOptions(std::string_view text);

}  // namespace hc::hcs::schema
