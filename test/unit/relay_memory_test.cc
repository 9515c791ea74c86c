// The relay between a client nghttp2 session and a server nghttp2 session,
// all in memory on one libuv loop: what one peer sends must reach the other
// unchanged, resets and GOAWAYs cross with their codes, PINGs go end to end,
// and flow-control windows never leak. Teardown checks: no handle left open.
#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>
#include <uv.h>

#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "memory_transport.h"
#include "proxy/connection_relay.h"
#include "proxy/h2_callbacks.h"

namespace grpcscope {
namespace {

using testing::MemoryTransport;

struct Header {
  std::string name;
  std::string value;
  bool operator==(const Header& o) const { return name == o.name && value == o.value; }
};

// One end of the test: an nghttp2 session over a MemoryTransport.
class Peer : public TransportHandler {
 public:
  struct Stream {
    std::vector<Header> headers;
    std::vector<Header> trailers;
    std::string body;
    bool ended = false;
    bool closed = false;
    uint32_t close_code = 0;
    uint32_t rst_code = 0xffffffff;
    std::string to_send;
    bool send_end = true;
    std::vector<Header> send_trailers;
  };

  Peer(std::unique_ptr<MemoryTransport> t, bool server, bool auto_window = true)
      : auto_window_(auto_window), transport_(std::move(t)) {
    transport_->setHandler(this);
    nghttp2_session_callbacks* cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* f, const uint8_t* n, size_t nl, const uint8_t* v, size_t vl,
                uint8_t, void* ud) {
          auto* self = static_cast<Peer*>(ud);
          Stream& s = self->streams[f->hd.stream_id];
          bool trailers = f->headers.cat == NGHTTP2_HCAT_HEADERS;
          (trailers ? s.trailers : s.headers)
              .push_back({std::string(reinterpret_cast<const char*>(n), nl),
                          std::string(reinterpret_cast<const char*>(v), vl)});
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cbs, [](nghttp2_session*, uint8_t, int32_t id, const uint8_t* d, size_t len, void* ud) {
          auto* self = static_cast<Peer*>(ud);
          self->streams[id].body.append(reinterpret_cast<const char*>(d), len);
          if (!self->auto_window_ && self->consume) nghttp2_session_consume(self->session, id, len);
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, [](nghttp2_session*, const nghttp2_frame* f, void* ud) {
      auto* self = static_cast<Peer*>(ud);
      if (f->hd.type == NGHTTP2_GOAWAY) {
        self->goaway_code = f->goaway.error_code;
        self->goaway_last_stream = f->goaway.last_stream_id;
        self->goaway_debug.assign(reinterpret_cast<const char*>(f->goaway.opaque_data), f->goaway.opaque_data_len);
        ++self->goaways;
      }
      if (f->hd.type == NGHTTP2_PING) {
        uint64_t v;
        std::memcpy(&v, f->ping.opaque_data, 8);
        (f->hd.flags & NGHTTP2_FLAG_ACK ? self->ping_acks : self->pings).push_back(v);
      }
      if (f->hd.type == NGHTTP2_RST_STREAM) self->streams[f->hd.stream_id].rst_code = f->rst_stream.error_code;
      if ((f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) && (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        self->streams[f->hd.stream_id].ended = true;
        if (self->on_request_end) self->on_request_end(f->hd.stream_id);
      }
      return 0;
    });
    nghttp2_session_callbacks_set_on_stream_close_callback(
        cbs, [](nghttp2_session*, int32_t id, uint32_t code, void* ud) {
          Stream& s = static_cast<Peer*>(ud)->streams[id];
          s.closed = true;
          s.close_code = code;
          return 0;
        });
    nghttp2_option* opt;
    nghttp2_option_new(&opt);
    if (!auto_window) nghttp2_option_set_no_auto_window_update(opt, 1);
    if (server) {
      nghttp2_session_server_new2(&session, cbs, this, opt);
    } else {
      nghttp2_session_client_new2(&session, cbs, this, opt);
    }
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
    transport_->startReading();
  }
  ~Peer() override { nghttp2_session_del(session); }

  static nghttp2_data_provider provider(Stream* s) {
    nghttp2_data_provider p{};
    p.source.ptr = s;
    p.read_callback = [](nghttp2_session* session, int32_t id, uint8_t* buf, size_t len, uint32_t* flags,
                         nghttp2_data_source* src, void*) -> ssize_t {
      auto* s = static_cast<Stream*>(src->ptr);
      size_t n = std::min(len, s->to_send.size());
      std::memcpy(buf, s->to_send.data(), n);
      s->to_send.erase(0, n);
      if (s->to_send.empty()) {
        if (!s->send_end) return n == 0 ? NGHTTP2_ERR_DEFERRED : static_cast<ssize_t>(n);
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (!s->send_trailers.empty()) {
          *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
          std::vector<nghttp2_nv> nva = toNva(s->send_trailers);
          nghttp2_submit_trailer(session, id, nva.data(), nva.size());
        }
      }
      return static_cast<ssize_t>(n);
    };
    return p;
  }

  static std::vector<nghttp2_nv> toNva(const std::vector<Header>& hs) {
    std::vector<nghttp2_nv> nva;
    for (const Header& h : hs) {
      nva.push_back({const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(h.name.data())),
                     const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(h.value.data())), h.name.size(),
                     h.value.size(), NGHTTP2_NV_FLAG_NONE});
    }
    return nva;
  }

