// The TLS findings (docs/findings.md, "TLS") raised by the real proxy over
// real TLS with certificates the test makes: `openssl s_client` runs, each
// a new process and so a full handshake (tls.no_resumption); s_client
// without -alpn (tls.alpn_missing); a server certificate valid for 3 days
// upstream and a client certificate valid for 10 days downstream
// (tls.certificate_expiring). Each test polls /api/findings until its
// finding is active, then checks its id, layer, scope, evidence and that
// the fix names the stacks' real options.
#include <atomic>

#include "admin/admin_client.h"
#include "own_certs_fixture.h"

namespace grpcscope::testsupport {
namespace {

using grpcscope::test::EchoResponse;

class TlsFindingsTest : public OwnCertsProxyTest {
 protected:
  void SetUp() override {
    OwnCertsProxyTest::SetUp();
    SKIP_IF_DIRECT("reads the proxy's findings");
  }

  std::string adminUrl() const { return "http://" + adminAddressFrom(proxy_->listeningLine()); }
  std::string lastFindings() { return httpRequest(adminUrl() + "/api/findings").body; }

  // The first active finding with `id` whose scope holds `scope`, polled
  // from /api/findings until `timeout` (null when none came).
  nlohmann::json waitForFinding(const std::string& id, const std::map<std::string, std::string>& scope,
                                std::chrono::milliseconds timeout = 15s) {
    nlohmann::json found;
    waitFor(
        [&] {
          nlohmann::json list = nlohmann::json::parse(lastFindings(), nullptr, false);
          if (!list.is_array()) return false;
          for (const auto& f : list) {
            if (f.value("id", "") != id || !f.value("active", false)) continue;
            bool match = true;
            for (const auto& [k, v] : scope) match = match && f["scope"].value(k, "") == v;
            if (match) {
              found = f;
              return true;
            }
          }
          return false;
        },
        scaled(timeout), 200ms);
    return found;
  }

  static std::vector<std::string> terminationArgs() {
    return {"--tls-cert", certs().server.cert, "--tls-key", certs().server.key};
  }

  // `openssl s_client` against the proxy; stdin is /dev/null, so it closes
  // right after the handshake. A new process: no session to resume.
  RunResult sClient(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {opensslBinary(), "s_client", "-connect", target(), "-servername", "localhost",
                                     "-CAfile", certs().ca.cert};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return runProcess(argv, scaled(15s));
  }

  // A certificate signed by the test CA, valid for `days` (support/test_certs.h's
  // openssl.cnf sections: "server" or "client").
  static bool shortLived(const std::string& name, const std::string& cn, const std::string& section, int days,
                         int serial, CertFiles* out, std::string* error) {
    const std::string& dir = certs().dir;
    out->cert = dir + "/" + name + ".pem";
    out->key = dir + "/" + name + ".key";
    const std::string csr = dir + "/" + name + ".csr";
    auto run = [&](const std::vector<std::string>& argv) {
      RunResult r = runProcess(argv, 30s);
      if (r.status != 0) *error = argv[1] + " " + name + ": " + r.err + r.out;
      return r.status == 0;
    };
    return run({opensslBinary(), "req", "-new", "-config", dir + "/openssl.cnf", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout", out->key, "-out", csr, "-subj", "/CN=" + cn}) &&
           run({opensslBinary(), "x509", "-req", "-in", csr, "-CA", certs().ca.cert, "-CAkey", certs().ca.key,
                "-set_serial", std::to_string(serial), "-days", std::to_string(days), "-extfile",
                dir + "/openssl.cnf", "-extensions", section, "-out", out->cert});
  }
};

bool mentions(const nlohmann::json& f, const std::string& text) {
  return f["recommendation"].get<std::string>().find(text) != std::string::npos;
}

// Twelve s_client handshakes offering h2, none with a session to resume.
TEST_F(TlsFindingsTest, RepeatedFullHandshakesAreNoResumption) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy(terminationArgs()));
  for (int i = 0; i < 12; ++i) {
    RunResult r = sClient({"-alpn", "h2"});
    ASSERT_NE(r.out.find("ALPN protocol: h2"), std::string::npos) << r.out << r.err;
    ASSERT_NE(r.out.find("New, TLSv1.3"), std::string::npos) << "not a full handshake: " << r.out;
  }
  nlohmann::json f = waitForFinding("tls.no_resumption", {{"hop", "downstream"}});
  ASSERT_FALSE(f.is_null()) << lastFindings();
  EXPECT_EQ(f["layer"], "tls");
  EXPECT_EQ(f["severity"], "warning");
  const nlohmann::json& e = f["evidence"];
  EXPECT_GE(e["full_handshakes"].get<int>(), 10) << e.dump();
  EXPECT_EQ(e["resumed_handshakes"], 0);
  EXPECT_EQ(e["client_addresses"], 1);
  EXPECT_GE(e["full_handshakes_by_version"]["TLSv1.3"].get<int>(), 10) << e.dump();
  for (const char* option : {"tls.NewLRUClientSessionCache", "GRPC_SSL_SESSION_CACHE_ARG", "grpc.ssl_session_cache"}) {
    EXPECT_TRUE(mentions(f, option)) << option;
  }
  // s_client offered h2 every time: no ALPN finding.
  EXPECT_TRUE(waitForFinding("tls.alpn_missing", {}, 1s).is_null());
}

// s_client without -alpn: the proxy serves HTTP/2 anyway, the finding says
// that a grpc-go 1.67+ peer would refuse it.
TEST_F(TlsFindingsTest, ClientsWithoutAlpnAreReported) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy(terminationArgs()));
  for (int i = 0; i < 3; ++i) {
    RunResult r = sClient({});
    ASSERT_NE(r.out.find("No ALPN negotiated"), std::string::npos) << r.out << r.err;
  }
  nlohmann::json f = waitForFinding("tls.alpn_missing", {{"hop", "downstream"}});
  ASSERT_FALSE(f.is_null()) << lastFindings();
  EXPECT_EQ(f["layer"], "tls");
  EXPECT_EQ(f["severity"], "warning");
  const nlohmann::json& e = f["evidence"];
  EXPECT_EQ(e["handshakes_without_h2"], 3) << e.dump();
  EXPECT_EQ(e["negotiated_alpn"]["none"], 3) << e.dump();
  for (const char* option : {"NextProtos", "GRPC_ENFORCE_ALPN_ENABLED", "1.67"}) {
    EXPECT_TRUE(mentions(f, option)) << option;
  }
}

