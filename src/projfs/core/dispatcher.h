// Dispatcher: the file system as a transport sees it (EdenFS's FuseDispatcher). The FUSE layer turns each
// kernel request into one call here with inode numbers and names, and gets the answer — a value or an
// error — through one completion type; it replies and maps errors to errno in one place and never touches
// the store or decides a ProjFS rule. Everything here is FUSE-free, so tests drive it without a mount
// (tests/unit/projfs/dispatcher_test.cpp: a fake channel that triggers completions itself).
//
// Errors: an Error's HRESULT is what the caller gets. A failed system call keeps its exact errno through
// errnoHresult() (a customer-facility HRESULT), so EPERM stays EPERM and ERANGE stays ERANGE at the reply;
// ProjFS errors map through the errno table (base/hresult.h).
//
// Threads: calls come on the transport's threads; completions run on the calling thread, a provider thread
// (PrjCompleteCommand) or the instance's executor. Each completion runs exactly once.
#pragma once

#include "base/result.h"
#include "base/unique_fd.h"
#include "projfs/core/enumeration_session.h"
#include "projfs/core/inode.h"
#include "projfs/core/notifications.h"
#include "projfs/core/request_context.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hc::projfs {

class VirtualizationInstance;

// The one completion type: called once with the answer or the error.
template <typename T>
using Completion = std::function<void(Result<T>)>;

// An errno carried losslessly in an HRESULT, and back (0 for an HRESULT that carries none).
HRESULT errnoHresult(int err);
int errnoCarriedBy(HRESULT hr);
// The errno the caller of a file system request gets for `hr` (never 0 for a failure).
int errnoForCaller(HRESULT hr);

// A name the kernel may now cache: one lookup reference was taken for `ino` (the transport gives it back
// through forget() if the reply does not reach the kernel). attr.st_ino is the FUSE inode number.
struct EntryAnswer {
    uint64_t ino = 0;
    struct stat attr {};
};

// The runtime's part of one open regular file: the backing descriptor and the file's Inode (pinned in the
// InodeMap while open), and the handle's notification record. Destroying it ends the open: the record is
// dropped if release() did not take it, the Inode unpinned, the descriptor closed.
class OpenFile {
public:
    OpenFile(InodeMap& inodes, std::shared_ptr<Inode> inode, UniqueFd fd);
    ~OpenFile();
    OpenFile(const OpenFile&) = delete;
    OpenFile& operator=(const OpenFile&) = delete;

    int fd() const { return fd_.get(); }
    Inode& inode() { return *inode_; }
    Notifications::OpenHandle notify;

private:
    InodeMap& inodes_;
    std::shared_ptr<Inode> inode_;
    UniqueFd fd_;
};

struct CreatedFile {
    EntryAnswer entry;
    std::unique_ptr<OpenFile> file;
};

// Which attributes setattr changes (the values of FUSE_SET_ATTR_*, so the transport passes its mask on).
enum AttrChange : unsigned {
    kAttrMode = 1u << 0,
    kAttrUid = 1u << 1,
    kAttrGid = 1u << 2,
    kAttrSize = 1u << 3,
    kAttrAtime = 1u << 4,
    kAttrMtime = 1u << 5,
    kAttrAtimeNow = 1u << 7,
    kAttrMtimeNow = 1u << 8,
};

// An extended attribute answer: with a buffer size 0, only `length`; otherwise the bytes.
struct XattrAnswer {
    size_t length = 0;
    std::vector<char> data;
};

// One directory entry as the kernel is told it.
struct DirEntryAnswer {
    std::string name;
    struct stat attr {};  // st_mode type bits, st_ino (never 0); with `ino`, everything
    uint64_t ino = 0;     // readdirplus: an entry the kernel may cache (one lookup reference taken), else 0
};

// Who made a request that creates an item (its owner).
struct Creator {
    uid_t uid = 0;
    gid_t gid = 0;
};

class Dispatcher {
public:
    explicit Dispatcher(VirtualizationInstance& instance);

    InodeMap& inodes() { return inodes_; }
    // Called (on the thread that wrote it, before the request that needed it is answered) when a listed
    // item was written to disk: the transport drops the attributes the kernel got from the listing, which the
    // placeholder's may not match (times, or the provider changed the item meanwhile). Set before requests.
    void setMaterializedListener(std::function<void(uint64_t ino)> listener) { materialized_ = std::move(listener); }

    void lookup(const RequestContext& ctx, uint64_t parent, const std::string& name, Completion<EntryAnswer> done);
    void forget(uint64_t ino, uint64_t count) { inodes_.forget(ino, count); }
    // `file`: the open handle the kernel named, if any.
    Result<struct stat> getattr(uint64_t ino, const OpenFile* file);
    void setattr(const RequestContext& ctx, uint64_t ino, const OpenFile* file, const struct stat& attr, unsigned toSet,
                 Completion<struct stat> done);
    Result<std::string> readlink(uint64_t ino);

    void mknod(const RequestContext& ctx, Creator who, uint64_t parent, const std::string& name, mode_t mode,
               dev_t rdev, Completion<EntryAnswer> done);
    void mkdir(const RequestContext& ctx, Creator who, uint64_t parent, const std::string& name, mode_t mode,
               Completion<EntryAnswer> done);
    void symlink(const RequestContext& ctx, Creator who, const std::string& target, uint64_t parent,
                 const std::string& name, Completion<EntryAnswer> done);
    void link(const RequestContext& ctx, Creator who, uint64_t ino, uint64_t newParent, const std::string& newName,
              Completion<EntryAnswer> done);
    void unlink(const RequestContext& ctx, uint64_t parent, const std::string& name, Completion<void> done);
    void rmdir(const RequestContext& ctx, uint64_t parent, const std::string& name, Completion<void> done);
    void rename(const RequestContext& ctx, uint64_t parent, const std::string& name, uint64_t newParent,
                const std::string& newName, unsigned flags, Completion<void> done);

