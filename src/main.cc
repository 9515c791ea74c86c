// grpcscope: parse flags and config, start the workers, print where we
// listen, and turn SIGTERM/SIGINT into a drain (GOAWAY, finish in-flight
// streams, exit 0 by the drain timeout). A second signal aborts at once.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "admin/admin_server.h"
#include "admin/stats_collector.h"
#include "analysis/analysis_observer.h"
#include "analysis/descriptor_names.h"
#include "analysis/logging_observer.h"
#include "analysis/observer_fanout.h"
#include "app/options.h"
#include "app/report.h"
#include "proxy/worker.h"

namespace {

using grpcscope::Config;
using grpcscope::Worker;

struct Supervisor {
  uv_loop_t* loop = nullptr;
  std::vector<std::unique_ptr<Worker>> workers;
  uv_signal_t sigterm;
  uv_signal_t sigint;
  uv_timer_t drain_timer;
  // Each worker, as its loop ends, decrements `running` and signals
  // worker_exited; the main thread closes worker_exited once `running` is 0.
  // Both sides hold exit_mutex, so the last worker's uv_async_send is done
  // before the close, and none comes after it (libuv: uv_async_send on a
  // closed handle is undefined). An atomic counter alone let the main thread
  // see 0 between one worker's decrement and its uv_async_send.
  uv_async_t worker_exited;
  std::mutex exit_mutex;
  int running = 0;                    // guarded by exit_mutex
  bool worker_exited_closed = false;  // guarded by exit_mutex
  bool draining = false;
  uint32_t drain_ms = 0;
};

void closeSupervisor(Supervisor* s) {
  uv_close(reinterpret_cast<uv_handle_t*>(&s->sigterm), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->sigint), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->drain_timer), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->worker_exited), nullptr);
}

void onSignal(uv_signal_t* handle, int signum) {
  auto* s = static_cast<Supervisor*>(handle->data);
  if (s->draining) {
    spdlog::warn("second signal: closing every connection now");
    for (auto& w : s->workers) w->requestAbort();
    return;
  }
  s->draining = true;
  spdlog::info("signal {}: draining (GOAWAY sent, in-flight streams may finish within {} ms)", signum, s->drain_ms);
  for (auto& w : s->workers) w->requestDrain();
  uv_timer_start(
      &s->drain_timer,
      [](uv_timer_t* t) {
        auto* s = static_cast<Supervisor*>(t->data);
        spdlog::warn("drain timeout: closing the remaining connections");
        for (auto& w : s->workers) w->requestAbort();
      },
      s->drain_ms, 0);
}

}  // namespace

