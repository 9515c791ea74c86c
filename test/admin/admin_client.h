// HTTP access to grpcscope's admin endpoint for the tests (libcurl): plain
// GETs, the Prometheus text parsed into samples, and an /api/events reader.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace grpcscope::testsupport {

struct HttpResponse {
  long status = 0;          // 0: no response (error says why)
  std::string content_type;
  std::string body;
  std::string error;
};

HttpResponse httpRequest(const std::string& url, const std::string& method = "GET",
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

// "admin 127.0.0.1:PORT" from the proxy's listening line.
std::string adminAddressFrom(const std::string& listening_line);

// One sample of the exposition text: name, labels, value.
struct MetricSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// The samples of a Prometheus text exposition (comment lines skipped).
std::vector<MetricSample> parseExposition(const std::string& text);

// The value of the sample with this name and exactly these labels, if present.
std::optional<double> sampleValue(const std::vector<MetricSample>& samples, const std::string& name,
                                  const std::map<std::string, std::string>& labels = {});

// One Server-Sent Event as received.
struct SseMessage {
  std::string name;  // "message" when the event had no `event:` field
  std::string id;    // "" when it had none
  nlohmann::json data;
};

// Reads an event stream (/api/events, /api/live) on its own thread and keeps
// every event's JSON. last_event_id: sent as Last-Event-ID when not empty.
class EventStreamReader {
 public:
  explicit EventStreamReader(const std::string& url, const std::string& last_event_id = "");
  ~EventStreamReader();

  // Waits until the stream's opening comment arrived (subscribed).
  bool waitConnected(std::chrono::milliseconds timeout);
  // Waits until at least n events arrived; returns them all.
  std::vector<nlohmann::json> waitFor(size_t n, std::chrono::milliseconds timeout);
  std::string raw() const;
  // Waits until at least n events named `name` arrived; returns those.
  std::vector<SseMessage> waitForNamed(const std::string& name, size_t n, std::chrono::milliseconds timeout);

 private:
  static size_t onBytes(char* data, size_t size, size_t n, void* self);

  std::string url_;
  mutable std::mutex mutex_;
  std::string buffer_;
  std::string raw_;
  std::vector<nlohmann::json> events_;
  std::vector<SseMessage> messages_;
  std::string last_event_id_;
  bool connected_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace grpcscope::testsupport
