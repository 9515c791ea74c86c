#include "admin/admin_server.h"

#include <civetweb.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <spdlog/spdlog.h>
#include <uv.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "admin/api_json.h"
#include "admin/metrics_text.h"
#include "admin/page_assets.h"
#include "analysis/label_bounds.h"

#ifndef GRPCSCOPE_VERSION
#define GRPCSCOPE_VERSION "0.0.0"
#endif

namespace grpcscope {
namespace {

// Each event stream holds an admin thread: at most 8 + 8 of them leave
// 8 threads for requests.
constexpr int kAdminThreads = 24;
constexpr size_t kMaxEventSubscribers = 8;
constexpr size_t kMaxLiveSubscribers = 8;
// Connections in each /api/live snapshot (the API lists up to
// --max-connections-listed): a page shows the first ones, and a second's
// snapshot stays small.
constexpr size_t kMaxSnapshotConnections = 64;

const char* reasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

void send(mg_connection* conn, int status, std::string_view content_type, std::string_view body, bool head,
          const char* extra_headers = "") {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %.*s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
            "X-Content-Type-Options: nosniff\r\n%s\r\n",
            status, reasonPhrase(status), static_cast<int>(content_type.size()), content_type.data(), body.size(),
            extra_headers);
  if (!head && !body.empty()) mg_write(conn, body.data(), body.size());
}

// JSON text for a response. error_handler replace: a byte that is not UTF-8
// (a request path, a peer's text) must never throw on a civetweb thread; the
// analysis keeps peer texts printable already, this is the last guard.
std::string jsonText(const nlohmann::json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void sendJson(mg_connection* conn, int status, const nlohmann::json& body, bool head) {
  send(conn, status, "application/json", jsonText(body), head);
}

void sendError(mg_connection* conn, int status, const std::string& message, bool head,
               const char* extra_headers = "") {
  std::string body = jsonText(nlohmann::json{{"error", message}, {"status", status}});
  send(conn, status, "application/json", body, head, extra_headers);
}

// civetweb wants numeric addresses: resolve a name such as "localhost" first.
// The admin host as a numeric address (civetweb takes no names such as
// "localhost"), or "" with *error set.
std::string numericHost(const HostPort& admin, std::string* error) {
  std::string host = admin.host.empty() ? "0.0.0.0" : admin.host;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res); rc != 0) {
    *error = "--admin " + host + ": cannot resolve: " + gai_strerror(rc);
    return "";
  }
  char text[INET6_ADDRSTRLEN] = {};
  getnameinfo(res->ai_addr, res->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST);
  freeaddrinfo(res);
  return text;
}

// A numeric IPv4 or IPv6 address and a port as a socket address; 0 if `host` is neither.
socklen_t socketAddress(const std::string& host, uint16_t port, sockaddr_storage* out) {
  *out = {};
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return sizeof *v4;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return sizeof *v6;
  }
  return 0;
}

// Why binding host:port fails, or "" if it does not.
std::string bindError(const std::string& host, uint16_t port) {
  sockaddr_storage sa;
  socklen_t len = socketAddress(host, port, &sa);
  int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (len == 0 || fd < 0) return std::strerror(errno);
  std::string error = bind(fd, reinterpret_cast<sockaddr*>(&sa), len) != 0 ? std::strerror(errno) : "";
  close(fd);
  return error;
}

// The live page's policy: scripts, styles and connections from the admin
// origin only (nothing from a CDN, no request elsewhere); inline styles
// because uPlot positions its elements with style attributes.
constexpr const char* kPageSecurityHeader =
    "Content-Security-Policy: default-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'\r\n";

// /report.html carries its script and style inline and must need no network
// at all, wherever it is opened: nothing but the file itself is allowed.
constexpr const char* kReportHeaders =
    "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:\r\n"
    "Content-Disposition: inline; filename=\"grpcscope-report.html\"\r\n";

}  // namespace

AdminServer::AdminServer(const Config& config, const StatsCollector* collector, EventTap* tap,
                         const DescriptorNames* names, uint64_t start_ns)
    : config_(config), collector_(collector), tap_(tap), names_(names), start_ns_(start_ns) {
  if (tap_) hub_ = std::make_unique<SseHub>(*tap_, kMaxEventSubscribers);
}

AdminServer::~AdminServer() { stop(); }

double AdminServer::uptime() const { return static_cast<double>(uv_hrtime() - start_ns_) / 1e9; }

