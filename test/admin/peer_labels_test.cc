// Values a peer chooses (HTTP/2 error codes, GOAWAY debug texts, SETTINGS
// ids, header values, :path) must never become unbounded metric labels or
// JSON keys, nor break the exposition or the JSON. Raw HTTP/2 clients
// (support/raw_h2.h) send thousands of made-up values through the proxy;
// /metrics, /api/summary and /api/connections must stay small and valid.
#include <gtest/gtest.h>

#include <set>

#include "admin/admin_fixture.h"

namespace grpcscope::testsupport {
namespace {

using namespace h2;

constexpr int kResetCodes = 3000;     // RST_STREAMs, each with its own made-up code
constexpr int kResetConnections = 3;  // spread: each stays below the rapid-reset guard's burst anyway
constexpr int kGoawayConnections = 150;
constexpr int kGoawaysPerConnection = 4;

// RFC 9113 section 7 error code names, and the bucket for all others.
const std::set<std::string>& allowedCodes() {
  static const std::set<std::string> codes = {
      "NO_ERROR",  "PROTOCOL_ERROR",    "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
      "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL",          "COMPRESSION_ERROR",
      "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED", "unknown"};
  return codes;
}

// A request HEADERS block with peer-chosen metadata (one of each per stream).
std::string requestBlock(std::string_view path, std::string_view authority, std::string_view user_agent,
                         std::string_view content_type, std::string_view encoding) {
  std::string b;
  b += hpackLiteral(":method", "POST");
  b += hpackLiteral(":scheme", "http");
  b += hpackLiteral(":path", path);
  b += hpackLiteral(":authority", authority);
  b += hpackLiteral("content-type", content_type);
  b += hpackLiteral("te", "trailers");
  b += hpackLiteral("user-agent", user_agent);
  b += hpackLiteral("grpc-encoding", encoding);
  b += hpackLiteral("grpc-accept-encoding", encoding);
  return b;
}

std::string goawayFrame(uint32_t last_stream, uint32_t code, std::string_view debug) {
  std::string p;
  for (uint32_t v : {last_stream, code}) {
    for (int shift = 24; shift >= 0; shift -= 8) p.push_back(static_cast<char>((v >> shift) & 0xff));
  }
  p.append(debug);
  return frame(kGoaway, 0, 0, p);
}

uint64_t sumCounts(const nlohmann::json& counts) {
  uint64_t n = 0;
  if (!counts.is_object()) return 0;
  for (const auto& [key, value] : counts.items()) {
    if (value.is_number()) n += value.get<uint64_t>();
  }
  return n;
}

class PeerLabelsTest : public AdminTest {
 protected:
  // Distinct series and label values of one family in the exposition.
  static std::set<std::string> labelValues(const std::vector<MetricSample>& m, const std::string& family,
                                           const std::string& label) {
    std::set<std::string> out;
    for (const auto& s : m) {
      if (s.name != family) continue;
      auto it = s.labels.find(label);
      if (it != s.labels.end()) out.insert(it->second);
    }
    return out;
  }

  // Every sample (name plus labels) appears once: a duplicate makes Prometheus reject the scrape.
  static void expectNoDuplicateSeries(const std::vector<MetricSample>& m) {
    std::set<std::string> seen;
    for (const auto& s : m) {
      std::string key = s.name;
      for (const auto& [k, v] : s.labels) key += "|" + k + "=" + v;
      EXPECT_TRUE(seen.insert(key).second) << "duplicate series " << key;
    }
  }

  static void expectPrintableLabels(const std::vector<MetricSample>& m) {
    for (const auto& s : m) {
      for (const auto& [k, v] : s.labels) {
        for (char ch : v) {
          ASSERT_TRUE(ch >= 0x20 && ch < 0x7f) << s.name << " label " << k << " has byte "
                                               << static_cast<int>(static_cast<unsigned char>(ch));
        }
      }
    }
  }

