// Two TlsTransports over an in-memory pair on one libuv loop: the handshake
// completes with ALPN h2, bytes cross both ways in order (including bytes
// queued before the handshake finished), verification failures name their
// cause, and a second connection resumes the session.
#include <gtest/gtest.h>
#include <uv.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include "memory_transport.h"
#include "proxy/tls_transport.h"

namespace grpcscope {
namespace {

using testing::MemoryTransport;

// Certificates made for this test run with the openssl CLI.
class Certs {
 public:
  Certs() {
    dir_ = std::filesystem::temp_directory_path() / ("grpcscope-tls-unit-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::string d = dir_.string();
    std::string script =
        "cd " + d +
        " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt "
        "-days 2 -subj /CN=unit-ca"
        " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr "
        "-subj /CN=localhost"
        " && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext.cnf"
        " && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 "
        "-extfile ext.cnf"
        " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.crt "
        "-days 2 -subj /CN=other-ca";
    ok_ = std::system((script + " > /dev/null 2>&1").c_str()) == 0;
  }
  ~Certs() { std::filesystem::remove_all(dir_); }
  bool ok() const { return ok_; }
  std::string path(const char* name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
  bool ok_ = false;
};

// Records what one end receives.
class Sink : public TransportHandler {
 public:
  void onTransportData(const uint8_t* data, size_t len) override {
    received.append(reinterpret_cast<const char*>(data), len);
  }
  void onTransportEnd(bool reset, std::string_view cause) override {
    ended = true;
    end_cause = std::string(cause);
  }
  void onTransportDrained() override {}
  void onTransportClosed() override { closed = true; }
  std::string received;
  bool ended = false;
  bool closed = false;
  std::string end_cause;
};

class TlsTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(certs_.ok()) << "openssl could not make the test certificates";
    uv_loop_init(&loop_);
    ListenerTlsConfig server;
    server.cert_file = certs_.path("server.crt");
    server.key_file = certs_.path("server.key");
    std::string error;
    server_ctx_ = TlsContext::makeServer(server, &error);
    ASSERT_TRUE(server_ctx_) << error;
  }

