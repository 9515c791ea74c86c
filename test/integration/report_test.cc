// `grpcscope report`: the subcommand reads a running proxy's admin endpoint
// and prints findings and a summary (docs/configuration.md, "grpcscope report"): exit 0
// with the report, 1 with --fail-on when a finding at that severity is
// active, 2 when the endpoint cannot be read or a flag is bad.
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "admin/admin_fixture.h"
#include "support/raw_h2.h"

namespace grpcscope::testsupport {
namespace {

// A loopback port nobody listens on: bound, then closed.
uint16_t closedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return 1;
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

size_t lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

class ReportTest : public AdminTest {
 protected:
  // The echo server, the proxy, 7 OK and 3 failing unary calls.
  void SetUp() override {
    SKIP_IF_DIRECT("reads the proxy's admin endpoint");
    ASSERT_NO_FATAL_FAILURE(startServer());
    ASSERT_NO_FATAL_FAILURE(startProxy());
    auto stub = makeStub(channel());
    for (int i = 0; i < 10; ++i) {
      grpcscope::test::EchoRequest req = request(100 + i);
      if (i >= 7) {
        req.set_status_code(static_cast<int32_t>(grpc::StatusCode::INVALID_ARGUMENT));
        req.set_status_message("bad on purpose");
      }
      grpcscope::test::EchoResponse resp;
      grpc::Status st = unaryCall(*stub, req, &resp);
      EXPECT_EQ(st.ok(), i < 7) << statusString(st);
    }
    ASSERT_TRUE(waitFinished(10)) << "the proxy never counted 10 finished calls";
  }

  std::string admin() const { return adminAddressFrom(proxy_->listeningLine()); }

