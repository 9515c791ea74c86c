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
      {"--format", "html"},
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

// A stand-in admin endpoint serving canned JSON (one active warning finding),
// since the proxy produces no finding yet: the --fail-on exit codes end to end.
class FakeAdmin {
 public:
  FakeAdmin() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeAdmin() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string request;
      char buf[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      std::string body = "{}";
      if (request.rfind("GET /api/findings ", 0) == 0) {
        body = R"([{"id":"keepalive.too_many_pings","severity":"warning","layer":"connection",)"
               R"("title":"Client PINGs too often","evidence":{"goaways":2},"recommendation":"Raise keepalive time",)"
               R"("count":2,"first_seen":"t0","last_seen":"t1","scope":{},"active":true,"resolved_at":null}])";
      } else if (request.rfind("GET /api/methods ", 0) == 0) {
        body = R"({"methods":[]})";
      } else if (request.rfind("GET /api/connections ", 0) == 0) {
        body = R"({"count":0,"connections":[]})";
      }
      std::string response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      (void)!::write(c, response.data(), response.size());
      ::close(c);
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(ReportFailOnTest, ActiveWarningExitsOneForWarningOnly) {
  SKIP_IF_DIRECT("tests the binary");
  FakeAdmin admin;
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {ProxyProcess::binaryPath(), "report", "--admin", admin.address()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return runProcess(argv, 20s);
  };
  RunResult plain = run({});
  EXPECT_EQ(plain.status, 0) << plain.err;
  EXPECT_NE(plain.out.find("[WARNING] keepalive.too_many_pings (connection) active, count 2"), std::string::npos)
      << plain.out;
  EXPECT_NE(plain.out.find("fix: Raise keepalive time"), std::string::npos) << plain.out;
  RunResult warning = run({"--fail-on", "warning"});
  EXPECT_EQ(warning.status, 1) << warning.err;
  EXPECT_NE(warning.out.find("keepalive.too_many_pings"), std::string::npos) << "the report is printed either way";
  RunResult critical = run({"--fail-on", "critical", "--format", "markdown"});
  EXPECT_EQ(critical.status, 0) << critical.err;
  EXPECT_NE(critical.out.find("| warning | keepalive.too_many_pings |"), std::string::npos) << critical.out;
}

}  // namespace
}  // namespace grpcscope::testsupport
