// The JSON bodies of /api/summary, /api/methods, /api/connections and
// /api/findings (nlohmann::json), built on the admin side from merged copies.
#pragma once

#include <nlohmann/json.hpp>

#include "admin/findings_board.h"
#include "admin/metrics_text.h"
#include "admin/rate_tracker.h"
#include "admin/stats_collector.h"

namespace grpcscope {

class DescriptorNames;

// windows: the last 10 s and 60 s (null before the first evaluation: shown as empty).
nlohmann::json summaryJson(const CollectedStats& c, const ProcessFacts& process, const Rates& rates,
                           const PublishedWindows* windows = nullptr);
nlohmann::json methodsJson(const CollectedStats& c, const DescriptorNames* names,
                           const PublishedWindows* windows = nullptr);
// now_ns: uv_hrtime() now, for connection ages.
nlohmann::json connectionsJson(const CollectedStats& c, uint64_t now_ns);

}  // namespace grpcscope
