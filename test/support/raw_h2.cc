#include "support/raw_h2.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <mutex>
#include <sstream>

namespace grpcscope::testsupport::h2 {

const char* errorCodeName(uint32_t code) {
  static const char* const kNames[] = {"NO_ERROR",         "PROTOCOL_ERROR",      "INTERNAL_ERROR",
                                       "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",  "STREAM_CLOSED",
                                       "FRAME_SIZE_ERROR", "REFUSED_STREAM",      "CANCEL",
                                       "COMPRESSION_ERROR", "CONNECT_ERROR",      "ENHANCE_YOUR_CALM",
                                       "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"};
  return code < 14 ? kNames[code] : "UNKNOWN_ERROR_CODE";
}

namespace {
void put32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}
uint32_t get32(const std::string& s, size_t at) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(s[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}
}  // namespace

std::string frameHeader(uint32_t length, uint8_t type, uint8_t flags, uint32_t stream_id) {
  std::string out;
  out.push_back(static_cast<char>(length >> 16));
  out.push_back(static_cast<char>(length >> 8));
  out.push_back(static_cast<char>(length));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  put32(out, stream_id & 0x7fffffffu);
  return out;
}

std::string frame(uint8_t type, uint8_t flags, uint32_t stream_id, std::string_view payload) {
  std::string out = frameHeader(static_cast<uint32_t>(payload.size()), type, flags, stream_id);
  out.append(payload);
  return out;
}

std::string settingsFrame(const std::vector<std::pair<uint16_t, uint32_t>>& settings) {
  std::string payload;
  for (auto [id, value] : settings) {
    payload.push_back(static_cast<char>(id >> 8));
    payload.push_back(static_cast<char>(id));
    put32(payload, value);
  }
  return frame(kSettings, 0, 0, payload);
}

std::string settingsAck() { return frame(kSettings, kFlagAck, 0, {}); }

std::string pingFrame(uint64_t opaque, bool ack) {
  std::string payload;
  put32(payload, static_cast<uint32_t>(opaque >> 32));
  put32(payload, static_cast<uint32_t>(opaque));
  return frame(kPing, ack ? kFlagAck : 0, 0, payload);
}

std::string rstStreamFrame(uint32_t stream_id, uint32_t error_code) {
  std::string payload;
  put32(payload, error_code);
  return frame(kRstStream, 0, stream_id, payload);
}

std::string windowUpdateFrame(uint32_t stream_id, uint32_t increment) {
  std::string payload;
  put32(payload, increment);
  return frame(kWindowUpdate, 0, stream_id, payload);
}

std::string headersFrames(uint32_t stream_id, std::string_view block, bool end_stream, size_t max_frame_size) {
  std::string out;
  size_t first = std::min(block.size(), max_frame_size);
  uint8_t flags = (end_stream ? kFlagEndStream : 0) | (first == block.size() ? kFlagEndHeaders : 0);
  out += frame(kHeaders, flags, stream_id, block.substr(0, first));
  for (size_t at = first; at < block.size(); at += max_frame_size) {
    size_t n = std::min(max_frame_size, block.size() - at);
    out += frame(kContinuation, at + n == block.size() ? kFlagEndHeaders : 0, stream_id, block.substr(at, n));
  }
  return out;
}

std::string hpackInteger(uint64_t value, int prefix_bits, uint8_t first_byte_flags) {
  std::string out;
  const uint64_t max_prefix = (1u << prefix_bits) - 1;
  if (value < max_prefix) {
    out.push_back(static_cast<char>(first_byte_flags | value));
    return out;
  }
  out.push_back(static_cast<char>(first_byte_flags | max_prefix));
  value -= max_prefix;
  while (value >= 128) {
    out.push_back(static_cast<char>((value % 128) + 128));
    value /= 128;
  }
  out.push_back(static_cast<char>(value));
  return out;
}

std::string hpackLiteral(std::string_view name, std::string_view value) {
  std::string out(1, '\0');  // 0000 0000: literal without indexing, new name
  out += hpackInteger(name.size(), 7, 0);  // H=0: no Huffman
  out.append(name);
  out += hpackInteger(value.size(), 7, 0);
  out.append(value);
  return out;
}

std::string grpcRequestBlock(std::string_view authority, std::string_view path,
                             const std::vector<std::pair<std::string, std::string>>& extra) {
  std::string block;
  block += hpackLiteral(":method", "POST");
  block += hpackLiteral(":scheme", "http");
  block += hpackLiteral(":path", path);
  block += hpackLiteral(":authority", authority);
  block += hpackLiteral("content-type", "application/grpc");
  block += hpackLiteral("te", "trailers");
  for (const auto& [k, v] : extra) block += hpackLiteral(k, v);
  return block;
}

std::string grpcMessage(std::string_view serialized) {
  std::string out(1, '\0');
  put32(out, static_cast<uint32_t>(serialized.size()));
  out.append(serialized);
  return out;
}

std::map<uint16_t, uint32_t> settingsValues(const Frame& settings) {
  std::map<uint16_t, uint32_t> values;
  const std::string& p = settings.payload;
  for (size_t at = 0; at + 6 <= p.size(); at += 6) {
    auto id = static_cast<uint16_t>(static_cast<uint8_t>(p[at]) << 8 | static_cast<uint8_t>(p[at + 1]));
    values[id] = get32(p, at + 2);
  }
  return values;
}

std::string Outcome::describe() const {
  std::ostringstream s;
  s << frames.size() << " frames [";
  for (size_t i = 0; i < frames.size() && i < 12; ++i) {
    s << (i ? " " : "") << "t" << int(frames[i].type) << "/f" << int(frames[i].flags) << "/s" << frames[i].stream_id
      << "/" << frames[i].payload.size() << "B";
  }
  if (frames.size() > 12) s << " ...";
  s << "]";
  for (size_t i = 1; i < goaways.size(); ++i) {
    s << ", then GOAWAY " << errorCodeName(goaways[i].error) << " last_stream " << goaways[i].last_stream
      << " debug '" << goaways[i].debug << "'";
  }
  if (goaway) {
    s << ", GOAWAY " << errorCodeName(goaway_error) << " (" << goaway_error << ") last_stream " << goaway_last_stream
      << " debug '" << goaway_debug << "'";
  } else {
    s << ", no GOAWAY";
  }
  s << (closed ? (reset ? ", closed by reset" : ", closed") : ", still open");
  if (send_failed) s << ", send failed";
  if (timed_out) s << ", timed out";
  if (!unparsed.empty()) s << ", " << unparsed.size() << " unparsed bytes: '" << unparsed.substr(0, 60) << "'";
  return s.str();
}

namespace {

SSL* asSsl(void* p) { return static_cast<SSL*>(p); }

std::string opensslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

// OpenSSL's socket BIO writes with write(2): a peer that is gone would raise
// SIGPIPE in the test process. Raw TLS connections are meant to meet such peers.
void ignoreSigpipe() {
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

int selectH2(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
             void*) {
  static const unsigned char kH2[] = {2, 'h', '2'};
  unsigned char* selected = nullptr;
  unsigned char selected_len = 0;
  if (SSL_select_next_proto(&selected, &selected_len, kH2, sizeof kH2, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    *outlen = selected_len;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

void setSocketTimeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace

RawConnection::~RawConnection() { close(); }

void RawConnection::freeTls() {
  if (ssl_ != nullptr) SSL_free(asSsl(ssl_));  // the fd stays open (SSL_set_fd does not own it)
  ssl_ = nullptr;
}

void RawConnection::close() {
  freeTls();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void RawConnection::abort() {
  if (fd_ < 0) return;
  linger l{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close();
}

bool RawConnection::connect(const std::string& host, uint16_t port, std::string* error, const TlsClientOptions* tls) {
  close();
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    *error = "not an IPv4 address: " + host;
    return false;
  }
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    *error = "connect " + host + ":" + std::to_string(port) + ": " + std::strerror(errno);
    close();
    return false;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (tls != nullptr) {
    ignoreSigpipe();
    ERR_clear_error();
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);  // a peer's bare FIN reads as EOF, as over TCP
    if (tls->ca_file.empty()) {
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    } else {
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      if (SSL_CTX_load_verify_locations(ctx, tls->ca_file.c_str(), nullptr) != 1) {
        *error = "TLS: cannot load CA " + tls->ca_file + ": " + opensslErrors();
        SSL_CTX_free(ctx);
        close();
        return false;
      }
    }
    std::string wire;
    for (const auto& p : tls->alpn) {
      wire.push_back(static_cast<char>(p.size()));
      wire += p;
    }
    if (!wire.empty()) {
      SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                              static_cast<unsigned int>(wire.size()));
    }
    SSL* ssl = SSL_new(ctx);
    SSL_CTX_free(ctx);  // the SSL holds its own reference
    if (!tls->server_name.empty()) {
      in_addr ip{};
      if (inet_pton(AF_INET, tls->server_name.c_str(), &ip) == 1) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), tls->server_name.c_str());
      } else {
        SSL_set_tlsext_host_name(ssl, tls->server_name.c_str());
        SSL_set1_host(ssl, tls->server_name.c_str());
      }
    }
    ssl_ = ssl;
    if (!handshake(/*server=*/false, tls->handshake_timeout, error)) {
      *error = "TLS handshake with " + host + ":" + std::to_string(port) + ": " + *error;
      close();
      return false;
    }
  }
  fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
  return true;
}

bool RawConnection::adoptAsServer(int fd, const TlsServerOptions* tls, std::string* error) {
  close();
  fd_ = fd;
  server_side_ = true;
  preface_pending_ = true;
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (tls != nullptr) {
    std::string ignored;
    if (error == nullptr) error = &ignored;
    ignoreSigpipe();
    ERR_clear_error();
    fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (SSL_CTX_use_certificate_chain_file(ctx, tls->cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, tls->key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      *error = "TLS: cannot load " + tls->cert_file + " / " + tls->key_file + ": " + opensslErrors();
      SSL_CTX_free(ctx);
      close();
      return false;
    }
    SSL_CTX_set_alpn_select_cb(ctx, selectH2, nullptr);
    ssl_ = SSL_new(ctx);
    SSL_CTX_free(ctx);
    if (!handshake(/*server=*/true, tls->handshake_timeout, error)) {
      *error = "TLS handshake (server side): " + *error;
      close();
      return false;
    }
  }
  fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
  return true;
}

bool RawConnection::handshake(bool server, std::chrono::milliseconds timeout, std::string* error) {
  SSL* ssl = asSsl(ssl_);
  SSL_set_fd(ssl, fd_);
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  setSocketTimeouts(fd_, timeout);  // the socket is blocking during the handshake
  errno = 0;
  int r = server ? SSL_accept(ssl) : SSL_connect(ssl);
  const int saved_errno = errno;
  setSocketTimeouts(fd_, std::chrono::milliseconds(0));
  if (r == 1) {
    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    alpn_ = alpn != nullptr ? std::string(reinterpret_cast<const char*>(alpn), alpn_len) : std::string();
    return true;
  }
  int err = SSL_get_error(ssl, r);
  std::string why = opensslErrors();
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    why = "timed out after " + std::to_string(timeout.count()) + " ms";
  } else if (why.empty()) {
    why = saved_errno != 0 ? std::strerror(saved_errno) : "connection closed";
  }
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) why += " (verify: " + std::string(X509_verify_cert_error_string(verify)) + ")";
  *error = why;
  return false;
}

ssize_t RawConnection::writeSome(const char* data, size_t size) {
  if (ssl_ == nullptr) return ::send(fd_, data, size, MSG_NOSIGNAL);
  SSL* ssl = asSsl(ssl_);
  ERR_clear_error();
  errno = 0;
  // Partial writes are on: a short count means the socket buffer is full.
  int w = SSL_write(ssl, data, static_cast<int>(std::min<size_t>(size, INT_MAX)));
  if (w > 0) return w;
  int err = SSL_get_error(ssl, w);
  if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
    errno = EAGAIN;
  } else if (err != SSL_ERROR_SYSCALL || errno == 0) {
    errno = EPIPE;  // a TLS-level failure or close: the bytes cannot be sent
  }
  return -1;
}

