// Flow-control and transport findings (docs/findings.md, "Flow control" and
// "Transport") reproduced with real peers through the real grpcscope binary,
// each polled on /api/findings until it appears:
// - flow_control.window_limited and flow_control.window_stuck_at_default: a
//   gRPC C++ client uploads to a raw HTTP/2 server that keeps HTTP/2's
//   64 KiB windows and returns window, and answers the client's BDP PINGs,
//   only 50 ms after the bytes arrived: a 50 ms round trip, as on a long path.
// - flow_control.slow_reader: a gRPC C++ client (BDP probing off, 64 KiB
//   windows) reading a server stream of 256 KiB messages from the echo
//   service every 150 ms.
// - transport.retransmits and transport.rwnd_limited: the echo server in a
//   private network namespace behind a veth pair (never the loopback), with a
//   shallow token-bucket queue that drops packets, or 4 KiB TCP receive
//   buffers in the namespace. Needs root and iproute2 (and the tbf qdisc for
//   the loss); skipped otherwise.
// transport.slow_start_after_idle needs a real round trip of milliseconds,
// which this machine cannot make without netem: its unit tests cover it.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <iostream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "admin/admin_client.h"
#include "proxy_fixture.h"
#include "support/raw_h2.h"

namespace grpcscope::testsupport {
namespace {

using namespace std::chrono_literals;
using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// A raw HTTP/2 server on one accepted upstream socket that holds every
// WINDOW_UPDATE and PING ACK for `delay` after the bytes that call for it
// arrived: to grpcscope this peer is `delay` away. It offers HTTP/2's default
// 65535-byte windows and sends no PING of its own; with grow_connection it
// first opens its connection window by 16 MiB (and then returns connection
// window at once), so that only stream windows limit. It answers each call
// with response headers and an empty gRPC message every 20 ms: the gRPC
// client's BDP probes follow that DATA, and their ACKs (late by `delay`) give
// grpcscope the round trip. (gRPC core sends no keepalive PING while bytes
// keep arriving, so keepalive cannot do it.)
class DelayedWindowServer {
 public:
  DelayedWindowServer(int fd, std::chrono::milliseconds delay, bool grow_connection)
      : fd_(fd), delay_(delay), grow_connection_(grow_connection) {
    fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
    thread_ = std::thread([this] { run(); });
  }
  ~DelayedWindowServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint64_t dataBytes() const { return data_bytes_; }
  uint64_t pingsAnswered() const { return pings_; }

 private:
  struct Due {
    Clock::time_point at;
    std::string bytes;
  };

  void sendAll(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

  void onFrame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
    auto later = Clock::now() + delay_;
    if (type == h2::kSettings && !(flags & h2::kFlagAck)) {
      sendAll(h2::settingsAck());
    } else if (type == h2::kPing && !(flags & h2::kFlagAck)) {
      due_.push_back({later, h2::frame(h2::kPing, h2::kFlagAck, 0, payload)});
      ++pings_;
    } else if (type == h2::kHeaders && (stream & 1) && !answered_.count(stream)) {
      std::string block = h2::hpackLiteral(":status", "200") + h2::hpackLiteral("content-type", "application/grpc");
      sendAll(h2::headersFrames(stream, block, false));
      answered_.insert(stream);
      streams_.insert(stream);
    } else if (type == h2::kRstStream) {
      streams_.erase(stream);
    } else if (type == h2::kData && !payload.empty()) {
      data_bytes_ += payload.size();
      auto len = static_cast<uint32_t>(payload.size());
      std::string conn = h2::windowUpdateFrame(0, len);
      if (grow_connection_) {
        sendAll(conn);
        due_.push_back({later, h2::windowUpdateFrame(stream, len)});
      } else {
        due_.push_back({later, h2::windowUpdateFrame(stream, len) + conn});
      }
    }
  }

