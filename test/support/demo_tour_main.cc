// grpcscope-demo-tour: the demo's tour of real problems (support/demo_tour.h),
// one step after another, against the echo service through grpcscope.
//
//   grpcscope-demo-tour --target HOST:PORT [--step SECONDS] [--pause SECONDS]
//     [--rounds N] [--steps NAME,NAME,...] [--server-stream-limit N] [--list]
//
// Each step runs --step seconds (15), then the tour waits --pause seconds (5)
// before the next; --rounds 0 (the default) repeats the tour until SIGINT or
// SIGTERM. --steps picks steps and their order by name (--list shows them).
// --server-stream-limit is the server's SETTINGS_MAX_CONCURRENT_STREAMS (100,
// as scripts/demo.sh starts grpcscope-echo-server): the stream-limit step
// keeps 30 more streams than that in flight.
//
// It prints one line as each step starts and one as it ends, e.g.
//   tour: a client reconnecting for every call (connection.churn) for 15 s
//   tour:   done: 300 calls, each on a connection of its own. It resolves about 15 s later (10 s window).
// with the seconds since the tour started in front ("tour +20s: ..."), and
// flushes each. Exit status: 0 when stopped by a signal or after --rounds,
// 2 on bad flags.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include "support/demo_tour.h"

namespace {

using grpcscope::testsupport::StepRun;
using grpcscope::testsupport::StopSignal;
using grpcscope::testsupport::TourOptions;
using grpcscope::testsupport::TourStep;
using grpcscope::testsupport::tourSteps;
using Clock = std::chrono::steady_clock;

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "grpcscope-demo-tour: " << problem
            << " (usage: --target HOST:PORT [--step SECONDS] [--pause SECONDS] [--rounds N]"
               " [--steps NAME,NAME,...] [--server-stream-limit N] [--list])\n";
  std::exit(2);
}

double parseNumber(std::string_view flag, const std::string& value, double min) {
  char* end = nullptr;
  double n = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || n < min) usage(std::string(flag) + ": invalid value " + value);
  return n;
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

Clock::time_point started;

void say(const std::string& line) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count();
  std::printf("tour +%llds: %s\n", static_cast<long long>(s), line.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  TourOptions options;
  double step_s = 15, pause_s = 5;
  long rounds = 0;
  std::vector<const TourStep*> chosen;
  for (const TourStep& s : tourSteps()) chosen.push_back(&s);
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--target") {
      options.target = value();
    } else if (arg == "--step") {
      step_s = parseNumber(arg, value(), 1);
    } else if (arg == "--pause") {
      pause_s = parseNumber(arg, value(), 0);
    } else if (arg == "--rounds") {
      rounds = static_cast<long>(parseNumber(arg, value(), 0));
    } else if (arg == "--server-stream-limit") {
      options.server_stream_limit = static_cast<int>(parseNumber(arg, value(), 1));
    } else if (arg == "--steps") {
      chosen.clear();
      std::stringstream names(value());
      for (std::string name; std::getline(names, name, ',');) {
        const TourStep* found = nullptr;
        for (const TourStep& s : tourSteps()) found = s.name == name ? &s : found;
        if (!found) usage("--steps: unknown step " + name + " (see --list)");
        chosen.push_back(found);
      }
      if (chosen.empty()) usage("--steps: no step named");
    } else if (arg == "--list") {
      for (const TourStep& s : tourSteps()) {
        std::printf("%-13s %s (%s). %s\n", s.name.c_str(), s.what.c_str(), join(s.findings, ", ").c_str(),
                    s.resolves.c_str());
      }
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      usage("help");
    } else {
      usage("unknown flag " + std::string(arg));
    }
  }
  if (options.target.empty()) usage("--target is required");

  // SIGINT/SIGTERM end the tour: taken by a thread of our own (sigwait), so
  // the steps' gRPC threads never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A closed stdout (the demo's tee gone at Ctrl-C) must not kill the tour
  // before it stopped its clients.
  signal(SIGPIPE, SIG_IGN);
  StopSignal stop;
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    stop.stop();
  });
  waiter.detach();

  started = Clock::now();
  auto seconds = [](double s) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); };
  for (long round = 1; (rounds == 0 || round <= rounds) && !stop.stopped(); ++round) {
    if (round > 1) say("round " + std::to_string(round));
    for (const TourStep* step : chosen) {
      if (stop.stopped()) break;
      char len[32];
      std::snprintf(len, sizeof len, "%g s", step_s);
      say(step->what + " (" + join(step->findings, ", ") + ") for " + len);
      StepRun run(options, stop, Clock::now() + seconds(step_s));
      std::string summary = step->run(run);
      say("  done: " + summary + ". " + step->resolves);
      stop.waitUntil(Clock::now() + seconds(pause_s));
    }
  }
  say(stop.stopped() ? "stopped" : "finished");
  return 0;
}