// A gRPC C++ server whose certificate expires in 3 days behind
// --upstream-tls, and a gRPC C++ client whose certificate (mTLS,
// --tls-client-ca) expires in 10: one finding per leg, the sooner critical.
TEST_F(TlsFindingsTest, ShortLivedCertificatesOnBothLegs) {
  CertFiles server_cert, client_cert;
  std::string error;
  ASSERT_TRUE(shortLived("server-3d", "localhost", "server", 3, 2001, &server_cert, &error)) << error;
  ASSERT_TRUE(shortLived("client-10d", "short-client", "client", 10, 2002, &client_cert, &error)) << error;
  EchoServerOptions options;
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  ssl.pem_key_cert_pairs.push_back({server_cert.keyPem(), server_cert.certPem()});
  options.credentials = grpc::SslServerCredentials(ssl);
  ASSERT_NO_FATAL_FAILURE(startServer(options));
  std::vector<std::string> args = terminationArgs();
  for (const std::string& a : {std::string("--tls-client-ca"), certs().ca.cert, std::string("--upstream-tls"),
                               std::string("--upstream-ca"), certs().ca.cert}) {
    args.push_back(a);
  }
  ASSERT_NO_FATAL_FAILURE(startProxy(args));

  grpc::SslCredentialsOptions client_ssl;
  client_ssl.pem_root_certs = certs().ca.certPem();
  client_ssl.pem_private_key = client_cert.keyPem();
  client_ssl.pem_cert_chain = client_cert.certPem();
  ChannelOptions co;
  co.credentials = grpc::SslCredentials(client_ssl);
  co.ssl_target_name_override = "localhost";
  auto ch = makeChannel(target(), co);  // kept open: the finding reads live connections
  auto stub = makeStub(ch);
  EchoResponse resp;
  grpc::Status st = unaryCall(*stub, request(16), &resp, scaled(10s));
  ASSERT_TRUE(st.ok()) << statusString(st);

  nlohmann::json up = waitForFinding("tls.certificate_expiring", {{"hop", "upstream"}});
  ASSERT_FALSE(up.is_null()) << lastFindings();
  EXPECT_EQ(up["layer"], "tls");
  EXPECT_EQ(up["severity"], "critical") << up.dump();
  EXPECT_EQ(up["scope"]["subject"], "/CN=localhost");
  EXPECT_GE(up["evidence"]["days_left"].get<int>(), 2) << up.dump();
  EXPECT_LE(up["evidence"]["days_left"].get<int>(), 3) << up.dump();
  EXPECT_EQ(up["evidence"]["peer_issuer"], "/CN=test-ca");
  EXPECT_TRUE(mentions(up, "GetCertificate"));
  EXPECT_TRUE(mentions(up, "FileWatcherCertificateProvider"));

  nlohmann::json down = waitForFinding("tls.certificate_expiring", {{"hop", "downstream"}});
  ASSERT_FALSE(down.is_null()) << lastFindings();
  EXPECT_EQ(down["severity"], "warning") << down.dump();
  EXPECT_EQ(down["scope"]["subject"], "/CN=short-client");
  EXPECT_GE(down["evidence"]["days_left"].get<int>(), 9) << down.dump();
  EXPECT_LE(down["evidence"]["days_left"].get<int>(), 10) << down.dump();
}

}  // namespace
}  // namespace grpcscope::testsupport
