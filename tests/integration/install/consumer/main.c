/* The public headers compiled as C11, calling one function of each library. Also built with the flags
 * from `pkg-config --cflags --libs computecore projectedfslib`. */
#include <computecore.h>
#include <projectedfslib.h>

#include <stdio.h>

int main(void)
{
    HCS_OPERATION operation = HcsCreateOperation(NULL, NULL);
    if (operation == NULL) {
        fprintf(stderr, "consumer_c: HcsCreateOperation returned NULL\n");
        return 1;
    }
    HcsCloseOperation(operation);

    if (PrjFileNameCompare(L"a.txt", L"A.TXT") != 0 || PrjDoesNameContainWildCards(L"plain") != FALSE) {
        fprintf(stderr, "consumer_c: ProjFS name functions gave the wrong answer\n");
        return 1;
    }
    puts("consumer_c: ok");
    return 0;
}