  int32_t request(const std::vector<Header>& headers, std::string body, bool end = true) {
    std::vector<nghttp2_nv> nva = toNva(headers);
    // std::map keeps the address stable for the data provider.
    Stream& s = streams[static_cast<int32_t>(nghttp2_session_get_next_stream_id(session))];
    s.to_send = std::move(body);
    s.send_end = end;
    nghttp2_data_provider p = provider(&s);
    int32_t id = nghttp2_submit_request(session, nullptr, nva.data(), nva.size(), &p, nullptr);
    flush();
    return id;
  }

  void respond(int32_t id, const std::vector<Header>& headers, std::string body, std::vector<Header> trailers) {
    Stream& s = streams[id];
    s.to_send = std::move(body);
    s.send_trailers = std::move(trailers);
    nghttp2_data_provider p = provider(&s);
    std::vector<nghttp2_nv> nva = toNva(headers);
    nghttp2_submit_response(session, id, nva.data(), nva.size(), &p);
    flush();
  }

  void flush() {
    for (;;) {
      const uint8_t* data;
      ssize_t n = nghttp2_session_mem_send(session, &data);
      if (n <= 0) break;
      transport_->queue(data, static_cast<size_t>(n));
    }
    transport_->flush();
  }

  void onTransportData(const uint8_t* data, size_t len) override {
    nghttp2_session_mem_recv(session, data, len);
    flush();
  }
  void onTransportEnd(bool, std::string_view) override { ended = true; }
  void onTransportDrained() override {}
  void onTransportClosed() override { closed = true; }