std::string AdminServer::start(uint16_t* bound_port) {
  static const unsigned init = mg_init_library(0);
  (void)init;
  std::string error;
  host_ = numericHost(config_.admin, &error);
  if (host_.empty()) return error;
  if (host_.find(':') != std::string::npos && mg_check_feature(8) == 0) {
    return "--admin " + config_.admin.toString() +
           ": IPv6 is not available (this civetweb is built without it); use an IPv4 address such as 127.0.0.1";
  }
  std::string port_text = std::to_string(config_.admin.port);
  std::string ports = host_.find(':') != std::string::npos ? "[" + host_ + "]:" + port_text : host_ + ":" + port_text;
  std::string threads = std::to_string(kAdminThreads);
  const char* options[] = {"listening_ports", ports.c_str(), "num_threads", threads.c_str(),
                           "enable_keep_alive", "yes", "request_timeout_ms", "30000", nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = [](const mg_connection*, const char* message) {
    spdlog::debug("admin: {}", message);
    return 1;
  };
  mg_init_data init_data{};
  init_data.callbacks = &callbacks;
  init_data.user_data = this;
  init_data.configuration_options = options;
  char text[256] = {};
  unsigned code = 0;
  mg_error_data error_data{};
  error_data.code = &code;
  error_data.text = text;
  error_data.text_buffer_size = sizeof text;
  ctx_ = mg_start2(&init_data, &error_data);
  if (!ctx_) {
    std::string cause = bindError(host_, config_.admin.port);  // civetweb's own text does not say why
    return "--admin " + config_.admin.toString() + ": cannot listen: " +
           (!cause.empty() ? cause : text[0] ? std::string(text) : std::string("civetweb failed to start"));
  }
  mg_set_request_handler(ctx_, "**", &AdminServer::handle, this);
  mg_server_port port{};
  if (mg_get_server_ports(ctx_, 1, &port) >= 1) bound_port_ = static_cast<uint16_t>(port.port);
  *bound_port = bound_port_;
  if (hub_) hub_->start();
  if (collector_) sampler_ = std::thread([this] { sampleRates(); });
  return "";
}

void AdminServer::stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (sampler_.joinable()) sampler_.join();
  if (hub_) hub_->stop();  // event streams end, their threads return
  live_.stop();
  if (!ctx_) return;
  // civetweb's accept loop looks at its stop flag only between polls of up to
  // 2 s: connections to our own port wake it, so exiting stays quick.
  std::atomic<bool> stopped{false};
  std::thread stopper([this, &stopped] {
    mg_stop(ctx_);
    stopped = true;
  });
  for (int i = 0; i < 300 && !stopped; ++i) {
    wakeListener();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stopper.join();
  ctx_ = nullptr;
}

void AdminServer::wakeListener() const {
  // A wildcard address listens on loopback too; a specific one is reached as itself.
  std::string host = host_ == "0.0.0.0" ? "127.0.0.1" : host_ == "::" ? "::1" : host_;
  sockaddr_storage sa;
  socklen_t len = socketAddress(host, bound_port_, &sa);
  if (len == 0) return;
  int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return;
  connect(fd, reinterpret_cast<sockaddr*>(&sa), len);
  close(fd);
}

void AdminServer::sampleRates() {
  std::unique_lock<std::mutex> lock(stop_mutex_);
  while (!stopping_) {
    lock.unlock();
    evaluateOnce();
    lock.lock();
    stop_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
  }
}

void AdminServer::evaluateOnce() {
  // One collection a second feeds the rates, the windows and the findings.
  CollectedStats c = collector_->collect(true, true, config_.analysis.max_connections_listed);
  RateSample sample;
  sample.t = uptime();
  sample.calls_started = c.stats.calls_started;
  sample.calls_finished = c.stats.calls_finished;
  sample.calls_failed = c.stats.calls_finished - c.stats.by_status[0];
  sample.connections_opened = c.stats.hops[0].connections_opened;
  sample.data_bytes = c.stats.hops[0].data_bytes[0] + c.stats.hops[1].data_bytes[0];
  rates_.add(sample);
  if (c.workers > 0 && c.workers_answered == 0) return;
  double wall = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  uint64_t now_ns = uv_hrtime();
  auto changes = board_.update(c, sample.t, now_ns, wall);
  publishLive(c, changes, sample.t, wall, now_ns);
  for (const auto& change : changes) {
    const findings::FindingRecord& r = change.record;
    nlohmann::json j = findings::findingJson(r);
    if (change.raised) {
      spdlog::warn("finding raised: {} ({}, {}): {}; evidence {}", r.finding.id,
                   findings::severityName(r.finding.severity), findings::layerName(r.finding.layer),
                   r.finding.title, j["evidence"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else {
      spdlog::info("finding resolved: {}", r.finding.id);
    }
    if (hub_) hub_->publish("finding", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}

void AdminServer::publishLive(const CollectedStats& c, const std::vector<findings::FindingsEngine::Change>& changes,
                              double t, double wall, uint64_t now_ns) {
  std::vector<std::string> raised;
  for (const auto& change : changes) {
    if (change.raised) raised.push_back(change.record.finding.id);
  }
  uint64_t seq = ++live_seq_;
  nlohmann::json point = live_points_.next(c, seq, t, wall, raised);
  ProcessFacts process{t, GRPCSCOPE_VERSION, true};
  auto windows = board_.windows();
  nlohmann::json connections = connectionsJson(c, now_ns);
  auto& listed = connections["connections"];
  if (listed.size() > kMaxSnapshotConnections) {
    listed.erase(listed.begin() + kMaxSnapshotConnections, listed.end());
    connections["listed"] = kMaxSnapshotConnections;
  }
  std::string point_text = jsonText(point);
  point_text.pop_back();  // the newline
  nlohmann::json snapshot = {{"boot", live_.boot()},
                             {"summary", summaryJson(c, process, rates_.rates(10), windows.get())},
                             {"methods", methodsJson(c, names_, windows.get())},
                             {"connections", std::move(connections)},
                             {"findings", board_.findingsJson()}};
  std::string text = jsonText(snapshot);
  // {"boot":..., ...}: the point goes in front, already as text.
  text = "{\"point\":" + point_text + "," + text.substr(1, text.size() - 2);
  live_.publish(seq, std::move(point_text), std::move(text));
}

int AdminServer::handle(mg_connection* conn, void* self) { return static_cast<AdminServer*>(self)->route(conn); }

int AdminServer::route(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  std::string_view method = info->request_method ? info->request_method : "";
  std::string_view path = info->local_uri ? info->local_uri : "/";
  bool head = method == "HEAD";
  if (method != "GET" && !head) {
    sendError(conn, 405, boundedText(method, 32) + " is not allowed here; use GET", false, "Allow: GET, HEAD\r\n");
    return 405;
  }
  ProcessFacts process{uptime(), GRPCSCOPE_VERSION, collector_ != nullptr};
  if (path == "/healthz") {
    send(conn, 200, "text/plain; charset=utf-8", "ok\n", head);
    return 200;
  }
  if (const PageAsset* asset = findPageAsset(path)) {
    send(conn, 200, asset->content_type, asset->bytes, head, path == "/" ? kPageSecurityHeader : "");
    return 200;
  }
  if (path == "/report.html") {
    send(conn, 200, "text/html; charset=utf-8", reportHtml(reportData()), head, kReportHeaders);
    return 200;
  }
  if (path == "/api/findings") {
    sendJson(conn, 200, board_.findingsJson(), head);
    return 200;
  }
  // The two event streams: 503 without measurement, headers only for HEAD.
  if (path == "/api/live" || path == "/api/events") {
    bool live = path == "/api/live";
    if (live ? !collector_ : !hub_) {
      sendError(conn, 503, std::string("measurement is off (--measure=false): no ") + (live ? "live data" : "events"),
                head);
      return 503;
    }
    if (head) {
      send(conn, 200, "text/event-stream", "", true);
    } else if (live) {
      serveLive(conn);
    } else {
      serveEvents(conn);
    }
    return 200;
  }
  bool metrics = path == "/metrics";
  bool summary = path == "/api/summary";
  bool methods = path == "/api/methods";
  bool connections = path == "/api/connections";
  if (!metrics && !summary && !methods && !connections) {
    sendError(conn, 404, "no such endpoint: " + boundedText(path, 256), head);
    return 404;
  }
  // On the heap: civetweb's threads have small fixed stacks (its build's
  // USE_STACK_SIZE), and the merged statistics are tens of KiB.
  std::unique_ptr<CollectedStats> collected(
      collector_ ? new CollectedStats(collector_->collect(metrics || methods || summary, connections,
                                                          config_.analysis.max_connections_listed))
                 : new CollectedStats());
  const CollectedStats& c = *collected;
  if (collector_) {
    if (c.workers > 0 && c.workers_answered == 0) {
      sendError(conn, 503, "no worker answered in time", head);
      return 503;
    }
  }
  if (metrics) {
    FindingMetrics fm = board_.metrics();
    send(conn, 200, "text/plain; version=0.0.4; charset=utf-8", renderMetrics(c, process, &fm), head);
  } else if (summary) {
    sendJson(conn, 200, summaryJson(c, process, rates_.rates(10), board_.windows().get()), head);
  } else if (methods) {
    sendJson(conn, 200, methodsJson(c, names_, board_.windows().get()), head);
  } else {
    sendJson(conn, 200, connectionsJson(c, uv_hrtime()), head);
  }
  return 200;
}

void AdminServer::serveEvents(mg_connection* conn) {
  auto subscriber = hub_->subscribe();
  if (!subscriber) {
    sendError(conn, 503, "too many /api/events subscribers (at most " + std::to_string(kMaxEventSubscribers) + ")",
              false);
    return;
  }
  mg_printf(conn,
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
            "Connection: close\r\nX-Accel-Buffering: no\r\n\r\n"
            ": one event per finished call (rpc) and per finding raised or resolved (finding)\n\n");
  uint64_t sequence = 0;
  for (;;) {
    std::deque<SseEvent> batch;
    {
      std::unique_lock<std::mutex> lock(subscriber->mutex);
      subscriber->ready.wait_for(lock, std::chrono::seconds(15),
                                 [&] { return subscriber->closed || !subscriber->queue.empty(); });
      if (subscriber->closed) break;
      batch.swap(subscriber->queue);
    }
    std::string out;
    if (batch.empty()) out = ": keep-alive\n\n";
    for (const auto& event : batch) {
      out += "id: " + std::to_string(++sequence) + "\nevent: " + event.name + "\ndata: ";
      out += *event.data;
      out += "\n\n";
    }
    if (mg_write(conn, out.data(), out.size()) <= 0) break;  // the subscriber went away
  }
  hub_->unsubscribe(subscriber);
  mg_disable_keep_alive(conn);
}

std::string AdminServer::reportData() const {
  // {"boot", "points", "snapshot", "calls"} (docs/metrics.md, "/api/live").
  std::string data = live_.reportPrefix();
  if (data.empty()) data = "{\"boot\":\"" + live_.boot() + "\",\"points\":[],\"snapshot\":null";
  data += ",\"calls\":[";
  if (hub_) {
    bool first = true;
    for (const auto& call : hub_->recentCalls()) {
      if (!first) data += ',';
      data += *call;
      first = false;
    }
  }
  data += "]}";
  return data;
}

void AdminServer::serveLive(mg_connection* conn) {
  if (live_subscribers_.fetch_add(1) >= kMaxLiveSubscribers) {
    live_subscribers_.fetch_sub(1);
    sendError(conn, 503, "too many /api/live subscribers (at most " + std::to_string(kMaxLiveSubscribers) + ")",
              false);
    return;
  }
  const char* last_event_id = mg_get_header(conn, "Last-Event-ID");
  std::string history;
  LiveFeed::Latest latest = live_.catchUp(last_event_id ? last_event_id : "", &history);
  // retry: the browser's reconnect delay (HTML Living Standard, "Server-sent events").
  std::string out =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
      "Connection: close\r\nX-Accel-Buffering: no\r\n\r\n"
      ": the past minutes (history), then one snapshot a second (docs/metrics.md, /api/live)\nretry: 2000\n\n";
  if (latest.seq > 0) {
    std::string id = live_.eventId(latest.seq);
    out += "id: " + id + "\nevent: history\ndata: " + history + "\n\n";
    out += "id: " + id + "\nevent: snapshot\ndata: " + *latest.snapshot + "\n\n";
  } else {
    out += "event: history\ndata: " + history + "\n\n";
  }
  uint64_t seq = latest.seq;
  while (mg_write(conn, out.data(), out.size()) > 0) {
    LiveFeed::Latest next = live_.waitNewer(seq, std::chrono::seconds(15));
    if (live_.stopped()) break;
    if (next.seq == 0) {
      out = ": keep-alive\n\n";
      continue;
    }
    seq = next.seq;
    out = "id: " + live_.eventId(seq) + "\nevent: snapshot\ndata: " + *next.snapshot + "\n\n";
  }
  live_subscribers_.fetch_sub(1);
  mg_disable_keep_alive(conn);
}

}  // namespace grpcscope
