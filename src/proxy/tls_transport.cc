#include "proxy/tls_transport.h"

#include <memory>

#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <uv.h>

#include <cstring>
#include <mutex>

namespace grpcscope {
namespace {

constexpr size_t kChunk = 64 * 1024;
// Separate buffers: decrypted input may still be being parsed by the session
// above while ciphertext is drained out (a close during a callback, say).
// Per loop thread, on the heap: see readBuffer() in tcp_transport.cc.
uint8_t* tlsReadBuffer() {
  thread_local std::unique_ptr<uint8_t[]> buffer(new uint8_t[kChunk]);
  return buffer.get();
}
uint8_t* tlsWriteBuffer() {
  thread_local std::unique_ptr<uint8_t[]> buffer(new uint8_t[kChunk]);
  return buffer.get();
}

const unsigned char kAlpnH2[] = {2, 'h', '2'};

// Server: pick h2 when offered. A client that offers no ALPN, or not h2, is
// still served HTTP/2 by prior knowledge (what it will speak if it is a gRPC
// client configured without ALPN); the fact is recorded in TlsFacts::alpn.
int selectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
               void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kAlpnH2, sizeof(kAlpnH2), in, inlen) == OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

int onNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* context = static_cast<TlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  context->storeSession(session);
  return 1;  // we keep the reference
}

bool isIpAddress(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string nameLine(X509_NAME* name) {
  if (!name) return "";
  char buf[512];
  X509_NAME_oneline(name, buf, sizeof(buf));
  return buf;
}

// GREASE values (RFC 8701) are random per client: JA3 leaves them out.
bool isGrease(uint16_t v) { return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff); }

uint16_t be16(const unsigned char* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

std::string joinDecimal(const std::vector<uint16_t>& values) {
  std::string out;
  for (uint16_t v : values) {
    if (!out.empty()) out += '-';
    out += std::to_string(v);
  }
  return out;
}

// Session ticket keys, shared by every worker's server context so that a
// client resumes whichever worker the kernel hands its next connection to.
// Used during handshakes only, never per request.
class TicketKeys {
 public:
  struct Key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
    uint64_t created_ns;
  };

  static TicketKeys& instance() {
    static TicketKeys keys;
    return keys;
  }

  // enc: the key to seal a new ticket with (rotating when due).
  Key current(uint64_t rotation_ns) {
    std::lock_guard<std::mutex> lock(mutex_);
    uint64_t now = uv_hrtime();
    if (!have_current_ || now - current_.created_ns >= rotation_ns) {
      previous_ = current_;
      have_previous_ = have_current_;
      RAND_bytes(current_.name, sizeof(current_.name));
      RAND_bytes(current_.aes, sizeof(current_.aes));
      RAND_bytes(current_.hmac, sizeof(current_.hmac));
      current_.created_ns = now;
      have_current_ = true;
    }
    return current_;
  }

  // dec: 1 found current, 2 found previous (renew the ticket), 0 unknown.
  int find(const unsigned char name[16], Key* out) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (have_current_ && std::memcmp(name, current_.name, 16) == 0) {
      *out = current_;
      return 1;
    }
    if (have_previous_ && std::memcmp(name, previous_.name, 16) == 0) {
      *out = previous_;
      return 2;
    }
    return 0;
  }

 private:
  std::mutex mutex_;
  Key current_{};
  Key previous_{};
  bool have_current_ = false;
  bool have_previous_ = false;
};

int onTicketKey(SSL* ssl, unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                int enc) {
  auto* context = static_cast<TlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  TicketKeys::Key key;
  int rc = 1;
  if (enc) {
    key = TicketKeys::instance().current(context->ticketRotationNs());
    std::memcpy(key_name, key.name, 16);
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) return -1;
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes, iv) != 1) return -1;
  } else {
    rc = TicketKeys::instance().find(key_name, &key);
    if (rc == 0) return 0;  // unknown or expired key: full handshake
    if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes, iv) != 1) return -1;
  }
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.hmac, sizeof(key.hmac)),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
  return rc;
}

}  // namespace

