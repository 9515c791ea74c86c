// Raw HTTP/2 over a loopback TCP socket, for the bad-input tests: frames are
// built byte by byte (RFC 9113 §4.1: 24-bit length, type, flags, 31-bit
// stream id, then the payload) so tests can send exactly what a broken or
// hostile client would, and read back what the proxy answers (its GOAWAY).
//
// Optionally over TLS (OpenSSL, ALPN h2): the handshake runs on the blocking
// socket with a timeout, then the frames go through SSL_read/SSL_write on the
// same non-blocking poll loop as plaintext. Frames are the same bytes either
// way; only the record layer differs.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace grpcscope::testsupport::h2 {

// RFC 9113 §6 frame types.
enum FrameType : uint8_t {
  kData = 0x0,
  kHeaders = 0x1,
  kPriority = 0x2,
  kRstStream = 0x3,
  kSettings = 0x4,
  kPushPromise = 0x5,
  kPing = 0x6,
  kGoaway = 0x7,
  kWindowUpdate = 0x8,
  kContinuation = 0x9,
};

// RFC 9113 §6 flags.
enum Flags : uint8_t {
  kFlagEndStream = 0x1,
  kFlagAck = 0x1,
  kFlagEndHeaders = 0x4,
  kFlagPadded = 0x8,
};

// RFC 9113 §7 error codes.
enum ErrorCode : uint32_t {
  kNoError = 0x0,
  kProtocolError = 0x1,
  kInternalError = 0x2,
  kFlowControlError = 0x3,
  kSettingsTimeout = 0x4,
  kStreamClosed = 0x5,
  kFrameSizeError = 0x6,
  kRefusedStream = 0x7,
  kCancel = 0x8,
  kCompressionError = 0x9,
  kConnectError = 0xa,
  kEnhanceYourCalm = 0xb,
  kInadequateSecurity = 0xc,
  kHttp11Required = 0xd,
};
const char* errorCodeName(uint32_t code);

// RFC 9113 §3.4.
inline constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// A frame header claiming `length`, whatever the payload that follows.
std::string frameHeader(uint32_t length, uint8_t type, uint8_t flags, uint32_t stream_id);
std::string frame(uint8_t type, uint8_t flags, uint32_t stream_id, std::string_view payload);
std::string settingsFrame(const std::vector<std::pair<uint16_t, uint32_t>>& settings = {});
std::string settingsAck();
std::string pingFrame(uint64_t opaque, bool ack = false);
std::string rstStreamFrame(uint32_t stream_id, uint32_t error_code);
std::string windowUpdateFrame(uint32_t stream_id, uint32_t increment);
// HEADERS (+ CONTINUATION when the block exceeds max_frame_size).
std::string headersFrames(uint32_t stream_id, std::string_view block, bool end_stream,
                          size_t max_frame_size = 16384);

// HPACK (RFC 7541): an integer with an n-bit prefix (§5.1) and a literal
// header field without indexing, new name, no Huffman coding (§6.2.2).
std::string hpackInteger(uint64_t value, int prefix_bits, uint8_t first_byte_flags);
std::string hpackLiteral(std::string_view name, std::string_view value);
// The header block of a gRPC request to `path` plus `extra` headers.
std::string grpcRequestBlock(std::string_view authority, std::string_view path,
                             const std::vector<std::pair<std::string, std::string>>& extra = {});
// A gRPC length-prefixed message (5-byte prefix: compressed flag, length).
std::string grpcMessage(std::string_view serialized);

// TLS for a raw client connection: the server certificate is verified
// against `ca_file` for `server_name` (also sent as SNI), ALPN offers `alpn`.
struct TlsClientOptions {
  std::string ca_file;
  std::string server_name = "localhost";
  std::vector<std::string> alpn = {"h2"};
  std::chrono::milliseconds handshake_timeout{10000};
};

// TLS for a raw server connection (RawConnection::adoptAsServer): this
// certificate and key; ALPN h2 is selected when the client offers it.
struct TlsServerOptions {
  std::string cert_file;
  std::string key_file;
  std::chrono::milliseconds handshake_timeout{10000};
};

struct Frame {
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t stream_id = 0;
  std::string payload;
};

// The identifier -> value pairs of a SETTINGS frame (RFC 9113 §6.5.1).
std::map<uint16_t, uint32_t> settingsValues(const Frame& settings);

