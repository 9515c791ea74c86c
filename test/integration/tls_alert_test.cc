// A failed TLS handshake ends with the alert OpenSSL chose, on both legs,
// before the connection closes (RFC 8446 6.2: a fatal alert, then close):
//   - toward clients (s_client against --tls-cert): certificate required
//     (--tls-client-ca, no certificate; TLS 1.3 and 1.2), unknown CA, protocol
//     version, no shared cipher;
//   - toward the server (`openssl s_server` with a certificate the proxy
//     rejects): the server sees the proxy's `unknown ca` (untrusted issuer)
//     or `bad certificate` (name mismatch) alert.
// And a clean close still ends with close_notify. Without the alert a client
// sees only "unexpected eof" and cannot tell a missing certificate from a
// crashed server. These tests set TLS up themselves, so they run the same
// with and without GRPCSCOPE_TEST_TLS.
#include "own_certs_fixture.h"
#include "proxy_fixture.h"
#include "support/loopback.h"
#include "support/test_certs.h"

namespace grpcscope::testsupport {
namespace {

class TlsAlertTest : public OwnCertsProxyTest {
 protected:
  static std::vector<std::string> terminationArgs(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--tls-cert", certs().server.cert, "--tls-key", certs().server.key};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  // `openssl s_client` against the proxy. -ign_eof: it keeps reading after
  // the handshake until the proxy closes, so an alert sent after a TLS 1.3
  // handshake (a missing client certificate) is read, not raced by its exit.
  RunResult sClient(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {opensslBinary(), "s_client", "-connect", target(), "-servername", "localhost",
                                     "-CAfile", certs().ca.cert, "-ign_eof"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return runProcess(argv, scaled(15s));
  }

  // s_client fails with the alert `name` (number `number`) from the proxy.
  void expectAlert(const std::vector<std::string>& flags, const std::string& name, int number) {
    SKIP_IF_DIRECT("the proxy's TLS termination");
    RunResult r = sClient(flags);
    const std::string all = r.out + r.err;
    EXPECT_NE(r.status, 0) << all;
    EXPECT_NE(all.find("alert " + name), std::string::npos) << "s_client saw no '" << name << "' alert:\n" << all;
    EXPECT_NE(all.find("SSL alert number " + std::to_string(number)), std::string::npos) << all;
    EXPECT_TRUE(proxy_->running());
  }

};

TEST_F(TlsAlertTest, MissingClientCertificateTls13SendsCertificateRequired) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy(terminationArgs({"--tls-client-ca", certs().ca.cert})));
  expectAlert({"-tls1_3"}, "certificate required", 116);
}

TEST_F(TlsAlertTest, MissingClientCertificateTls12SendsHandshakeFailure) {
  // TLS 1.2 has no certificate_required: OpenSSL sends handshake_failure, as
  // an OpenSSL server does.
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy(terminationArgs({"--tls-client-ca", certs().ca.cert})));
  expectAlert({"-tls1_2"}, "handshake failure", 40);
}

TEST_F(TlsAlertTest, ClientCertificateOfUnknownCaSendsUnknownCa) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy(terminationArgs({"--tls-client-ca", certs().ca.cert})));
  expectAlert({"-cert", certs().other_ca.cert, "-key", certs().other_ca.key}, "unknown ca", 48);
}

TEST_F(TlsAlertTest, Tls11ClientGetsProtocolVersion) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy(terminationArgs()));
  // SECLEVEL=0: Debian's default level keeps s_client itself from offering TLS 1.1.
  expectAlert({"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"}, "protocol version", 70);
}

TEST_F(TlsAlertTest, NoSharedCipherSendsHandshakeFailure) {
  // The proxy's key is EC: an RSA-only suite cannot be chosen.
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy(terminationArgs()));
  expectAlert({"-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"}, "handshake failure", 40);
}

// Upstream leg: the proxy rejects the server's certificate with an alert the
// server can log (s_server prints it), and the client still gets
// UNAVAILABLE naming the cause.
class TlsUpstreamAlertTest : public TlsAlertTest {
 protected:
  void expectUpstreamAlert(const CertFiles& trusted_ca, const std::vector<std::string>& extra_args,
                           const std::string& name, int number) {
    SKIP_IF_DIRECT("the proxy's upstream verification");
    uint16_t port = unusedLoopbackPort();
    // -rev: a server that needs nothing on stdin (stdin is /dev/null).
    std::vector<std::string> argv = {opensslBinary(), "s_server", "-rev", "-accept",
                                     "127.0.0.1:" + std::to_string(port), "-cert", certs().server.cert, "-key",
                                     certs().server.key, "-alpn", "h2"};
    std::string error;
    auto server = ChildProcess::spawn(argv, {}, &error);
    ASSERT_TRUE(server) << error;
    ASSERT_TRUE(waitFor([&] { return server->stdoutText().find("ACCEPT") != std::string::npos; }, scaled(10s)))
        << server->stdoutText() << server->stderrText();
    std::vector<std::string> args = {"--upstream-tls", "--upstream-ca", trusted_ca.cert};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    ASSERT_NO_FATAL_FAILURE(startProxy(args, "127.0.0.1:" + std::to_string(port)));

    auto stub = makeStub(channel());
    grpcscope::test::EchoResponse resp;
    grpc::Status st = unaryCall(*stub, request(16), &resp, scaled(10s));
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << statusString(st);
    EXPECT_NE(st.error_message().find("certificate verify failed"), std::string::npos) << statusString(st);
    auto log = [&] { return server->stdoutText() + server->stderrText(); };
    EXPECT_TRUE(waitFor([&] { return log().find("SSL alert number " + std::to_string(number)) != std::string::npos; },
                        scaled(10s)))
        << "s_server saw no alert " << number << " from the proxy:\n" << log();
    EXPECT_NE(log().find("alert " + name), std::string::npos) << log();
  }
};

TEST_F(TlsUpstreamAlertTest, UntrustedCertificateGetsUnknownCa) {
  expectUpstreamAlert(certs().other_ca, {}, "unknown ca", 48);
}

TEST_F(TlsUpstreamAlertTest, NameMismatchGetsBadCertificate) {
  expectUpstreamAlert(certs().ca, {"--upstream-sni", "wrong.example"}, "bad certificate", 42);
}

// A clean close ends with close_notify: the proxy closes a TLS client that
// sends no HTTP/2 preface at the handshake timeout, gracefully (GOAWAY, then
// close_notify); s_client -msg shows the alert record.
TEST_F(TlsAlertTest, GracefulCloseSendsCloseNotify) {
  SKIP_IF_DIRECT("the proxy's TLS termination");
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy(terminationArgs({"--handshake-timeout", "1s"})));
  RunResult r = sClient({"-alpn", "h2", "-msg"});
  const std::string all = r.out + r.err;
  EXPECT_NE(all.find("warning close_notify"), std::string::npos) << "no close_notify from the proxy:\n" << all;
}

}  // namespace
}  // namespace grpcscope::testsupport
