// The host files a VM document names (disk images, Plan9 directories), checked by hcsd before QEMU
// starts. hcsd runs as the calling user, so opening a file here tests exactly the caller's rights;
// a path the caller may not read (or, for a writable disk, write) fails the Create with a message
// naming it instead of surfacing later as a QEMU error. Paths in documents are used as given —
// symbolic links included: they are the caller's own files; what hcsd creates itself lives in its
// private state directory (0700), where nobody else can plant a link.
#pragma once

#include <optional>
#include <string>

#include "base/result.h"
#include "hcs/schema/compute_system.h"
#include "hcs/vm/qemu_command.h"

namespace hc::hcs::vm {

// QEMU's block driver named by a file's extension: .vhd -> vpc, .vhdx -> vhdx, .qcow2 -> qcow2,
// .img/.raw/.iso -> raw; nullopt for any other name (the format is then probed).
std::optional<std::string> diskFormatFromExtension(const std::string& path);

// The format a disk image's content says: qcow2, vhdx, vpc (VHD: "conectix" at the start or in the
// last 512 bytes) or raw.
Result<std::string> probeDiskFormat(int fd);

// Opens the attachment's file read-only or read-write, as its ReadOnly flag says; it must be a
// regular file or a block device. The format comes from the extension when it names one (the content
// must agree: a ".vhdx" that is not VHDX is refused rather than handed to the guest as raw), else from
// the content. directIo is set when the file system accepts O_DIRECT (CachingMode Uncached).
Result<DiskSettings> inspectDisk(const schema::ScsiAttachment& disk);

// A Plan9 share's directory: it must exist, be a directory the caller can read (and write, unless
// the share is read-only).
Status checkShareDirectory(const std::string& path, bool readOnly);

// Whether the host offers vhost-vsock (the device behind Devices.HvSocket).
bool hostHasVhostVsock();

}  // namespace hc::hcs::vm
