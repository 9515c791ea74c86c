// An upstream name that resolves to several addresses: grpcscope tries each
// in turn, as gRPC's pick_first does, and says which one answered (the
// upstream leg's peer in /api/connections, and a log line).
//
// The case that matters: "localhost" resolving to ::1 first while the server
// listens on 127.0.0.1 only (a dual-stack host, a server bound to IPv4).
// This machine's /etc/hosts lists 127.0.0.1 only for localhost, and tests
// must not edit it, so the proxy runs with a getaddrinfo shim
// (fake_resolver.c, LD_PRELOAD) that answers "localhost" with ::1 then
// 127.0.0.1 — the order a "::1 localhost" line in /etc/hosts gives. The
// proxy still resolves through uv_getaddrinfo and connects over real
// sockets: connecting to [::1]:PORT is refused by the kernel.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

#include "admin/admin_client.h"
#include "proxy_fixture.h"
#include "support/loopback.h"

namespace grpcscope::testsupport {
namespace {

using grpcscope::test::EchoResponse;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// "refused": nothing listens on [::1]:port; "unavailable": no IPv6 loopback.
std::string ipv6LoopbackState(uint16_t port) {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "unavailable";
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_port = htons(port);
  addr.sin6_addr = in6addr_loopback;
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  close(fd);
  if (rc == 0) return "listening";
  return err == ECONNREFUSED ? "refused" : "unavailable";
}

class UpstreamAddressesTest : public ProxyTest {
 protected:
  // The environment that makes "localhost" resolve to ::1, then 127.0.0.1 in the proxy.
  std::vector<std::string> dualStackLocalhost() {
    std::vector<std::string> env = {"LD_PRELOAD=" GRPCSCOPE_FAKE_RESOLVER,
                                    "GRPCSCOPE_TEST_RESOLVE=localhost=::1,127.0.0.1"};
    if (proxyIsSanitized()) {
      // ASan wants its runtime first in the library list; the shim only
      // interposes getaddrinfo, which ASan's own interceptor forwards to.
      const char* asan = std::getenv("ASAN_OPTIONS");
      env.push_back(std::string("ASAN_OPTIONS=") + (asan && *asan ? std::string(asan) + ":" : "") +
                    "verify_asan_link_order=0");
    }
    return env;
  }
};

TEST_F(UpstreamAddressesTest, TriesEachResolvedAddressAndSaysWhichAnswered) {
  SKIP_IF_DIRECT("the proxy's resolver is under test");
  ASSERT_NO_FATAL_FAILURE(startServer());  // 127.0.0.1 only
  const uint16_t port = static_cast<uint16_t>(server_->port());
  const std::string v6 = ipv6LoopbackState(port);
  if (v6 != "refused") GTEST_SKIP() << "[::1]:" << port << " is " << v6 << ", not refused";
  const std::string upstream = "localhost:" + std::to_string(port);
  ASSERT_NO_FATAL_FAILURE(startProxy({}, upstream, dualStackLocalhost()));
  // The shim is in effect: the proxy tried [::1] (and logged that it was refused).
  auto channel_ = channel();
  auto stub = makeStub(channel_);
  EchoResponse resp;
  grpc::Status st = unaryCall(*stub, request(10), &resp, scaled(10s));
  ASSERT_TRUE(st.ok()) << statusString(st);
  const std::string v4 = "127.0.0.1:" + std::to_string(port);
  EXPECT_TRUE(proxy_->logHasLineWith({"[::1]:" + std::to_string(port), "refused"}))
      << "no log line says the first address, [::1], was tried and refused";
  EXPECT_TRUE(proxy_->logHasLineWith({"upstream " + upstream, "connected to " + v4}))
      << "no log line says which address answered";
  // The upstream leg of the live connection names the address that answered.
  HttpResponse r = httpRequest("http://" + adminAddressFrom(proxy_->listeningLine()) + "/api/connections");
  ASSERT_EQ(r.status, 200) << r.error;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.body;
  bool found = false;
  for (const auto& c : j["connections"]) {
    if (c.contains("upstream") && c["upstream"].is_object() && c["upstream"].value("peer", "") == v4) found = true;
  }
  EXPECT_TRUE(found) << "no upstream leg with peer " << v4 << ": " << r.body;
}

TEST_F(UpstreamAddressesTest, EveryAddressRefusedNamesTheCauseAndTheAddresses) {
  SKIP_IF_DIRECT("the proxy's resolver is under test");
  const uint16_t port = unusedLoopbackPort();
  ASSERT_TRUE(loopbackConnectRefused(port));
  const std::string v6 = ipv6LoopbackState(port);
  if (v6 != "refused") GTEST_SKIP() << "[::1]:" << port << " is " << v6 << ", not refused";
  ASSERT_NO_FATAL_FAILURE(startProxy({}, "localhost:" + std::to_string(port), dualStackLocalhost()));
  auto stub = makeStub(channel());
  EchoResponse resp;
  grpc::Status st = unaryCall(*stub, request(10), &resp, scaled(10s));
  ASSERT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << statusString(st);
  const std::string msg = lower(st.error_message());
  EXPECT_NE(msg.find("upstream localhost:" + std::to_string(port)), std::string::npos) << statusString(st);
  EXPECT_NE(msg.find("refused"), std::string::npos) << statusString(st);
  EXPECT_NE(msg.find("[::1]:" + std::to_string(port)), std::string::npos) << statusString(st);
  EXPECT_NE(msg.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << statusString(st);
}

}  // namespace
}  // namespace grpcscope::testsupport