void RawConnection::parse() {
  if (preface_pending_) {
    if (inbuf_.size() < kClientPreface.size()) return;
    preface_ok_ = inbuf_.compare(0, kClientPreface.size(), kClientPreface) == 0;
    inbuf_.erase(0, kClientPreface.size());
    preface_pending_ = false;
  }
  size_t at = 0;
  while (inbuf_.size() - at >= 9) {
    uint32_t length = static_cast<uint8_t>(inbuf_[at]) << 16 | static_cast<uint8_t>(inbuf_[at + 1]) << 8 |
                      static_cast<uint8_t>(inbuf_[at + 2]);
    if (inbuf_.size() - at < 9 + length) break;
    Frame f;
    f.type = static_cast<uint8_t>(inbuf_[at + 3]);
    f.flags = static_cast<uint8_t>(inbuf_[at + 4]);
    f.stream_id = get32(inbuf_, at + 5) & 0x7fffffffu;
    f.payload = inbuf_.substr(at + 9, length);
    if (f.type == kGoaway && f.payload.size() >= 8) {
      outcome_.goaways.push_back(
          {get32(f.payload, 4), get32(f.payload, 0) & 0x7fffffffu, f.payload.substr(8)});
    }
    if (f.type == kGoaway && !outcome_.goaway && f.payload.size() >= 8) {
      outcome_.goaway = true;
      outcome_.goaway_last_stream = get32(f.payload, 0) & 0x7fffffffu;
      outcome_.goaway_error = get32(f.payload, 4);
      outcome_.goaway_debug = f.payload.substr(8);
    }
    outcome_.frames.push_back(std::move(f));
    at += 9 + length;
  }
  inbuf_.erase(0, at);
  outcome_.unparsed = inbuf_;
}

