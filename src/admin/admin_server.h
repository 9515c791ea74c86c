// The admin HTTP endpoint (civetweb, its own threads): /metrics, the JSON
// API, /api/events and /api/live (Server-Sent Events), the page and /healthz. It reads statistics
// only through StatsCollector (worker snapshots), so a slow or stuck admin
// client holds an admin thread, never a relay loop.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <grpcscope/config.h>

#include "admin/findings_board.h"
#include "admin/live_feed.h"
#include "admin/live_point.h"
#include "admin/rate_tracker.h"
#include "admin/sse_hub.h"
#include "admin/stats_collector.h"

struct mg_context;
struct mg_connection;

namespace grpcscope {

class DescriptorNames;

class AdminServer {
 public:
  // collector/tap may be null (measurement off): the endpoints then serve
  // process facts only. start_ns: uv_hrtime() at process start.
  AdminServer(const Config& config, const StatsCollector* collector, EventTap* tap, const DescriptorNames* names,
              uint64_t start_ns);
  ~AdminServer();

  // Binds config.admin. "" or one line naming the problem; *bound_port is the port.
  std::string start(uint16_t* bound_port);
  void stop();

 private:
  static int handle(mg_connection* conn, void* self);
  int route(mg_connection* conn);
  void serveEvents(mg_connection* conn);
  void serveLive(mg_connection* conn);
  std::string reportData() const;  // the JSON inside /report.html
  void sampleRates();
  void evaluateOnce();
  // The second's point and snapshot for /api/live.
  void publishLive(const CollectedStats& c, const std::vector<findings::FindingsEngine::Change>& changes, double t,
                   double wall, uint64_t now_ns);
  double uptime() const;
  void wakeListener() const;

  const Config& config_;
  const StatsCollector* collector_;
  EventTap* tap_;
  const DescriptorNames* names_;
  uint64_t start_ns_;
  std::unique_ptr<SseHub> hub_;
  RateTracker rates_;
  FindingsBoard board_;
  LiveFeed live_;
  LivePointBuilder live_points_;          // sampler thread only
  uint64_t live_seq_ = 0;                 // sampler thread only
  std::atomic<size_t> live_subscribers_{0};
  mg_context* ctx_ = nullptr;
  std::string host_;  // config_.admin's host, numeric
  uint16_t bound_port_ = 0;
  std::thread sampler_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
};

}  // namespace grpcscope
