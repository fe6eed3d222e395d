// Calls one function of each installed library through the imported CMake targets.
#include <computecore.h>
#include <projectedfslib.h>

#include <cstdio>

int main()
{
    HCS_OPERATION operation = HcsCreateOperation(nullptr, nullptr);
    if (operation == nullptr) {
        std::fprintf(stderr, "consumer_cxx: HcsCreateOperation returned NULL\n");
        return 1;
    }
    HcsCloseOperation(operation);

    if (PrjFileNameCompare(L"readme.txt", L"README.TXT") != 0 || PrjFileNameCompare(L"a", L"B") >= 0) {
        std::fprintf(stderr, "consumer_cxx: PrjFileNameCompare gave the wrong order\n");
        return 1;
    }
    if (!PrjFileNameMatch(L"Readme.TXT", L"*.txt") || PrjFileNameMatch(L"Makefile", L"*.*")) {
        std::fprintf(stderr, "consumer_cxx: PrjFileNameMatch gave the wrong answer\n");
        return 1;
    }
    std::puts("consumer_cxx: ok");
    return 0;
}