// Server role: record what the client offered, before OpenSSL answers it.
int captureClientHello(SSL* ssl, int*, void*) {
  auto* self = static_cast<TlsTransport*>(SSL_get_app_data(ssl));
  if (!self) return SSL_CLIENT_HELLO_SUCCESS;
  TlsFacts::ClientHello& hello = self->facts_.client_hello;
  hello.seen = true;
  unsigned int legacy = SSL_client_hello_get0_legacy_version(ssl);
  const unsigned char* data = nullptr;
  size_t len = SSL_client_hello_get0_ciphers(ssl, &data);
  for (size_t i = 0; i + 1 < len; i += 2) {
    uint16_t c = be16(data + i);
    if (!isGrease(c)) hello.ciphers.push_back(c);
  }
  std::vector<uint16_t> extensions, point_formats;
  int* present = nullptr;
  size_t count = 0;
  if (SSL_client_hello_get1_extensions_present(ssl, &present, &count) == 1) {
    for (size_t i = 0; i < count; ++i) {
      if (!isGrease(static_cast<uint16_t>(present[i]))) extensions.push_back(static_cast<uint16_t>(present[i]));
    }
    OPENSSL_free(present);
  }
  if (SSL_client_hello_get0_ext(ssl, 10, &data, &len) == 1 && len >= 2) {  // supported_groups
    for (size_t i = 2; i + 1 < len; i += 2) {
      uint16_t g = be16(data + i);
      if (!isGrease(g)) hello.groups.push_back(g);
    }
  }
  if (SSL_client_hello_get0_ext(ssl, 11, &data, &len) == 1 && len >= 1) {  // ec_point_formats
    for (size_t i = 1; i < len; ++i) point_formats.push_back(data[i]);
  }
  if (SSL_client_hello_get0_ext(ssl, 43, &data, &len) == 1 && len >= 1) {  // supported_versions
    for (size_t i = 1; i + 1 < len; i += 2) {
      uint16_t v = be16(data + i);
      if (!isGrease(v)) hello.versions.push_back(v);
    }
  }
  if (hello.versions.empty()) hello.versions.push_back(static_cast<uint16_t>(legacy));
  if (SSL_client_hello_get0_ext(ssl, 16, &data, &len) == 1 && len >= 2) {  // ALPN
    for (size_t i = 2; i < len;) {
      size_t n = data[i];
      if (i + 1 + n > len) break;
      hello.alpn.emplace_back(reinterpret_cast<const char*>(data + i + 1), n);
      i += 1 + n;
    }
  }
  if (SSL_client_hello_get0_ext(ssl, 0, &data, &len) == 1 && len >= 5 && data[2] == 0) {  // server_name
    size_t n = be16(data + 3);
    if (5 + n <= len) hello.sni.assign(reinterpret_cast<const char*>(data + 5), n);
  }
  hello.ja3 = std::to_string(legacy) + "," + joinDecimal(hello.ciphers) + "," + joinDecimal(extensions) + "," +
              joinDecimal(hello.groups) + "," + joinDecimal(point_formats);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(hello.ja3.data(), hello.ja3.size(), md, &md_len, EVP_md5(), nullptr) == 1) {
    static const char kHex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < md_len; ++i) {
      hello.ja3_md5 += kHex[md[i] >> 4];
      hello.ja3_md5 += kHex[md[i] & 0xf];
    }
  }
  ERR_clear_error();
  return SSL_CLIENT_HELLO_SUCCESS;
}

// Times the verification of the peer's certificate chain.
int timedVerify(X509_STORE_CTX* store, void*) {
  SSL* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* self = ssl ? static_cast<TlsTransport*>(SSL_get_app_data(ssl)) : nullptr;
  uint64_t start = uv_hrtime();
  int rc = X509_verify_cert(store);
  if (self) self->facts_.verify_ns += uv_hrtime() - start;
  return rc;
}

void TlsTransport::onMessage(int write_p, int, int content_type, const void* buf, size_t len, SSL*, void* arg) {
  auto* self = static_cast<TlsTransport*>(arg);
  if (content_type == SSL3_RT_ALERT && write_p) {
    self->alert_sent_ = true;  // reported once the alert is in the write BIO
    return;
  }
  if (content_type != SSL3_RT_HANDSHAKE || len == 0) return;
  uint64_t now = uv_hrtime();
  switch (static_cast<const unsigned char*>(buf)[0]) {
    case SSL3_MT_CLIENT_HELLO:
      if (!self->facts_.client_hello_ns) self->facts_.client_hello_ns = now;
      break;
    case SSL3_MT_SERVER_HELLO:
      if (!self->facts_.server_hello_ns) self->facts_.server_hello_ns = now;
      break;
    case SSL3_MT_CERTIFICATE_REQUEST:
      if (!write_p && !self->context_.server()) {
        self->facts_.client_cert_requested = true;
        self->facts_.client_cert_configured = SSL_get_certificate(self->ssl_) != nullptr;
      }
      break;
    case SSL3_MT_CERTIFICATE:
      // The server's certificate: sent by a server, received by a client.
      if (!self->facts_.certificate_ns && (write_p != 0) == self->context_.server()) {
        self->facts_.certificate_ns = now;
      }
      break;
    default:
      break;
  }
}

