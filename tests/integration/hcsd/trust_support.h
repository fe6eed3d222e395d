// What the trust tests (issue 7's holes, trust_*_test.cpp) share beyond the hcsd harness: the other
// binaries they run, small file helpers, and the "is hcsd still serving" check.
#pragma once

#include <string>
#include <vector>

#include "hcsd_harness.h"

namespace hcsd_test {

std::string hcsctlBinary();
std::string impostorBinary();  // hcsd_trust_impostor (impostor_main.cpp)

// A connected Unix stream socket (close-on-exec) to `path`, or -1 with errno set. The tests' own, so that
// they do not depend on where the project keeps its socket helpers.
int connectTo(const std::string& path);

void writeTextFile(const std::string& path, const std::string& text);

// Empty when a new client of `socketPath` is greeted, negotiates and gets the service properties
// within 15 s; otherwise what went wrong.
std::string serviceProblem(const std::string& socketPath);

// The ids an EnumerateComputeSystems reply lists.
std::vector<std::string> listedIds(const Reply& enumeration);

}  // namespace hcsd_test