  // Polls /api/summary until fn(summary) holds.
  bool waitSummary(const std::function<bool(const nlohmann::json&)>& fn, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + scaled(timeout);
    while (std::chrono::steady_clock::now() < deadline) {
      HttpResponse r = get("/api/summary");
      nlohmann::json s = nlohmann::json::parse(r.body, nullptr, false);
      if (!s.is_discarded() && fn(s)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
};

// The attack: one client sends thousands of made-up RST_STREAM and
// GOAWAY codes, debug texts, authorities, user agents, content types and
// encodings. Codes outside RFC 9113's registry count as "unknown"; texts are
// capped; the exposition and the JSON stay small.
TEST_F(PeerLabelsTest, MadeUpCodesAndTextsStayBounded) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  startServer();
  startProxy({"--reset-burst", "100000", "--reset-rate", "100000"});

  // Streams opened and reset at once, each reset with its own code (0x100 and up).
  int per_conn = kResetCodes / kResetConnections;
  for (int c = 0; c < kResetConnections; ++c) {
    RawConnection conn;
    std::string error;
    ASSERT_TRUE(rawConnect(conn, &error)) << error;
    std::string bytes = std::string(kClientPreface) + settingsFrame();
    for (int i = 0; i < per_conn; ++i) {
      int n = c * per_conn + i;
      auto sid = static_cast<uint32_t>(2 * i + 1);
      std::string tag = std::to_string(n);
      bytes += headersFrames(sid, requestBlock("/grpcscope.test.Echo/Unary", "host-" + tag + ".example",
                                               "made-up-agent/" + tag, "application/grpc+x" + tag, "enc-" + tag),
                             false);
      bytes += rstStreamFrame(sid, 0x100 + static_cast<uint32_t>(n));
    }
    Outcome out = conn.sendAndWait(bytes, [](const Outcome&) { return true; }, scaled(std::chrono::milliseconds(20000)));
    ASSERT_FALSE(out.send_failed) << out.describe();
    ASSERT_FALSE(out.goaway) << "the proxy closed the reset connection: " << out.describe();
    // Wait until the proxy counted them before the connection goes away.
    uint64_t want = static_cast<uint64_t>((c + 1) * per_conn);
    ASSERT_TRUE(waitSummary([&](const nlohmann::json& s) {
      return sumCounts(s["rst_stream"]["downstream"]["received"]) >= want;
    }, std::chrono::milliseconds(20000))) << get("/api/summary").body.substr(0, 2000);
  }

  // GOAWAYs with made-up codes and debug texts, several per connection (the
  // last stream id never grows, as RFC 9113 section 6.8 requires).
  for (int c = 0; c < kGoawayConnections; ++c) {
    RawConnection conn;
    std::string error;
    ASSERT_TRUE(rawConnect(conn, &error)) << error;
    std::string bytes = std::string(kClientPreface) + settingsFrame();
    for (int g = 0; g < kGoawaysPerConnection; ++g) {
      int n = c * kGoawaysPerConnection + g;
      bytes += goawayFrame(0, 0x10000 + static_cast<uint32_t>(n), "made-up debug text number " + std::to_string(n));
    }
    conn.sendAndWait(bytes, [](const Outcome&) { return true; }, scaled(std::chrono::milliseconds(5000)));
    ASSERT_TRUE(waitSummary([&](const nlohmann::json& s) {
      return sumCounts(s["goaway"]["downstream"]["received"]) >= static_cast<uint64_t>(c + 1);
    }, std::chrono::milliseconds(10000)));
  }

  HttpResponse metrics = get("/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.error;
  std::vector<MetricSample> m = parseExposition(metrics.body);
  HttpResponse summary_r = get("/api/summary");
  HttpResponse connections_r = get("/api/connections");
  std::cout << "/metrics: " << m.size() << " series, " << metrics.body.size() << " bytes; /api/summary "
            << summary_r.body.size() << " bytes; /api/connections " << connections_r.body.size() << " bytes\n";

  // Error codes: only RFC 9113 names and "unknown", in every family that has them.
  for (const char* family : {"grpcscope_rst_stream_total", "grpcscope_rst_stream_sent_total", "grpcscope_goaway_total",
                             "grpcscope_goaway_sent_total"}) {
    std::set<std::string> codes = labelValues(m, family, "error_code");
    std::vector<std::string> bad;
    for (const std::string& code : codes) {
      if (!allowedCodes().count(code)) bad.push_back(code);
    }
    EXPECT_TRUE(bad.empty()) << family << ": " << bad.size() << " error_code values outside RFC 9113 and \"unknown\", e.g. \""
                             << bad.front() << "\"";
  }
  EXPECT_EQ(sampleValue(m, "grpcscope_rst_stream_total", {{"hop", "downstream"}, {"error_code", "unknown"}}).value_or(0),
            kResetCodes);
  EXPECT_GE(sampleValue(m, "grpcscope_goaway_total", {{"hop", "downstream"}, {"error_code", "unknown"}}).value_or(0),
            kGoawayConnections);
  // No peer text became a label anywhere.
  size_t peer_labels = 0;
  std::string example;
  for (const auto& sample : m) {
    for (const auto& [k, v] : sample.labels) {
      for (const char* text : {"made-up", "host-", "0x", "enc-"}) {
        if (v.find(text) == std::string::npos) continue;
        if (peer_labels++ == 0) example = sample.name + " " + k + "=" + v;
      }
    }
  }
  EXPECT_EQ(peer_labels, 0u) << "peer texts as label values, e.g. " << example;
  expectNoDuplicateSeries(m);
  // This workload gives about 650 series (mostly fixed histogram buckets) and 52 KB;
  // before the bounds, every made-up code was a series: 4,800 series, 350 KB.
  EXPECT_LT(m.size(), 800u);
  EXPECT_LT(metrics.body.size(), 80u * 1024);

  // /api/summary: codes under "unknown", debug texts capped (32 kept, the rest "other").
  nlohmann::json s = nlohmann::json::parse(summary_r.body, nullptr, false);
  ASSERT_FALSE(s.is_discarded());
  const nlohmann::json& rst = s["rst_stream"]["downstream"]["received"];
  EXPECT_LE(rst.size(), allowedCodes().size()) << rst.dump().substr(0, 500);
  EXPECT_EQ(rst.value("unknown", 0), kResetCodes);
  for (int h = 0; h < 2; ++h) {
    const char* hop = h == 0 ? "downstream" : "upstream";
    for (const char* dir : {"received", "sent"}) {
      for (const char* what : {"rst_stream", "goaway"}) {
        size_t bad = 0;
        for (const auto& [code, n] : s[what][hop][dir].items()) bad += allowedCodes().count(code) ? 0 : 1;
        EXPECT_EQ(bad, 0u) << what << "." << hop << "." << dir << ": keys outside RFC 9113 and \"unknown\"";
      }
    }
  }
  const nlohmann::json& debug = s["goaway"]["downstream"]["debug_data_received"];
  EXPECT_LE(debug.size(), 33u) << debug.dump().substr(0, 500);
  EXPECT_EQ(sumCounts(debug), sumCounts(s["goaway"]["downstream"]["received"]))
      << "every debug text is counted, the ones past the cap as \"other\"";
  EXPECT_GT(debug.value("other", 0), 0);
  EXPECT_LT(summary_r.body.size(), 16u * 1024);  // 66 KB before the bounds

  // /api/connections: only live connections, each bounded.
  nlohmann::json conns = nlohmann::json::parse(connections_r.body, nullptr, false);
  ASSERT_FALSE(conns.is_discarded());
  EXPECT_LT(connections_r.body.size(), 64u * 1024);
}

// Bytes that are not printable text in header values, :path, GOAWAY debug
// data: the JSON (strict UTF-8) and the exposition must stay valid (no byte
// of a peer may throw in the JSON writer: it killed the proxy), and the
// method overflow ("other", --max-methods 2) never duplicates a series.
TEST_F(PeerLabelsTest, NonTextBytesAndReservedNamesKeepOutputValid) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  startServer();
  startProxy({"--max-methods", "2"});
  EventStreamReader events(adminUrl() + "/api/events");
  ASSERT_TRUE(events.waitConnected(scaled(std::chrono::milliseconds(5000))));

  RawConnection conn;
  std::string error;
  ASSERT_TRUE(rawConnect(conn, &error)) << error;
  // obs-text bytes (RFC 9110 section 5.5: allowed in field values, not UTF-8 here).
  const std::string bad = "\xff\xfe\xc3(\x80";
  std::string bytes = std::string(kClientPreface) + settingsFrame();
  const std::vector<std::string> paths = {"/grpcscope.test.Echo/Unary", "/other", "/pkg.S/M" + bad, "/pkg.S/N",
                                          "/pkg.S/O"};
  uint32_t sid = 1;
  for (const std::string& path : paths) {
    // nghttp2 refuses such bytes in :authority, so the credential goes there in plain text.
    bytes += headersFrames(sid, requestBlock(path, "user:secret@localhost", "agent" + bad, "application/grpc" + bad,
                                             "gzip" + bad),
                           false);
    bytes += rstStreamFrame(sid, 0x8);
    sid += 2;
  }
  // SETTINGS with made-up identifiers (RFC 9113 section 6.5.2: ignored, but seen).
  for (int f = 0; f < 20; ++f) {
    std::vector<std::pair<uint16_t, uint32_t>> entries;
    for (int i = 0; i < 25; ++i) entries.emplace_back(static_cast<uint16_t>(0x100 + f * 25 + i), 1);
    bytes += settingsFrame(entries);
  }
  conn.sendAndWait(bytes, [](const Outcome&) { return true; }, scaled(std::chrono::milliseconds(5000)));
  ASSERT_TRUE(waitSummary([&](const nlohmann::json& s) {
    return s["rpcs"]["finished"].get<uint64_t>() >= paths.size();
  }, std::chrono::milliseconds(10000))) << get("/api/summary").body.substr(0, 2000);

  for (const char* path : {"/api/summary", "/api/methods", "/api/connections"}) {
    HttpResponse r = get(path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.error;
    EXPECT_FALSE(nlohmann::json::parse(r.body, nullptr, false).is_discarded()) << path << ": " << r.body.substr(0, 300);
  }
  nlohmann::json conns = getJson("/api/connections");
  ASSERT_EQ(conns["connections"].size(), 1u) << conns.dump().substr(0, 1000);
  const nlohmann::json& leg = conns["connections"][0]["downstream"];
  EXPECT_LE(leg["settings"]["received"].size(), 32u) << "500 made-up SETTINGS ids";

  auto seen = events.waitFor(paths.size(), scaled(std::chrono::milliseconds(5000)));
  ASSERT_EQ(seen.size(), paths.size()) << events.raw().substr(0, 1000);
  for (const auto& e : seen) {
    // The userinfo part of an authority is a credential: never shown.
    EXPECT_EQ(e["authority"].get<std::string>().find("secret"), std::string::npos) << e.dump();
  }

  // A GOAWAY with a code above every registered one and debug bytes that are no text.
  conn.sendAndWait(goawayFrame(0, 0x7fffffff, "debug" + bad + "\x01\n"), [](const Outcome&) { return true; },
                   scaled(std::chrono::milliseconds(5000)));
  ASSERT_TRUE(waitSummary([&](const nlohmann::json& s) {
    return sumCounts(s["goaway"]["downstream"]["received"]) >= 1;
  }, std::chrono::milliseconds(10000))) << get("/api/summary").body.substr(0, 2000);
  nlohmann::json summary = getJson("/api/summary");
  EXPECT_EQ(summary["goaway"]["downstream"]["received"].value("unknown", 0), 1) << summary["goaway"].dump();
  for (const auto& [text, n] : summary["goaway"]["downstream"]["debug_data_received"].items()) {
    for (char ch : text) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << "debug text key " << summary["goaway"].dump();
  }

  HttpResponse metrics = get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  std::vector<MetricSample> m = parseExposition(metrics.body);
  expectPrintableLabels(m);
  expectNoDuplicateSeries(m);
  EXPECT_TRUE(proxy_->running()) << "the proxy died";
}

}  // namespace
}  // namespace grpcscope::testsupport
