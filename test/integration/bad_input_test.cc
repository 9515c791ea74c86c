// Bad input from one client closes that client's connection with the GOAWAY
// error code RFC 9113 asks for, while a healthy gRPC client on another
// connection keeps working and the proxy stays up. The hostile client is a
// raw socket sending hand-built frames (support/raw_h2.h).
#include <atomic>
#include <thread>

#include "admin/admin_client.h"
#include "proxy_fixture.h"
#include "support/raw_h2.h"

namespace grpcscope::testsupport {
namespace {

using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;
using namespace h2;

std::string validRequestHeaders(uint32_t stream_id, bool end_stream = false) {
  return headersFrames(stream_id, grpcRequestBlock("localhost", "/grpcscope.test.Echo/Unary"), end_stream);
}

class BadInputTest : public ProxyTest {
 protected:
  void SetUp() override {
    SKIP_IF_DIRECT("the limits under test are the proxy's; gRPC's server has its own");
    ASSERT_NO_FATAL_FAILURE(startServer());
    ASSERT_NO_FATAL_FAILURE(startProxy());
    healthy_stub_ = makeStub(channel());
    EchoResponse resp;
    grpc::Status st = unaryCall(*healthy_stub_, request(10), &resp);
    ASSERT_TRUE(st.ok()) << statusString(st);
    // The healthy client keeps calling while the attack runs.
    background_ = std::thread([this] {
      int i = 0;
      while (!stop_) {
        EchoResponse r;
        grpc::Status s = unaryCall(*healthy_stub_, request(100, i++), &r, scaled(10s));
        if (s.ok()) {
          ++ok_;
        } else {
          ++failed_;
          std::lock_guard lock(mu_);
          last_failure_ = statusString(s);
        }
      }
    });
  }

  void TearDown() override {
    stopBackground();
    ProxyTest::TearDown();
  }

  void stopBackground() {
    stop_ = true;
    if (background_.joinable()) background_.join();
  }

  // Connects, does the HTTP/2 handshake (unless `handshake` is false), then
  // sends the bytes `make()` returns (built after the handshake, so they can
  // depend on the proxy's SETTINGS) and reads until the proxy closes.
  // The connection was counted once as a violation of this kind (/metrics).
  void expectViolation(const std::string& kind) {
    std::string admin = adminAddressFrom(proxy_->listeningLine());
    auto m = parseExposition(httpRequest("http://" + admin + "/metrics").body);
    EXPECT_EQ(sampleValue(m, "grpcscope_violations_total", {{"kind", kind}}).value_or(0), 1) << "kind " << kind;
  }

  Outcome attack(const std::string& bytes, bool handshake = true) {
    return attackWith([&] { return bytes; }, handshake);
  }
  Outcome attackWith(const std::function<std::string()>& make, bool handshake = true) {
    RawConnection conn;
    std::string error;
    EXPECT_TRUE(rawConnect(conn, &error)) << error;
    if (handshake) {
      Outcome hello = conn.sendAndWait(
          std::string(kClientPreface) + settingsFrame(),
          [](const Outcome& o) { return !o.frames.empty(); }, scaled(10s));
      EXPECT_FALSE(hello.frames.empty()) << "no SETTINGS from the proxy: " << hello.describe();
      if (!hello.frames.empty() && hello.frames[0].type == kSettings) {
        auto values = settingsValues(hello.frames[0]);
        if (values.count(0x5)) max_frame_size_ = values[0x5];
      }
      conn.sendAndWait(settingsAck(), [](const Outcome&) { return true; }, scaled(5s));
    }
    return conn.exchange(make(), scaled(15s));
  }

  void expectGoawayAndClose(const Outcome& out, std::initializer_list<uint32_t> codes) {
    std::cout << "answer: " << out.describe() << "\n";
    EXPECT_TRUE(out.goaway) << out.describe();
    if (out.goaway) {
      bool match = std::find(codes.begin(), codes.end(), out.goaway_error) != codes.end();
      std::string want;
      for (uint32_t c : codes) want += std::string(want.empty() ? "" : " or ") + errorCodeName(c);
      EXPECT_TRUE(match) << "GOAWAY " << errorCodeName(out.goaway_error) << ", want " << want << "; "
                         << out.describe();
    }
    EXPECT_TRUE(out.closed) << "the connection should be closed: " << out.describe();
  }

