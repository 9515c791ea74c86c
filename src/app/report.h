// `grpcscope report`: a one-shot report from a running grpcscope, read from
// its admin endpoint (docs/configuration.md, "grpcscope report"), for CI jobs and load-test
// logs.
//
//   grpcscope report [--admin HOST:PORT] [--format text|markdown|json|html]
//                    [--fail-on warning|critical] [--timeout DURATION]
//
// Exit codes: 0 report printed (and no finding at the --fail-on severity or
// above is active), 1 such a finding is active (the report is still printed),
// 2 bad flags or the endpoint could not be read (one line on stderr).
//
// Fetching and rendering are separate: the renderers are pure functions of
// the parsed JSON, so tests feed them hand-made findings.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "grpcscope/config.h"

namespace grpcscope::report {

// kHtml: the admin endpoint's /report.html as served (the page with its data).
enum class Format { kText, kMarkdown, kJson, kHtml };
enum class FailOn { kNever, kWarning, kCritical };

struct ReportOptions {
  HostPort admin{"127.0.0.1", 9901};
  Format format = Format::kText;
  FailOn fail_on = FailOn::kNever;
  uint32_t timeout_ms = 5000;  // per request: connect + response
};

struct ParseResult {
  // Same convention as OptionsResult: ok, or exit now with exit_code (0 for
  // --help with the help text for stdout, 2 with one line for stderr).
  bool ok = false;
  int exit_code = 0;
  std::string message;
};

// argv[0] is the program, argv[1] is "report"; flags follow.
ParseResult parseReportOptions(int argc, const char* const* argv, ReportOptions& out);

// What the four endpoints served, parsed.
struct Snapshot {
  nlohmann::json findings;     // /api/findings: an array, or an object with "findings"
  nlohmann::json summary;      // /api/summary
  nlohmann::json methods;      // /api/methods: {"methods": [...]}
  nlohmann::json connections;  // /api/connections: {"count", "connections": [...]}
};

// HTTP GET of /report.html, the page with its data in one file.
bool fetchHtmlReport(const HostPort& admin, uint32_t timeout_ms, std::string& out, std::string* error);

// HTTP GET of the four endpoints. False with *error (no prefix) naming the
// address and the cause when one cannot be read or is not JSON.
bool fetchSnapshot(const HostPort& admin, uint32_t timeout_ms, Snapshot& out, std::string* error);

// The finding objects of a /api/findings body (array or {"findings": [...]}).
nlohmann::json findingList(const nlohmann::json& findings);

// True when a finding at `fail_on` severity or higher is active (a finding
// without "active" counts as active; "critical" counts for kWarning).
bool shouldFail(const nlohmann::json& findings, FailOn fail_on);

// Pure renderers; every result ends with a newline.
std::string renderText(const Snapshot& s);
std::string renderMarkdown(const Snapshot& s);
std::string renderJson(const Snapshot& s);  // {findings, summary, methods, connections}
std::string render(const Snapshot& s, Format format);

// The whole subcommand: parse, fetch, print to stdout/stderr; returns the exit code.
int runReport(int argc, const char* const* argv);

}  // namespace grpcscope::report
