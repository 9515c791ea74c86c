#include "app/report.h"

#include <CLI/CLI.hpp>
#include <civetweb.h>
#include <netdb.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "app/options.h"

namespace grpcscope::report {
namespace {

using nlohmann::json;

constexpr int kExitFinding = 1;
constexpr int kExitUsage = 2;

std::string oneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// ---- JSON access that tolerates absent or mistyped fields -------------------

const json* at(const json& j, std::initializer_list<const char*> path) {
  const json* cur = &j;
  for (const char* key : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

std::string str(const json& j, std::initializer_list<const char*> path, const std::string& fallback = "") {
  const json* v = at(j, path);
  if (v == nullptr || v->is_null()) return fallback;
  if (v->is_string()) return v->get<std::string>();
  return v->dump();
}

double num(const json& j, std::initializer_list<const char*> path, double fallback = 0) {
  const json* v = at(j, path);
  return v != nullptr && v->is_number() ? v->get<double>() : fallback;
}

bool has(const json& j, std::initializer_list<const char*> path) {
  const json* v = at(j, path);
  return v != nullptr && !v->is_null();
}

std::string count(const json& j, std::initializer_list<const char*> path) {
  const json* v = at(j, path);
  if (v == nullptr || !v->is_number()) return "-";
  if (v->is_number_integer() || v->is_number_unsigned()) return v->dump();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", v->get<double>());
  return buf;
}

// Seconds -> "850 us", "1.23 ms", "2.50 s"; "-" when absent.
std::string seconds(const json& j, std::initializer_list<const char*> path) {
  const json* v = at(j, path);
  if (v == nullptr || !v->is_number()) return "-";
  const double s = v->get<double>();
  char buf[32];
  if (s < 1e-3) {
    std::snprintf(buf, sizeof buf, "%.0f us", s * 1e6);
  } else if (s < 1) {
    std::snprintf(buf, sizeof buf, "%.2f ms", s * 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f s", s);
  }
  return buf;
}

// Bytes -> "512 B", "1.5 KiB", "2.0 MiB"; "-" when absent.
std::string bytes(const json& j, std::initializer_list<const char*> path) {
  const json* v = at(j, path);
  if (v == nullptr || !v->is_number()) return "-";
  const double b = v->get<double>();
  char buf[32];
  if (b < 1024) {
    std::snprintf(buf, sizeof buf, "%.0f B", b);
  } else if (b < 1024.0 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1024.0 * 1024));
  }
  return buf;
}

// The gRPC path form of a method name: "/pkg.Service/Method" ("other" stays).
std::string methodPath(const json& m) {
  std::string name = str(m, {"method"}, "?");
  if (name.empty() || name[0] == '/' || name.find('/') == std::string::npos) return name;
  return "/" + name;
}

int severityRank(const std::string& severity) {
  if (severity == "critical") return 2;
  if (severity == "warning") return 1;
  return 0;
}

bool isActive(const json& f) {
  const json* v = at(f, {"active"});
  return v == nullptr || !v->is_boolean() || v->get<bool>();
}

// Findings sorted: active first, then by severity (critical first), then id.
std::vector<json> sortedFindings(const json& findings) {
  json list = findingList(findings);
  std::vector<json> out(list.begin(), list.end());
  std::stable_sort(out.begin(), out.end(), [](const json& a, const json& b) {
    if (isActive(a) != isActive(b)) return isActive(a);
    int ra = severityRank(str(a, {"severity"})), rb = severityRank(str(b, {"severity"}));
    if (ra != rb) return ra > rb;
    return str(a, {"id"}) < str(b, {"id"});
  });
  return out;
}

// ---- tables -----------------------------------------------------------------

struct Table {
  std::vector<std::string> header;
  std::vector<bool> right;  // right-aligned (numeric) columns
  std::vector<std::vector<std::string>> rows;
};

std::string textTable(const Table& t, const std::string& indent) {
  std::vector<size_t> width(t.header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], row[i].size());
  };
  measure(t.header);
  for (const auto& row : t.rows) measure(row);
  auto line = [&](const std::vector<std::string>& row) {
    std::string out = indent;
    for (size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      const std::string pad(width[i] - cell.size(), ' ');
      out += t.right[i] ? pad + cell : cell + (i + 1 < width.size() ? pad : "");
      if (i + 1 < width.size()) out += "  ";
    }
    return out + "\n";
  };
  std::string out = line(t.header);
  for (const auto& row : t.rows) out += line(row);
  return out;
}

std::string mdCell(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string mdTable(const Table& t) {
  auto line = [](const std::vector<std::string>& row) {
    std::string out = "|";
    for (const auto& cell : row) out += " " + mdCell(cell) + " |";
    return out + "\n";
  };
  std::string out = line(t.header);
  out += "|";
  for (bool r : t.right) out += r ? " ---: |" : " --- |";
  out += "\n";
  for (const auto& row : t.rows) out += line(row);
  return out;
}

Table methodsTable(const Snapshot& s) {
  Table t{{"method", "calls", "errors", "p50", "p99", "req p50", "req p99", "resp p50", "resp p99"},
          {false, true, true, true, true, true, true, true, true},
          {}};
  const json* list = at(s.methods, {"methods"});
  if (list == nullptr && s.methods.is_array()) list = &s.methods;
  if (list == nullptr || !list->is_array()) return t;
  for (const json& m : *list) {
    t.rows.push_back({methodPath(m), count(m, {"calls", "started"}), count(m, {"errors"}),
                      seconds(m, {"latency", "p50_s"}), seconds(m, {"latency", "p99_s"}),
                      bytes(m, {"request", "size_bytes", "p50"}), bytes(m, {"request", "size_bytes", "p99"}),
                      bytes(m, {"response", "size_bytes", "p50"}), bytes(m, {"response", "size_bytes", "p99"})});
  }
  return t;
}

std::string tlsOf(const json& leg) {
  const json* tls = at(leg, {"tls"});
  if (tls == nullptr || !tls->is_object()) return "plain";
  std::string out = str(*tls, {"version"}, "TLS");
  out += " " + str(*tls, {"alpn"}, "none");
  if (const json* r = at(*tls, {"resumed"}); r != nullptr && r->is_boolean() && r->get<bool>()) out += " resumed";
  return out;
}

Table connectionsTable(const Snapshot& s) {
  Table t{{"id", "calls", "client", "client TLS", "server", "server TLS"}, {true, true, false, false, false, false}, {}};
  const json* list = at(s.connections, {"connections"});
  if (list == nullptr || !list->is_array()) return t;
  for (const json& c : *list) {
    std::string id = count(c, {"id"});
    if (has(c, {"worker"})) id = "W" + count(c, {"worker"}) + "/" + id;
    const json* down = at(c, {"downstream"});
    const json* up = at(c, {"upstream"});
    const json none;
    t.rows.push_back({id, count(c, {"calls"}), str(down ? *down : none, {"peer"}, "-"),
                      down && down->is_object() ? tlsOf(*down) : "-", str(up ? *up : none, {"peer"}, "-"),
                      up && up->is_object() ? tlsOf(*up) : "-"});
  }
  return t;
}

struct SummaryRow {
  std::string name;
  std::string value;
};

std::vector<SummaryRow> summaryRows(const Snapshot& s) {
  const json& j = s.summary;
  std::vector<SummaryRow> rows;
  rows.push_back({"uptime", seconds(j, {"uptime_s"})});
  rows.push_back({"rpcs", count(j, {"rpcs", "started"}) + " started, " + count(j, {"rpcs", "finished"}) +
                              " finished, " + count(j, {"rpcs", "errors"}) + " errors, " +
                              count(j, {"rpcs", "active"}) + " active"});
  rows.push_back({"latency", "p50 " + seconds(j, {"latency", "p50_s"}) + ", p90 " + seconds(j, {"latency", "p90_s"}) +
                                 ", p99 " + seconds(j, {"latency", "p99_s"})});
  for (const char* hop : {"downstream", "upstream"}) {
    rows.push_back({std::string("connections ") + hop,
                    count(j, {"connections", hop, "active"}) + " active, " + count(j, {"connections", hop, "total"}) +
                        " total"});
  }
  for (const char* hop : {"downstream", "upstream"}) {
    if (num(j, {"tls", hop, "handshakes"}) <= 0) {
      rows.push_back({std::string("tls ") + hop, has(j, {"tls", hop}) ? "none (plaintext)" : "-"});
      continue;
    }
    rows.push_back({std::string("tls ") + hop, count(j, {"tls", hop, "handshakes"}) + " handshakes (" +
                                                   count(j, {"tls", hop, "resumed"}) + " resumed), p50 " +
                                                   seconds(j, {"tls", hop, "handshake", "p50_s"}) + ", p99 " +
                                                   seconds(j, {"tls", hop, "handshake", "p99_s"})});
  }
  if (num(j, {"upstream_failures", "total"}) > 0) {
    rows.push_back({"upstream failures", count(j, {"upstream_failures", "total"})});
  }
  return rows;
}

std::string activeLabel(const json& f) {
  if (isActive(f)) return "active";
  return has(f, {"resolved_at"}) ? "resolved " + str(f, {"resolved_at"}) : "resolved";
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string findingsHeadline(const std::vector<json>& list) {
  size_t active = 0;
  for (const auto& f : list) active += isActive(f);
  return std::to_string(active) + " active, " + std::to_string(list.size() - active) + " resolved";
}

}  // namespace

json findingList(const json& findings) {
  if (findings.is_array()) return findings;
  if (const json* list = at(findings, {"findings"}); list != nullptr && list->is_array()) return *list;
  return json::array();
}

bool shouldFail(const json& findings, FailOn fail_on) {
  if (fail_on == FailOn::kNever) return false;
  const int threshold = fail_on == FailOn::kCritical ? 2 : 1;
  for (const json& f : findingList(findings)) {
    if (isActive(f) && severityRank(str(f, {"severity"})) >= threshold) return true;
  }
  return false;
}

std::string renderText(const Snapshot& s) {
  std::string out = "grpcscope report";
  if (has(s.summary, {"version"})) out += " (grpcscope " + str(s.summary, {"version"}) + ")";
  out += "\n\n";
  const std::vector<json> findings = sortedFindings(s.findings);
  out += "Findings: " + (findings.empty() ? std::string("none") : findingsHeadline(findings)) + "\n";
  for (const json& f : findings) {
    out += "  [" + upper(str(f, {"severity"}, "info")) + "] " + str(f, {"id"}, "?");
    if (has(f, {"layer"})) out += " (" + str(f, {"layer"}) + ")";
    out += " " + activeLabel(f);
    if (has(f, {"count"})) out += ", count " + count(f, {"count"});
    out += "\n";
    if (has(f, {"title"})) out += "      " + str(f, {"title"}) + "\n";
    if (has(f, {"scope"})) out += "      scope: " + str(f, {"scope"}) + "\n";
    if (has(f, {"evidence"})) out += "      evidence: " + str(f, {"evidence"}) + "\n";
    if (has(f, {"recommendation"})) out += "      fix: " + str(f, {"recommendation"}) + "\n";
    if (has(f, {"first_seen"}) || has(f, {"last_seen"})) {
      out += "      first seen " + str(f, {"first_seen"}, "-") + ", last seen " + str(f, {"last_seen"}, "-") + "\n";
    }
  }
  out += "\nSummary\n";
  size_t width = 0;
  auto rows = summaryRows(s);
  for (const auto& r : rows) width = std::max(width, r.name.size());
  for (const auto& r : rows) out += "  " + r.name + std::string(width - r.name.size() + 2, ' ') + r.value + "\n";
  Table methods = methodsTable(s);
  out += "\nMethods";
  out += methods.rows.empty() ? ": none\n" : "\n" + textTable(methods, "  ");
  Table connections = connectionsTable(s);
  out += "\nConnections: " + count(s.connections, {"count"}) + " live";
  out += connections.rows.empty() ? "\n" : "\n" + textTable(connections, "  ");
  return out;
}

std::string renderMarkdown(const Snapshot& s) {
  std::string out = "# grpcscope report";
  if (has(s.summary, {"version"})) out += " (grpcscope " + str(s.summary, {"version"}) + ")";
  out += "\n\n## Findings\n\n";
  const std::vector<json> findings = sortedFindings(s.findings);
  if (findings.empty()) {
    out += "No findings.\n";
  } else {
    out += findingsHeadline(findings) + ".\n\n";
    Table t{{"severity", "id", "layer", "state", "count", "title", "evidence", "recommendation", "first seen",
             "last seen"},
            {false, false, false, false, true, false, false, false, false, false},
            {}};
    for (const json& f : findings) {
      t.rows.push_back({str(f, {"severity"}, "info"), str(f, {"id"}, "?"), str(f, {"layer"}, "-"), activeLabel(f),
                        count(f, {"count"}), str(f, {"title"}, "-"), str(f, {"evidence"}, "-"),
                        str(f, {"recommendation"}, "-"), str(f, {"first_seen"}, "-"), str(f, {"last_seen"}, "-")});
    }
    out += mdTable(t);
  }
  out += "\n## Summary\n\n";
  Table summary{{"what", "value"}, {false, false}, {}};
  for (const auto& r : summaryRows(s)) summary.rows.push_back({r.name, r.value});
  out += mdTable(summary);
  out += "\n## Methods\n\n";
  Table methods = methodsTable(s);
  out += methods.rows.empty() ? "No calls yet.\n" : mdTable(methods);
  out += "\n## Connections\n\n" + count(s.connections, {"count"}) + " live.\n";
  Table connections = connectionsTable(s);
  if (!connections.rows.empty()) out += "\n" + mdTable(connections);
  return out;
}

std::string renderJson(const Snapshot& s) {
  json j = {{"findings", s.findings}, {"summary", s.summary}, {"methods", s.methods}, {"connections", s.connections}};
  return j.dump(2) + "\n";
}

std::string render(const Snapshot& s, Format format) {
  switch (format) {
    case Format::kMarkdown: return renderMarkdown(s);
    case Format::kJson: return renderJson(s);
    case Format::kText:
    case Format::kHtml: break;  // served by the admin endpoint itself (fetchHtmlReport)
  }
  return renderText(s);
}

ParseResult parseReportOptions(int argc, const char* const* argv, ReportOptions& out) {
  try {
    CLI::App app{"grpcscope report: read a running grpcscope's admin endpoint and print its findings and a\n"
                 "summary (per method, connections, TLS). Exit 1 when a finding at the --fail-on severity\n"
                 "(or higher) is active, 2 when the endpoint cannot be read.",
                 "grpcscope report"};
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    std::string admin = out.admin.toString();
    std::string format = "text";
    std::string fail_on;
    std::string timeout = formatDurationMs(out.timeout_ms);
    app.add_option("--admin", admin, "Admin endpoint of the running grpcscope")->type_name("HOST:PORT")->capture_default_str();
    app.add_option("--format", format, "Output format")->type_name("text|markdown|json|html")->capture_default_str();
    app.add_option("--fail-on", fail_on, "Exit 1 when a finding at this severity or higher is active")
        ->type_name("warning|critical");
    app.add_option("--timeout", timeout, "Per-request timeout")->type_name("DURATION")->capture_default_str();
    // argv[1] is "report": CLI11 sees the flags after it.
    std::vector<std::string> args;
    for (int i = argc - 1; i >= 2; --i) args.emplace_back(argv[i]);
    try {
      app.parse(args);
    } catch (const CLI::CallForHelp&) {
      std::string help = app.help();
      while (!help.empty() && help.back() == '\n') help.pop_back();
      return {false, 0, help};
    } catch (const CLI::ExtrasError& e) {
      std::string what = e.what();
      const size_t colon = what.find(": ");
      return {false, kExitUsage,
              oneLine("grpcscope report: unknown option or unexpected argument: " +
                      (colon == std::string::npos ? what : what.substr(colon + 2)) + " (see grpcscope report --help)")};
    } catch (const CLI::ParseError& e) {
      return {false, kExitUsage, oneLine("grpcscope report: " + std::string(e.what()) + " (see grpcscope report --help)")};
    }
    std::string error;
    if (!parseHostPort(admin, false, out.admin, &error)) {
      return {false, kExitUsage, oneLine("grpcscope report: --admin: " + error)};
    }
    if (format == "text") {
      out.format = Format::kText;
    } else if (format == "markdown") {
      out.format = Format::kMarkdown;
    } else if (format == "json") {
      out.format = Format::kJson;
    } else if (format == "html") {
      out.format = Format::kHtml;
    } else {
      return {false, kExitUsage, oneLine("grpcscope report: --format: '" + format + "' is not text, markdown, json or html")};
    }
    if (fail_on.empty()) {
      out.fail_on = FailOn::kNever;
    } else if (fail_on == "warning") {
      out.fail_on = FailOn::kWarning;
    } else if (fail_on == "critical") {
      out.fail_on = FailOn::kCritical;
    } else {
      return {false, kExitUsage, oneLine("grpcscope report: --fail-on: '" + fail_on + "' is not warning or critical")};
    }
    if (!parseDurationMs(timeout, out.timeout_ms, &error) || out.timeout_ms == 0) {
      return {false, kExitUsage, oneLine("grpcscope report: --timeout: " + (error.empty() ? "must be > 0" : error))};
    }
    return {true, 0, ""};
  } catch (const std::exception& e) {
    return {false, kExitUsage, oneLine(std::string("grpcscope report: ") + e.what())};
  }
}

namespace {

// civetweb's client wants a numeric address: resolve a name such as "localhost".
bool numericHost(const std::string& host, std::string& out, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr) {
    *error = "cannot resolve '" + host + "': " + gai_strerror(rc);
    return false;
  }
  char buf[INET6_ADDRSTRLEN] = {};
  // Prefer IPv4 (civetweb may be built without IPv6).
  const addrinfo* pick = res;
  for (const addrinfo* a = res; a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      pick = a;
      break;
    }
  }
  if (pick->ai_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(pick->ai_addr)->sin_addr, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(pick->ai_addr)->sin6_addr, buf, sizeof buf);
  }
  freeaddrinfo(res);
  out = buf;
  return true;
}

