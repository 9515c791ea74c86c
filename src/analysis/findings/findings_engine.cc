#include "analysis/findings/findings_engine.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <set>

namespace grpcscope::findings {

std::string isoTime(double unix_seconds) {
  if (unix_seconds <= 0) return "";
  auto whole = static_cast<time_t>(std::floor(unix_seconds));
  int ms = static_cast<int>((unix_seconds - static_cast<double>(whole)) * 1000);
  std::tm tm{};
  gmtime_r(&whole, &tm);
  char text[40];
  size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(text + n, sizeof text - n, ".%03dZ", std::clamp(ms, 0, 999));
  return text;
}

nlohmann::json findingJson(const FindingRecord& r) {
  const Finding& f = r.finding;
  nlohmann::json scope = nlohmann::json::object();
  for (const auto& [k, v] : f.scope) scope[k] = v;
  return {{"id", f.id},
          {"severity", severityName(f.severity)},
          {"layer", layerName(f.layer)},
          {"title", f.title},
          {"evidence", f.evidence},
          {"recommendation", f.recommendation},
          {"count", r.count},
          {"first_seen", isoTime(r.first_seen)},
          {"last_seen", isoTime(r.last_seen)},
          {"scope", scope},
          {"active", r.active},
          {"resolved_at", r.active ? nlohmann::json(nullptr) : nlohmann::json(isoTime(r.resolved_at))}};
}

std::string FindingsEngine::key(const Finding& f) {
  std::string k = f.id;
  for (const auto& [name, value] : f.scope) k += "\x1f" + name + "=" + value;
  return k;
}

std::vector<FindingsEngine::Change> FindingsEngine::evaluate(const FindingInput& in, std::span<const Rule> rules,
                                                             double wall_now) {
  std::vector<Change> changes;
  std::set<std::string> reported;
  std::vector<Finding> found;
  for (const Rule& rule : rules) {
    found.clear();
    try {
      rule.evaluate(in, found);
    } catch (const std::exception&) {
      ++rule_errors_;
      found.clear();
    }
    if (found.size() > kMaxPerRule) found.resize(kMaxPerRule);
    for (Finding& f : found) {
      std::string k = key(f);
      if (!reported.insert(k).second) continue;  // a rule repeating itself in one evaluation
      auto it = active_.find(k);
      if (it != active_.end()) {
        it->second.finding = std::move(f);
        it->second.last_seen = wall_now;
        it->second.quiet = 0;
        continue;
      }
      if (active_.size() >= kMaxActive) {
        ++dropped_;
        continue;
      }
      FindingRecord record;
      // A finding resolved earlier comes back as itself: same first_seen, count + 1.
      auto old = std::find_if(resolved_.begin(), resolved_.end(), [&](const auto& e) { return e.first == k; });
      if (old != resolved_.end()) {
        record = std::move(old->second);
        resolved_.erase(old);
      } else {
        record.first_seen = wall_now;
      }
      record.finding = std::move(f);
      ++record.count;
      record.last_seen = wall_now;
      record.active = true;
      record.resolved_at = 0;
      record.quiet = 0;
      ++raised_totals_[record.finding.id];
      changes.push_back({true, record});
      active_.emplace(k, std::move(record));
    }
  }
  for (auto it = active_.begin(); it != active_.end();) {
    if (reported.count(it->first) || ++it->second.quiet < kQuietToResolve) {
      ++it;
      continue;
    }
    FindingRecord record = std::move(it->second);
    record.active = false;
    record.resolved_at = wall_now;
    changes.push_back({false, record});
    resolved_.insert(resolved_.begin(), {it->first, std::move(record)});
    if (resolved_.size() > kMaxResolved) resolved_.pop_back();
    it = active_.erase(it);
  }
  return changes;
}

std::vector<FindingRecord> FindingsEngine::records() const {
  std::vector<FindingRecord> out;
  out.reserve(active_.size() + resolved_.size());
  for (const auto& [k, r] : active_) out.push_back(r);
  std::stable_sort(out.begin(), out.end(), [](const FindingRecord& a, const FindingRecord& b) {
    if (a.finding.severity != b.finding.severity) return a.finding.severity > b.finding.severity;
    return a.first_seen < b.first_seen;
  });
  for (const auto& [k, r] : resolved_) out.push_back(r);
  return out;
}

}  // namespace grpcscope::findings
