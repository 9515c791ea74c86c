// The engine's lifecycle on hand-made rules: raised, active while reported,
// resolved after kQuietToResolve quiet evaluations, raised again as itself,
// bounded active and resolved lists, a throwing rule contained.
#include <gtest/gtest.h>

#include <set>
#include <stdexcept>

#include "analysis/findings/findings_engine.h"
#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

// The rules below read what to report from these (tests run one at a time).
int g_scopes = 0;
bool g_report = false;

void scopedRule(const FindingInput&, std::vector<Finding>& out) {
  if (!g_report) return;
  for (int i = 0; i < g_scopes; ++i) {
    Finding f;
    f.id = "test.scoped";
    f.severity = i == 0 ? Severity::kCritical : Severity::kInfo;
    f.layer = Layer::kProxy;
    f.title = "scope " + std::to_string(i);
    f.evidence = {{"n_bytes", i}};
    f.scope = {{"client", "10.0.0." + std::to_string(i)}};
    out.push_back(f);
  }
}

void throwingRule(const FindingInput&, std::vector<Finding>&) { throw std::runtime_error("bug"); }

const Rule kScoped[] = {{"test.scoped", &scopedRule}};
const Rule kWithThrowing[] = {{"test.throwing", &throwingRule}, {"test.scoped", &scopedRule}};

TEST(FindingsEngine, RaisedActiveResolvedRaisedAgain) {
  Inputs in;
  FindingsEngine engine;
  g_scopes = 1;
  g_report = true;
  auto changes = engine.evaluate(in.input(), kScoped, 1000);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(changes[0].raised);
  EXPECT_EQ(changes[0].record.count, 1u);
  EXPECT_TRUE(engine.evaluate(in.input(), kScoped, 1001).empty());  // still active: no change
  auto records = engine.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].active);
  EXPECT_DOUBLE_EQ(records[0].first_seen, 1000);
  EXPECT_DOUBLE_EQ(records[0].last_seen, 1001);

  g_report = false;
  for (uint32_t i = 1; i < FindingsEngine::kQuietToResolve; ++i) {
    EXPECT_TRUE(engine.evaluate(in.input(), kScoped, 1001 + i).empty()) << "resolved too early at " << i;
  }
  changes = engine.evaluate(in.input(), kScoped, 1010);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_FALSE(changes[0].raised);
  records = engine.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_FALSE(records[0].active);
  EXPECT_DOUBLE_EQ(records[0].resolved_at, 1010);
  nlohmann::json j = findingJson(records[0]);
  EXPECT_EQ(j["active"], false);
  EXPECT_EQ(j["resolved_at"], "1970-01-01T00:16:50.000Z");
  EXPECT_EQ(j["first_seen"], "1970-01-01T00:16:40.000Z");

  g_report = true;
  changes = engine.evaluate(in.input(), kScoped, 1020);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(changes[0].raised);
  EXPECT_EQ(changes[0].record.count, 2u);
  EXPECT_DOUBLE_EQ(changes[0].record.first_seen, 1000);
  records = engine.records();
  ASSERT_EQ(records.size(), 1u);  // the same finding, not a second one
  EXPECT_TRUE(records[0].active);
  EXPECT_EQ(findingJson(records[0])["resolved_at"], nullptr);
  EXPECT_EQ(engine.raisedTotals().at("test.scoped"), 2u);
}

TEST(FindingsEngine, ScopesAreSeparateFindingsAndBoundedPerRule) {
  Inputs in;
  FindingsEngine engine;
  g_scopes = 20;
  g_report = true;
  auto changes = engine.evaluate(in.input(), kScoped, 1);
  EXPECT_EQ(changes.size(), kMaxPerRule);
  auto records = engine.records();
  ASSERT_EQ(records.size(), kMaxPerRule);
  EXPECT_EQ(records[0].finding.severity, Severity::kCritical);  // critical first
  EXPECT_EQ(records[0].finding.scope.at("client"), "10.0.0.0");
}

