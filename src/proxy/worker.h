// One event loop on its own thread, owning its listening socket (SO_REUSEPORT
// when there are several workers), its connections and its statistics.
// Nothing here is shared with other workers; the main thread talks to a
// worker only through uv_async handles.
#pragma once

#include <uv.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <grpcscope/config.h>
#include <grpcscope/observer.h>

#include "proxy/connection_relay.h"
#include "proxy/tls_transport.h"
#include "proxy/upstream_backoff.h"

namespace grpcscope {

class Worker {
 public:
  Worker(uint32_t id, const Config& config, std::unique_ptr<Observer> observer);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Binds and listens on config.listen (port overrides config's, for workers
  // after the first when the port was 0). Returns "" or one line naming the problem.
  std::string listen(uint16_t port, bool reuse_port, uint16_t* bound_port);

  // Runs the loop on a new thread. on_exit runs on that thread when the loop ends.
  void start(std::function<void()> on_exit);
  void join();

  // Thread-safe: stop accepting, GOAWAY every client, finish in-flight streams.
  void requestDrain();
  // Thread-safe: close every connection now.
  void requestAbort();

  size_t connections() const { return connection_count_.load(std::memory_order_relaxed); }

  // Thread-safe: runs `task` on this worker's loop thread (the admin side reads
  // statistics this way, so the relay path never takes a lock). False when the
  // loop has stopped: the task will never run.
  bool post(std::function<void()> task);
  // Loop thread only: windows and buffers of every live connection.
  std::vector<LiveConnectionFacts> liveFacts() const;

 private:
  static void onConnection(uv_stream_t* server, int status);
  static void onAsync(uv_async_t* handle);
  static void onReap(uv_idle_t* handle);
  static void onTick(uv_timer_t* handle);
  void beginDrain();
  void maybeStop();

  uint32_t id_;
  const Config& config_;
  std::unique_ptr<Observer> observer_;
  uv_loop_t loop_;
  uv_tcp_t listener_;
  bool listener_open_ = false;
  uv_async_t async_;
  uv_idle_t reaper_;  // runs once after relays retire (an idle handle also keeps poll from blocking)
  std::mutex async_mutex_;  // guards async_ against use after it closed, and tasks_
  bool async_closed_ = false;
  std::vector<std::function<void()>> tasks_;
  uv_timer_t tick_;  // Observer::onTick (TCP_INFO sampling)
  std::atomic<bool> drain_requested_{false};
  std::atomic<bool> abort_requested_{false};
  bool started_ = false;
  bool draining_ = false;
  bool stopping_ = false;
  UpstreamBackoff backoff_;
  nghttp2_option* server_options_ = nullptr;
  nghttp2_option* client_options_ = nullptr;
  std::unique_ptr<TlsContext> server_tls_;  // terminate TLS from clients
  std::unique_ptr<TlsContext> client_tls_;  // originate TLS toward the server
  RelayContext ctx_;
  uint64_t next_connection_id_ = 1;
  std::unordered_set<ConnectionRelay*> relays_;
  std::vector<ConnectionRelay*> retired_;
  std::atomic<size_t> connection_count_{0};
  std::thread thread_;
  std::function<void()> on_exit_;
};

}  // namespace grpcscope
