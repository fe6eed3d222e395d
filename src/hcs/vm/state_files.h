// The files of saved state (docs/hcsd.md, "Save and restore"), opened the one way hcsd and the client
// library open them. hcsd runs as the calling user, so every open here tests that user's rights; and a
// document can make hcsd write only the file it names: a save file is never written through a symbolic
// link, never replaces a directory, device, FIFO or socket, and a file hcsd creates is 0600.
//
//   save file           QEMU's migration stream as QEMU writes it ("QEVM" magic), written by Save and
//                       read by a Create with RestoreState. Restoring needs the same devices as the
//                       saved VM (the same document, apart from host paths of pipes).
//   runtime state file  GuestState.RuntimeStateFilePath: where Save writes when SaveOptions names no file.
//                       HcsCreateEmptyRuntimeStateFile makes it empty (0 bytes: no state saved yet).
//   guest state file    GuestState.GuestStateFilePath: the UEFI variable store of a Uefi VM (QEMU's second
//                       pflash unit), kept across systems. HcsCreateEmptyGuestStateFile copies OVMF's
//                       variable-store template into a new file.
#pragma once

#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace hc::hcs::vm {

// Creates or truncates a regular file for Save (0600 when created). Refused: a symbolic link, a
// directory, anything not a regular file, a relative path. The file is truncated only once it is known
// to be a regular file.
Result<UniqueFd> openSaveFileForWriting(const std::string& path);

// Opens a save file for a restore: a regular, readable file that starts with QEMU's migration magic
// (an empty runtime state file is refused as holding no saved state).
Result<UniqueFd> openSaveFileForReading(const std::string& path);

// A guest state file the VM may use as its UEFI variable store: a regular file (no symbolic link) the
// caller can read and write, the size of OVMF's template.
Status checkGuestStateFile(const std::string& path);

// HcsCreateEmptyGuestStateFile / HcsCreateEmptyRuntimeStateFile: a NEW file (an existing name, link
// included, is refused with ERROR_FILE_EXISTS), 0600.
Status createEmptyGuestStateFile(const std::string& path);
Status createEmptyRuntimeStateFile(const std::string& path);

}  // namespace hc::hcs::vm
