// `prjfs git ...`: the command line of the git provider.
//   prjfs git REPO ROOT [--rev REV] [--threads N]   project REV (default HEAD, or the root's commit)
//   prjfs git status ROOT                           list what differs from the projected commit
//   prjfs git checkout ROOT REV [--force]           switch the projected commit (provider running or not)
#pragma once

namespace prjfs {

// argv holds the arguments after "git". Returns the exit status: 0 success, 1 failure, 2 usage.
int runGitCommand(int argc, char** argv);

}  // namespace prjfs
