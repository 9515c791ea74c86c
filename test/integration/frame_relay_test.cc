// RST_STREAM and GOAWAY relayed with their exact error codes (and GOAWAY's
// debug data and last stream id) in both directions, observed on the wire
// between two raw HTTP/2 peers with the proxy in the middle. gRPC peers
// cannot show these: they map codes to statuses.
#include "proxy_fixture.h"
#include "support/raw_h2.h"

namespace grpcscope::testsupport {
namespace {

using namespace h2;

class FrameRelayTest : public ProxyTest {
 protected:
  void SetUp() override {
    SKIP_IF_DIRECT("needs the proxy between two raw peers");
    ASSERT_NO_FATAL_FAILURE(startProxy({}, listener_.address()));
    std::string error;
    ASSERT_TRUE(rawConnect(client_, &error)) << error;
    client_.send(std::string(kClientPreface) + settingsFrame());
    int fd = listener_.accept(scaled(10s));
    ASSERT_GE(fd, 0) << "the proxy did not connect upstream";
    ASSERT_TRUE(rawAdoptAsServer(server_side_, fd, &error)) << error;
    // Both handshakes: SETTINGS seen by each raw peer.
    ASSERT_TRUE(pumpUntil([&] { return hasFrame(client_, kSettings, 0) && hasFrame(server_side_, kSettings, 0); }))
        << "client: " << client_.outcome().describe() << "\nserver: " << server_side_.outcome().describe();
  }

  // Lets both raw peers read and answer (SETTINGS/PING ACKs) until `pred`.
  bool pumpUntil(const std::function<bool()>& pred) {
    auto never = [](const Outcome&) { return false; };
    return waitFor(
        [&] {
          client_.idleClient(never, 20ms);
          server_side_.idleClient(never, 20ms);
          return pred();
        },
        scaled(10s), 1ms);
  }

  static const Frame* findFrame(const RawConnection& c, uint8_t type, uint32_t stream, size_t from = 0) {
    const auto& frames = c.outcome().frames;
    for (size_t i = from; i < frames.size(); ++i) {
      if (frames[i].type == type && frames[i].stream_id == stream && !(type == kSettings && frames[i].flags & kFlagAck))
        return &frames[i];
    }
    return nullptr;
  }
  static bool hasFrame(const RawConnection& c, uint8_t type, uint32_t stream) {
    return findFrame(c, type, stream) != nullptr;
  }
  static uint32_t code(const Frame& f, size_t at) {
    auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(f.payload[at + i])); };
    return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
  }

  std::string request() { return headersFrames(1, grpcRequestBlock("localhost", "/grpcscope.test.Echo/Unary"), false); }

  RawListener listener_;
  RawConnection client_;
  RawConnection server_side_;
};

TEST_F(FrameRelayTest, ClientRstStreamCodeReachesServer) {
  client_.send(request());
  ASSERT_TRUE(pumpUntil([&] { return hasFrame(server_side_, kHeaders, 1); })) << server_side_.outcome().describe();
  client_.send(rstStreamFrame(1, kRefusedStream));
  ASSERT_TRUE(pumpUntil([&] { return hasFrame(server_side_, kRstStream, 1); })) << server_side_.outcome().describe();
  EXPECT_EQ(code(*findFrame(server_side_, kRstStream, 1), 0), kRefusedStream);
}

TEST_F(FrameRelayTest, ServerRstStreamCodeReachesClient) {
  client_.send(request());
  ASSERT_TRUE(pumpUntil([&] { return hasFrame(server_side_, kHeaders, 1); })) << server_side_.outcome().describe();
  server_side_.send(rstStreamFrame(1, kEnhanceYourCalm));
  ASSERT_TRUE(pumpUntil([&] { return hasFrame(client_, kRstStream, 1); })) << client_.outcome().describe();
  EXPECT_EQ(code(*findFrame(client_, kRstStream, 1), 0), kEnhanceYourCalm);
}