  void expectOthersUnaffected() {
    // The healthy client made progress during and after the attack.
    int64_t ok_before = ok_;
    EXPECT_TRUE(waitFor([&] { return ok_ > ok_before + 3; }, scaled(15s))) << "healthy client stalled";
    stopBackground();
    EXPECT_EQ(failed_, 0) << "healthy client failures, last: " << last_failure_;
    EchoResponse resp;
    grpc::Status st = unaryCall(*healthy_stub_, request(10), &resp);
    EXPECT_TRUE(st.ok()) << statusString(st);
    // A new connection works too.
    auto fresh = makeStub(channel());
    st = unaryCall(*fresh, request(10), &resp);
    EXPECT_TRUE(st.ok()) << statusString(st);
    EXPECT_TRUE(proxy_->running()) << "the proxy exited";
  }

  std::unique_ptr<grpcscope::test::Echo::Stub> healthy_stub_;
  std::thread background_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> ok_{0};
  std::atomic<int64_t> failed_{0};
  std::mutex mu_;
  std::string last_failure_;
  uint32_t max_frame_size_ = 16384;  // SETTINGS_MAX_FRAME_SIZE the proxy announced (RFC 9113 default)
};

TEST_F(BadInputTest, NotHttp2AtAll) {
  // RFC 9113 §3.4: an invalid preface is a PROTOCOL_ERROR; the GOAWAY "MAY be
  // omitted" since the peer does not speak HTTP/2. Either way: closed.
  Outcome out = attack("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", /*handshake=*/false);
  std::cout << "answer: " << out.describe() << "\n";
  EXPECT_TRUE(out.closed) << out.describe();
  if (out.goaway) EXPECT_EQ(out.goaway_error, kProtocolError) << out.describe();
  expectOthersUnaffected();
}

TEST_F(BadInputTest, TlsClientHelloToPlaintextListener) {
  SKIP_IF_TLS("about a plaintext (h2c) listener; over TLS a ClientHello is what the listener expects");
  std::string hello("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11);
  hello += std::string(160, '\x42');
  Outcome out = attack(hello, /*handshake=*/false);
  EXPECT_TRUE(out.closed) << out.describe();
  if (out.goaway) EXPECT_EQ(out.goaway_error, kProtocolError) << out.describe();
  expectOthersUnaffected();
}

TEST_F(BadInputTest, SettingsWithBadLengthIsFrameSizeError) {
  // RFC 9113 §6.5: a SETTINGS length that is not a multiple of 6.
  Outcome out = attack(frame(kSettings, 0, 0, std::string(5, '\0')));
  expectGoawayAndClose(out, {kFrameSizeError});
  expectOthersUnaffected();
}

TEST_F(BadInputTest, PingWithBadLengthIsFrameSizeError) {
  // RFC 9113 §6.7: PING payload must be 8 octets.
  Outcome out = attack(frame(kPing, 0, 0, std::string(4, '\0')));
  expectGoawayAndClose(out, {kFrameSizeError});
  expectOthersUnaffected();
}

TEST_F(BadInputTest, FrameAboveMaxFrameSizeIsFrameSizeError) {
  // RFC 9113 §4.2: larger than the SETTINGS_MAX_FRAME_SIZE we were given.
  Outcome out = attackWith([&] {
    return validRequestHeaders(1) + frameHeader(max_frame_size_ + 1, kData, 0, 1) +
           std::string(max_frame_size_ + 1, 'x');
  });
  expectGoawayAndClose(out, {kFrameSizeError});
  expectOthersUnaffected();
}

TEST_F(BadInputTest, DataOnStreamZeroIsProtocolError) {
  // RFC 9113 §6.1.
  Outcome out = attack(frame(kData, 0, 0, "hello"));
  expectGoawayAndClose(out, {kProtocolError});
  expectOthersUnaffected();
}

TEST_F(BadInputTest, HeadersOnEvenStreamIsProtocolError) {
  // RFC 9113 §5.1.1: client-initiated streams are odd.
  Outcome out = attack(validRequestHeaders(2));
  expectGoawayAndClose(out, {kProtocolError});
  expectOthersUnaffected();
}

TEST_F(BadInputTest, ZeroWindowUpdateIsProtocolError) {
  // RFC 9113 §6.9: an increment of 0 on the connection.
  Outcome out = attack(windowUpdateFrame(0, 0));
  expectGoawayAndClose(out, {kProtocolError});
  expectOthersUnaffected();
}

TEST_F(BadInputTest, ContinuationWithoutHeadersIsProtocolError) {
  // RFC 9113 §6.10.
  Outcome out = attack(frame(kContinuation, kFlagEndHeaders, 1, hpackLiteral("a", "b")));
  expectGoawayAndClose(out, {kProtocolError});
  expectOthersUnaffected();
}

TEST_F(BadInputTest, InvalidHpackIsCompressionError) {
  // RFC 9113 §4.3 / RFC 7541 §6.1: indexed field with index 0.
  Outcome out = attack(frame(kHeaders, kFlagEndHeaders | kFlagEndStream, 1, std::string("\x80", 1)));
  expectGoawayAndClose(out, {kCompressionError});
  expectOthersUnaffected();
}

TEST_F(BadInputTest, InvalidSettingsValuesAreRejected) {
  // RFC 9113 §6.5.2: ENABLE_PUSH other than 0/1 is a PROTOCOL_ERROR ...
  Outcome out = attack(settingsFrame({{0x2, 2}}));
  expectGoawayAndClose(out, {kProtocolError});
  // ... and INITIAL_WINDOW_SIZE above 2^31-1 a FLOW_CONTROL_ERROR.
  out = attack(settingsFrame({{0x4, 0x80000000u}}));
  expectGoawayAndClose(out, {kFlowControlError});
  expectOthersUnaffected();
}

TEST_F(BadInputTest, SettingsFloodIsEnhanceYourCalm) {
  std::string flood;
  for (int i = 0; i < 50'000; ++i) flood += settingsFrame();
  Outcome out = attack(flood);
  expectGoawayAndClose(out, {kEnhanceYourCalm});
  expectOthersUnaffected();
  expectViolation("flood");  // the queue of SETTINGS ACKs it made us owe
}

TEST_F(BadInputTest, SettingsWithTooManyEntriesIsASettingsFlood) {
  std::vector<std::pair<uint16_t, uint32_t>> entries(100, {0x3, 100});  // --max-settings-entries is 32
  Outcome out = attack(settingsFrame(entries));
  expectGoawayAndClose(out, {kEnhanceYourCalm});
  expectOthersUnaffected();
  expectViolation("settings_flood");
}

TEST_F(BadInputTest, PingFloodIsEnhanceYourCalm) {
  std::string flood;
  for (uint64_t i = 0; i < 50'000; ++i) flood += pingFrame(i);
  Outcome out = attack(flood);
  expectGoawayAndClose(out, {kEnhanceYourCalm});
  expectOthersUnaffected();
}

TEST_F(BadInputTest, RapidResetIsStopped) {
  // CVE-2023-44487: open a stream and reset it at once, thousands of times.
  // nghttp2's built-in limiter (nghttp2_option_set_stream_reset_rate_limit)
  // answers with INTERNAL_ERROR; ENHANCE_YOUR_CALM is what RFC 9113 §5.4.1
  // describes for excessive load. Either closes the connection.
  std::string flood;
  for (uint32_t id = 1; id < 2 * 3000; id += 2) {
    flood += validRequestHeaders(id);
    flood += rstStreamFrame(id, kCancel);
  }
  Outcome out = attack(flood);
  expectGoawayAndClose(out, {kEnhanceYourCalm, kInternalError});
  expectOthersUnaffected();
}

TEST_F(BadInputTest, OversizedHeaderListIsEnhanceYourCalm) {
  // 20 headers of 4000 bytes: 80 KB, above the 64 KiB max_header_list_size
  // (each field alone is acceptable), spread over HEADERS + CONTINUATION.
  std::vector<std::pair<std::string, std::string>> extra;
  for (int i = 0; i < 20; ++i) extra.emplace_back("x-big-" + std::to_string(i), std::string(4000, 'v'));
  std::string block = grpcRequestBlock("localhost", "/grpcscope.test.Echo/Unary", extra);
  Outcome out = attack(headersFrames(1, block, /*end_stream=*/true));
  expectGoawayAndClose(out, {kEnhanceYourCalm});
  expectOthersUnaffected();
}

TEST_F(BadInputTest, ContinuationFloodIsStopped) {
  // CVE-2024-27316 style: HEADERS without END_HEADERS, then endless empty
  // CONTINUATION frames. The connection must be closed (with a GOAWAY).
  std::string flood = frame(kHeaders, 0, 1, grpcRequestBlock("localhost", "/grpcscope.test.Echo/Unary"));
  for (int i = 0; i < 100'000; ++i) flood += frame(kContinuation, 0, 1, "");
  Outcome out = attack(flood);
  EXPECT_TRUE(out.closed) << out.describe();
  EXPECT_TRUE(out.goaway) << out.describe();
  std::cout << "CONTINUATION flood: " << out.describe() << "\n";
  expectOthersUnaffected();
  expectViolation("continuation_flood");
}

TEST_F(BadInputTest, ClientsVanishingMidWriteDoNotKillTheProxy) {
  // Clients that reset the connection while the proxy still writes to it
  // (its SETTINGS, a response body): the next write fails with EPIPE. The
  // proxy must treat that as a closed connection, not die of SIGPIPE (its
  // default action, which the proxy inherits from a shell or container).
  const std::string preface(kClientPreface);
  const std::string request_block = grpcRequestBlock("localhost", "/grpcscope.test.Echo/Unary");
  const std::vector<std::string> last_words = {
      "",
      preface,
      preface + settingsFrame(),
      preface + frameHeader(100, kData, 0, 1),  // a protocol error the proxy answers with GOAWAY
      preface + settingsFrame() + headersFrames(1, request_block, true),  // a request the proxy answers
  };
  for (int round = 0; round < 10; ++round) {
    for (size_t i = 0; i < last_words.size(); ++i) {
      RawConnection conn;
      std::string error;
      ASSERT_TRUE(rawConnect(conn, &error)) << error;
      if (!last_words[i].empty()) conn.send(last_words[i]);
      if (round % 2 == 0) {
        conn.close();  // FIN; the proxy's SETTINGS unread here, so the kernel answers its next segment with RST
      } else {
        conn.abort();  // RST at once
      }
    }
  }
  for (int i = 0; i < 5; ++i) {
    RawConnection conn;
    std::string error;
    ASSERT_TRUE(rawConnect(conn, &error)) << error;
    grpcscope::test::EchoRequest req;
    req.set_response_size(64 << 10);
    req.set_response_count(1000);
    std::string open_stream = std::string(kClientPreface) + settingsFrame() +
                              headersFrames(1, grpcRequestBlock("localhost", "/grpcscope.test.Echo/ServerStream"), false) +
                              frame(kData, kFlagEndStream, 1, grpcMessage(req.SerializeAsString()));
    conn.send(open_stream);
    // Wait until response DATA flows, then vanish without reading the rest.
    Outcome out = conn.idleClient(
        [&](const Outcome& o) {
          for (const auto& f : o.frames) {
            if (f.type == kData) return true;
          }
          return false;
        },
        scaled(10s));
    EXPECT_FALSE(out.timed_out) << "no response DATA: " << out.describe();
    conn.abort();
  }
  expectOthersUnaffected();
}

TEST_F(BadInputTest, OnlyTheBadConnectionIsClosed) {
  // A second healthy raw connection with an open stream survives another
  // connection's protocol error.
  RawConnection good;
  std::string error;
  ASSERT_TRUE(rawConnect(good, &error)) << error;
  Outcome g = good.idleClient([](const Outcome& o) { return !o.frames.empty(); }, scaled(10s));
  ASSERT_FALSE(g.closed);
  Outcome bad = attack(frame(kData, 0, 0, "x"));
  expectGoawayAndClose(bad, {kProtocolError});
  g = good.idleClient([](const Outcome& o) { return o.goaway || o.closed; }, 1s);
  EXPECT_FALSE(g.goaway) << g.describe();
  EXPECT_FALSE(g.closed) << g.describe();
  expectOthersUnaffected();
}

}  // namespace
}  // namespace grpcscope::testsupport