  bool auto_window_;
  bool consume = false;  // without automatic window updates: consume what arrives
  nghttp2_session* session = nullptr;
  std::map<int32_t, Stream> streams;
  std::function<void(int32_t)> on_request_end;
  std::vector<uint64_t> pings, ping_acks;
  uint32_t goaway_code = 0xffffffff;
  int32_t goaway_last_stream = -1;
  std::string goaway_debug;
  int goaways = 0;
  bool ended = false;
  bool closed = false;
  std::unique_ptr<MemoryTransport> transport_;
};

// Records the round trips the relay measured on relayed PINGs.
class PingRecorder : public Observer {
 public:
  void onPing(const PingEvent& ev) override {
    if (ev.ack && ev.direction == Direction::kReceived && ev.rtt_ns > 0) rtts[ev.conn.hop].push_back(ev.rtt_ns);
  }
  std::map<Hop, std::vector<uint64_t>> rtts;
};

class RelayMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    config_.upstream = {"10.0.0.9", 50051};
    config_.timeouts.handshake_ms = 0;
    config_.timeouts.upstream_connect_ms = 0;
    backoff_ = std::make_unique<UpstreamBackoff>(config_.backoff);
    server_opts_ = makeSessionOptions(config_.limits, true);
    client_opts_ = makeSessionOptions(config_.limits, false);
    ctx_.loop = &loop_;
    ctx_.config = &config_;
    ctx_.observer = &observer_;
    ctx_.backoff = backoff_.get();
    ctx_.server_options = server_opts_;
    ctx_.client_options = client_opts_;
    ctx_.retire = [this](ConnectionRelay* r) { retired_ = r; };
  }

  void startRelay(bool server_auto_window = true) {
    auto [client_end, proxy_down] = MemoryTransport::makePair(&loop_);
    auto [proxy_up, server_end] = MemoryTransport::makePair(&loop_);
    server_ = std::make_unique<Peer>(std::move(server_end), true, server_auto_window);
    ctx_.upstream_factory = [t = std::shared_ptr<MemoryTransport>(proxy_up.release())]() mutable {
      return std::unique_ptr<Transport>(new ForwardingTransport(t));
    };
    relay_ = new ConnectionRelay(ctx_, 1, std::move(proxy_down));
    relay_->start();
    client_ = std::make_unique<Peer>(std::move(client_end), false);
  }

  // Wraps the shared upstream end so the factory can be a copyable std::function.
  class ForwardingTransport final : public Transport {
   public:
    explicit ForwardingTransport(std::shared_ptr<MemoryTransport> t) : t_(std::move(t)) {}
    void setHandler(TransportHandler* h) override { t_->setHandler(h); }
    void queue(const uint8_t* d, size_t n) override { t_->queue(d, n); }
    void flush() override { t_->flush(); }
    size_t pendingBytes() const override { return t_->pendingBytes(); }
    void startReading() override { t_->startReading(); }
    void stopReading() override { t_->stopReading(); }
    void close(bool g) override { t_->close(g); }
    uint64_t bytesQueued() const override { return t_->bytesQueued(); }
    uint64_t bytesWritten() const override { return t_->bytesWritten(); }
    bool closing() const override { return t_->closing(); }
    const std::string& peerAddress() const override { return t_->peerAddress(); }
    const std::string& localAddress() const override { return t_->localAddress(); }
    uint64_t bytesIn() const override { return t_->bytesIn(); }
    uint64_t bytesOut() const override { return t_->bytesOut(); }

   private:
    std::shared_ptr<MemoryTransport> t_;
  };

  bool runUntil(const std::function<bool()>& done, int max_iterations = 200000) {
    for (int i = 0; i < max_iterations; ++i) {
      if (done()) return true;
      uv_run(&loop_, UV_RUN_NOWAIT);
    }
    return done();
  }

  void TearDown() override {
    // Close both test ends; the relay follows and retires itself.
    if (client_ && !client_->transport_->closing()) client_->transport_->close(true);
    if (server_ && !server_->transport_->closing()) server_->transport_->close(true);
    EXPECT_TRUE(runUntil([&] { return retired_ != nullptr; })) << "relay did not retire";
    if (retired_) {
      EXPECT_EQ(retired_->liveStreams(), 0u);
      delete retired_;
    }
    ctx_.upstream_factory = nullptr;
    runUntil([&] { return (!client_ || client_->closed) && server_->closed; });
    client_.reset();
    server_.reset();
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a libuv handle was left open";
    nghttp2_option_del(server_opts_);
    nghttp2_option_del(client_opts_);
  }

  static std::vector<Header> grpcRequest(const std::string& path) {
    return {{":method", "POST"},
            {":scheme", "http"},
            {":path", path},
            {":authority", "svc.test:50051"},
            {"content-type", "application/grpc"},
            {"te", "trailers"}};
  }

  uv_loop_t loop_;
  Config config_;
  PingRecorder observer_;
  std::unique_ptr<UpstreamBackoff> backoff_;
  nghttp2_option* server_opts_ = nullptr;
  nghttp2_option* client_opts_ = nullptr;
  RelayContext ctx_;
  ConnectionRelay* relay_ = nullptr;
  ConnectionRelay* retired_ = nullptr;
  std::unique_ptr<Peer> client_;
  std::unique_ptr<Peer> server_;
};