RawConnection::ReadResult RawConnection::readAvailable() {
  ReadResult result;
  char buf[65536];
  if (ssl_ == nullptr) {
    ssize_t r = recv(fd_, buf, sizeof buf, 0);
    if (r > 0) {
      inbuf_.append(buf, static_cast<size_t>(r));
      result.bytes = static_cast<size_t>(r);
    } else if (r == 0) {
      result.eof = true;
    } else {
      result.error = errno;
    }
    return result;
  }
  // TLS: everything decrypted so far, until OpenSSL needs more bytes from the
  // socket, so that nothing stays buffered inside OpenSSL between polls.
  SSL* ssl = asSsl(ssl_);
  while (true) {
    ERR_clear_error();
    errno = 0;
    int r = SSL_read(ssl, buf, sizeof buf);
    if (r > 0) {
      inbuf_.append(buf, static_cast<size_t>(r));
      result.bytes += static_cast<size_t>(r);
      continue;
    }
    int err = SSL_get_error(ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      if (result.bytes == 0) result.error = EAGAIN;
    } else if (err == SSL_ERROR_ZERO_RETURN) {
      result.eof = true;  // close_notify, or a bare FIN (SSL_OP_IGNORE_UNEXPECTED_EOF)
    } else if (err == SSL_ERROR_SYSCALL && errno != 0) {
      result.error = errno;  // ECONNRESET and the like
    } else if (err == SSL_ERROR_SYSCALL) {
      result.eof = true;
    } else {
      result.error = EPROTO;  // a TLS protocol failure: the connection is over
    }
    return result;
  }
}

