// TLS over any Transport (TCP in production, memory pairs in tests), with
// OpenSSL 3 driven through memory BIOs: ciphertext from the inner transport
// is written into the read BIO, the handshake or SSL_read runs until it
// stops, and whatever OpenSSL put in the write BIO is queued on the inner
// transport. Plaintext queued before the handshake finishes waits and is
// encrypted afterwards, so the H2 layer above never knows the difference.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <functional>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <grpcscope/config.h>

#include <arpa/inet.h>

#include "proxy/byte_queue.h"
#include "proxy/transport.h"

namespace grpcscope {

// What one TLS handshake established and how long it took.
struct TlsFacts {
  bool done = false;
  uint64_t started_ns = 0;
  uint64_t finished_ns = 0;
  std::string version;       // "TLSv1.3"
  std::string cipher;
  std::string group;
  std::string alpn;          // "" when none was negotiated
  std::string sni;           // server: what the client asked for; client: what we sent
  bool resumed = false;
  // Handshake phases (uv_hrtime ns; 0: not seen): ClientHello sent or
  // received, ServerHello, the server's Certificate, the last Finished; and
  // how long verifying the peer's certificate chain took.
  uint64_t client_hello_ns = 0;
  uint64_t server_hello_ns = 0;
  uint64_t certificate_ns = 0;
  uint64_t verify_ns = 0;
  // Client role: the server asked for a certificate (CertificateRequest), and
  // whether we had one to give. Over TLS 1.3 a server rejects a missing one
  // only after our handshake finished, often by just closing.
  bool client_cert_requested = false;
  bool client_cert_configured = false;
  // Server role: what the client offered (GREASE values removed).
  struct ClientHello {
    bool seen = false;
    std::string sni;
    std::vector<std::string> alpn;
    std::vector<uint16_t> versions;  // supported_versions, else the legacy version
    std::vector<uint16_t> ciphers;
    std::vector<uint16_t> groups;
    std::string ja3;                 // JA3 string: version,ciphers,extensions,groups,point formats
    std::string ja3_md5;             // the fingerprint that tells clients apart
  } client_hello;
  std::string peer_subject;  // peer certificate, when there is one
  std::string peer_issuer;
  int64_t peer_days_left = 0;
};

// One SSL_CTX per role, shared by the connections of a worker.
class TlsContext {
 public:
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // Both return nullptr and set *error to one line naming the file or cause.
  static std::unique_ptr<TlsContext> makeServer(const ListenerTlsConfig& config, std::string* error);
  static std::unique_ptr<TlsContext> makeClient(const UpstreamTlsConfig& config, std::string* error);

  SSL_CTX* get() const { return ctx_; }
  uint64_t ticketRotationNs() const { return ticket_rotation_ns_; }
  bool server() const { return server_; }

  // Client side: sessions (tickets) the server gave us, so that reconnects
  // resume. Each is offered once, newest first (RFC 8446 C.4: connections
  // opening together must not share a ticket, which servers may refuse); when
  // none is left, the newest is offered again. takeSession() returns an owned
  // reference (or null); storeSession() takes one.
  SSL_SESSION* takeSession();
  void storeSession(SSL_SESSION* session);
  static constexpr size_t kMaxSessions = 16;

 private:
  TlsContext(SSL_CTX* ctx, bool server) : ctx_(ctx), server_(server) {}
  SSL_CTX* ctx_;
  bool server_;
  std::deque<SSL_SESSION*> sessions_;  // unused, oldest first
  SSL_SESSION* newest_ = nullptr;       // the last one stored, even once taken
  uint64_t ticket_rotation_ns_ = 0;
};

// The text of OpenSSL's error queue (emptied), "" when it is empty.
std::string drainOpenSslErrors();

class TlsTransport final : public Transport, private TransportHandler {
 public:
  // server_name: client role only: SNI and the name the certificate must match
  // (an IP address is matched as such); empty: no SNI, no name check.
  TlsTransport(std::unique_ptr<Transport> inner, TlsContext& context, std::string server_name);
  ~TlsTransport() override;

  // Client role: sends the ClientHello. Server role: waits for one.
  void startHandshake();
  const TlsFacts& facts() const { return facts_; }
  // Called once when the handshake completes (before any data is delivered).
  std::function<void(const TlsFacts&)> on_handshake;

  void setHandler(TransportHandler* handler) override { handler_ = handler; }
  void queue(const uint8_t* data, size_t len) override;
  void flush() override;
  size_t pendingBytes() const override { return plain_out_.size() + inner_->pendingBytes(); }
  void startReading() override;
  void stopReading() override;
  // graceful: queued plaintext, then close_notify. After a failure, the
  // alert OpenSSL wrote is sent before the close whatever `graceful` says.
  void close(bool graceful) override;
  bool closing() const override { return inner_->closing(); }
  const std::string& peerAddress() const override { return inner_->peerAddress(); }
  const std::string& localAddress() const override { return inner_->localAddress(); }
  uint64_t bytesIn() const override { return inner_->bytesIn(); }
  uint64_t bytesOut() const override { return inner_->bytesOut(); }
  // Plaintext counts: written once the ciphertext carrying it was written.
  uint64_t bytesQueued() const override { return plain_queued_; }
  uint64_t bytesWritten() const override { return plain_written_; }
  int fd() const override { return inner_->fd(); }

 private:
  // TransportHandler for the inner (ciphertext) transport.
  void onTransportData(const uint8_t* data, size_t len) override;
  void onTransportEnd(bool reset, std::string_view cause) override;
  void onTransportDrained() override;
  void onTransportClosed() override;

  bool advanceHandshake();  // false: failed (reported)
  void readPlaintext();
  void encryptPending();
  void moveCiphertextOut();
  void fail(std::string cause);
  void recordFacts();
  static void onMessage(int write_p, int version, int content_type, const void* buf, size_t len, SSL* ssl, void* arg);
  friend int captureClientHello(SSL* ssl, int* alert, void* arg);
  friend int timedVerify(X509_STORE_CTX* store, void* arg);

  std::unique_ptr<Transport> inner_;
  TlsContext& context_;
  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;  // ciphertext in (owned by ssl_)
  BIO* wbio_ = nullptr;  // ciphertext out (owned by ssl_)
  TransportHandler* handler_ = nullptr;
  ByteQueue plain_out_;  // plaintext waiting for the handshake or for SSL_write
  uint64_t plain_queued_ = 0;
  uint64_t plain_encrypted_ = 0;
  uint64_t plain_written_ = 0;
  // (plaintext encrypted so far, inner bytesQueued() after its ciphertext):
  // one per flush that encrypted something, dropped once written.
  std::deque<std::pair<uint64_t, uint64_t>> written_marks_;
  std::string held_in_;  // plaintext read while the reader is paused
  bool reading_ = false;
  bool handshake_done_ = false;
  bool failed_ = false;
  bool ended_ = false;
  // OpenSSL wrote an alert (fatal, or close_notify) into the write BIO: a
  // close must let it reach the peer first.
  bool alert_sent_ = false;
  TlsFacts facts_;
};

}  // namespace grpcscope