// One GET; the body of a 200 answer, else false with *error naming why.
bool httpGet(const std::string& host, const HostPort& admin, const std::string& path, const char* accept,
             uint32_t timeout_ms, std::string& body, std::string* error) {
  const std::string& where = path;
  char ebuf[256] = {};
  mg_connection* conn = mg_connect_client(host.c_str(), admin.port, 0, ebuf, sizeof ebuf);
  if (conn == nullptr) {
    *error = std::string("connect failed: ") + (ebuf[0] ? ebuf : "no connection");
    return false;
  }
  mg_printf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: %s\r\nConnection: close\r\n\r\n", path.c_str(),
            admin.toString().c_str(), accept);
  ebuf[0] = '\0';
  if (mg_get_response(conn, ebuf, sizeof ebuf, static_cast<int>(timeout_ms)) < 0) {
    *error = "no HTTP response from " + where + ": " + (ebuf[0] ? ebuf : "timed out or closed");
    mg_close_connection(conn);
    return false;
  }
  const mg_response_info* info = mg_get_response_info(conn);
  const int status = info != nullptr ? info->status_code : 0;
  body.clear();
  char buf[16384];
  for (;;) {
    const int n = mg_read(conn, buf, sizeof buf);
    if (n <= 0) break;
    body.append(buf, static_cast<size_t>(n));
  }
  mg_close_connection(conn);
  if (status != 200) {
    *error = "GET " + where + " answered HTTP " + std::to_string(status) + " (is this a grpcscope admin endpoint?)";
    return false;
  }
  return true;
}