TEST_F(FrameRelayTest, ServerGoawayReachesClientUnchanged) {
  client_.send(request());
  ASSERT_TRUE(pumpUntil([&] { return hasFrame(server_side_, kHeaders, 1); })) << server_side_.outcome().describe();
  std::string payload;
  for (uint32_t v : {1u, static_cast<uint32_t>(kEnhanceYourCalm)}) {
    for (int shift = 24; shift >= 0; shift -= 8) payload.push_back(static_cast<char>(v >> shift));
  }
  payload += "calm down, from the server";
  server_side_.send(frame(kGoaway, 0, 0, payload));
  ASSERT_TRUE(pumpUntil([&] { return client_.outcome().goaway; })) << client_.outcome().describe();
  EXPECT_EQ(client_.outcome().goaway_error, kEnhanceYourCalm);
  EXPECT_EQ(client_.outcome().goaway_last_stream, 1u);
  EXPECT_EQ(client_.outcome().goaway_debug, "calm down, from the server");
}

TEST_F(FrameRelayTest, ClientGoawayReachesServerUnchanged) {
  std::string payload(8, '\0');  // last stream 0, NO_ERROR
  payload += "client going away";
  client_.send(frame(kGoaway, 0, 0, payload));
  ASSERT_TRUE(pumpUntil([&] { return server_side_.outcome().goaway || server_side_.outcome().closed; }))
      << server_side_.outcome().describe();
  EXPECT_TRUE(server_side_.outcome().goaway) << server_side_.outcome().describe();
  EXPECT_EQ(server_side_.outcome().goaway_error, kNoError);
  EXPECT_EQ(server_side_.outcome().goaway_debug, "client going away");
}

// A server that answered before reading the whole request ends the response
// with trailers, then resets the stream with NO_ERROR so that the client stops
// uploading (RFC 9113 section 8.1). The reset arrives in a later read, after
// the trailers left for the client: it must follow them there.
TEST_F(FrameRelayTest, ServerResetAfterTrailersReachesClient) {
  client_.send(request() + frame(kData, 0, 1, grpcMessage(std::string(100, 'u'))));
  ASSERT_TRUE(pumpUntil([&] { return hasFrame(server_side_, kData, 1); })) << server_side_.outcome().describe();
  std::string response = hpackLiteral(":status", "200") + hpackLiteral("content-type", "application/grpc");
  std::string trailers = hpackLiteral("grpc-status", "0");
  server_side_.send(headersFrames(1, response, false) + frame(kData, 0, 1, grpcMessage("ok")) +
                    headersFrames(1, trailers, true));
  auto trailersSeen = [&] {
    int headers = 0;
    for (const auto& f : client_.outcome().frames) {
      if (f.type == kHeaders && f.stream_id == 1) ++headers;
    }
    return headers == 2;
  };
  ASSERT_TRUE(pumpUntil(trailersSeen)) << client_.outcome().describe();
  server_side_.send(rstStreamFrame(1, kNoError));
  ASSERT_TRUE(pumpUntil([&] { return hasFrame(client_, kRstStream, 1); }))
      << "the server's RST_STREAM after its trailers was not relayed: " << client_.outcome().describe();
  EXPECT_EQ(code(*findFrame(client_, kRstStream, 1), 0), kNoError);
}

TEST_F(FrameRelayTest, StreamIdsMapInOrder) {
  std::string block = grpcRequestBlock("localhost", "/grpcscope.test.Echo/Unary");
  client_.send(headersFrames(1, block, false) + headersFrames(3, block, false) + headersFrames(5, block, false));
  ASSERT_TRUE(pumpUntil([&] { return hasFrame(server_side_, kHeaders, 5); })) << server_side_.outcome().describe();
  EXPECT_TRUE(hasFrame(server_side_, kHeaders, 1));
  EXPECT_TRUE(hasFrame(server_side_, kHeaders, 3));
}

}  // namespace
}  // namespace grpcscope::testsupport
