// Lock ranks: the ProjFS runtime's lock order, written once and checked in debug builds. A thread may
// take a RankedMutex only while every ranked mutex it already holds has a lower rank; doing otherwise
// asserts (NDEBUG builds compile the check away). Unranked mutexes (CommandTable, CallbackSlots,
// Interruption, the executor, the FUSE layer's registries) are leaves: no other lock is taken and no
// callback is made while one is held.
//
// The order, outermost first (docs/projfs-design.md, "Lock order"):
//   ItemState      VirtualizationInstance::itemStateMutex (PrjUpdateFileIfNeeded / PrjDeleteFile vs hydration)
//   ItemListeners  the transport's item-changed / item-removed hooks (they reach the InodeMap)
//   Inode          one Inode's state (cached record, passthrough registration, hydration, notification masks)
//   HydratorStreams  Hydrator's DataStreamId index
//   HydrationStream  one hydration's waiters and received ranges
//   InodeMap       the inode map and name index: a leaf among the ranked locks (nothing is called under it)
#pragma once

#include <cassert>
#include <mutex>

namespace hc::projfs {

enum class LockRank : int {
    ItemState = 10,
    ItemListeners = 20,
    Inode = 30,
    HydratorStreams = 40,
    HydrationStream = 50,
    InodeMap = 60,
};

namespace lock_rank {
#ifndef NDEBUG
// The ranks this thread holds, as a bit set indexed by rank / 10 (ranks are distinct multiples of 10).
inline thread_local unsigned t_held = 0;

inline unsigned bitOf(LockRank rank)
{
    return 1u << (static_cast<int>(rank) / 10);
}

inline void acquiring(LockRank rank)
{
    // Every held rank must be lower: no held bit at or above this one.
    assert((t_held & ~(bitOf(rank) - 1)) == 0 && "lock order violated (see projfs/core/lock_rank.h)");
    t_held |= bitOf(rank);
}
inline void released(LockRank rank)
{
    t_held &= ~bitOf(rank);
}
// True when this thread holds a lock of `rank` (for assertions at call sites).
inline bool holds(LockRank rank)
{
    return (t_held & bitOf(rank)) != 0;
}
#else
inline void acquiring(LockRank) {}
inline void released(LockRank) {}
inline bool holds(LockRank)
{
    return true;
}
#endif
}  // namespace lock_rank

// A std::mutex with a place in the lock order. Usable with std::lock_guard / std::unique_lock.
template <LockRank Rank>
class RankedMutex {
public:
    void lock()
    {
        lock_rank::acquiring(Rank);
        mutex_.lock();
    }
    bool try_lock()
    {
        lock_rank::acquiring(Rank);
        if (mutex_.try_lock()) return true;
        lock_rank::released(Rank);
        return false;
    }
    void unlock()
    {
        mutex_.unlock();
        lock_rank::released(Rank);
    }

private:
    std::mutex mutex_;
};

}  // namespace hc::projfs