std::string drainOpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    const char* reason = ERR_reason_error_string(e);
    if (!out.empty()) out += "; ";
    out += reason ? reason : buf;
  }
  return out;
}

TlsContext::~TlsContext() {
  for (SSL_SESSION* s : sessions_) SSL_SESSION_free(s);
  if (newest_) SSL_SESSION_free(newest_);
  SSL_CTX_free(ctx_);
}

void TlsContext::storeSession(SSL_SESSION* session) {
  if (newest_) SSL_SESSION_free(newest_);
  SSL_SESSION_up_ref(session);
  newest_ = session;
  sessions_.push_back(session);
  while (sessions_.size() > kMaxSessions) {
    SSL_SESSION_free(sessions_.front());
    sessions_.pop_front();
  }
}

SSL_SESSION* TlsContext::takeSession() {
  if (!sessions_.empty()) {
    SSL_SESSION* s = sessions_.back();
    sessions_.pop_back();
    return s;
  }
  if (newest_) SSL_SESSION_up_ref(newest_);
  return newest_;
}

std::unique_ptr<TlsContext> TlsContext::makeServer(const ListenerTlsConfig& config, std::string* error) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  std::unique_ptr<TlsContext> context(new TlsContext(ctx, true));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(ctx, config.cert_file.c_str()) != 1) {
    *error = "--tls-cert " + config.cert_file + ": " + drainOpenSslErrors();
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, config.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    *error = "--tls-key " + config.key_file + ": " + drainOpenSslErrors();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    *error = "--tls-key " + config.key_file + ": does not match --tls-cert " + config.cert_file;
    return nullptr;
  }
  if (!config.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, config.client_ca_file.c_str(), nullptr) != 1) {
      *error = "--tls-client-ca " + config.client_ca_file + ": " + drainOpenSslErrors();
      return nullptr;
    }
    SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(config.client_ca_file.c_str()));
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  SSL_CTX_set_alpn_select_cb(ctx, selectAlpn, nullptr);
  SSL_CTX_set_client_hello_cb(ctx, captureClientHello, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, timedVerify, nullptr);
  if (config.ticket_rotation_ms == 0) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  } else {
    context->ticket_rotation_ns_ = uint64_t{config.ticket_rotation_ms} * 1'000'000;
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, onTicketKey);
  }
  SSL_CTX_set_app_data(ctx, context.get());
  return context;
}

std::unique_ptr<TlsContext> TlsContext::makeClient(const UpstreamTlsConfig& config, std::string* error) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  std::unique_ptr<TlsContext> context(new TlsContext(ctx, false));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (!config.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, config.ca_file.c_str(), nullptr) != 1) {
      *error = "--upstream-ca " + config.ca_file + ": " + drainOpenSslErrors();
      return nullptr;
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    *error = "--upstream-tls: cannot load the system trust store: " + drainOpenSslErrors();
    return nullptr;
  }
  if (!config.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, config.cert_file.c_str()) != 1) {
      *error = "--upstream-cert " + config.cert_file + ": " + drainOpenSslErrors();
      return nullptr;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, config.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      *error = "--upstream-key " + config.key_file + ": " + drainOpenSslErrors();
      return nullptr;
    }
  }
  SSL_CTX_set_alpn_protos(ctx, kAlpnH2, sizeof(kAlpnH2));
  SSL_CTX_set_cert_verify_callback(ctx, timedVerify, nullptr);
  // Reconnects offer the last session so that they resume.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, onNewSession);
  SSL_CTX_set_app_data(ctx, context.get());
  return context;
}

