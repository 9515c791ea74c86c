// h2load (nghttp2's load tool, an independent HTTP/2 client) through the
// proxy: 2000 gRPC unary requests, 4 connections, 50 streams each at a time.
// In TLS mode over https (h2load negotiates h2 by ALPN; it does not verify
// the certificate).
#include "proxy_fixture.h"
#include "support/raw_h2.h"

namespace grpcscope::testsupport {
namespace {

TEST_F(ProxyTest, H2loadManyStreams) {
  if (access("/usr/bin/h2load", X_OK) != 0) GTEST_SKIP() << "h2load not installed (nghttp2-client)";
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy({}, "", {}));

  grpcscope::test::EchoRequest req;
  req.set_payload("hello through grpcscope");
  req.set_response_size(100);
  std::string dir = makeTempDir("grpcscope-h2load");
  std::string body = dir + "/request.bin";
  ASSERT_TRUE(writeFile(body, h2::grpcMessage(req.SerializeAsString())));

  int64_t calls_before = server_->stats().callsStarted();
  RunResult r = runProcess({"/usr/bin/h2load", "-n", "2000", "-c", "4", "-m", "50", "-H", "content-type: application/grpc",
                            "-H", "te: trailers", "-d", body,
                            scheme() + "://" + target() + "/grpcscope.test.Echo/Unary"},
                           scaled(120s));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("2000 succeeded"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 errored"), std::string::npos) << r.out;
  EXPECT_EQ(server_->stats().callsStarted() - calls_before, 2000);
  if (tls()) EXPECT_NE(r.out.find("TLS Protocol: TLSv1.3"), std::string::npos) << "h2load did not speak TLS:\n" << r.out;
  std::cout << r.out;
}

}  // namespace
}  // namespace grpcscope::testsupport