  void run() {
    std::string in;
    size_t preface = h2::kClientPreface.size();
    sendAll(h2::settingsFrame());
    if (grow_connection_) sendAll(h2::windowUpdateFrame(0, 16u << 20));
    char buf[65536];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 2) > 0) {
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
      }
      if (preface > 0 && in.size() >= preface) {
        in.erase(0, preface);
        preface = 0;
      }
      while (preface == 0 && in.size() >= 9) {
        auto b = reinterpret_cast<const uint8_t*>(in.data());
        uint32_t len = (b[0] << 16) | (b[1] << 8) | b[2];
        if (in.size() < 9 + len) break;
        uint32_t stream = ((b[5] & 0x7f) << 24) | (b[6] << 16) | (b[7] << 8) | b[8];
        onFrame(b[3], b[4], stream, std::string_view(in).substr(9, len));
        in.erase(0, 9 + len);
      }
      auto now = Clock::now();
      std::string out;
      if (now >= next_message_) {
        for (uint32_t s : streams_) out += h2::frame(h2::kData, 0, s, h2::grpcMessage(""));
        next_message_ = now + 20ms;
      }
      while (!due_.empty() && due_.front().at <= now) {
        out += due_.front().bytes;
        due_.pop_front();
      }
      if (!out.empty()) sendAll(out);
    }
  }

  int fd_;
  std::chrono::milliseconds delay_;
  bool grow_connection_;
  std::deque<Due> due_;
  std::set<uint32_t> answered_, streams_;
  Clock::time_point next_message_;
  std::atomic<uint64_t> data_bytes_{0};
  std::atomic<uint64_t> pings_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class FlowFindingsTest : public ProxyTest {
 protected:
  std::string admin() const { return adminAddressFrom(proxy_->listeningLine()); }

  // The active finding `id` on `hop`, once /api/findings shows it, within `timeout`.
  std::optional<json> waitForFinding(const std::string& id, const std::string& hop,
                                     std::chrono::milliseconds timeout) {
    std::optional<json> found;
    waitFor(
        [&] {
          HttpResponse r = httpRequest("http://" + admin() + "/api/findings");
          if (r.status != 200) return false;
          json j = json::parse(r.body, nullptr, false);
          const json& list = j.is_object() && j.contains("findings") ? j["findings"] : j;
          if (!list.is_array()) return false;
          for (const json& f : list) {
            if (f.value("id", "") == id && f.value("active", false) && f["scope"].value("hop", "") == hop) {
              found = f;
              return true;
            }
          }
          return false;
        },
        timeout, 200ms);
    return found;
  }

  // Parts of /api/summary, for failure messages.
  std::string summaryOf(const std::vector<std::string>& keys) {
    json sum = json::parse(httpRequest("http://" + admin() + "/api/summary").body, nullptr, false);
    json part = json::object();
    for (const std::string& k : keys) {
      if (sum.is_object() && sum.contains(k)) part[k] = sum[k];
    }
    return part.dump();
  }

  // Every finding id active now (for "and not that one" checks).
  std::vector<std::string> activeIds() {
    std::vector<std::string> ids;
    HttpResponse r = httpRequest("http://" + admin() + "/api/findings");
    json j = json::parse(r.body, nullptr, false);
    const json& list = j.is_object() && j.contains("findings") ? j["findings"] : j;
    if (!list.is_array()) return ids;
    for (const json& f : list) {
      if (f.value("active", false)) ids.push_back(f.value("id", "") + "@" + f["scope"].value("hop", ""));
    }
    return ids;
  }

  // A bidi stream that writes 64 KiB messages until stop() (a sustained
  // upload) and reads whatever the server answers.
  class Upload {
   public:
    Upload(grpcscope::test::Echo::Stub& stub, std::chrono::milliseconds deadline) {
      ctx_.set_deadline(deadlineFromNow(deadline));
      stream_ = stub.Bidi(&ctx_);
      writer_ = std::thread([this] {
        uint32_t i = 0;
        while (!stop_ && stream_->Write(request(64 << 10, i++))) {
        }
      });
      reader_ = std::thread([this] {
        EchoResponse r;
        while (stream_->Read(&r)) ++responses_;
      });
    }
    ~Upload() { stop(); }
    void stop() {
      if (stopped_) return;
      stopped_ = true;
      stop_ = true;
      ctx_.TryCancel();
      writer_.join();
      reader_.join();
      stream_->Finish();
    }
    int responses() const { return responses_; }

   private:
    grpc::ClientContext ctx_;
    std::unique_ptr<grpc::ClientReaderWriter<EchoRequest, EchoResponse>> stream_;
    std::atomic<bool> stop_{false};
    std::atomic<int> responses_{0};
    bool stopped_ = false;
    std::thread writer_, reader_;
  };

  // A gRPC C++ channel as it comes (BDP probing on for what it receives):
  // its upload is held by the server's windows, not its own.
  std::shared_ptr<grpc::Channel> pingingChannel() { return channel(); }

  void startBehindRawServer(h2::RawListener& listener, bool grow_connection) {
    ASSERT_NO_FATAL_FAILURE(startProxy({}, listener.address()));
    channel_ = pingingChannel();
    stub_ = makeStub(channel_);
    channel_->GetState(true);  // connect now: the proxy opens its upstream leg
    int fd = listener.accept(scaled(10s));
    ASSERT_GE(fd, 0) << "the proxy did not connect upstream";
    raw_ = std::make_unique<DelayedWindowServer>(fd, 50ms, grow_connection);
    ASSERT_TRUE(waitConnected(channel_, scaled(10s)));
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpcscope::test::Echo::Stub> stub_;
  std::unique_ptr<DelayedWindowServer> raw_;
};

// The server's 64 KiB stream window comes back one 50 ms round trip after
// the bytes: at most 64 KiB per 50 ms (1.3 MB/s) on the upload, grpcscope
// waiting on that window most of the time.
TEST_F(FlowFindingsTest, WindowLimitedByALongRoundTrip) {
  SKIP_IF_DIRECT("reads the proxy's findings");
  SKIP_IF_TLS("the raw upstream peer speaks h2c");
  h2::RawListener listener;
  ASSERT_NO_FATAL_FAILURE(startBehindRawServer(listener, /*grow_connection=*/true));
  Upload upload(*stub_, scaled(60s));
  auto f = waitForFinding("flow_control.window_limited", "upstream", scaled(20s));
  upload.stop();
  std::cout << "upload: " << raw_->dataBytes() << " bytes, " << raw_->pingsAnswered() << " pings answered, "
            << upload.responses() << " responses\n";
  ASSERT_TRUE(f.has_value()) << "no flow_control.window_limited; active: " << testing::PrintToString(activeIds())
                             << "; " << summaryOf({"flow_control", "pings"});
  std::cout << f->dump(2) << "\n";
  EXPECT_EQ((*f)["layer"], "flow_control");
  EXPECT_EQ((*f)["severity"], "warning");
  const json& e = (*f)["evidence"];
  EXPECT_EQ(e["window"], "stream");
  EXPECT_EQ(e["window_bytes"], 65535);
  EXPECT_EQ(e["rtt_source"], "ping");
  EXPECT_GE(e["rtt_s"].get<double>(), 0.045);
  EXPECT_LE(e["rtt_s"].get<double>(), 0.2);
  // Near window / RTT: 65535 B per 50 ms is 1.31 MB/s.
  double cap = 65535 / e["rtt_s"].get<double>();
  EXPECT_GE(e["throughput_bytes_per_s"].get<double>(), 0.5 * cap);
  EXPECT_LE(e["throughput_bytes_per_s"].get<double>(), 1.5 * cap);
  EXPECT_GE(e["blocked_share"].get<double>(), 0.25);
  EXPECT_GT(e["bdp_estimate_bytes"].get<double>(), 65535);
  std::string rec = (*f)["recommendation"];
  for (const char* option : {"grpc.http2.bdp_probe", "grpc.http2.lookahead_bytes", "InitialWindowSize",
                             "initialFlowControlWindow"}) {
    EXPECT_NE(rec.find(option), std::string::npos) << option;
  }
}

// The same peer without growing its connection window: it never offers more
// than 65535 bytes and sends no PING, so no BDP probe, during a transfer of
// more than 4 MiB that keeps waiting on its windows.
TEST_F(FlowFindingsTest, WindowStuckAtDefault) {
  SKIP_IF_DIRECT("reads the proxy's findings");
  SKIP_IF_TLS("the raw upstream peer speaks h2c");
  h2::RawListener listener;
  ASSERT_NO_FATAL_FAILURE(startBehindRawServer(listener, /*grow_connection=*/false));
  Upload upload(*stub_, scaled(60s));
  auto f = waitForFinding("flow_control.window_stuck_at_default", "upstream", scaled(25s));
  auto limited = waitForFinding("flow_control.window_limited", "upstream", scaled(5s));
  upload.stop();
  ASSERT_TRUE(f.has_value()) << "no flow_control.window_stuck_at_default; active: "
                             << testing::PrintToString(activeIds());
  std::cout << f->dump(2) << "\n";
  EXPECT_EQ((*f)["layer"], "flow_control");
  const json& e = (*f)["evidence"];
  EXPECT_EQ(e["connections"], 1);
  EXPECT_EQ(e["peer_initial_window_bytes"], 65535);
  EXPECT_EQ(e["peer_pings"], 0);
  EXPECT_GE(e["connection_sent_bytes"].get<uint64_t>(), 4u << 20);
  EXPECT_GE(e["blocked_share"].get<double>(), 0.2);
  std::string rec = (*f)["recommendation"];
  for (const char* option : {"grpc.http2.bdp_probe", "InitialWindowSize", "flowControlWindow"}) {
    EXPECT_NE(rec.find(option), std::string::npos) << option;
  }
  // Both windows close together here; the connection's is reported.
  ASSERT_TRUE(limited.has_value());
  EXPECT_EQ((*limited)["evidence"]["window"], "connection");
}

// A client reading one 256 KiB message of a server stream every 150 ms over
// loopback (50 us): its stream window reopens 150 ms after it closed, the
// connection window stays open. Windows are not the cure: no window_limited.
TEST_F(FlowFindingsTest, SlowReaderClient) {
  SKIP_IF_DIRECT("reads the proxy's findings");
  EchoServerOptions server;
  server.int_args = {{GRPC_ARG_HTTP2_BDP_PROBE, 0}};
  ASSERT_NO_FATAL_FAILURE(startServer(server));
  ASSERT_NO_FATAL_FAILURE(startProxy());
  ChannelOptions options;
  options.int_args = {{GRPC_ARG_HTTP2_BDP_PROBE, 0}};
  auto ch = channel(options);
  auto stub = makeStub(ch);
  ASSERT_TRUE(waitConnected(ch, scaled(10s)));

  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(60s)));
  EchoRequest req = request(10);
  req.set_response_size(256 << 10);
  req.set_response_count(200);
  auto reader = stub->ServerStream(&ctx, req);
  std::atomic<bool> stop{false};
  std::atomic<int> read{0};
  std::thread slow([&] {
    EchoResponse m;
    while (!stop && reader->Read(&m)) {
      ++read;
      std::this_thread::sleep_for(150ms);  // the deliberately slow reader
    }
  });
  auto f = waitForFinding("flow_control.slow_reader", "downstream", scaled(20s));
  std::vector<std::string> active = activeIds();
  stop = true;
  ctx.TryCancel();
  slow.join();
  reader->Finish();
  ASSERT_TRUE(f.has_value()) << "no flow_control.slow_reader after " << read << " messages; active: "
                             << testing::PrintToString(active);
  std::cout << f->dump(2) << "\n";
  EXPECT_EQ((*f)["layer"], "flow_control");
  const json& e = (*f)["evidence"];
  EXPECT_GE(e["stalls"].get<uint64_t>(), 5u);
  EXPECT_GE(e["stream_only_stall_share"].get<double>(), 0.25);
  EXPECT_GE(e["mean_stall_s"].get<double>(), 0.05);
  EXPECT_EQ(e["rtt_source"], "tcp");
  EXPECT_GE(e["stall_rtts"].get<double>(), 4);
  EXPECT_EQ(e["top_method"], "grpcscope.test.Echo/ServerStream");
  std::string rec = (*f)["recommendation"];
  EXPECT_NE(rec.find("grpc.http2.lookahead_bytes"), std::string::npos);
  for (const std::string& id : active) EXPECT_EQ(id.find("flow_control.window_limited"), std::string::npos) << id;
}