bool httpGetJson(const std::string& host, const HostPort& admin, const std::string& path, uint32_t timeout_ms,
                 json& out, std::string* error) {
  std::string body;
  if (!httpGet(host, admin, path, "application/json", timeout_ms, body, error)) return false;
  out = json::parse(body, nullptr, false);
  if (out.is_discarded()) {
    *error = "GET " + path + " did not return JSON (is this a grpcscope admin endpoint?)";
    return false;
  }
  return true;
}

// The admin host as a numeric address (civetweb's client takes no names).
bool adminHost(const HostPort& admin, std::string& host, std::string* error) {
  static const unsigned init = mg_init_library(0);
  (void)init;
  std::string host_text = admin.host.empty() ? "127.0.0.1" : admin.host;
  if (host_text.size() > 2 && host_text.front() == '[' && host_text.back() == ']') {
    host_text = host_text.substr(1, host_text.size() - 2);
  }
  return numericHost(host_text, host, error);
}

}  // namespace

bool fetchSnapshot(const HostPort& admin, uint32_t timeout_ms, Snapshot& out, std::string* error) {
  std::string host;
  if (!adminHost(admin, host, error)) return false;
  return httpGetJson(host, admin, "/api/findings", timeout_ms, out.findings, error) &&
         httpGetJson(host, admin, "/api/summary", timeout_ms, out.summary, error) &&
         httpGetJson(host, admin, "/api/methods", timeout_ms, out.methods, error) &&
         httpGetJson(host, admin, "/api/connections", timeout_ms, out.connections, error);
}

