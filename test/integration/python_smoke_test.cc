// A second gRPC implementation through the proxy: Python grpcio (Debian's,
// under /usr/bin/python3) runs test/integration/python_smoke.py, using
// message classes protoc generated at build time and grpcio's generic stubs
// (no grpc_tools needed). In TLS mode the client uses
// grpc.ssl_channel_credentials with the test CA.
#include "proxy_fixture.h"

namespace grpcscope::testsupport {
namespace {

TEST_F(ProxyTest, PythonGrpcioClient) {
  RunResult probe = runProcess({"/usr/bin/python3", "-c", "import grpc, google.protobuf"}, 60s);
  if (probe.status != 0) GTEST_SKIP() << "python3-grpcio not usable: " << probe.err;
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy());
  std::vector<std::string> argv = {"/usr/bin/python3", std::string(GRPCSCOPE_TEST_SOURCE_DIR) + "/python_smoke.py",
                                   target(), GRPCSCOPE_ECHO_PYTHON_DIR};
  if (tls()) {
    ASSERT_NO_FATAL_FAILURE(requireCerts());
    argv.push_back(suite_certs_->ca.cert);  // TLS, trusting the test CA
  }
  RunResult r = runProcess(argv, scaled(120s));
  EXPECT_EQ(r.status, 0) << "stdout:\n" << r.out << "\nstderr:\n" << r.err;
  EXPECT_NE(r.out.find("python smoke: ok"), std::string::npos) << r.out << r.err;
  if (tls()) EXPECT_NE(r.out.find("python smoke: ok (TLS)"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace grpcscope::testsupport
