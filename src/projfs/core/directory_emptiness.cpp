#include "projfs/core/directory_emptiness.h"

#include "base/hresult.h"
#include "projfs/core/dispatcher.h"
#include "projfs/core/enumeration_session.h"
#include "projfs/core/virtualization_instance.h"

#include <cerrno>
#include <memory>

namespace hc::projfs {

void requireEmptyDirectory(VirtualizationInstance& instance, const RequestContext& ctx, const std::string& rel,
                           std::function<void(Status)> done)
{
    if (rel.empty() || !instance.isProviderBacked(ctx, rel)) return done(Status());
    auto session = instance.openEnumeration(ctx, rel);
    // One provider batch is enough to see whether anything is listed.
    session->fetch(ctx, 0, kProviderBatchBytes, [&instance, session, rel, done](HRESULT hr) {
        auto decide = [session, rel, hr, done] {
            session->close();  // EndDirectoryEnumeration: never from the provider's completion thread
            if (FAILED(hr)) {
                HRESULT reported = hr == HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED) ? hr : errnoHresult(EIO);
                return done(makeError(reported, "listing '" + rel + "' before removing it failed: " + hresultName(hr)));
            }
            if (!session->entries().empty())
                return done(makeError(
                    errnoHresult(ENOTEMPTY),
                    "'" + rel + "' lists '" + session->entries().front().name + "' (the provider's or on disk)"));
            done(Status());
        };
        if (VirtualizationInstance::onProviderCompletionThread()) return instance.executor().post(std::move(decide));
        decide();
    });
}

}  // namespace hc::projfs
