// /metrics: the merged statistics as Prometheus metric families
// (prometheus-cpp's data model and text serializer). Names and labels follow
// the admin contract of docs/metrics.md, which lists every family.
#pragma once

#include <string>

#include "admin/findings_board.h"
#include "admin/stats_collector.h"

namespace grpcscope {

struct ProcessFacts {
  double uptime_s = 0;
  std::string version;
  bool measuring = true;
};

// findings: the active findings and raise counts (null: none shown).
std::string renderMetrics(const CollectedStats& collected, const ProcessFacts& process,
                          const FindingMetrics* findings = nullptr);

}  // namespace grpcscope
