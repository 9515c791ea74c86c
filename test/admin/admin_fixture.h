// The integration fixture plus the admin endpoint of the proxy under test.
#pragma once

#include <nlohmann/json.hpp>

#include "admin/admin_client.h"
#include "integration/proxy_fixture.h"

namespace grpcscope::testsupport {

class AdminTest : public ProxyTest {
 protected:
  std::string adminUrl() const { return "http://" + adminAddressFrom(proxy_->listeningLine()); }

  HttpResponse get(const std::string& path) { return httpRequest(adminUrl() + path); }

  nlohmann::json getJson(const std::string& path) {
    HttpResponse r = get(path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.error << r.body;
    EXPECT_EQ(r.content_type, "application/json") << path;
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  std::vector<MetricSample> scrape() {
    HttpResponse r = get("/metrics");
    EXPECT_EQ(r.status, 200) << r.error;
    return parseExposition(r.body);
  }

  // Waits until /api/summary counts `n` finished calls (the proxy closes a
  // stream a moment after the client saw its trailers).
  bool waitFinished(uint64_t n, std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
    auto deadline = std::chrono::steady_clock::now() + scaled(timeout);
    while (std::chrono::steady_clock::now() < deadline) {
      nlohmann::json s = nlohmann::json::parse(get("/api/summary").body, nullptr, false);
      if (!s.is_discarded() && s["rpcs"]["finished"].get<uint64_t>() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
};

}  // namespace grpcscope::testsupport
