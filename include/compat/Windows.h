/* Windows.h: the same header as <windows.h>; Windows sources spell it both ways and Linux file names are
 * case-sensitive. */
#include "windows.h"