TlsTransport::TlsTransport(std::unique_ptr<Transport> inner, TlsContext& context, std::string server_name)
    : inner_(std::move(inner)), context_(context) {
  ssl_ = SSL_new(context_.get());
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(rbio_, -1);  // empty means "want more", not EOF
  SSL_set_bio(ssl_, rbio_, wbio_);
  SSL_set_app_data(ssl_, this);
  SSL_set_msg_callback(ssl_, &TlsTransport::onMessage);
  SSL_set_msg_callback_arg(ssl_, this);
  if (context_.server()) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
    if (!server_name.empty()) {
      if (isIpAddress(server_name)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), server_name.c_str());
      } else {
        SSL_set_tlsext_host_name(ssl_, server_name.c_str());
        SSL_set1_host(ssl_, server_name.c_str());
      }
      facts_.sni = server_name;
    }
    if (SSL_SESSION* session = context_.takeSession()) {
      SSL_set_session(ssl_, session);
      SSL_SESSION_free(session);
    }
  }
  inner_->setHandler(this);
}

TlsTransport::~TlsTransport() { SSL_free(ssl_); }

void TlsTransport::startHandshake() {
  facts_.started_ns = uv_hrtime();
  // The handshake reads whatever the relay's reading state; plaintext waits.
  inner_->startReading();
  if (!context_.server()) {
    advanceHandshake();
    inner_->flush();
  }
}

bool TlsTransport::advanceHandshake() {
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    handshake_done_ = true;
    recordFacts();
    moveCiphertextOut();
    if (!context_.server() && facts_.alpn != "h2") {
      // Our refusal, not OpenSSL's: end the session with close_notify (RFC
      // 8446 6.1) rather than a bare FIN.
      ERR_clear_error();
      SSL_shutdown(ssl_);
      ERR_clear_error();
      fail("TLS: server did not select ALPN h2 (selected: " + (facts_.alpn.empty() ? "none" : facts_.alpn) + ")");
      return false;
    }
    if (on_handshake) on_handshake(facts_);
    if (failed_ || inner_->closing()) return false;
    encryptPending();
    if (!reading_) inner_->stopReading();
    return true;
  }
  int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    moveCiphertextOut();
    return true;
  }
  long verify = SSL_get_verify_result(ssl_);
  std::string cause;
  if (verify != X509_V_OK) {
    cause = std::string("TLS: certificate verify failed: ") + X509_verify_cert_error_string(verify);
    drainOpenSslErrors();
  } else {
    std::string detail = drainOpenSslErrors();
    cause = "TLS: handshake failed: " + (detail.empty() ? std::string("unexpected message") : detail);
  }
  fail(cause);  // queues the alert OpenSSL wrote, if any
  return false;
}

void TlsTransport::recordFacts() {
  facts_.done = true;
  facts_.finished_ns = uv_hrtime();
  facts_.version = SSL_get_version(ssl_);
  facts_.cipher = SSL_get_cipher_name(ssl_);
  if (const char* g = SSL_group_to_name(ssl_, SSL_get_negotiated_group(ssl_))) facts_.group = g;
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl_, &alpn, &alpn_len);
  facts_.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  if (context_.server()) {
    if (const char* sni = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name)) facts_.sni = sni;
    // A resumed TLS 1.2 session reports the name stored in the session (often
    // none): the ClientHello says what this client asked for.
    if (facts_.sni.empty()) facts_.sni = facts_.client_hello.sni;
  }
  facts_.resumed = SSL_session_reused(ssl_) == 1;
  if (X509* peer = SSL_get1_peer_certificate(ssl_)) {
    facts_.peer_subject = nameLine(X509_get_subject_name(peer));
    facts_.peer_issuer = nameLine(X509_get_issuer_name(peer));
    int days = 0, secs = 0;
    if (ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(peer))) facts_.peer_days_left = days;
    X509_free(peer);
  }
}

void TlsTransport::onTransportData(const uint8_t* data, size_t len) {
  if (failed_) return;
  BIO_write(rbio_, data, static_cast<int>(len));
  if (!handshake_done_) {
    if (!advanceHandshake() || !handshake_done_) {
      inner_->flush();
      return;
    }
  }
  readPlaintext();
  moveCiphertextOut();  // TLS 1.3 post-handshake messages (tickets, key updates)
  inner_->flush();
}

void TlsTransport::readPlaintext() {
  while (reading_ && !failed_ && !inner_->closing()) {
    ERR_clear_error();
    uint8_t* tls_read_buffer = tlsReadBuffer();
    int n = SSL_read(ssl_, tls_read_buffer, static_cast<int>(kChunk));
    if (n > 0) {
      if (handler_) handler_->onTransportData(tls_read_buffer, static_cast<size_t>(n));
      continue;
    }
    int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
    if (err == SSL_ERROR_ZERO_RETURN) {
      if (!ended_ && handler_) {
        ended_ = true;
        handler_->onTransportEnd(false, "closed by peer (TLS close_notify)");
      }
      break;
    }
    fail("TLS: " + drainOpenSslErrors());
    break;
  }
}

