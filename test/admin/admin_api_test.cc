// The admin endpoint's contract: paths, content types, JSON errors with the
// right HTTP status, the method label cap, field names from a descriptor set,
// and --measure=false.
#include <gtest/gtest.h>

#include <grpcpp/generic/generic_stub.h>

#include <condition_variable>
#include <set>

#include "admin/admin_fixture.h"
#include "support/loopback.h"

namespace grpcscope::testsupport {
namespace {

class AdminApiTest : public AdminTest {
 protected:
  void unaryCalls(int n, const std::string& method_suffix = "") {
    auto stub = makeStub(channel());
    for (int i = 0; i < n; ++i) {
      grpcscope::test::EchoResponse resp;
      ASSERT_TRUE(unaryCall(*stub, request(100, 1), &resp, scaled(std::chrono::milliseconds(10000))).ok());
    }
  }
};

TEST_F(AdminApiTest, EndpointsAnswerWithTheirContentTypes) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  startServer();
  startProxy();
  unaryCalls(3);
  HttpResponse health = get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  HttpResponse index = get("/");
  EXPECT_EQ(index.status, 200);
  EXPECT_NE(index.content_type.find("text/html"), std::string::npos);
  HttpResponse metrics = get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.content_type.find("text/plain; version=0.0.4"), std::string::npos);
  for (const char* path : {"/api/summary", "/api/methods", "/api/connections", "/api/findings"}) {
    nlohmann::json j = getJson(path);
    EXPECT_FALSE(j.is_discarded()) << path;
  }
  EXPECT_EQ(getJson("/api/findings"), nlohmann::json::array());
  nlohmann::json summary = getJson("/api/summary");
  EXPECT_TRUE(summary["measurement"].get<bool>());
  EXPECT_GT(summary["uptime_s"].get<double>(), 0);
  EXPECT_EQ(summary["workers"]["answered"], 1);
  HttpResponse head = httpRequest(adminUrl() + "/api/summary", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
}

TEST_F(AdminApiTest, ErrorsAreJsonWithTheRightStatus) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  startServer();
  startProxy();
  HttpResponse missing = get("/api/nothing-here");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.content_type, "application/json");
  nlohmann::json j = nlohmann::json::parse(missing.body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << missing.body;
  EXPECT_EQ(j["status"], 404);
  EXPECT_NE(j["error"].get<std::string>().find("/api/nothing-here"), std::string::npos);
  HttpResponse post = httpRequest(adminUrl() + "/api/summary", "POST");
  EXPECT_EQ(post.status, 405);
  j = nlohmann::json::parse(post.body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << post.body;
  EXPECT_EQ(j["status"], 405);
}

TEST_F(AdminApiTest, MethodLabelsAreCappedAndTheRestCountAsOther) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  startServer();
  startProxy({"--max-methods", "2"});
  auto ch = channel();
  // Ten methods the server does not know: each answered UNIMPLEMENTED.
  for (int i = 0; i < 10; ++i) {
    grpc::GenericStub generic(ch);
    grpc::ClientContext ctx;
    ctx.set_deadline(deadlineFromNow(scaled(std::chrono::milliseconds(10000))));
    grpc::Slice empty("");
    grpc::ByteBuffer req(&empty, 1), resp;
    grpc::Status st;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    generic.UnaryCall(&ctx, "/flood.Service/Method" + std::to_string(i), grpc::StubOptions(), &req, &resp,
                      [&](grpc::Status s) {
                        std::lock_guard<std::mutex> lock(mu);
                        st = s;
                        done = true;
                        cv.notify_all();
                      });
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
  ASSERT_TRUE(waitFinished(10));
  auto m = scrape();
  std::set<std::string> methods;
  double total = 0;
  for (const auto& s : m) {
    if (s.name != "grpcscope_calls_started_total") continue;
    methods.insert(s.labels.at("grpc_method"));
    total += s.value;
  }
  EXPECT_EQ(methods.size(), 3u) << "two methods and \"other\"";
  EXPECT_TRUE(methods.count("other"));
  EXPECT_EQ(total, 10);
  EXPECT_EQ(sampleValue(m, "grpcscope_calls_finished_total", {{"grpc_method", "other"}, {"grpc_status", "UNIMPLEMENTED"}}),
            8);
}

TEST_F(AdminApiTest, DescriptorSetNamesTheFields) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  startServer();
  startProxy({"--descriptor-set", GRPCSCOPE_ECHO_DESCRIPTOR_SET, "--wire-sample-every", "1"});
  unaryCalls(4);
  ASSERT_TRUE(waitFinished(4));
  nlohmann::json methods = getJson("/api/methods");
  ASSERT_EQ(methods["methods"].size(), 1u);
  const nlohmann::json& wire = methods["methods"][0]["wire"];
  EXPECT_EQ(wire["request"]["messages"], 4);
  bool named = false;
  for (const auto& f : wire["request"]["fields"]) {
    if (f["path"] == "1") named = f.value("name", "") == "payload";
  }
  EXPECT_TRUE(named) << wire.dump(2);
  bool sequence_named = false;
  for (const auto& f : wire["response"]["fields"]) {
    if (f["path"] == "1") sequence_named = f.value("name", "") == "payload";
  }
  EXPECT_TRUE(sequence_named) << wire.dump(2);
}

TEST_F(AdminApiTest, ABadDescriptorSetIsOneLineAndExit2) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  std::string dir = makeTempDir("grpcscope-desc");
  std::string bogus = dir + "/bogus.desc";
  ASSERT_TRUE(writeFile(bogus, "this is not a FileDescriptorSet"));
  RunResult r = runProcess({ProxyProcess::binaryPath(), "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1",
                            "--admin", "127.0.0.1:0", "--descriptor-set", bogus},
                           std::chrono::milliseconds(20000));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("--descriptor-set"), std::string::npos) << r.err;
}

TEST_F(AdminApiTest, AnAdminPortInUseIsOneLineAndExit2) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  LoopbackListener taken(LoopbackListener::Mode::kHoldSilent);
  RunResult r = runProcess({ProxyProcess::binaryPath(), "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1",
                            "--admin", taken.address()},
                           std::chrono::milliseconds(20000));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("--admin"), std::string::npos) << r.err;
}

TEST_F(AdminApiTest, AnIpv6AdminAddressIsOneLineAndExit2) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  RunResult r = runProcess({ProxyProcess::binaryPath(), "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1",
                            "--admin", "[::1]:0"},
                           std::chrono::milliseconds(20000));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("--admin [::1]:0: IPv6 is not available"), std::string::npos) << r.err;
}

TEST_F(AdminApiTest, MeasurementOffRelaysAndServesNoStatistics) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  startServer();
  startProxy({"--measure=false"});
  unaryCalls(5);
  auto m = scrape();
  EXPECT_EQ(sampleValue(m, "grpcscope_build_info", {{"version", "0.1.0"}, {"measurement", "off"}}), 1);
  for (const auto& s : m) EXPECT_NE(s.name, "grpcscope_calls_started_total");
  nlohmann::json summary = getJson("/api/summary");
  EXPECT_FALSE(summary["measurement"].get<bool>());
  EXPECT_EQ(summary["rpcs"]["started"], 0);
  EXPECT_EQ(get("/api/events").status, 503);
  EXPECT_EQ(get("/healthz").status, 200);
}

}  // namespace
}  // namespace grpcscope::testsupport
