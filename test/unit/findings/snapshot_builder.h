// Hand-made inputs for rule tests: a cumulative snapshot now and windows that
// the test fills directly (what WorkerStats::subtract would have produced).
#pragma once

#include <string>
#include <vector>

#include "analysis/findings/finding_input.h"
#include "analysis/findings/rule_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings::testing {

struct Inputs {
  StatsSnapshot current;
  StatsWindow last10s;
  StatsWindow last60s;

  Inputs() {
    current.t = 120;
    current.now_ns = 120'000'000'000ull;
    last10s.seconds = 10;
    last60s.seconds = 60;
  }
  FindingInput input() const { return {current, last10s, last60s}; }
  HopStats& hop(StatsWindow& w, Hop h) { return w.stats.hops[static_cast<int>(h)]; }

  std::vector<Finding> run(RuleFn rule) const {
    std::vector<Finding> out;
    rule(input(), out);
    return out;
  }
};

}  // namespace grpcscope::findings::testing