  RunResult report(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {ProxyProcess::binaryPath(), "report"};
    argv.insert(argv.end(), args.begin(), args.end());
    return runProcess(argv, scaled(std::chrono::milliseconds(20000)));
  }
};

TEST_F(ReportTest, TextShowsPerMethodCounts) {
  RunResult r = report({"--admin", admin()});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;
  std::cout << r.out;
  EXPECT_NE(r.out.find("Findings: none"), std::string::npos) << r.out;
  // The method's row: name, calls 10, errors 3.
  std::istringstream in(r.out);
  std::string line;
  bool found = false;
  while (std::getline(in, line)) {
    if (line.find("/grpcscope.test.Echo/Unary") == std::string::npos) continue;
    std::istringstream words(line);
    std::string name, calls, errors;
    words >> name >> calls >> errors;
    EXPECT_EQ(name, "/grpcscope.test.Echo/Unary") << line;
    EXPECT_EQ(calls, "10") << line;
    EXPECT_EQ(errors, "3") << line;
    found = true;
  }
  EXPECT_TRUE(found) << r.out;
  EXPECT_NE(r.out.find("connections downstream"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(tls() ? "handshakes" : "none (plaintext)"), std::string::npos) << r.out;
}

TEST_F(ReportTest, MarkdownHasTables) {
  RunResult r = report({"--admin", admin(), "--format", "markdown"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  std::cout << r.out;
  EXPECT_NE(r.out.find("## Methods"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| /grpcscope.test.Echo/Unary | 10 | 3 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| ---"), std::string::npos) << r.out;
}

TEST_F(ReportTest, JsonHasTheFourEndpoints) {
  RunResult r = report({"--admin", admin(), "--format", "json"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  for (const char* key : {"findings", "summary", "methods", "connections"}) EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["summary"]["rpcs"]["finished"], 10);
  EXPECT_EQ(j["summary"]["rpcs"]["errors"], 3);
  bool found = false;
  for (const auto& m : j["methods"]["methods"]) {
    if (m["method"] != "grpcscope.test.Echo/Unary") continue;
    found = true;
    EXPECT_EQ(m["calls"]["started"], 10) << m.dump();
    EXPECT_EQ(m["errors"], 3) << m.dump();
  }
  EXPECT_TRUE(found) << j["methods"].dump();
  EXPECT_TRUE(j["connections"].contains("connections"));
}

TEST_F(ReportTest, HtmlIsTheSelfContainedPageWithItsData) {
  std::this_thread::sleep_for(scaled(std::chrono::milliseconds(2500)));  // a few one-second points
  RunResult r = report({"--admin", admin(), "--format", "html"});
  ASSERT_EQ(r.status, 0) << r.err << r.out.substr(0, 500);
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_EQ(r.out.rfind("<!doctype html>", 0), 0u) << r.out.substr(0, 200);
  EXPECT_NE(r.out.find("</html>"), std::string::npos);
  // Self-contained: the bundle inline, nothing loaded from anywhere.
  EXPECT_EQ(r.out.find("src=\""), std::string::npos);
  EXPECT_EQ(r.out.find("href=\"/assets"), std::string::npos);
  const std::string open = "<script id=\"gs-data\" type=\"application/json\">";
  size_t at = r.out.find(open);
  ASSERT_NE(at, std::string::npos) << r.out.substr(0, 2000);
  size_t end = r.out.find("</script>", at);
  ASSERT_NE(end, std::string::npos);
  nlohmann::json data = nlohmann::json::parse(r.out.substr(at + open.size(), end - at - open.size()), nullptr, false);
  ASSERT_FALSE(data.is_discarded());
  EXPECT_EQ(data["boot"].get<std::string>().size(), 16u);
  EXPECT_GE(data["points"].size(), 2u);
  EXPECT_EQ(data["snapshot"]["summary"]["rpcs"]["finished"], 10);
  EXPECT_EQ(data["snapshot"]["methods"]["methods"][0]["method"], "grpcscope.test.Echo/Unary");
  EXPECT_TRUE(data["calls"].is_array());
}

TEST_F(ReportTest, FailOnWithoutActiveFindingExitsZero) {
  for (const char* severity : {"warning", "critical"}) {
    RunResult r = report({"--admin", admin(), "--fail-on", severity});
    EXPECT_EQ(r.status, 0) << severity << ": " << r.err;
  }
}

TEST_F(ReportTest, UnreachableEndpointExitsTwo) {
  const std::string address = "127.0.0.1:" + std::to_string(closedPort());
  RunResult r = report({"--admin", address});
  EXPECT_EQ(r.status, 2) << r.out << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find(address), std::string::npos) << r.err;
  std::cout << r.err;
}

TEST_F(ReportTest, BadFlagsExitTwo) {
  const std::vector<std::vector<std::string>> cases = {
      {"--bogus"},
      {"--format", "yaml"},
      {"--fail-on", "info"},
      {"--admin", "nonsense"},
      {"--timeout", "banana"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"--admin", admin()};
    args.insert(args.end(), c.begin(), c.end());
    RunResult r = report(args);
    EXPECT_EQ(r.status, 2) << c[0] << ": " << r.out << r.err;
    EXPECT_EQ(lines(r.err), 1u) << c[0] << ": " << r.err;
    EXPECT_NE(r.err.find("grpcscope report:"), std::string::npos) << r.err;
    std::cout << r.err;
  }
}

TEST_F(ReportTest, FailOnWithARealCriticalFindingExitsOne) {
  // A real problem: PINGs without calls earn the gRPC core server's GOAWAY
  // ENHANCE_YOUR_CALM "too_many_pings", a critical finding.
  h2::RawConnection conn;
  std::string error;
  ASSERT_TRUE(rawConnect(conn, &error)) << error;
  h2::Outcome out = conn.pingUntilGoaway(10, scaled(5s));
  ASSERT_TRUE(out.goaway) << out.describe();
  auto deadline = std::chrono::steady_clock::now() + scaled(5s);
  RunResult plain;
  while (std::chrono::steady_clock::now() < deadline) {
    plain = report({"--admin", admin()});
    if (plain.out.find("keepalive.too_many_pings") != std::string::npos) break;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(plain.status, 0) << plain.err;
  EXPECT_NE(plain.out.find("[CRITICAL] keepalive.too_many_pings (connection) active, count 1"), std::string::npos)
      << plain.out;
  EXPECT_NE(plain.out.find("fix: "), std::string::npos) << plain.out;
  for (const char* level : {"warning", "critical"}) {
    RunResult gated = report({"--admin", admin(), "--fail-on", level});
    EXPECT_EQ(gated.status, 1) << level << ": " << gated.err;
    EXPECT_NE(gated.out.find("keepalive.too_many_pings"), std::string::npos) << "the report is printed either way";
  }
  RunResult markdown = report({"--admin", admin(), "--format", "markdown"});
  EXPECT_NE(markdown.out.find("| critical | keepalive.too_many_pings |"), std::string::npos) << markdown.out;
}

}  // namespace
}  // namespace grpcscope::testsupport