// ---------------------------------------------------------------------------
// Transport: a private network namespace and veth pair, the echo server
// inside, grpcscope outside. Nothing touches the loopback device.

bool shell(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

class Netns {
 public:
  // `setup` runs after the pair is up: e.g. a qdisc on the outer end, or a sysctl inside.
  explicit Netns(const std::vector<std::string>& setup) {
    int id = static_cast<int>(getpid() % 200) + 20;
    name_ = "gsflow" + std::to_string(getpid());
    outer_ = "gsf" + std::to_string(getpid() % 100000) + "a";
    inner_ = "gsf" + std::to_string(getpid() % 100000) + "b";
    outer_ip_ = "10.213." + std::to_string(id) + ".1";
    inner_ip_ = "10.213." + std::to_string(id) + ".2";
    std::vector<std::string> cmds = {
        "ip netns add " + name_,
        "ip link add " + outer_ + " type veth peer name " + inner_,
        "ip link set " + inner_ + " netns " + name_,
        "ip addr add " + outer_ip_ + "/30 dev " + outer_,
        "ip link set " + outer_ + " up",
        "ip netns exec " + name_ + " ip addr add " + inner_ip_ + "/30 dev " + inner_,
        "ip netns exec " + name_ + " ip link set " + inner_ + " up",
    };
    for (const std::string& s : setup) cmds.push_back(s);
    for (const std::string& c : cmds) {
      if (!shell(c)) {
        error_ = "failed: " + c;
        return;
      }
    }
    ok_ = true;
  }
  ~Netns() {
    shell("ip link del " + outer_);
    shell("ip netns del " + name_);
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  const std::string& name() const { return name_; }
  const std::string& outer() const { return outer_; }
  const std::string& innerIp() const { return inner_ip_; }
  std::string exec() const { return "ip netns exec " + name_ + " "; }

  // Root and iproute2: what these tests need.
  static std::string missing() {
    if (geteuid() != 0) return "not root";
    if (ipBinary().empty() || !shell("ip -V")) return "no iproute2";
    return "";
  }
  // The ip binary's path, for a child spawned without a shell.
  static std::string ipBinary() {
    for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
      if (access(p, X_OK) == 0) return p;
    }
    return "";
  }

 private:
  bool ok_ = false;
  std::string error_, name_, outer_, inner_, outer_ip_, inner_ip_;
};

class TransportFindingsTest : public FlowFindingsTest {
 protected:
  // The standalone echo server (out of process) inside the namespace.
  void startEchoIn(const Netns& ns) {
    std::string error;
    echo_ = ChildProcess::spawn({Netns::ipBinary(), "netns", "exec", ns.name(), GRPCSCOPE_ECHO_SERVER, "--listen",
                                 ns.innerIp() + ":0"},
                                {}, &error);
    ASSERT_TRUE(echo_) << error;
    std::string line;
    ASSERT_TRUE(waitFor(
        [&] {
          line = echo_->stdoutText();
          return line.find("listening on") != std::string::npos;
        },
        scaled(10s)))
        << "echo server in the namespace did not start: " << echo_->stderrText();
    upstream_ = line.substr(line.find("listening on ") + 13);
    upstream_ = upstream_.substr(0, upstream_.find('\n'));
  }

  // 1 MiB unary calls, as fast as they complete, until stop.
  void uploadFor(std::chrono::milliseconds how_long, const std::function<bool()>& done) {
    auto ch = channel();
    auto stub = makeStub(ch);
    ASSERT_TRUE(waitConnected(ch, scaled(10s)));
    EchoRequest req = request(1 << 20);
    req.set_response_size(16);
    auto until = Clock::now() + how_long;
    int calls = 0;
    while (Clock::now() < until && !done()) {
      EchoResponse resp;
      grpc::Status s = unaryCall(*stub, req, &resp, scaled(30s));
      ASSERT_TRUE(s.ok()) << statusString(s);
      ++calls;
    }
    std::cout << calls << " uploads of 1 MiB\n";
  }

  std::unique_ptr<ChildProcess> echo_;
  std::string upstream_;
};

// A 20 Mbit/s token bucket with a 30 KB queue on grpcscope's side of the
// veth: bursts overflow the queue and the kernel drops packets, as a shaped
// or congested link with a shallow buffer does.
TEST_F(TransportFindingsTest, RetransmitsOnALossyUpstreamPath) {
  SKIP_IF_DIRECT("reads the proxy's findings");
  SKIP_IF_TLS("the echo server in the namespace serves h2c");
  if (std::string why = Netns::missing(); !why.empty()) GTEST_SKIP() << "cannot reproduce for real: " << why;
  Netns ns({});
  ASSERT_TRUE(ns.ok()) << ns.error();
  if (!shell("tc qdisc add dev " + ns.outer() + " root tbf rate 20mbit burst 16kb limit 30kb")) {
    GTEST_SKIP() << "no tbf qdisc on this kernel: cannot make a lossy path";
  }
  ASSERT_NO_FATAL_FAILURE(startEchoIn(ns));
  ASSERT_NO_FATAL_FAILURE(startProxy({}, upstream_));
  std::optional<json> f;
  ASSERT_NO_FATAL_FAILURE(uploadFor(scaled(20s), [&] {
    f = waitForFinding("transport.retransmits", "upstream", 1ms);
    return f.has_value();
  }));
  if (!f) f = waitForFinding("transport.retransmits", "upstream", scaled(3s));
  ASSERT_TRUE(f.has_value()) << "no transport.retransmits; active: " << testing::PrintToString(activeIds());
  std::cout << f->dump(2) << "\n";
  EXPECT_EQ((*f)["layer"], "transport");
  const json& e = (*f)["evidence"];
  EXPECT_GE(e["retransmitted_segments"].get<uint64_t>(), 20u);
  EXPECT_GE(e["segments_sent"].get<uint64_t>(), 1000u);
  EXPECT_GE(e["retransmit_share"].get<double>(), 0.01);
  EXPECT_NE((*f)["recommendation"].get<std::string>().find("ss -ti"), std::string::npos);
}

// The namespace's TCP receive buffers capped at 4 KiB (net.ipv4.tcp_rmem,
// per namespace): the echo server's socket advertises a tiny TCP window
// while its HTTP/2 windows (BDP probing on) are wide open.
TEST_F(TransportFindingsTest, RwndLimitedByTheServersReceiveBuffer) {
  SKIP_IF_DIRECT("reads the proxy's findings");
  SKIP_IF_TLS("the echo server in the namespace serves h2c");
  if (std::string why = Netns::missing(); !why.empty()) GTEST_SKIP() << "cannot reproduce for real: " << why;
  Netns ns({});
  ASSERT_TRUE(ns.ok()) << ns.error();
  ASSERT_TRUE(shell(ns.exec() + "sysctl -q -w net.ipv4.tcp_rmem='4096 4096 4096'"));
  ASSERT_NO_FATAL_FAILURE(startEchoIn(ns));
  ASSERT_NO_FATAL_FAILURE(startProxy({}, upstream_));
  std::optional<json> f;
  ASSERT_NO_FATAL_FAILURE(uploadFor(scaled(20s), [&] {
    f = waitForFinding("transport.rwnd_limited", "upstream", 1ms);
    return f.has_value();
  }));
  if (!f) f = waitForFinding("transport.rwnd_limited", "upstream", scaled(3s));
  ASSERT_TRUE(f.has_value()) << "no transport.rwnd_limited; active: " << testing::PrintToString(activeIds())
                             << "; " << summaryOf({"tcp", "flow_control"});
  std::cout << f->dump(2) << "\n";
  EXPECT_EQ((*f)["layer"], "transport");
  const json& e = (*f)["evidence"];
  EXPECT_GE(e["rwnd_limited_share"].get<double>(), 0.25);
  EXPECT_GE(e["busy_s"].get<double>(), 1.0);
  EXPECT_LT(e["http2_blocked_share"].get<double>(), 0.25) << "HTTP/2 windows were not the limit";
  std::string rec = (*f)["recommendation"];
  for (const char* option : {"net.ipv4.tcp_rmem", "SO_RCVBUF"}) EXPECT_NE(rec.find(option), std::string::npos);
}

}  // namespace
}  // namespace grpcscope::testsupport