int main(int argc, char** argv) {
  // A client that vanishes mid-write must cost an EPIPE on that socket, not
  // the process (libuv writes with writev, which raises SIGPIPE).
  std::signal(SIGPIPE, SIG_IGN);
  // `grpcscope report ...` reads a running instance's admin endpoint; it is
  // not the proxy and takes none of its flags.
  if (argc >= 2 && std::string_view(argv[1]) == "report") return grpcscope::report::runReport(argc, argv);
  Config config;
  grpcscope::OptionsResult parsed = grpcscope::parseOptions(argc, argv, config);
  if (!parsed.ok) {
    std::FILE* out = parsed.exit_code == 0 ? stdout : stderr;
    std::fprintf(out, "%s\n", parsed.message.c_str());
    return parsed.exit_code;
  }

  auto logger = spdlog::stderr_color_mt("grpcscope");
  spdlog::set_default_logger(logger);
  spdlog::set_level(grpcscope::toSpdlogLevel(config.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  const uint64_t start_ns = uv_hrtime();
  std::unique_ptr<grpcscope::DescriptorNames> names;
  if (!config.analysis.descriptor_set.empty()) {
    std::string error;
    names = grpcscope::DescriptorNames::load(config.analysis.descriptor_set, &error);
    if (!names) {
      std::fprintf(stderr, "grpcscope: --descriptor-set: %s\n", error.c_str());
      return 2;
    }
  }
  std::unique_ptr<grpcscope::EventTap> tap;
  if (config.analysis.enabled) tap = std::make_unique<grpcscope::EventTap>(static_cast<size_t>(config.workers));
  std::vector<grpcscope::AnalysisObserver*> analysis;
  const bool debug_log = config.log_level <= grpcscope::LogLevel::kDebug;

  Supervisor s;
  s.loop = uv_default_loop();
  s.drain_ms = config.timeouts.drain_ms;

  bool reuse_port = config.workers > 1;
  uint16_t port = config.listen.port;
  for (int i = 0; i < config.workers; ++i) {
    // The measuring observer, the logging one at debug level, or both.
    std::unique_ptr<grpcscope::Observer> observer;
    if (config.analysis.enabled) {
      auto measuring = std::make_unique<grpcscope::AnalysisObserver>(static_cast<uint32_t>(i), config.analysis,
                                                                     start_ns, tap.get());
      analysis.push_back(measuring.get());
      observer = std::move(measuring);
      if (debug_log) {
        observer = std::make_unique<grpcscope::ObserverFanout>(std::move(observer),
                                                               std::make_unique<grpcscope::LoggingObserver>());
      }
    } else if (debug_log) {
      observer = std::make_unique<grpcscope::LoggingObserver>();
    } else {
      observer = std::make_unique<grpcscope::Observer>();
    }
    auto worker = std::make_unique<Worker>(static_cast<uint32_t>(i), config, std::move(observer));
    uint16_t bound = 0;
    std::string error = worker->listen(port, reuse_port, &bound);
    if (!error.empty()) {
      std::fprintf(stderr, "grpcscope: %s\n", error.c_str());
      return 2;
    }
    port = bound;  // workers after the first share the port the first one got
    s.workers.push_back(std::move(worker));
  }

  std::vector<Worker*> worker_ptrs;
  for (auto& w : s.workers) worker_ptrs.push_back(w.get());
  std::unique_ptr<grpcscope::StatsCollector> collector;
  if (config.analysis.enabled) {
    collector = std::make_unique<grpcscope::StatsCollector>(worker_ptrs, analysis, config.analysis.max_methods);
  }
  grpcscope::AdminServer admin(config, collector.get(), tap.get(), names.get(), start_ns);
  grpcscope::HostPort admin_shown = config.admin;
  {
    std::string error = admin.start(&admin_shown.port);
    if (!error.empty()) {
      std::fprintf(stderr, "grpcscope: %s\n", error.c_str());
      return 2;
    }
  }

  uv_signal_init(s.loop, &s.sigterm);
  uv_signal_init(s.loop, &s.sigint);
  uv_timer_init(s.loop, &s.drain_timer);
  s.sigterm.data = s.sigint.data = s.drain_timer.data = &s;
  uv_signal_start(&s.sigterm, onSignal, SIGTERM);
  uv_signal_start(&s.sigint, onSignal, SIGINT);
  uv_async_init(s.loop, &s.worker_exited, [](uv_async_t* a) {
    auto* s = static_cast<Supervisor*>(a->data);
    std::lock_guard<std::mutex> lock(s->exit_mutex);
    if (s->running == 0 && !s->worker_exited_closed) {
      s->worker_exited_closed = true;
      closeSupervisor(s);
    }
  });
  s.worker_exited.data = &s;

  s.running = static_cast<int>(s.workers.size());
  for (auto& w : s.workers) {
    // Runs on the worker's thread, after its loop ended.
    w->start([&s] {
      std::lock_guard<std::mutex> lock(s.exit_mutex);
      --s.running;
      uv_async_send(&s.worker_exited);
    });
  }

  grpcscope::HostPort shown = config.listen;
  shown.port = port;
  std::printf("grpcscope listening on %s (%s) -> upstream %s (%s), admin %s\n", shown.toString().c_str(),
              config.tls.enabled() ? "tls" : "h2c", config.upstream.toString().c_str(),
              config.upstream_tls.enabled ? "tls" : "h2c", admin_shown.toString().c_str());
  std::fflush(stdout);
  spdlog::info("grpcscope {} started: {} worker(s), listening on {}, upstream {}", grpcscope::versionString(),
               config.workers, shown.toString(), config.upstream.toString());

  uv_run(s.loop, UV_RUN_DEFAULT);
  admin.stop();
  for (auto& w : s.workers) w->join();
  s.workers.clear();
  uv_loop_close(s.loop);
  spdlog::info("grpcscope stopped");
  return 0;
}