void TlsTransport::queue(const uint8_t* data, size_t len) {
  if (failed_) return;
  plain_out_.append(data, len);
  plain_queued_ += len;
}

void TlsTransport::flush() {
  encryptPending();
  inner_->flush();
}

void TlsTransport::encryptPending() {
  if (!handshake_done_ || failed_) return;
  while (!plain_out_.empty()) {
    iovec iov[1];
    plain_out_.peek(iov, 1);
    ERR_clear_error();
    int n = SSL_write(ssl_, iov[0].iov_base, static_cast<int>(iov[0].iov_len));
    if (n <= 0) {
      // A memory BIO never blocks: any failure here is fatal for the connection.
      fail("TLS: write failed: " + drainOpenSslErrors());
      return;
    }
    plain_out_.drain(static_cast<size_t>(n));
    plain_encrypted_ += static_cast<uint64_t>(n);
  }
  moveCiphertextOut();
  if (written_marks_.empty() || written_marks_.back().first != plain_encrypted_) {
    written_marks_.emplace_back(plain_encrypted_, inner_->bytesQueued());
  }
}

void TlsTransport::moveCiphertextOut() {
  while (BIO_ctrl_pending(wbio_) > 0) {
    uint8_t* tls_write_buffer = tlsWriteBuffer();
    int n = BIO_read(wbio_, tls_write_buffer, static_cast<int>(kChunk));
    if (n <= 0) break;
    inner_->queue(tls_write_buffer, static_cast<size_t>(n));
  }
}

void TlsTransport::startReading() {
  bool was = reading_;
  reading_ = true;
  inner_->startReading();
  // Records already decrypted-ready in the read BIO are read with the next
  // ciphertext; if some are waiting now, read them now.
  if (!was && handshake_done_ && BIO_ctrl_pending(rbio_) > 0) readPlaintext();
}

void TlsTransport::stopReading() {
  reading_ = false;
  if (handshake_done_) inner_->stopReading();
}

void TlsTransport::close(bool graceful) {
  if (inner_->closing()) {
    inner_->close(graceful);
    return;
  }
  if (failed_) {
    // After a fatal error OpenSSL has written its alert (certificate
    // required, unknown CA, protocol version, ...; RFC 8446 6.2) and fail()
    // queued it. The relay closes a failed transport with graceful = false,
    // which would drop it: the peer would see the connection close and never
    // learn why. Close once it was written instead (FIN after the alert),
    // bounded by the inner transport's linger time, so a peer that never
    // reads cannot hold the connection. No SSL_shutdown after a fatal error
    // (SSL_get_error(3): SSL_ERROR_SSL).
    moveCiphertextOut();
    if (alert_sent_) graceful = true;
  } else if (graceful && handshake_done_) {
    encryptPending();
    ERR_clear_error();
    SSL_shutdown(ssl_);  // close_notify
    moveCiphertextOut();
  }
  inner_->close(graceful);
}

void TlsTransport::fail(std::string cause) {
  if (failed_) return;
  failed_ = true;
  plain_out_.clear();
  // The alert OpenSSL wrote on a fatal error (handshake, SSL_read or
  // SSL_write) goes out ahead of the close; see close().
  moveCiphertextOut();
  inner_->stopReading();
  if (!ended_ && handler_) {
    ended_ = true;
    handler_->onTransportEnd(true, cause);
  }
}

void TlsTransport::onTransportEnd(bool reset, std::string_view cause) {
  if (ended_ || !handler_) return;
  ended_ = true;
  if (!handshake_done_) {
    handler_->onTransportEnd(true, std::string("TLS: handshake interrupted: ") +
                                       (reset ? std::string(cause) : std::string("connection closed by peer")));
    return;
  }
  handler_->onTransportEnd(reset, cause);
}

void TlsTransport::onTransportDrained() {
  while (!written_marks_.empty() && written_marks_.front().second <= inner_->bytesWritten()) {
    plain_written_ = written_marks_.front().first;
    written_marks_.pop_front();
  }
  encryptPending();
  inner_->flush();
  if (handler_) handler_->onTransportDrained();
}

void TlsTransport::onTransportClosed() {
  if (handler_) handler_->onTransportClosed();
}

}  // namespace grpcscope
