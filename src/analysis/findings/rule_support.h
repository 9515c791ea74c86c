// Small helpers the rules share: reading hops and windows, rounding figures
// for evidence. Header-only and pure like the rules.
#pragma once

#include <cmath>
#include <cstdint>

#include "analysis/findings/finding_input.h"

namespace grpcscope::findings {

inline const HopStats& downstream(const WorkerStats& s) { return s.hops[static_cast<int>(Hop::kDownstream)]; }
inline const HopStats& upstream(const WorkerStats& s) { return s.hops[static_cast<int>(Hop::kUpstream)]; }
inline constexpr int kReceived = static_cast<int>(Direction::kReceived);
inline constexpr int kSent = static_cast<int>(Direction::kSent);

// A figure for evidence: 3 significant digits, so JSON stays readable.
inline double rounded(double v) {
  if (v == 0 || !std::isfinite(v)) return 0;
  double scale = std::pow(10.0, 2 - std::floor(std::log10(std::fabs(v))));
  return std::round(v * scale) / scale;
}

// The 60 s window, or the 10 s one while the process is younger than a minute.
inline const StatsWindow& recent(const FindingInput& in) { return in.last60s.empty() ? in.last10s : in.last60s; }

}  // namespace grpcscope::findings