    // Hydrates a placeholder (or converts it to full for writing) before the open; notifications before
    // the answer. `flags` are open(2) flags.
    void open(const RequestContext& ctx, uint64_t ino, int flags, Completion<std::unique_ptr<OpenFile>> done);
    void create(const RequestContext& ctx, Creator who, uint64_t parent, const std::string& name, mode_t mode,
                int flags, Completion<CreatedFile> done);
    // Ends an open (FILE_HANDLE_CLOSED_* after the descriptor closed).
    void release(const RequestContext& ctx, uint64_t ino, std::unique_ptr<OpenFile> file, Completion<void> done);

    // Opens a listing (a listed directory is written to disk first).
    void opendir(const RequestContext& ctx, uint64_t ino, Completion<std::shared_ptr<EnumerationSession>> done);
    // Produces the session's entries from `offset` (session offsets: entry i is i + 1) until `budgetBytes`.
    void readdir(const RequestContext& ctx, EnumerationSession& session, size_t offset, size_t budgetBytes,
                 Completion<void> done);
    // Entry `index` of a session of directory `dirIno`, as the kernel is told it; with `plus`, the entry
    // carries its attributes and takes a lookup reference — an on-disk one from the disk, a provider's one
    // from its listing (a listed node: no placeholder is written until a program opens or changes it).
    DirEntryAnswer directoryEntry(uint64_t dirIno, const EnumerationSession& session, size_t index, bool plus);

    Result<struct statvfs> statfs();
    // A listed item has no extended attributes, except that asking for the runtime's (user.projfs.*: what
    // PrjGetOnDiskFileState reads) writes it to disk first, as Windows does.
    void getxattr(const RequestContext& ctx, uint64_t ino, const std::string& name, size_t size,
                  Completion<XattrAnswer> done);
    Result<XattrAnswer> listxattr(uint64_t ino, size_t size);
    void setxattr(const RequestContext& ctx, uint64_t ino, const std::string& name, std::string value, int flags,
                  Completion<void> done);
    void removexattr(const RequestContext& ctx, uint64_t ino, const std::string& name, Completion<void> done);

    // The kernel holds an entry for an item that is gone: forget the name; returns the (parent, name) the
    // kernel should drop, if any.
    std::optional<std::pair<uint64_t, std::string>> forgetStaleEntry(uint64_t ino) { return inodes_.detach(ino); }

private:
    Result<std::string> pathOf(uint64_t ino);
    Result<EntryAnswer> entryAt(uint64_t parent, const std::string& name, const std::string& rel);
    // Listed items (docs/projfs-design.md, "Listed items").
    static struct stat listedAttributes(const std::string& dirRel, const std::string& name,
                                        const PRJ_FILE_BASIC_INFO& info, const ProviderExtras& extras);
    static uint64_t listedNumber(const std::string& rel);
    // The ctime a program sees of an item the provider still owns: its mtime (see dispatcher.cpp).
    void stabilize(Inode* inode, const std::string& rel, struct stat& st);
    // Deleting an item whose on-disk state cannot say whether the provider has its name.
    enum class Unknown { Link, LocalItem };
    std::optional<Unknown> stateCannotTell(const RequestContext& ctx, const std::string& parentRel,
                                           const std::string& rel);
    std::optional<EntryAnswer> listedEntry(const RequestContext& ctx, uint64_t parent, const std::string& parentRel,
                                           const std::string& name);
    // The item's root-relative path once it is on disk: a listed node is written first (GetPlaceholderInfo,
    // its parents before it); others answer at once.
    void ensureOnDisk(const RequestContext& ctx, uint64_t ino, Completion<std::string> done);
    void ensureChildOnDisk(const RequestContext& ctx, uint64_t parent, const std::string& name, Completion<void> done);
    void createItem(const RequestContext& ctx, Creator who, uint64_t parent, const std::string& name,
                    const std::function<int(int root, const char* rel)>& make, mode_t mode,
                    const std::string* linkedFrom, Completion<EntryAnswer> done);
    void settleNewItem(const std::string& rel, Creator who, mode_t mode);
    Result<struct stat> setattrUnlinked(uint64_t ino, const OpenFile* file, const struct stat& attr, unsigned toSet,
                                        Error noName);
    void removeEntry(const RequestContext& ctx, uint64_t parent, const std::string& name, bool isDirectory,
                     Completion<void> done);
    // Before a rename: each of `rels` that is a directory placeholder is detached from the provider
    // (core/subtree_detach.h), one after the other.
    void detachPlaceholderDirectories(const RequestContext& ctx, std::vector<std::string> rels, Completion<void> done);
    std::string diskName(const std::string& parentRel, const std::string& name);
    Result<UniqueFd> openForXattr(uint64_t ino);
    Result<XattrAnswer> tombstoneQuery(uint64_t dirIno, const std::string& child, size_t size);
    void openHydrated(const RequestContext& ctx, const std::shared_ptr<Inode>& inode, const std::string& rel, int flags,
                      Completion<std::unique_ptr<OpenFile>> done);

    VirtualizationInstance& instance_;
    InodeMap& inodes_;
    std::function<void(uint64_t ino)> materialized_;
};

}  // namespace hc::projfs