  void TearDown() override {
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  std::unique_ptr<TlsContext> clientContext(const char* ca) {
    UpstreamTlsConfig client;
    client.enabled = true;
    client.ca_file = certs_.path(ca);
    std::string error;
    auto ctx = TlsContext::makeClient(client, &error);
    EXPECT_TRUE(ctx) << error;
    return ctx;
  }

  bool runUntil(const std::function<bool()>& done) {
    for (int i = 0; i < 100000 && !done(); ++i) uv_run(&loop_, UV_RUN_NOWAIT);
    return done();
  }

  struct Pair {
    std::unique_ptr<TlsTransport> client;
    std::unique_ptr<TlsTransport> server;
    Sink client_sink;
    Sink server_sink;
  };

  std::unique_ptr<Pair> connect(TlsContext& client_ctx, const std::string& name) {
    auto pair = std::make_unique<Pair>();
    auto [a, b] = MemoryTransport::makePair(&loop_);
    pair->client = std::make_unique<TlsTransport>(std::move(a), client_ctx, name);
    pair->server = std::make_unique<TlsTransport>(std::move(b), *server_ctx_, "");
    pair->client->setHandler(&pair->client_sink);
    pair->server->setHandler(&pair->server_sink);
    pair->client->startReading();
    pair->server->startReading();
    pair->server->startHandshake();
    pair->client->startHandshake();
    return pair;
  }

  void closeBoth(Pair& p) {
    p.client->close(true);
    p.server->close(true);
    runUntil([&] { return p.client_sink.closed && p.server_sink.closed; });
  }

  Certs certs_;
  uv_loop_t loop_;
  std::unique_ptr<TlsContext> server_ctx_;
};

TEST_F(TlsTransportTest, HandshakeNegotiatesH2AndBytesCrossBothWays) {
  auto client_ctx = clientContext("ca.crt");
  auto p = connect(*client_ctx, "localhost");
  // Queued before the handshake finishes: must arrive after it, in order.
  std::string early(100000, 'e');
  p->client->queue(reinterpret_cast<const uint8_t*>(early.data()), early.size());
  p->client->flush();
  ASSERT_TRUE(runUntil([&] { return p->server_sink.received.size() == early.size(); }));
  EXPECT_EQ(p->server_sink.received, early);
  EXPECT_TRUE(p->client->facts().done);
  EXPECT_EQ(p->client->facts().alpn, "h2");
  EXPECT_EQ(p->server->facts().alpn, "h2");
  EXPECT_EQ(p->server->facts().client_hello.sni, "localhost");
  EXPECT_EQ(p->server->facts().client_hello.alpn, std::vector<std::string>{"h2"});
  EXPECT_EQ(p->server->facts().client_hello.ja3_md5.size(), 32u);
  EXPECT_EQ(p->client->facts().peer_subject, "/CN=localhost");
  EXPECT_GT(p->client->facts().server_hello_ns, 0u);

  std::string reply = "pong";
  p->server->queue(reinterpret_cast<const uint8_t*>(reply.data()), reply.size());
  p->server->flush();
  ASSERT_TRUE(runUntil([&] { return p->client_sink.received == reply; }));
  closeBoth(*p);
}

TEST_F(TlsTransportTest, UnknownIssuerFailsWithVerifyCause) {
  auto client_ctx = clientContext("other.crt");
  auto p = connect(*client_ctx, "localhost");
  ASSERT_TRUE(runUntil([&] { return p->client_sink.ended; }));
  EXPECT_EQ(p->client_sink.end_cause, "TLS: certificate verify failed: unable to get local issuer certificate");
  closeBoth(*p);
}

TEST_F(TlsTransportTest, WrongNameFailsWithVerifyCause) {
  auto client_ctx = clientContext("ca.crt");
  auto p = connect(*client_ctx, "not-this-host.example");
  ASSERT_TRUE(runUntil([&] { return p->client_sink.ended; }));
  EXPECT_EQ(p->client_sink.end_cause, "TLS: certificate verify failed: hostname mismatch");
  closeBoth(*p);
}

// Closes its transport at once when it ends, as the relay does after a
// failure (close(false): nothing of the relay's own is worth sending).
class ClosingSink : public Sink {
 public:
  void onTransportEnd(bool reset, std::string_view cause) override {
    Sink::onTransportEnd(reset, cause);
    if (transport) transport->close(false);
  }
  Transport* transport = nullptr;
};

// Both ends close on failure; returns when both closed.
struct ClosingPair {
  std::unique_ptr<TlsTransport> client;
  std::unique_ptr<TlsTransport> server;
  ClosingSink client_sink;
  ClosingSink server_sink;
};

std::unique_ptr<ClosingPair> connectClosing(uv_loop_t* loop, TlsContext& client_ctx, TlsContext& server_ctx,
                                            const std::string& name) {
  auto pair = std::make_unique<ClosingPair>();
  auto [a, b] = MemoryTransport::makePair(loop);
  pair->client = std::make_unique<TlsTransport>(std::move(a), client_ctx, name);
  pair->server = std::make_unique<TlsTransport>(std::move(b), server_ctx, "");
  pair->client_sink.transport = pair->client.get();
  pair->server_sink.transport = pair->server.get();
  pair->client->setHandler(&pair->client_sink);
  pair->server->setHandler(&pair->server_sink);
  pair->client->startReading();
  pair->server->startReading();
  pair->server->startHandshake();
  pair->client->startHandshake();
  return pair;
}

// The client rejects the server's certificate: its alert (unknown_ca)
// reaches the server before the close, even though the failing side closes
// at once (RFC 8446 6.2).
TEST_F(TlsTransportTest, VerifyFailureSendsAlertBeforeClosing) {
  auto client_ctx = clientContext("other.crt");
  auto p = connectClosing(&loop_, *client_ctx, *server_ctx_, "localhost");
  ASSERT_TRUE(runUntil([&] { return p->client_sink.closed && p->server_sink.closed; }));
  EXPECT_EQ(p->client_sink.end_cause, "TLS: certificate verify failed: unable to get local issuer certificate");
  EXPECT_NE(p->server_sink.end_cause.find("alert unknown ca"), std::string::npos)
      << "the server did not get the client's alert: " << p->server_sink.end_cause;
}

// The server requires a client certificate and gets none: over TLS 1.3 the
// client learns it from the certificate_required alert after its handshake.
TEST_F(TlsTransportTest, MissingClientCertificateSendsCertificateRequired) {
  ListenerTlsConfig server;
  server.cert_file = certs_.path("server.crt");
  server.key_file = certs_.path("server.key");
  server.client_ca_file = certs_.path("ca.crt");
  std::string error;
  auto mtls_ctx = TlsContext::makeServer(server, &error);
  ASSERT_TRUE(mtls_ctx) << error;
  auto client_ctx = clientContext("ca.crt");
  auto p = connectClosing(&loop_, *client_ctx, *mtls_ctx, "localhost");
  ASSERT_TRUE(runUntil([&] { return p->client_sink.closed && p->server_sink.closed; }));
  EXPECT_NE(p->server_sink.end_cause.find("peer did not return a certificate"), std::string::npos)
      << p->server_sink.end_cause;
  EXPECT_NE(p->client_sink.end_cause.find("alert certificate required"), std::string::npos)
      << "the client did not get the server's alert: " << p->client_sink.end_cause;
}

TEST_F(TlsTransportTest, SecondConnectionResumesTheSession) {
  auto client_ctx = clientContext("ca.crt");
  for (int round = 0; round < 2; ++round) {
    auto p = connect(*client_ctx, "localhost");
    std::string ping = "ping";
    p->client->queue(reinterpret_cast<const uint8_t*>(ping.data()), ping.size());
    p->client->flush();
    // The server's reply carries the TLS 1.3 session ticket along.
    ASSERT_TRUE(runUntil([&] { return p->server_sink.received == ping; }));
    p->server->queue(reinterpret_cast<const uint8_t*>(ping.data()), ping.size());
    p->server->flush();
    ASSERT_TRUE(runUntil([&] { return p->client_sink.received == ping; }));
    EXPECT_EQ(p->client->facts().resumed, round == 1) << "round " << round;
    EXPECT_EQ(p->server->facts().resumed, round == 1) << "round " << round;
    closeBoth(*p);
  }
}

}  // namespace
}  // namespace grpcscope

namespace grpcscope {
namespace {

// Each stored session is offered once, newest first; with none left the
// newest is offered again (connections opening together must not share a
// TLS 1.3 ticket).
TEST(TlsSessionCacheTest, SessionsAreOfferedOnceNewestFirst) {
  std::string error;
  UpstreamTlsConfig config;
  auto ctx = TlsContext::makeClient(config, &error);
  ASSERT_TRUE(ctx) << error;
  EXPECT_EQ(ctx->takeSession(), nullptr);
  SSL_SESSION* older = SSL_SESSION_new();
  SSL_SESSION* newer = SSL_SESSION_new();
  ctx->storeSession(older);  // the context owns these references now
  ctx->storeSession(newer);
  SSL_SESSION* first = ctx->takeSession();
  SSL_SESSION* second = ctx->takeSession();
  SSL_SESSION* third = ctx->takeSession();
  EXPECT_EQ(first, newer);
  EXPECT_EQ(second, older);
  EXPECT_EQ(third, newer);  // none left: the newest again
  for (SSL_SESSION* s : {first, second, third}) SSL_SESSION_free(s);
  for (size_t i = 0; i < TlsContext::kMaxSessions + 5; ++i) ctx->storeSession(SSL_SESSION_new());
  size_t offered = 0;
  std::vector<SSL_SESSION*> taken;
  for (size_t i = 0; i < TlsContext::kMaxSessions + 5; ++i) taken.push_back(ctx->takeSession());
  for (size_t i = 1; i < taken.size(); ++i) offered += taken[i] != taken[0] ? 1 : 0;
  EXPECT_EQ(offered, TlsContext::kMaxSessions - 1) << "at most kMaxSessions are kept";
  for (SSL_SESSION* s : taken) SSL_SESSION_free(s);
}

}  // namespace
}  // namespace grpcscope
