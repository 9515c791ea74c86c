// Admin clients that stop reading, or never finish their request, hold admin
// threads only: proxied calls go on, and other admin requests are answered.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin/admin_fixture.h"

namespace grpcscope::testsupport {
namespace {

// A TCP connection to the admin endpoint that sends `request` and then never reads.
int stuckClient(const std::string& address, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1))));
  inet_pton(AF_INET, address.substr(0, address.rfind(':')).c_str(), &sa.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  if (send(fd, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return -1;
  }
  return fd;
}

class AdminIsolationTest : public AdminTest {};

TEST_F(AdminIsolationTest, StuckAdminClientsDoNotStallTheRelay) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  startServer();
  startProxy();
  std::string admin = adminAddressFrom(proxy_->listeningLine());
  std::vector<int> stuck;
  // Event subscribers that never read, and requests that never finish.
  for (int i = 0; i < 3; ++i) stuck.push_back(stuckClient(admin, "GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n"));
  for (int i = 0; i < 3; ++i) stuck.push_back(stuckClient(admin, "GET /metr"));
  for (int fd : stuck) ASSERT_GE(fd, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  // Calls with large responses fill the stuck subscribers' sockets with events quickly.
  auto stub = makeStub(channel());
  for (int i = 0; i < 400; ++i) {
    grpcscope::test::EchoResponse resp;
    grpc::Status st = unaryCall(*stub, request(1000, static_cast<uint32_t>(i)), &resp,
                                scaled(std::chrono::milliseconds(5000)));
    ASSERT_TRUE(st.ok()) << "call " << i << ": " << statusString(st);
  }
  // Other admin clients are still served.
  HttpResponse health = httpRequest(adminUrl() + "/healthz", "GET", scaled(std::chrono::milliseconds(5000)));
  EXPECT_EQ(health.status, 200) << health.error;
  ASSERT_TRUE(waitFinished(400));
  for (int fd : stuck) close(fd);
}

}  // namespace
}  // namespace grpcscope::testsupport