Outcome RawConnection::exchange(std::string_view data, std::chrono::milliseconds timeout) {
  return sendAndWait(data, [](const Outcome&) { return false; }, timeout);
}

Outcome RawConnection::sendAndWait(std::string_view data, const std::function<bool(const Outcome&)>& done,
                                   std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t sent = 0;
  outcome_.timed_out = false;
  if (data.substr(0, kClientPreface.size()) == kClientPreface) preface_sent_ = true;
  while (fd_ >= 0 && !outcome_.closed) {
    if (sent == data.size() && done(outcome_)) return outcome_;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      outcome_.timed_out = true;
      return outcome_;
    }
    pollfd p{fd_, POLLIN, 0};
    if (sent < data.size()) p.events |= POLLOUT;
    int n = poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 50)));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    if (p.revents & POLLOUT) {
      ssize_t w = writeSome(data.data() + sent, data.size() - sent);
      if (w > 0) {
        sent += static_cast<size_t>(w);
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        outcome_.send_failed = true;
        data = data.substr(0, sent);  // stop writing, keep reading what is left
      }
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      ReadResult r = readAvailable();
      if (r.bytes > 0) parse();
      if (r.eof) {
        outcome_.closed = true;
      } else if (r.error != 0 && r.error != EAGAIN && r.error != EINTR) {
        outcome_.closed = true;
        outcome_.reset = r.error == ECONNRESET;
      }
    }
  }
  if (sent < data.size()) outcome_.send_failed = true;
  return outcome_;
}

Outcome RawConnection::pingUntilGoaway(uint64_t max_pings, std::chrono::milliseconds per_ping_timeout) {
  Outcome out = idleClient([](const Outcome& o) { return !o.frames.empty(); }, per_ping_timeout * 2);
  for (uint64_t i = 1; i <= max_pings && !out.goaway && !out.closed; ++i) {
    std::string ping = pingFrame(i);
    auto acked = [&ping](const Outcome& o) {
      for (const auto& f : o.frames) {
        if (f.type == kPing && (f.flags & kFlagAck) && f.payload == ping.substr(9)) return true;
      }
      return o.goaway;
    };
    out = sendAndWait(ping, acked, per_ping_timeout);
  }
  return out;
}

Outcome RawConnection::idleClient(const std::function<bool(const Outcome&)>& done,
                                  std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  if (!preface_sent_) {
    out = server_side_ ? settingsFrame() : std::string(kClientPreface) + settingsFrame();
    preface_sent_ = true;
  }
  size_t answered = outcome_.frames.size();
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      outcome_.timed_out = true;
      return outcome_;
    }
    sendAndWait(out, [&](const Outcome& o) { return done(o) || o.frames.size() > answered; }, left);
    out.clear();
    if (done(outcome_) || outcome_.closed || outcome_.timed_out) return outcome_;
    for (; answered < outcome_.frames.size(); ++answered) {
      const Frame& f = outcome_.frames[answered];
      if (f.type == kSettings && !(f.flags & kFlagAck)) out += settingsAck();
      if (f.type == kPing && !(f.flags & kFlagAck)) out += frame(kPing, kFlagAck, 0, f.payload);
    }
  }
}

RawListener::RawListener() {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  listen(fd_, 64);
  socklen_t len = sizeof addr;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
}

RawListener::~RawListener() {
  if (fd_ >= 0) ::close(fd_);
}

int RawListener::accept(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return -1;
  return accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
}

}  // namespace grpcscope::testsupport::h2