TEST_F(RelayMemoryTest, HeadersBodyAndTrailersCrossUnchanged) {
  startRelay();
  server_->on_request_end = [&](int32_t id) {
    server_->respond(id, {{":status", "200"}, {"content-type", "application/grpc"}, {"x-initial-bin", "AAEC"}},
                     server_->streams[id].body + "!",
                     {{"grpc-status", "0"}, {"grpc-status-details-bin", "CAMSBGRlYWQ"}, {"x-trailer", "t"}});
  };
  std::vector<Header> req = grpcRequest("/pkg.Svc/Method");
  req.push_back({"x-meta-bin", "3q2+7w"});
  req.push_back({"grpc-timeout", "5S"});
  std::string body(100000, 'q');
  int32_t id = client_->request(req, body);
  ASSERT_TRUE(runUntil([&] { return client_->streams[id].closed; }));
  const Peer::Stream& at_server = server_->streams.begin()->second;
  EXPECT_EQ(at_server.headers, req);
  EXPECT_EQ(at_server.body, body);
  const Peer::Stream& at_client = client_->streams[id];
  EXPECT_EQ(at_client.body, body + "!");
  EXPECT_EQ(at_client.headers,
            (std::vector<Header>{{":status", "200"}, {"content-type", "application/grpc"}, {"x-initial-bin", "AAEC"}}));
  EXPECT_EQ(at_client.trailers, (std::vector<Header>{{"grpc-status", "0"},
                                                     {"grpc-status-details-bin", "CAMSBGRlYWQ"},
                                                     {"x-trailer", "t"}}));
  EXPECT_EQ(at_client.close_code, 0u);
}

