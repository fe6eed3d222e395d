// Several walkers over one tree at once, as `du` and `find` running together do: each walks the whole
// tree depth-first (opendir/readdir of every directory, lstat of every entry; readers also open and read
// every regular file). A fresh projection makes them meet on never-listed directories and never-written
// placeholders at the same moment — the race of issue 12, where walkers got ENOENT for directories
// another walker was expanding.
#pragma once

#include <string>
#include <vector>

namespace projfs_test {

struct WalkReport {
    size_t directories = 0;           // directories opened and read to the end
    size_t files = 0;                 // regular files seen (and read, for a reader)
    std::vector<std::string> errors;  // "call path: strerror", at most a few dozen kept
};

// A tree of `fanout`^3 leaf directories of `filesPerLeaf` small files each under `dir` (created), in
// three levels; the numbers of directories and regular files made, `dir` itself not counted.
struct TreeShape {
    size_t directories = 0;
    size_t files = 0;
};
TreeShape makeWideTree(const std::string& dir, int fanout, int filesPerLeaf);

// Runs `walkers` threads over `root` at once (odd-numbered ones are readers), started together;
// one report per walker.
std::vector<WalkReport> walkConcurrently(const std::string& root, int walkers);

}  // namespace projfs_test
