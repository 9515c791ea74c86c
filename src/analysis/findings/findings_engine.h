// Turns what the rules report, evaluation after evaluation, into findings
// with a lifecycle: raised the first time a rule reports an id and scope,
// active while it keeps reporting it, resolved once it has been quiet for
// kQuietToResolve evaluations, raised again (count + 1) if it comes back.
// Resolved findings are kept, newest first, at most kMaxResolved; at most
// kMaxActive are active (the rest are counted in dropped()). Pure: the
// caller passes the times, so tests drive it with hand-made snapshots.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/findings/finding.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {

struct FindingRecord {
  Finding finding;          // the latest report (evidence refreshed while active)
  uint64_t count = 0;       // times raised
  double first_seen = 0;    // wall clock, seconds since the Unix epoch
  double last_seen = 0;
  bool active = false;
  double resolved_at = 0;   // 0 while active
  uint32_t quiet = 0;       // evaluations without a report since last_seen
};

// The finding object of docs/findings.md; times as ISO 8601 UTC with milliseconds.
nlohmann::json findingJson(const FindingRecord& r);
std::string isoTime(double unix_seconds);

class FindingsEngine {
 public:
  // Three seconds: a rule on a 10 s window that flickers at its threshold
  // should not raise and resolve every second.
  static constexpr uint32_t kQuietToResolve = 3;
  static constexpr size_t kMaxActive = 128;
  static constexpr size_t kMaxResolved = 64;

  struct Change {
    bool raised = false;  // false: resolved
    FindingRecord record;
  };

  // Runs every rule once; wall_now stamps the changes. Returns what was raised or resolved.
  std::vector<Change> evaluate(const FindingInput& in, std::span<const Rule> rules, double wall_now);

  // Active (by severity, then first seen), then resolved (newest first).
  std::vector<FindingRecord> records() const;
  // Times each id was raised, over the process' life (grpcscope_findings_raised_total).
  const std::map<std::string, uint64_t>& raisedTotals() const { return raised_totals_; }
  uint64_t dropped() const { return dropped_; }
  // Rules that threw: counted, never stop the others (a rule bug is no outage).
  uint64_t ruleErrors() const { return rule_errors_; }

 private:
  static std::string key(const Finding& f);

  std::map<std::string, FindingRecord> active_;  // by key()
  std::vector<std::pair<std::string, FindingRecord>> resolved_;  // newest first
  std::map<std::string, uint64_t> raised_totals_;
  uint64_t dropped_ = 0;
  uint64_t rule_errors_ = 0;
};

}  // namespace grpcscope::findings
