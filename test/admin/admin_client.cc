#include "admin/admin_client.h"

#include <curl/curl.h>

#include <cstdlib>
#include <sstream>

namespace grpcscope::testsupport {
namespace {

size_t appendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct CurlInit {
  CurlInit() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

void ensureInit() { static CurlInit init; }

}  // namespace

HttpResponse httpRequest(const std::string& url, const std::string& method, std::chrono::milliseconds timeout) {
  ensureInit();
  HttpResponse r;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &appendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    r.error = curl_easy_strerror(rc);
  } else {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
    char* ct = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
    if (ct) r.content_type = ct;
  }
  curl_easy_cleanup(curl);
  return r;
}

std::string adminAddressFrom(const std::string& line) {
  size_t at = line.rfind("admin ");
  if (at == std::string::npos) return "";
  std::string rest = line.substr(at + 6);
  size_t end = rest.find_first_of(" \r\n");
  return end == std::string::npos ? rest : rest.substr(0, end);
}

std::vector<MetricSample> parseExposition(const std::string& text) {
  std::vector<MetricSample> samples;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    MetricSample s;
    size_t brace = line.find('{');
    size_t space;
    if (brace != std::string::npos && brace < line.find(' ')) {
      s.name = line.substr(0, brace);
      size_t pos = brace + 1;
      while (pos < line.size() && line[pos] != '}') {
        size_t eq = line.find('=', pos);
        std::string key = line.substr(pos, eq - pos);
        std::string value;
        size_t i = eq + 2;  // past ="
        for (; i < line.size() && line[i] != '"'; ++i) {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value.push_back(line[i] == 'n' ? '\n' : line[i]);
          } else {
            value.push_back(line[i]);
          }
        }
        s.labels[key] = value;
        pos = i + 1;
        if (pos < line.size() && line[pos] == ',') ++pos;
      }
      space = line.find(' ', pos);
    } else {
      space = line.find(' ');
      s.name = line.substr(0, space);
    }
    std::string value = line.substr(space + 1);
    value = value.substr(0, value.find(' '));
    s.value = value == "+Inf" ? 1e308 : std::strtod(value.c_str(), nullptr);
    samples.push_back(std::move(s));
  }
  return samples;
}

std::optional<double> sampleValue(const std::vector<MetricSample>& samples, const std::string& name,
                                  const std::map<std::string, std::string>& labels) {
  for (const auto& s : samples) {
    if (s.name == name && s.labels == labels) return s.value;
  }
  return std::nullopt;
}

EventStreamReader::EventStreamReader(const std::string& url, const std::string& last_event_id)
    : url_(url), last_event_id_(last_event_id) {
  ensureInit();
  thread_ = std::thread([this] {
    CURL* curl = curl_easy_init();
    curl_slist* headers = nullptr;
    if (!last_event_id_.empty()) {
      headers = curl_slist_append(headers, ("Last-Event-ID: " + last_event_id_).c_str());
      curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &EventStreamReader::onBytes);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, this);
    // Progress callback: lets the destructor end the transfer while idle.
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, this);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION,
                     +[](void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> int {
                       return static_cast<EventStreamReader*>(self)->stop_.load() ? 1 : 0;
                     });
    curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
  });
}

EventStreamReader::~EventStreamReader() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

size_t EventStreamReader::onBytes(char* data, size_t size, size_t n, void* p) {
  auto* self = static_cast<EventStreamReader*>(p);
  std::lock_guard<std::mutex> lock(self->mutex_);
  self->raw_.append(data, size * n);
  self->buffer_.append(data, size * n);
  self->connected_ = true;
  size_t end;
  while ((end = self->buffer_.find("\n\n")) != std::string::npos) {
    std::string block = self->buffer_.substr(0, end);
    self->buffer_.erase(0, end + 2);
    std::istringstream in(block);
    std::string line;
    SseMessage message{"message", "", nullptr};
    bool has_data = false;
    while (std::getline(in, line)) {
      if (line.rfind("data: ", 0) == 0) {
        message.data = nlohmann::json::parse(line.substr(6));
        self->events_.push_back(message.data);
        has_data = true;
      } else if (line.rfind("event: ", 0) == 0) {
        message.name = line.substr(7);
      } else if (line.rfind("id: ", 0) == 0) {
        message.id = line.substr(4);
      }
    }
    if (has_data) self->messages_.push_back(std::move(message));
  }
  return self->stop_ ? 0 : size * n;
}

bool EventStreamReader::waitConnected(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (connected_) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::vector<nlohmann::json> EventStreamReader::waitFor(size_t n, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (events_.size() >= n || std::chrono::steady_clock::now() >= deadline) return events_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::vector<SseMessage> EventStreamReader::waitForNamed(const std::string& name, size_t n,
                                                        std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      std::vector<SseMessage> named;
      for (const auto& m : messages_) {
        if (m.name == name) named.push_back(m);
      }
      if (named.size() >= n || std::chrono::steady_clock::now() >= deadline) return named;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string EventStreamReader::raw() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return raw_;
}

}  // namespace grpcscope::testsupport
