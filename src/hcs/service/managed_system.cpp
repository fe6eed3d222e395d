#include "hcs/service/managed_system.h"

#include "base/log.h"

namespace hc::hcs::service {

bool ComputeSystem::setState(SystemState to, const std::string& why)
{
    if (to == state_) return true;
    if (!validTransition(state_, to)) {
        HC_LOG(Error, "hcsd",
               "compute system \"" + id + "\": refused state change " + stateName(state_) + " -> " + stateName(to) +
                   " (" + why + ")");
        return false;
    }
    HC_LOG(Info, "hcsd",
           "compute system \"" + id + "\": " + stateName(state_) + " -> " + stateName(to) + " (" + why + ")");
    state_ = to;
    return true;
}

}  // namespace hc::hcs::service