// What the peer did after we sent our bytes.
struct Outcome {
  std::vector<Frame> frames;   // every complete frame received, in order
  bool goaway = false;         // the first GOAWAY received:
  uint32_t goaway_error = 0;
  uint32_t goaway_last_stream = 0;
  std::string goaway_debug;
  struct Goaway {
    uint32_t error = 0;
    uint32_t last_stream = 0;
    std::string debug;
    bool operator==(const Goaway&) const = default;
  };
  std::vector<Goaway> goaways;  // all of them, in order
  bool closed = false;         // the peer closed (EOF or reset)
  bool reset = false;          // ... with a TCP reset (ECONNRESET)
  bool send_failed = false;    // our bytes could not all be written (peer closed first)
  bool timed_out = false;      // neither closed nor done before the deadline
  std::string unparsed;        // trailing bytes that are no complete frame (e.g. an HTTP/1 reply)
  std::string describe() const;
};

class RawConnection {
 public:
  RawConnection() = default;
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Connects (and with `tls`, completes the TLS handshake: false with
  // `error` naming OpenSSL's reason when it fails).
  bool connect(const std::string& host, uint16_t port, std::string* error, const TlsClientOptions* tls = nullptr);
  // Takes over an accepted socket and plays the server: the client preface
  // the peer sends first is checked and skipped (preface_ok() tells). With
  // `tls`, the TLS handshake (server side) runs first; false with `error`
  // when it fails.
  bool adoptAsServer(int fd, const TlsServerOptions* tls = nullptr, std::string* error = nullptr);
  bool prefaceOk() const { return preface_ok_; }
  int fd() const { return fd_; }
  bool tls() const { return ssl_ != nullptr; }
  // The ALPN protocol the TLS handshake settled on ("" without TLS or ALPN).
  const std::string& alpn() const { return alpn_; }
  const Outcome& outcome() const { return outcome_; }  // everything so far
  // Writes `data` without waiting for anything back.
  void send(std::string_view data) {
    sendAndWait(data, [](const Outcome&) { return true; }, std::chrono::milliseconds(5000));
  }
  // Closes the socket (FIN; over TLS without close_notify, like a client
  // that vanishes).
  void close();
  // Closes with a TCP reset (SO_LINGER 0): the peer's next write fails (EPIPE/ECONNRESET).
  void abort();

  // Writes `data` while reading whatever comes back (so neither side can
  // block the other on full buffers), then keeps reading until the peer
  // closes, or until `timeout`. Frames are parsed as they arrive.
  Outcome exchange(std::string_view data, std::chrono::milliseconds timeout);

  // Writes `data` and reads until `done(outcome)` holds, the peer closed, or
  // `timeout`. The outcome accumulates over the connection's life.
  Outcome sendAndWait(std::string_view data, const std::function<bool(const Outcome&)>& done,
                      std::chrono::milliseconds timeout);

  // Behaves as a minimal idle peer: sends the client preface (client side
  // only) and an empty SETTINGS first (unless already sent), ACKs every
  // SETTINGS and PING the peer sends, and reads until `done(outcome)` holds,
  // the peer closes, or `timeout`.
  Outcome idleClient(const std::function<bool(const Outcome&)>& done, std::chrono::milliseconds timeout);

  // As an idle client, sends PINGs (no calls, no data) one after the other,
  // each once the previous one's ACK came, until the peer sends GOAWAY or
  // closes, at most max_pings: what earns a gRPC server's "too_many_pings".
  Outcome pingUntilGoaway(uint64_t max_pings, std::chrono::milliseconds per_ping_timeout);

 private:
  void parse();
  // Reads what is available into inbuf_ (over TLS: every byte OpenSSL can
  // decrypt now). eof: the peer closed; error: an errno (EAGAIN: nothing yet).
  struct ReadResult {
    size_t bytes = 0;
    bool eof = false;
    int error = 0;
  };
  ReadResult readAvailable();
  // One write; like ::send: bytes written, or -1 with errno (EAGAIN: later).
  ssize_t writeSome(const char* data, size_t size);
  bool handshake(bool server, std::chrono::milliseconds timeout, std::string* error);
  void freeTls();

  // OpenSSL objects, opaque here so tests need not include OpenSSL headers.
  void* ssl_ = nullptr;  // SSL*
  std::string alpn_;
  bool preface_sent_ = false;
  bool server_side_ = false;
  bool preface_pending_ = false;  // server side: the client preface not yet consumed
  bool preface_ok_ = false;

  int fd_ = -1;
  std::string inbuf_;
  Outcome outcome_;
};

// A listener on 127.0.0.1:0 whose connections tests accept one at a time
// and drive as raw HTTP/2 servers (RawConnection::adoptAsServer).
class RawListener {
 public:
  RawListener();
  ~RawListener();
  RawListener(const RawListener&) = delete;
  RawListener& operator=(const RawListener&) = delete;
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Waits up to `timeout` for a connection: its fd, or -1.
  int accept(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace grpcscope::testsupport::h2
