// The memory plan of a model still on the hub: its small files and weight headers fetched into
// a temporary skeleton directory (hub/remote_model.h), planned like a local model, the directory
// removed. `snug pull` prints it before downloading; `snug plan ORG/NAME` uses it when the
// repository is not in the local cache.
#pragma once

#include <string>

#include "base/status.h"
#include "cli/planned_engine.h"
#include "hub/remote_model.h"

namespace snug::cli {

Result<PlannedModel> PlanRemoteModel(const hub::HttpClient& client, const hub::RemoteModel& model,
                                     const PlanFlags& flags, const ServingFigures& serving);

// One line: "fits in 16.0 GiB (available memory): 2 × 131072 tokens, 12.1 GiB planned" or
// "does not fit in 2.0 GiB (--memory): needs 5.3 GiB (weights 4.8 GiB)".
std::string PlanVerdictLine(const memory::MemoryPlan& plan);

}  // namespace snug::cli
