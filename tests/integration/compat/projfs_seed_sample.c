/* The ProjFS seed page's code ("Handling asynchronous callbacks": MyGetEnumCallback, its worker thread and
 * MyCancelCommandCallback, tests/data/win32-samples/projfs-seed) compiled as C against <windows.h> and
 * <projectedfslib.h> with no shim. (It is C: as C++ its `goto RollbackOnError` jumps over initialised
 * locals, an error there.) The page leaves the provider's own bookkeeping routines to the reader
 * (MyTrackEnumForCancellation, MyGetEnumSession, ...); they are written here, as a provider would, so that
 * the program links. Compile-only: examples/projfs/async_enum_provider runs the same pattern. */
#include <projectedfslib.h>
#include <windows.h>

#include <pthread.h>
#include <wchar.h>

typedef struct MY_ENUM_SESSION MY_ENUM_SESSION;

/* The command ids of pending enumerations and whether each was cancelled (a small fixed table). */
enum { MAX_TRACKED = 64 };
static pthread_mutex_t g_trackedMutex = PTHREAD_MUTEX_INITIALIZER;
static INT32 g_tracked[MAX_TRACKED];
static BOOLEAN g_cancelled[MAX_TRACKED];
static int g_trackedCount;

static int FindTracked(INT32 commandId)
{
    for (int i = 0; i < g_trackedCount; ++i) {
        if (g_tracked[i] == commandId) {
            return i;
        }
    }
    return -1;
}

static HRESULT MyTrackEnumForCancellation(INT32 commandId)
{
    HRESULT hr = S_OK;
    pthread_mutex_lock(&g_trackedMutex);
    if (g_trackedCount == MAX_TRACKED) {
        hr = E_OUTOFMEMORY;
    } else {
        g_tracked[g_trackedCount] = commandId;
        g_cancelled[g_trackedCount] = FALSE;
        ++g_trackedCount;
    }
    pthread_mutex_unlock(&g_trackedMutex);
    return hr;
}

static void MyUntrackEnumForCancellation(INT32 commandId)
{
    pthread_mutex_lock(&g_trackedMutex);
    int i = FindTracked(commandId);
    if (i >= 0) {
        --g_trackedCount;
        g_tracked[i] = g_tracked[g_trackedCount];
        g_cancelled[i] = g_cancelled[g_trackedCount];
    }
    pthread_mutex_unlock(&g_trackedMutex);
}

static BOOLEAN MyCheckEnumForCancellation(INT32 commandId)
{
    pthread_mutex_lock(&g_trackedMutex);
    int i = FindTracked(commandId);
    BOOLEAN cancelled = i >= 0 && g_cancelled[i];
    pthread_mutex_unlock(&g_trackedMutex);
    return cancelled;
}

static void MyMarkEnumForCancellation(INT32 commandId)
{
    pthread_mutex_lock(&g_trackedMutex);
    int i = FindTracked(commandId);
    if (i >= 0) {
        g_cancelled[i] = TRUE;
    }
    pthread_mutex_unlock(&g_trackedMutex);
}

static MY_ENUM_SESSION* MyGetEnumSession(GUID enumerationId)
{
    (void)enumerationId;
    return NULL; /* no sessions in a compile-only program */
}

#include "projfs-seed/async_callbacks.1.inc"
#include "projfs-seed/async_callbacks.2.inc"

int main(void)
{
    PRJ_CALLBACKS callbacks = {0};
    callbacks.GetDirectoryEnumerationCallback = MyGetEnumCallback;
    callbacks.CancelCommandCallback = MyCancelCommandCallback;
    return callbacks.GetDirectoryEnumerationCallback != NULL ? 0 : 1;
}