bool fetchHtmlReport(const HostPort& admin, uint32_t timeout_ms, std::string& out, std::string* error) {
  std::string host;
  return adminHost(admin, host, error) && httpGet(host, admin, "/report.html", "text/html", timeout_ms, out, error);
}

int runReport(int argc, const char* const* argv) {
  ReportOptions options;
  ParseResult parsed = parseReportOptions(argc, argv, options);
  if (!parsed.ok) {
    std::fprintf(parsed.exit_code == 0 ? stdout : stderr, "%s\n", parsed.message.c_str());
    return parsed.exit_code;
  }
  Snapshot snapshot;
  std::string error;
  if (!fetchSnapshot(options.admin, options.timeout_ms, snapshot, &error)) {
    std::fprintf(stderr, "grpcscope report: cannot read the admin endpoint at %s: %s\n",
                 options.admin.toString().c_str(), oneLine(error).c_str());
    return kExitUsage;
  }
  std::string text;
  if (options.format == Format::kHtml) {
    if (!fetchHtmlReport(options.admin, options.timeout_ms, text, &error)) {
      std::fprintf(stderr, "grpcscope report: cannot read the admin endpoint at %s: %s\n",
                   options.admin.toString().c_str(), oneLine(error).c_str());
      return kExitUsage;
    }
  } else {
    text = render(snapshot, options.format);
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  return shouldFail(snapshot.findings, options.fail_on) ? kExitFinding : 0;
}

}  // namespace grpcscope::report
