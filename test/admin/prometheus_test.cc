// The exposition passes `promtool check metrics`, and a real Prometheus
// (Debian's) scrapes it and answers a query with the count of calls made.
#include <gtest/gtest.h>

#include "admin/admin_fixture.h"
#include "support/loopback.h"

namespace grpcscope::testsupport {
namespace {

class PrometheusTest : public AdminTest {
 protected:
  void someCalls(int n) {
    auto stub = makeStub(channel());
    for (int i = 0; i < n; ++i) {
      grpcscope::test::EchoRequest req = request(200, static_cast<uint32_t>(i));
      if (i % 4 == 0) req.set_status_code(grpc::StatusCode::NOT_FOUND);
      grpcscope::test::EchoResponse resp;
      unaryCall(*stub, req, &resp, scaled(std::chrono::milliseconds(10000)));
    }
  }
};

std::string findTool(const std::string& name) {
  for (const char* dir : {"/usr/bin/", "/usr/local/bin/", "/bin/"}) {
    std::string path = std::string(dir) + name;
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

TEST_F(PrometheusTest, PromtoolAcceptsTheExposition) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  std::string promtool = findTool("promtool");
  ASSERT_FALSE(promtool.empty()) << "promtool is not installed (scripts/deps.sh installs Debian's prometheus)";
  startServer();
  startProxy();
  someCalls(12);
  ASSERT_TRUE(waitFinished(12));
  HttpResponse metrics = get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  std::string file = makeTempDir("grpcscope-promtool") + "/metrics.txt";
  ASSERT_TRUE(writeFile(file, metrics.body));
  RunResult r = runProcess({"/bin/sh", "-c", promtool + " check metrics < " + file}, std::chrono::milliseconds(30000));
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  // promtool prints lint problems (and exits 0 for some): there must be none.
  EXPECT_EQ(r.out + r.err, "") << r.out << r.err;
}

TEST_F(PrometheusTest, PrometheusScrapesAndAnswersAQuery) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  std::string prometheus = findTool("prometheus");
  ASSERT_FALSE(prometheus.empty()) << "prometheus is not installed (scripts/deps.sh installs it)";
  startServer();
  startProxy();
  someCalls(20);
  ASSERT_TRUE(waitFinished(20));

  std::string dir = makeTempDir("grpcscope-prometheus");
  std::string admin = adminAddressFrom(proxy_->listeningLine());
  ASSERT_TRUE(writeFile(dir + "/prometheus.yml",
                        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                        "scrape_configs:\n  - job_name: grpcscope\n    static_configs:\n      - targets: ['" +
                            admin + "']\n"));
  uint16_t port = unusedLoopbackPort();
  std::string web = "127.0.0.1:" + std::to_string(port);
  std::string error;
  auto server = ChildProcess::spawn({prometheus, "--config.file=" + dir + "/prometheus.yml",
                                     "--storage.tsdb.path=" + dir + "/data", "--web.listen-address=" + web,
                                     "--log.level=warn"},
                                    {}, &error);
  ASSERT_TRUE(server) << error;
  // Prometheus' own HTTP API: the series it scraped from grpcscope.
  std::string url = "http://" + web +
                    "/api/v1/query?query=sum(grpcscope_calls_finished_total%7Bgrpc_status%3D%22NOT_FOUND%22%7D)";
  double value = -1;
  auto deadline = std::chrono::steady_clock::now() + scaled(std::chrono::milliseconds(60000));
  while (std::chrono::steady_clock::now() < deadline && value < 0) {
    HttpResponse r = httpRequest(url, "GET", std::chrono::milliseconds(2000));
    if (r.status == 200) {
      nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
      if (!j.is_discarded() && j["status"] == "success" && !j["data"]["result"].empty()) {
        value = std::stod(j["data"]["result"][0]["value"][1].get<std::string>());
      }
    }
    if (value < 0) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_EQ(value, 5) << "prometheus log:\n" << server->stderrText();
  // And it found the target healthy.
  HttpResponse targets = httpRequest("http://" + web + "/api/v1/targets");
  nlohmann::json t = nlohmann::json::parse(targets.body, nullptr, false);
  ASSERT_FALSE(t.is_discarded());
  ASSERT_FALSE(t["data"]["activeTargets"].empty());
  EXPECT_EQ(t["data"]["activeTargets"][0]["health"], "up") << targets.body;
  server->signal(SIGTERM);
  server->wait(std::chrono::milliseconds(10000));
}

}  // namespace
}  // namespace grpcscope::testsupport
