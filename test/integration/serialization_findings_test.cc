// The serialization findings (docs/findings.md, "Serialization") raised by
// real gRPC C++ peers through the grpcscope binary: large compressible
// messages sent without compression, messages of 3.5 MiB and one over the
// server's 4 MiB receive limit (RESOURCE_EXHAUSTED), a repeated scalar sent
// unpacked, and messages made of one large field. Each test polls
// /api/findings until the finding appears and checks its id, layer,
// evidence and the C++ option its recommendation names.
#include <google/protobuf/unknown_field_set.h>

#include <chrono>
#include <map>
#include <thread>

#include "admin/admin_fixture.h"

namespace grpcscope::testsupport {
namespace {

constexpr const char* kUnary = "grpcscope.test.Echo/Unary";

class SerializationFindingsTest : public AdminTest {
 protected:
  void SetUp() override {
    SKIP_IF_DIRECT("reads the proxy's findings");
    ASSERT_NO_FATAL_FAILURE(startServer());
    // Every message sampled for the wire profile, so a few calls are enough.
    ASSERT_NO_FATAL_FAILURE(startProxy({"--wire-sample-every", "1"}));
    stub_ = makeStub(channel());
  }

  // The first finding with this id whose scope has these entries, waiting up
  // to `timeout` for it (rules run once a second).
  nlohmann::json waitFinding(const std::string& id, const std::map<std::string, std::string>& scope,
                             std::chrono::milliseconds timeout = std::chrono::milliseconds(8000)) {
    auto deadline = std::chrono::steady_clock::now() + scaled(timeout);
    nlohmann::json last;
    while (std::chrono::steady_clock::now() < deadline) {
      last = nlohmann::json::parse(get("/api/findings").body, nullptr, false);
      if (last.is_array()) {
        for (const auto& f : last) {
          if (f["id"] != id || !f["active"].get<bool>()) continue;
          bool match = true;
          for (const auto& [k, v] : scope) match = match && f["scope"].value(k, "") == v;
          if (match) return f;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ADD_FAILURE() << "no finding " << id << " within " << timeout.count() << " ms; /api/findings: " << last.dump();
    return nlohmann::json();
  }

  static std::string text(size_t n) {
    std::string s;
    while (s.size() < n) s += "order 1234 shipped to warehouse 7, status pending; ";
    s.resize(n);
    return s;
  }

  std::unique_ptr<grpcscope::test::Echo::Stub> stub_;
};

TEST_F(SerializationFindingsTest, LargeCompressibleMessagesWithoutCompression) {
  // 40 calls of 32 KiB of text each way, no compression (gRPC's default).
  for (int i = 0; i < 40; ++i) {
    grpcscope::test::EchoRequest req;
    req.set_payload(text(32 * 1024));
    grpcscope::test::EchoResponse resp;
    ASSERT_TRUE(unaryCall(*stub_, req, &resp).ok());
  }
  nlohmann::json f =
      waitFinding("serialization.compressible_uncompressed", {{"method", kUnary}, {"direction", "request"}});
  ASSERT_FALSE(f.is_null());
  EXPECT_EQ(f["layer"], "serialization");
  EXPECT_EQ(f["severity"], "info");  // loopback: under 5 ms of round trip (warning beyond)
  EXPECT_LT(f["evidence"]["network_rtt_s"].get<double>(), 0.005);
  EXPECT_EQ(f["evidence"]["uncompressed_share"], 1.0);
  EXPECT_LT(f["evidence"]["compressed_size_share"].get<double>(), 0.2);
  EXPECT_GE(f["evidence"]["messages"].get<uint64_t>(), 40u);
  EXPECT_GT(f["evidence"]["would_save_bytes_per_s"].get<double>(), 0);
  // The C++ client's option, as this test's client would set it.
  EXPECT_NE(f["recommendation"].get<std::string>().find("ClientContext::set_compression_algorithm(GRPC_COMPRESS_GZIP)"),
            std::string::npos);
  // The echoed responses too, which the server would compress.
  nlohmann::json r =
      waitFinding("serialization.compressible_uncompressed", {{"method", kUnary}, {"direction", "response"}});
  EXPECT_NE(r["recommendation"].get<std::string>().find("ServerBuilder::SetDefaultCompressionAlgorithm"),
            std::string::npos);
}

TEST_F(SerializationFindingsTest, MessagesNearTheLimitAndOneOverIt) {
  const size_t near = 3584 * 1024;  // 3.5 MiB: 87.5 % of the 4 MiB default
  for (int i = 0; i < 3; ++i) {
    grpcscope::test::EchoRequest req = request(near, static_cast<uint32_t>(i));
    grpcscope::test::EchoResponse resp;
    grpc::Status st = unaryCall(*stub_, req, &resp);
    ASSERT_TRUE(st.ok()) << statusString(st);
  }
  const size_t over = (4u << 20) + 300 * 1024;  // 4.3 MiB: the server refuses it
  grpcscope::test::EchoRequest big = request(over, 9);
  grpcscope::test::EchoResponse resp;
  grpc::Status st = unaryCall(*stub_, big, &resp);
  ASSERT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << statusString(st);

  nlohmann::json f = waitFinding("serialization.message_size_near_limit", {{"method", kUnary}, {"direction", "request"}});
  ASSERT_FALSE(f.is_null());
  EXPECT_EQ(f["layer"], "serialization");
  EXPECT_EQ(f["severity"], "critical");
  const nlohmann::json& e = f["evidence"];
  EXPECT_EQ(e["resource_exhausted_calls"], 1);
  // The size that failed, as its prefix declared it (1 % sketch accuracy, 3 digits).
  EXPECT_NEAR(e["failed_message_max_bytes"].get<double>(), static_cast<double>(big.ByteSizeLong()),
              0.015 * static_cast<double>(over));
  EXPECT_EQ(e["limit_bytes"], 4u << 20);
  EXPECT_EQ(e["limit_from_status"], true) << "gRPC core names its limit: \"larger than max (N vs. M)\"";
  // The refused message reached the server whole through grpcscope: it is the largest one seen.
  EXPECT_NEAR(e["message_p50_bytes"].get<double>(), static_cast<double>(near), 0.015 * static_cast<double>(near));
  EXPECT_NEAR(e["message_max_bytes"].get<double>(), static_cast<double>(over), 0.015 * static_cast<double>(over));
  const std::string rec = f["recommendation"].get<std::string>();
  for (const char* option : {"ServerBuilder::SetMaxReceiveMessageSize", "ChannelArguments::SetMaxReceiveMessageSize",
                             "grpc.max_receive_message_length"}) {
    EXPECT_NE(rec.find(option), std::string::npos) << option;
  }
  // The 3.5 MiB responses: near the client's limit, no failure yet.
  nlohmann::json r = waitFinding("serialization.message_size_near_limit", {{"method", kUnary}, {"direction", "response"}});
  EXPECT_EQ(r["severity"], "warning");
  EXPECT_FALSE(r["evidence"].contains("resource_exhausted_calls"));
}

TEST_F(SerializationFindingsTest, UnpackedRepeatedScalars) {
  // EchoRequest with an extra field 20, a repeated int32 written unpacked (one
  // tag per element), as a proto2 schema or [packed = false] would send it.
  // The echo server keeps it as an unknown field and ignores it.
  for (int i = 0; i < 12; ++i) {
    grpcscope::test::EchoRequest req = request(16, static_cast<uint32_t>(i));
    google::protobuf::UnknownFieldSet* unknown = req.GetReflection()->MutableUnknownFields(&req);
    for (int k = 0; k < 300; ++k) unknown->AddVarint(20, static_cast<uint64_t>(k % 120));
    grpcscope::test::EchoResponse resp;
    ASSERT_TRUE(unaryCall(*stub_, req, &resp).ok());
  }
  nlohmann::json f = waitFinding("serialization.unpacked_repeated_field",
                                 {{"method", kUnary}, {"direction", "request"}, {"field", "20"}});
  ASSERT_FALSE(f.is_null());
  EXPECT_EQ(f["layer"], "serialization");
  EXPECT_EQ(f["severity"], "warning");
  const nlohmann::json& e = f["evidence"];
  EXPECT_EQ(e["field_path"], "20");
  EXPECT_EQ(e["wire_type"], "varint");
  EXPECT_GE(e["messages_with_field_unpacked"].get<uint64_t>(), 12u);
  // 300 tags of 2 bytes each less one tag and a 2-byte length: about 596 bytes a message.
  EXPECT_NEAR(e["saved_per_message_bytes"].get<double>(), 596, 10);
  EXPECT_NE(f["recommendation"].get<std::string>().find("[packed = true]"), std::string::npos);
}

TEST_F(SerializationFindingsTest, OneFieldCarriesTheBytes) {
  for (int i = 0; i < 10; ++i) {
    grpcscope::test::EchoRequest req = request(40 * 1024, static_cast<uint32_t>(i));  // payload, field 1
    grpcscope::test::EchoResponse resp;
    ASSERT_TRUE(unaryCall(*stub_, req, &resp).ok());
  }
  nlohmann::json f = waitFinding("serialization.dominant_field", {{"method", kUnary}, {"direction", "request"}});
  ASSERT_FALSE(f.is_null());
  EXPECT_EQ(f["layer"], "serialization");
  EXPECT_EQ(f["severity"], "info");
  EXPECT_EQ(f["evidence"]["field_path"], "1");
  EXPECT_GT(f["evidence"]["field_share"].get<double>(), 0.99);
  // 10 messages: too few for serialization.compressible_uncompressed (20 in the window).
  nlohmann::json all = nlohmann::json::parse(get("/api/findings").body);
  for (const auto& x : all) EXPECT_NE(x["id"], "serialization.compressible_uncompressed") << x.dump();
}

}  // namespace
}  // namespace grpcscope::testsupport
