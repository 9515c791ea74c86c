// `grpcscope report` without a proxy: the renderers and the --fail-on
// decision on hand-made admin JSON (src/app/report.cc), and its flags.
#include <gtest/gtest.h>

#include "app/report.h"

namespace grpcscope::report {
namespace {

using nlohmann::json;

json finding(const std::string& id, const std::string& severity, bool active) {
  return {{"id", id},
          {"severity", severity},
          {"layer", "connection"},
          {"title", "Title of " + id},
          {"evidence", {{"goaways", 3}}},
          {"recommendation", "Do the | thing"},
          {"count", 3},
          {"first_seen", "2026-12-01T12:00:00Z"},
          {"last_seen", "2026-12-01T12:01:00Z"},
          {"scope", {{"method", "pkg.S/M"}}},
          {"active", active},
          {"resolved_at", active ? json() : json("2026-12-01T12:02:00Z")}};
}

Snapshot sample(json findings) {
  Snapshot s;
  s.findings = std::move(findings);
  s.summary = {{"version", "0.1.0"},
               {"uptime_s", 12.5},
               {"rpcs", {{"started", 10}, {"finished", 10}, {"errors", 3}, {"active", 0}}},
               {"latency", {{"p50_s", 0.0012}, {"p90_s", 0.002}, {"p99_s", 0.0034}}},
               {"connections", {{"downstream", {{"active", 1}, {"total", 2}}}, {"upstream", {{"active", 1}, {"total", 2}}}}},
               {"tls", {{"downstream", {{"handshakes", 2}, {"resumed", 1}, {"handshake", {{"p50_s", 0.004}}}}},
                        {"upstream", {{"handshakes", 0}}}}}};
  s.methods = {{"methods",
                {{{"method", "grpcscope.test.Echo/Unary"},
                  {"calls", {{"started", 10}, {"finished", 10}}},
                  {"errors", 3},
                  {"latency", {{"p50_s", 0.0012}, {"p99_s", 0.0034}}},
                  {"request", {{"size_bytes", {{"p50", 100}, {"p99", 2048}}}}},
                  {"response", {{"size_bytes", {{"p50", 100}, {"p99", 109}}}}}}}}};
  s.connections = {{"count", 1},
                   {"connections",
                    {{{"worker", 0},
                      {"id", 7},
                      {"calls", 10},
                      {"downstream", {{"peer", "127.0.0.1:5000"}, {"tls", {{"version", "TLSv1.3"}, {"alpn", "h2"}}}}},
                      {"upstream", {{"peer", "127.0.0.1:6000"}, {"tls", nullptr}}}}}}};
  return s;
}

TEST(ReportFailOn, SeverityThresholds) {
  json none = json::array();
  json warning = json::array({finding("a.warn", "warning", true)});
  json critical = json::array({finding("a.crit", "critical", true)});
  json info = json::array({finding("a.info", "info", true)});
  json resolved = json::array({finding("a.crit", "critical", false)});
  for (FailOn f : {FailOn::kNever, FailOn::kWarning, FailOn::kCritical}) EXPECT_FALSE(shouldFail(none, f));
  EXPECT_FALSE(shouldFail(warning, FailOn::kNever));
  EXPECT_TRUE(shouldFail(warning, FailOn::kWarning));
  EXPECT_FALSE(shouldFail(warning, FailOn::kCritical));
  EXPECT_TRUE(shouldFail(critical, FailOn::kWarning));  // critical counts for --fail-on warning
  EXPECT_TRUE(shouldFail(critical, FailOn::kCritical));
  EXPECT_FALSE(shouldFail(info, FailOn::kWarning));
  EXPECT_FALSE(shouldFail(resolved, FailOn::kWarning));  // inactive findings never fail
  // The object form {"findings": [...]} is read too; a finding without "active" counts as active.
  json object = {{"findings", {{{"id", "x"}, {"severity", "critical"}}}}};
  EXPECT_TRUE(shouldFail(object, FailOn::kCritical));
  EXPECT_FALSE(shouldFail(json::object(), FailOn::kWarning));
  EXPECT_FALSE(shouldFail(json(), FailOn::kWarning));
}

TEST(ReportRender, TextListsFindingsAndMethods) {
  json findings = json::array({finding("b.warn", "warning", true), finding("c.old", "critical", false),
                               finding("a.crit", "critical", true)});
  std::string text = renderText(sample(findings));
  std::cout << text;
  EXPECT_NE(text.find("Findings: 2 active, 1 resolved"), std::string::npos);
  // Active first, critical before warning, resolved last.
  size_t crit = text.find("[CRITICAL] a.crit (connection) active, count 3");
  size_t warn = text.find("[WARNING] b.warn");
  size_t old = text.find("[CRITICAL] c.old (connection) resolved 2026-12-01T12:02:00Z");
  ASSERT_NE(crit, std::string::npos) << text;
  ASSERT_NE(warn, std::string::npos) << text;
  ASSERT_NE(old, std::string::npos) << text;
  EXPECT_LT(crit, warn);
  EXPECT_LT(warn, old);
  EXPECT_NE(text.find("Title of a.crit"), std::string::npos);
  EXPECT_NE(text.find("evidence: {\"goaways\":3}"), std::string::npos);
  EXPECT_NE(text.find("fix: Do the | thing"), std::string::npos);
  EXPECT_NE(text.find("first seen 2026-12-01T12:00:00Z, last seen 2026-12-01T12:01:00Z"), std::string::npos);
  EXPECT_NE(text.find("10 started, 10 finished, 3 errors"), std::string::npos);
  EXPECT_NE(text.find("p50 1.20 ms"), std::string::npos);
  EXPECT_NE(text.find("2 handshakes (1 resumed)"), std::string::npos);
  EXPECT_NE(text.find("none (plaintext)"), std::string::npos);
  EXPECT_NE(text.find("/grpcscope.test.Echo/Unary"), std::string::npos);
  EXPECT_NE(text.find("2.0 KiB"), std::string::npos);
  EXPECT_NE(text.find("TLSv1.3 h2"), std::string::npos);
  EXPECT_NE(text.find("W0/7"), std::string::npos);
}

TEST(ReportRender, TextToleratesEmptyAndPartialInput) {
  Snapshot empty;
  std::string text = renderText(empty);
  EXPECT_NE(text.find("Findings: none"), std::string::npos) << text;
  EXPECT_NE(text.find("Methods: none"), std::string::npos) << text;
  Snapshot partial = sample(json::array({{{"id", "only.id"}}}));
  text = renderText(partial);
  EXPECT_NE(text.find("[INFO] only.id active"), std::string::npos) << text;
  EXPECT_FALSE(renderMarkdown(empty).empty());
  EXPECT_FALSE(renderMarkdown(partial).empty());
}

TEST(ReportRender, MarkdownTables) {
  std::string md = renderMarkdown(sample(json::array({finding("a.crit", "critical", true)})));
  std::cout << md;
  EXPECT_NE(md.find("## Findings"), std::string::npos);
  EXPECT_NE(md.find("| critical | a.crit | connection | active | 3 | Title of a.crit |"), std::string::npos) << md;
  EXPECT_NE(md.find("Do the \\| thing"), std::string::npos) << md;  // pipes escaped in cells
  EXPECT_NE(md.find("| /grpcscope.test.Echo/Unary | 10 | 3 | 1.20 ms | 3.40 ms |"), std::string::npos) << md;
  EXPECT_NE(md.find("| --- | ---: |"), std::string::npos) << md;
  EXPECT_NE(renderMarkdown(sample(json::array())).find("No findings."), std::string::npos);
}

TEST(ReportRender, JsonIsTheFourBodies) {
  Snapshot s = sample(json::array({finding("a.crit", "critical", true)}));
  json j = json::parse(renderJson(s));
  EXPECT_EQ(j["findings"], s.findings);
  EXPECT_EQ(j["summary"], s.summary);
  EXPECT_EQ(j["methods"], s.methods);
  EXPECT_EQ(j["connections"], s.connections);
  EXPECT_EQ(render(s, Format::kJson), renderJson(s));
}

ParseResult parse(std::vector<std::string> args, ReportOptions& out) {
  std::vector<const char*> argv = {"grpcscope", "report"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return parseReportOptions(static_cast<int>(argv.size()), argv.data(), out);
}

TEST(ReportOptions, DefaultsAndValues) {
  ReportOptions o;
  ASSERT_TRUE(parse({}, o).ok);
  EXPECT_EQ(o.admin.toString(), "127.0.0.1:9901");
  EXPECT_EQ(o.format, Format::kText);
  EXPECT_EQ(o.fail_on, FailOn::kNever);
  ReportOptions p;
  ASSERT_TRUE(parse({"--admin", "localhost:1234", "--format", "markdown", "--fail-on", "critical", "--timeout", "2s"}, p)
                  .ok);
  EXPECT_EQ(p.admin.toString(), "localhost:1234");
  EXPECT_EQ(p.format, Format::kMarkdown);
  EXPECT_EQ(p.fail_on, FailOn::kCritical);
  EXPECT_EQ(p.timeout_ms, 2000u);
  ReportOptions h;
  ParseResult help = parse({"--help"}, h);
  EXPECT_FALSE(help.ok);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.message.find("--fail-on"), std::string::npos);
}

TEST(ReportOptions, BadFlagsAreOneLineExitTwo) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--bogus"},
                                                                {"--format", "yaml"},
                                                                {"--fail-on", "info"},
                                                                {"--admin", "nonsense"},
                                                                {"--admin", "127.0.0.1:0"},
                                                                {"--timeout", "0"},
                                                                {"extra"}}) {
    ReportOptions o;
    ParseResult r = parse(args, o);
    EXPECT_FALSE(r.ok) << args[0];
    EXPECT_EQ(r.exit_code, 2) << args[0];
    EXPECT_EQ(r.message.find('\n'), std::string::npos) << r.message;
    EXPECT_EQ(r.message.rfind("grpcscope report: ", 0), 0u) << r.message;
  }
}

}  // namespace
}  // namespace grpcscope::report
