#include "proxy/worker.h"

#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cstring>

#include "proxy/h2_callbacks.h"
#include "proxy/tcp_transport.h"

namespace grpcscope {

Worker::Worker(uint32_t id, const Config& config, std::unique_ptr<Observer> observer)
    : id_(id), config_(config), observer_(std::move(observer)), backoff_(config.backoff) {
  uv_loop_init(&loop_);
  loop_.data = this;
  uv_async_init(&loop_, &async_, &Worker::onAsync);
  async_.data = this;
  uv_idle_init(&loop_, &reaper_);
  reaper_.data = this;
  uv_timer_init(&loop_, &tick_);
  tick_.data = this;
  server_options_ = makeSessionOptions(config.limits, true);
  client_options_ = makeSessionOptions(config.limits, false);
  ctx_.loop = &loop_;
  ctx_.config = &config_;
  ctx_.observer = observer_.get();
  ctx_.worker_id = id_;
  ctx_.backoff = &backoff_;
  ctx_.server_options = server_options_;
  ctx_.client_options = client_options_;
  ctx_.retire = [this](ConnectionRelay* relay) {
    retired_.push_back(relay);
    uv_idle_start(&reaper_, &Worker::onReap);
  };
}

Worker::~Worker() {
  join();
  if (!started_) {
    // Never ran (start-up failed later on): close the handles so the loop can close.
    if (listener_open_) uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&reaper_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
  }
  for (ConnectionRelay* r : retired_) delete r;
  uv_loop_close(&loop_);
  nghttp2_option_del(server_options_);
  nghttp2_option_del(client_options_);
}

std::string Worker::listen(uint16_t port, bool reuse_port, uint16_t* bound_port) {
  std::string tls_error;
  if (config_.tls.enabled() && !(server_tls_ = TlsContext::makeServer(config_.tls, &tls_error))) return tls_error;
  if (config_.upstream_tls.enabled && !(client_tls_ = TlsContext::makeClient(config_.upstream_tls, &tls_error))) {
    return tls_error;
  }
  ctx_.upstream_tls = client_tls_.get();
  const std::string& host = config_.listen.host.empty() ? std::string("0.0.0.0") : config_.listen.host;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  std::string port_text = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &res); rc != 0) {
    return "--listen " + host + ": cannot resolve: " + gai_strerror(rc);
  }
  int family = res->ai_family;
  uv_tcp_init_ex(&loop_, &listener_, family);
  listener_.data = this;
  listener_open_ = true;
  if (reuse_port) {
    uv_os_fd_t fd;
    uv_fileno(reinterpret_cast<uv_handle_t*>(&listener_), &fd);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  }
  int rc = uv_tcp_bind(&listener_, res->ai_addr, 0);
  freeaddrinfo(res);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 1024, &Worker::onConnection);
  if (rc != 0) {
    return "--listen " + config_.listen.host + ":" + std::to_string(port) + ": " + uv_strerror(rc);
  }
  sockaddr_storage ss{};
  int len = sizeof(ss);
  uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&ss), &len);
  *bound_port = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                               : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return "";
}

void Worker::start(std::function<void()> on_exit) {
  started_ = true;
  on_exit_ = std::move(on_exit);
  if (config_.analysis.tick_ms > 0) {
    uv_timer_start(&tick_, &Worker::onTick, config_.analysis.tick_ms, config_.analysis.tick_ms);
  }
  thread_ = std::thread([this] {
    uv_run(&loop_, UV_RUN_DEFAULT);
    if (on_exit_) on_exit_();
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::requestDrain() {
  drain_requested_ = true;
  std::lock_guard<std::mutex> lock(async_mutex_);
  if (!async_closed_) uv_async_send(&async_);
}

void Worker::requestAbort() {
  abort_requested_ = true;
  std::lock_guard<std::mutex> lock(async_mutex_);
  if (!async_closed_) uv_async_send(&async_);
}

void Worker::onConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<Worker*>(server->data);
  if (status < 0) {
    spdlog::warn("[W{}] accept failed: {}", self->id_, uv_strerror(status));
    return;
  }
  auto transport = std::make_unique<TcpTransport>(&self->loop_);
  if (uv_accept(server, transport->stream()) != 0) {
    TcpTransport::closeAndDelete(std::move(transport));
    return;
  }
  transport->onConnected();
  if (!self->server_tls_) {
    auto* relay = new ConnectionRelay(self->ctx_, self->next_connection_id_++, std::move(transport));
    self->relays_.insert(relay);
    self->connection_count_.store(self->relays_.size(), std::memory_order_relaxed);
    relay->start();
    return;
  }
  auto tls = std::make_unique<TlsTransport>(std::move(transport), *self->server_tls_, "");
  TlsTransport* raw = tls.get();
  auto* relay = new ConnectionRelay(self->ctx_, self->next_connection_id_++, std::move(tls));
  // Lifetime edge: the transport belongs to the relay, and calls back only while it lives.
  raw->on_handshake = [relay](const TlsFacts& facts) { relay->emitTlsHandshake(relay->downstreamLeg(), facts); };
  self->relays_.insert(relay);
  self->connection_count_.store(self->relays_.size(), std::memory_order_relaxed);
  relay->start();
  raw->startHandshake();
}

bool Worker::post(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(async_mutex_);
  if (async_closed_) return false;
  tasks_.push_back(std::move(task));
  uv_async_send(&async_);
  return true;
}

std::vector<LiveConnectionFacts> Worker::liveFacts() const {
  std::vector<LiveConnectionFacts> facts;
  facts.reserve(relays_.size());
  for (const ConnectionRelay* r : relays_) facts.push_back(r->liveFacts());
  return facts;
}

void Worker::onTick(uv_timer_t* handle) {
  auto* self = static_cast<Worker*>(handle->data);
  self->observer_->onTick(uv_hrtime());
}

void Worker::onAsync(uv_async_t* handle) {
  auto* self = static_cast<Worker*>(handle->data);
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(self->async_mutex_);
    tasks.swap(self->tasks_);
  }
  for (auto& task : tasks) task();
  if (self->drain_requested_.exchange(false)) self->beginDrain();
  if (self->abort_requested_.exchange(false)) {
    self->beginDrain();
    for (ConnectionRelay* r : std::vector<ConnectionRelay*>(self->relays_.begin(), self->relays_.end())) r->abort();
  }
  self->maybeStop();
}

void Worker::beginDrain() {
  if (draining_) return;
  draining_ = true;
  if (listener_open_) {
    listener_open_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
  }
  for (ConnectionRelay* r : std::vector<ConnectionRelay*>(relays_.begin(), relays_.end())) r->drain();
}

void Worker::onReap(uv_idle_t* handle) {
  auto* self = static_cast<Worker*>(handle->data);
  uv_idle_stop(handle);
  // Relays are deleted here, at the top level of the loop, never from inside
  // one of their own callbacks.
  for (ConnectionRelay* r : self->retired_) {
    self->relays_.erase(r);
    delete r;
  }
  self->retired_.clear();
  self->connection_count_.store(self->relays_.size(), std::memory_order_relaxed);
  self->maybeStop();
}

void Worker::maybeStop() {
  if (!draining_ || stopping_ || !relays_.empty()) return;
  stopping_ = true;
  {
    // The main thread may be about to signal: it must see the handle closed.
    std::lock_guard<std::mutex> lock(async_mutex_);
    async_closed_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
    // Tasks that arrived after the last wake-up still run (their callers wait).
    for (auto& task : tasks_) task();
    tasks_.clear();
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&reaper_), nullptr);
}

}  // namespace grpcscope
