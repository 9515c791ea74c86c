// The JSON bodies of /api/summary, /api/methods, /api/connections and
// /api/findings (nlohmann::json), built on the admin side from merged copies.
#pragma once

#include <nlohmann/json.hpp>

#include "admin/metrics_text.h"
#include "admin/rate_tracker.h"
#include "admin/stats_collector.h"

namespace grpcscope {

class DescriptorNames;

nlohmann::json summaryJson(const CollectedStats& c, const ProcessFacts& process, const Rates& rates);
nlohmann::json methodsJson(const CollectedStats& c, const DescriptorNames* names);
// now_ns: uv_hrtime() now, for connection ages.
nlohmann::json connectionsJson(const CollectedStats& c, uint64_t now_ns);
// The current diagnoses: none until the findings engine exists.
nlohmann::json findingsJson();

}  // namespace grpcscope
