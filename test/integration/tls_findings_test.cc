// The TLS findings (docs/findings.md, "TLS") raised by the real proxy over
// real TLS with certificates the test makes: `openssl s_client` runs, each
// a new process and so a full handshake (tls.no_resumption); s_client
// without -alpn (tls.alpn_missing); a server certificate valid for 3 days
// upstream and a client certificate valid for 10 days downstream
// (tls.certificate_expiring); a server whose handshake answers come 150 ms
// late, through a delaying relay (tls.slow_handshake). Each test polls
// /api/findings until its
// finding is active, then checks its id, layer, scope, evidence and that
// the fix names the stacks' real options.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "admin/admin_client.h"
#include "own_certs_fixture.h"

namespace grpcscope::testsupport {
namespace {

using grpcscope::test::EchoResponse;

// A TCP relay on 127.0.0.1:0 to `upstream_port` that holds every chunk the
// server sends for `delay` before passing it on: a server slow to answer
// (its TLS flight included), which the TCP RTT on loopback does not show.
class DelayingRelay {
 public:
  DelayingRelay(uint16_t upstream_port, std::chrono::milliseconds delay) : upstream_port_(upstream_port), delay_(delay) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }
  ~DelayingRelay() {
    stop_ = true;
    acceptor_.join();
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);  // unblocks the pumps
    for (auto& t : pumps_) t.join();
    for (int fd : fds_) ::close(fd);
    ::close(listen_fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void acceptLoop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int down = ::accept(listen_fd_, nullptr, nullptr);
      if (down < 0) continue;
      int up = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(upstream_port_);
      if (::connect(up, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(up);
        ::close(down);
        continue;
      }
      std::lock_guard<std::mutex> lock(mutex_);
      fds_.push_back(down);
      fds_.push_back(up);
      pumps_.emplace_back([this, down, up] { pump(down, up, std::chrono::milliseconds(0)); });
      pumps_.emplace_back([this, down, up] { pump(up, down, delay_); });
    }
  }
  void pump(int from, int to, std::chrono::milliseconds delay) {
    char buf[65536];
    while (true) {
      ssize_t n = ::read(from, buf, sizeof buf);
      if (n <= 0) break;
      if (delay.count() > 0) std::this_thread::sleep_for(delay);
      if (::send(to, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
    }
    ::shutdown(to, SHUT_WR);
  }

  uint16_t upstream_port_;
  std::chrono::milliseconds delay_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<int> fds_;
  std::vector<std::thread> pumps_;
};

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

// The server's answers (ServerHello and the rest of its flight) arrive
// 150 ms late: six new upstream connections, each handshake slow, and the
// time is neither verification nor the loopback RTT.
TEST_F(TlsFindingsTest, SlowServerHandshakeNamesThePhase) {
  EchoServerOptions options;
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  ssl.pem_key_cert_pairs.push_back({certs().server.keyPem(), certs().server.certPem()});
  options.credentials = grpc::SslServerCredentials(ssl);
  ASSERT_NO_FATAL_FAILURE(startServer(options));
  DelayingRelay relay(static_cast<uint16_t>(server_->port()), 150ms);
  ASSERT_NO_FATAL_FAILURE(startProxy({"--upstream-tls", "--upstream-ca", certs().ca.cert}, relay.address()));
  std::vector<std::shared_ptr<grpc::Channel>> channels;  // kept: their connections are the live ones read
  for (int i = 0; i < 6; ++i) channels.push_back(makeChannel(target()));
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (auto& ch : channels) {
    callers.emplace_back([&, ch] {
      auto stub = makeStub(ch);
      EchoResponse resp;
      if (!unaryCall(*stub, request(16), &resp, scaled(20s)).ok()) ++failures;
    });
  }
  for (auto& t : callers) t.join();
  ASSERT_EQ(failures, 0);
  nlohmann::json f = waitForFinding("tls.slow_handshake", {{"hop", "upstream"}});
  ASSERT_FALSE(f.is_null()) << lastFindings();
  EXPECT_EQ(f["layer"], "tls");
  EXPECT_EQ(f["severity"], "warning") << f.dump();
  const nlohmann::json& e = f["evidence"];
  EXPECT_GE(e["handshakes"].get<int>(), 5) << e.dump();
  EXPECT_GE(e["handshake_p50_s"].get<double>(), 0.14) << e.dump();
  EXPECT_EQ(e["dominant_phase"], "key_exchange_and_peer_processing") << e.dump();
  EXPECT_GE(e["phase_key_exchange_and_peer_s"].get<double>(), 0.1) << e.dump();
  EXPECT_TRUE(mentions(f, "ECDSA P-256"));
  // The client leg is plaintext: nothing about it.
  EXPECT_TRUE(waitForFinding("tls.slow_handshake", {{"hop", "downstream"}}, 1s).is_null());
}

}  // namespace
}  // namespace grpcscope::testsupport