TEST_F(RelayMemoryTest, ClientResetMidBodyReachesServerAndLeaksNoWindow) {
  // The server never reads: the proxy ends up holding a window's worth of the
  // client's bytes when the client resets. Ten rounds on one connection would
  // close the connection window for good if those bytes were not consumed.
  startRelay(/*server_auto_window=*/false);
  for (int round = 0; round < 10; ++round) {
    int32_t id = client_->request(grpcRequest("/pkg.Svc/Upload"), std::string(300000, 'u'), /*end=*/false);
    ASSERT_TRUE(runUntil([&] {
      return !server_->streams.empty() && server_->streams.rbegin()->second.body.size() >= 65535;
    }));
    int32_t server_id = server_->streams.rbegin()->first;
    // Give the proxy time to fill its buffer for this stream.
    runUntil([] { return false; }, 200);
    nghttp2_submit_rst_stream(client_->session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    client_->flush();
    ASSERT_TRUE(runUntil([&] { return server_->streams[server_id].rst_code != 0xffffffff; })) << "round " << round;
    EXPECT_EQ(server_->streams[server_id].rst_code, static_cast<uint32_t>(NGHTTP2_CANCEL));
    // The server gives its window back too, as a real one does on reset.
    nghttp2_session_consume_connection(server_->session, server_->streams[server_id].body.size());
    server_->flush();
  }
  // The connection still carries a full window: a 200 KB request gets through.
  server_->consume = true;
  server_->on_request_end = [&](int32_t sid) {
    server_->respond(sid, {{":status", "200"}}, "ok", {{"grpc-status", "0"}});
  };
  int32_t id = client_->request(grpcRequest("/pkg.Svc/After"), std::string(200000, 'a'));
  ASSERT_TRUE(runUntil([&] { return client_->streams[id].closed; }));
  EXPECT_EQ(client_->streams[id].body, "ok");
  EXPECT_GE(nghttp2_session_get_remote_window_size(client_->session), 65535 / 2);
}

TEST_F(RelayMemoryTest, ServerResetReachesClientWithSameCode) {
  startRelay();
  server_->on_request_end = [&](int32_t sid) {
    nghttp2_submit_rst_stream(server_->session, NGHTTP2_FLAG_NONE, sid, NGHTTP2_REFUSED_STREAM);
    server_->flush();
  };
  int32_t id = client_->request(grpcRequest("/pkg.Svc/Reset"), "x");
  ASSERT_TRUE(runUntil([&] { return client_->streams[id].closed; }));
  EXPECT_EQ(client_->streams[id].rst_code, static_cast<uint32_t>(NGHTTP2_REFUSED_STREAM));
}

TEST_F(RelayMemoryTest, ServerResetAfterTrailersFlushesResponseFirst) {
  startRelay();
  server_->on_request_end = [&](int32_t sid) {
    server_->respond(sid, {{":status", "200"}}, std::string(50000, 'r'), {{"grpc-status", "0"}});
    nghttp2_submit_rst_stream(server_->session, NGHTTP2_FLAG_NONE, sid, NGHTTP2_NO_ERROR);
    server_->flush();
  };
  int32_t id = client_->request(grpcRequest("/pkg.Svc/Early"), "x");
  ASSERT_TRUE(runUntil([&] { return client_->streams[id].closed; }));
  EXPECT_EQ(client_->streams[id].body.size(), 50000u);
  EXPECT_EQ(client_->streams[id].trailers, (std::vector<Header>{{"grpc-status", "0"}}));
}

TEST_F(RelayMemoryTest, PingGoesEndToEndAndAckComesBack) {
  startRelay();
  // The test server acknowledges PINGs (nghttp2's automatic ACK).
  ASSERT_TRUE(runUntil([&] { return nghttp2_session_get_remote_settings(client_->session, NGHTTP2_SETTINGS_MAX_FRAME_SIZE) > 0; }));
  uint8_t opaque[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  nghttp2_submit_ping(client_->session, NGHTTP2_FLAG_NONE, opaque);
  client_->flush();
  uint64_t expected;
  std::memcpy(&expected, opaque, 8);
  ASSERT_TRUE(runUntil([&] { return !client_->ping_acks.empty(); }));
  ASSERT_EQ(server_->pings.size(), 1u);
  EXPECT_EQ(server_->pings[0], expected);
  EXPECT_EQ(client_->ping_acks[0], expected);
}

// The upstream socket is backed up (the server does not read for 300 ms):
// the relayed PING waits in grpcscope's output queue, and that wait is not
// part of the server's round trip. The RTT runs from the write that carried it.
TEST_F(RelayMemoryTest, PingRttIsTimedFromTheWriteNotTheQueue) {
  startRelay();
  ASSERT_TRUE(runUntil([&] { return nghttp2_session_get_remote_settings(client_->session, NGHTTP2_SETTINGS_MAX_FRAME_SIZE) > 0; }));
  server_->transport_->stopReading();
  uint8_t opaque[8] = {9, 9, 9, 9, 1, 2, 3, 4};
  nghttp2_submit_ping(client_->session, NGHTTP2_FLAG_NONE, opaque);
  client_->flush();
  uint64_t start = uv_hrtime();
  runUntil([&] { return uv_hrtime() - start > 300'000'000; }, 100'000'000);
  EXPECT_TRUE(client_->ping_acks.empty()) << "the server read nothing yet";
  server_->transport_->startReading();
  ASSERT_TRUE(runUntil([&] { return !client_->ping_acks.empty(); }));
  ASSERT_EQ(observer_.rtts[Hop::kUpstream].size(), 1u);
  uint64_t rtt = observer_.rtts[Hop::kUpstream][0];
  std::cout << "upstream PING RTT measured: " << rtt / 1000 << " us (queued for 300 ms before it left)\n";
  EXPECT_LT(rtt, 100'000'000u) << "the RTT includes the time the PING waited in grpcscope's queue";
}

TEST_F(RelayMemoryTest, GoawayRelayedWithCodeAndDebugData) {
  startRelay();
  server_->on_request_end = [&](int32_t sid) {
    server_->respond(sid, {{":status", "200"}}, "done", {{"grpc-status", "0"}});
  };
  int32_t id = client_->request(grpcRequest("/pkg.Svc/One"), "x");
  ASSERT_TRUE(runUntil([&] { return client_->streams[id].closed; }));
  const char debug[] = "too_many_pings";
  nghttp2_submit_goaway(server_->session, NGHTTP2_FLAG_NONE, 1, NGHTTP2_ENHANCE_YOUR_CALM,
                        reinterpret_cast<const uint8_t*>(debug), sizeof(debug) - 1);
  server_->flush();
  ASSERT_TRUE(runUntil([&] { return client_->goaways > 0; }));
  EXPECT_EQ(client_->goaway_code, static_cast<uint32_t>(NGHTTP2_ENHANCE_YOUR_CALM));
  EXPECT_EQ(client_->goaway_debug, "too_many_pings");
  EXPECT_EQ(client_->goaway_last_stream, id);
}

TEST_F(RelayMemoryTest, UpstreamGoneAnswersUnavailableInTrailersOnly) {
  startRelay();
  int32_t first = client_->request(grpcRequest("/pkg.Svc/Hang"), "x");
  ASSERT_TRUE(runUntil([&] { return !server_->streams.empty(); }));
  server_->transport_->close(false);  // the server dies mid-call
  ASSERT_TRUE(runUntil([&] { return client_->streams[first].closed; }));
  const auto& h = client_->streams[first].headers;
  auto find = [&](const std::string& name) {
    for (const Header& x : h) {
      if (x.name == name) return x.value;
    }
    return std::string();
  };
  EXPECT_EQ(find("grpc-status"), "14");
  EXPECT_NE(find("grpc-message").find("connection closed"), std::string::npos) << find("grpc-message");
  EXPECT_TRUE(runUntil([&] { return client_->goaways > 0; }));
}

// A raw client end: records what the proxy writes, writes what the test says.
class RawClient : public TransportHandler {
 public:
  explicit RawClient(std::unique_ptr<MemoryTransport> t) : transport(std::move(t)) {
    transport->setHandler(this);
    transport->startReading();
  }
  void send(std::string_view bytes) {
    transport->queue(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    transport->flush();
  }
  // The error code of the first GOAWAY frame in what was received, or -1.
  int64_t goawayCode() const {
    size_t pos = 0;
    while (pos + 9 <= received.size()) {
      auto b = [&](size_t i) { return static_cast<uint8_t>(received[pos + i]); };
      size_t len = (size_t{b(0)} << 16) | (size_t{b(1)} << 8) | b(2);
      if (pos + 9 + len > received.size()) break;
      if (b(3) == NGHTTP2_GOAWAY && len >= 8) {
        return (int64_t{b(13)} << 24) | (b(14) << 16) | (b(15) << 8) | b(16);
      }
      pos += 9 + len;
    }
    return -1;
  }
  void onTransportData(const uint8_t* data, size_t len) override {
    received.append(reinterpret_cast<const char*>(data), len);
  }
  void onTransportEnd(bool, std::string_view) override { ended = true; }
  void onTransportDrained() override {}
  void onTransportClosed() override {}
  std::unique_ptr<MemoryTransport> transport;
  std::string received;
  bool ended = false;
};

TEST_F(RelayMemoryTest, BytesThatAreNotHttp2GetGoawayProtocolError) {
  auto [client_end, proxy_down] = MemoryTransport::makePair(&loop_);
  auto [proxy_up, server_end] = MemoryTransport::makePair(&loop_);
  server_ = std::make_unique<Peer>(std::move(server_end), true);
  ctx_.upstream_factory = [t = std::shared_ptr<MemoryTransport>(proxy_up.release())]() mutable {
    return std::unique_ptr<Transport>(new ForwardingTransport(t));
  };
  relay_ = new ConnectionRelay(ctx_, 1, std::move(proxy_down));
  relay_->start();
  RawClient raw(std::move(client_end));
  raw.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(runUntil([&] { return raw.ended; }));
  EXPECT_EQ(raw.goawayCode(), NGHTTP2_PROTOCOL_ERROR);
  // The server saw its connection closed, nothing else.
  EXPECT_TRUE(runUntil([&] { return server_->ended; }));
  EXPECT_TRUE(server_->streams.empty());
  ASSERT_TRUE(runUntil([&] { return retired_ != nullptr; }));
  raw.transport->close(false);
  runUntil([&] { return raw.transport->closed(); });
  client_ = nullptr;
}

}  // namespace
}  // namespace grpcscope