TEST(FindingsEngine, ResolvedHistoryIsBounded) {
  Inputs in;
  FindingsEngine engine;
  g_scopes = 1;
  // Each round: a different scope raised, then resolved.
  for (size_t round = 0; round < FindingsEngine::kMaxResolved + 10; ++round) {
    g_report = true;
    std::vector<Finding> none;
    auto rule = +[](const FindingInput&, std::vector<Finding>& out) {
      if (!g_report) return;
      Finding f;
      f.id = "test.rotating";
      f.scope = {{"n", std::to_string(g_scopes)}};
      out.push_back(f);
    };
    const Rule rules[] = {{"test.rotating", rule}};
    g_scopes = static_cast<int>(round);
    engine.evaluate(in.input(), rules, static_cast<double>(round * 10));
    g_report = false;
    for (uint32_t i = 0; i < FindingsEngine::kQuietToResolve; ++i) {
      engine.evaluate(in.input(), rules, static_cast<double>(round * 10 + 1 + i));
    }
  }
  auto records = engine.records();
  EXPECT_EQ(records.size(), FindingsEngine::kMaxResolved);
  for (const auto& r : records) EXPECT_FALSE(r.active);
  // Newest first.
  EXPECT_EQ(records.front().finding.scope.at("n"), std::to_string(FindingsEngine::kMaxResolved + 9));
}

TEST(FindingsEngine, ActiveFindingsAreBounded) {
  Inputs in;
  FindingsEngine engine;
  std::vector<Rule> rules;
  // Enough rules of kMaxPerRule scopes each to pass the bound.
  g_scopes = static_cast<int>(kMaxPerRule);
  g_report = true;
  size_t n = FindingsEngine::kMaxActive / kMaxPerRule + 2;
  // Distinct ids per rule via the scope rule and a per-rule id suffix is not
  // possible with a plain function pointer: use the rotating scope instead.
  for (size_t i = 0; i < n; ++i) {
    g_scopes = static_cast<int>(kMaxPerRule);
    auto rule = +[](const FindingInput&, std::vector<Finding>& out) {
      static int base = 0;
      for (size_t k = 0; k < kMaxPerRule; ++k) {
        Finding f;
        f.id = "test.many";
        f.scope = {{"n", std::to_string(base++)}};
        out.push_back(f);
      }
    };
    rules.push_back({"test.many", rule});
  }
  engine.evaluate(in.input(), rules, 1);
  EXPECT_EQ(engine.records().size(), FindingsEngine::kMaxActive);
  EXPECT_EQ(engine.dropped(), n * kMaxPerRule - FindingsEngine::kMaxActive);
}

TEST(FindingsEngine, AThrowingRuleIsCountedAndTheOthersRun) {
  Inputs in;
  FindingsEngine engine;
  g_scopes = 1;
  g_report = true;
  auto changes = engine.evaluate(in.input(), kWithThrowing, 1);
  EXPECT_EQ(changes.size(), 1u);
  EXPECT_EQ(engine.ruleErrors(), 1u);
}

TEST(FindingsEngine, IsoTimeHasMillisecondsAndUtc) {
  EXPECT_EQ(isoTime(1764598800.25), "2025-12-01T14:20:00.250Z");  // date -u -d @1764598800
  EXPECT_EQ(isoTime(0), "");
}

TEST(FindingsEngine, EveryRuleIdIsUniqueAndRunsOnAnEmptySnapshot) {
  Inputs in;
  std::set<std::string_view> ids;
  for (const Rule& r : allRules()) {
    EXPECT_TRUE(ids.insert(r.id).second) << r.id;
    std::vector<Finding> out;
    r.evaluate(in.input(), out);  // nothing measured: nothing found
    EXPECT_TRUE(out.empty()) << r.id;
    StatsWindow none;
    FindingInput young{in.current, none, none};  // the first second: no windows yet
    r.evaluate(young, out);
    EXPECT_TRUE(out.empty()) << r.id;
  }
}

}  // namespace
}  // namespace grpcscope::findings
