// grpcscope-loadgen: closed-loop gRPC load against the echo service.
//
//   grpcscope-loadgen --target HOST:PORT [--scenario unary|server-stream|bidi-pingpong]
//     [--connections N] [--concurrency N] [--threads N] [--request-size B] [--response-size B]
//     [--stream-messages N] [--duration SECONDS] [--warmup SECONDS] [--rate RPS] [--json]
//     [--tls-ca FILE [--tls-server-name NAME] [--tls-resume]] [--connection-per-call]
//
// Operations: unary and server-stream count calls (a server-stream call
// carries --stream-messages responses), bidi-pingpong counts round trips on
// long-lived streams (one stream per in-flight slot). --duration 0 runs until
// SIGINT/SIGTERM. At the end it prints ops/s, latency percentiles (µs, of
// successful operations), payload MB/s (both directions) and errors by
// status; with --json, one JSON object on one line of stdout.
//
// --tls-ca FILE speaks TLS (grpc::SslCredentials, the server certificate
// verified against FILE); --tls-server-name NAME checks the certificate for
// NAME instead of the target's host (and sends it as SNI).
// --connection-per-call opens a new channel, on its own TCP connection, for
// every call (unary and server-stream only) and drops it after the call: the
// latency then includes connect and handshake, and ops/s is the rate of new
// connections (and of TLS handshakes). --tls-resume shares one client TLS
// session cache between all channels, so new connections resume a session;
// without it every handshake is a full one. With TLS and
// --connection-per-call the summary counts the handshakes that resumed
// (from each call's auth context, property ssl_session_reused).
// Exit status: 0 when the run completed (errors are reported, not fatal),
// 1 when the target cannot be reached, 2 on bad flags.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

#include "support/loadgen.h"

namespace {

using grpcscope::testsupport::LoadOptions;
using grpcscope::testsupport::LoadResult;
using grpcscope::testsupport::Scenario;

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "grpcscope-loadgen: " << problem
            << " (usage: --target HOST:PORT [--scenario unary|server-stream|bidi-pingpong] [--connections N]"
               " [--concurrency N] [--threads N] [--request-size B] [--response-size B] [--stream-messages N]"
               " [--duration S] [--warmup S] [--rate RPS] [--json] [--tls-ca FILE [--tls-server-name NAME]"
               " [--tls-resume]] [--connection-per-call])\n";
  std::exit(2);
}

double parseNumber(std::string_view flag, const std::string& value, double min) {
  char* end = nullptr;
  double n = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || n < min) usage(std::string(flag) + ": invalid value " + value);
  return n;
}

std::string readFile(std::string_view flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) usage(std::string(flag) + ": cannot read " + path);
  return text.str();
}

}  // namespace

int main(int argc, char** argv) {
  LoadOptions o;
  bool name_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--target") {
      o.target = value();
    } else if (arg == "--scenario") {
      std::string v = value();
      if (v == "unary") o.scenario = Scenario::kUnary;
      else if (v == "server-stream") o.scenario = Scenario::kServerStream;
      else if (v == "bidi-pingpong") o.scenario = Scenario::kBidiPingPong;
      else usage("--scenario: unknown scenario " + v);
    } else if (arg == "--connections") {
      o.connections = static_cast<int>(parseNumber(arg, value(), 1));
    } else if (arg == "--concurrency") {
      o.concurrency = static_cast<int>(parseNumber(arg, value(), 1));
    } else if (arg == "--threads") {
      o.threads = static_cast<int>(parseNumber(arg, value(), 0));
    } else if (arg == "--request-size") {
      o.request_size = static_cast<int>(parseNumber(arg, value(), 0));
    } else if (arg == "--response-size") {
      o.response_size = static_cast<int>(parseNumber(arg, value(), 0));
    } else if (arg == "--stream-messages") {
      o.stream_messages = static_cast<int>(parseNumber(arg, value(), 1));
    } else if (arg == "--duration") {
      o.duration_s = parseNumber(arg, value(), 0);
    } else if (arg == "--warmup") {
      o.warmup_s = parseNumber(arg, value(), 0);
    } else if (arg == "--rate") {
      o.rate = parseNumber(arg, value(), 0);
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "--tls-ca") {
      o.tls_ca_pem = readFile(arg, value());
    } else if (arg == "--tls-server-name") {
      o.tls_server_name = value();
      name_given = true;
    } else if (arg == "--tls-resume") {
      o.tls_resume = true;
    } else if (arg == "--connection-per-call") {
      o.connection_per_call = true;
    } else if (arg == "--help" || arg == "-h") {
      usage("help");
    } else {
      usage("unknown flag " + std::string(arg));
    }
  }
  if (o.target.empty()) usage("--target is required");
  if ((name_given || o.tls_resume) && o.tls_ca_pem.empty()) usage("--tls-server-name and --tls-resume need --tls-ca");
  if (o.connection_per_call && o.scenario == Scenario::kBidiPingPong) {
    usage("--connection-per-call works with unary and server-stream only");
  }

  // Taken with sigwait/sigtimedwait by runLoad; block before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  LoadResult r;
  std::string error;
  if (!grpcscope::testsupport::runLoad(o, &r, &error)) {
    std::cerr << "grpcscope-loadgen: " << error << "\n";
    return 1;
  }
  double secs = r.seconds > 0 ? r.seconds : 1e-9;
  double rps = static_cast<double>(r.operations) / secs;
  double mbps = static_cast<double>(r.bytes) / 1e6 / secs;
  uint64_t errors = r.operations - r.ok;
  if (o.json) {
    std::string errs;
    for (size_t i = 1; i < r.errors.size(); ++i) {
      if (r.errors[i] == 0) continue;
      if (!errs.empty()) errs += ",";
      errs += "\"" + std::string(grpcscope::testsupport::statusCodeName(static_cast<int>(i))) +
              "\":" + std::to_string(r.errors[i]);
    }
    std::printf(
        "{\"scenario\":\"%s\",\"target\":\"%s\",\"connections\":%d,\"concurrency\":%d,\"request_size\":%d,"
        "\"response_size\":%d,\"rate\":%.1f,\"seconds\":%.3f,\"operations\":%llu,\"ok\":%llu,\"errors\":%llu,"
        "\"rps\":%.1f,\"messages\":%llu,\"messages_per_sec\":%.1f,\"mb_per_s\":%.3f,"
        "\"latency_us\":{\"p50\":%.0f,\"p90\":%.0f,\"p99\":%.0f,\"p999\":%.0f,\"max\":%.0f},"
        "\"errors_by_status\":{%s},\"tls\":%s,\"tls_resume\":%s,\"connection_per_call\":%s,"
        "\"tls_handshakes\":%llu,\"tls_resumed\":%llu}\n",
        grpcscope::testsupport::scenarioName(o.scenario), o.target.c_str(), o.connections, o.concurrency,
        o.request_size, o.response_size, o.rate, r.seconds, static_cast<unsigned long long>(r.operations),
        static_cast<unsigned long long>(r.ok), static_cast<unsigned long long>(errors), rps,
        static_cast<unsigned long long>(r.messages), static_cast<double>(r.messages) / secs, mbps,
        r.percentileUs(0.50), r.percentileUs(0.90), r.percentileUs(0.99), r.percentileUs(0.999),
        r.latencies_us.empty() ? 0.0 : static_cast<double>(r.latencies_us.back()), errs.c_str(),
        o.tls_ca_pem.empty() ? "false" : "true", o.tls_resume ? "true" : "false",
        o.connection_per_call ? "true" : "false", static_cast<unsigned long long>(r.tls_handshakes),
        static_cast<unsigned long long>(r.tls_resumed));
  } else {
    std::string conns = o.connection_per_call ? "a new connection per call" : std::to_string(o.connections) + " connections";
    std::printf("scenario %s, target %s%s, %s, %d in flight, %.1f s\n",
                grpcscope::testsupport::scenarioName(o.scenario), o.target.c_str(), o.tls_ca_pem.empty() ? "" : " (TLS)",
                conns.c_str(), o.concurrency, r.seconds);
    std::printf("operations %llu (ok %llu, errors %llu), %.1f ops/s, %.3f MB/s\n",
                static_cast<unsigned long long>(r.operations), static_cast<unsigned long long>(r.ok),
                static_cast<unsigned long long>(errors), rps, mbps);
    std::printf("latency us: p50 %.0f  p90 %.0f  p99 %.0f  p99.9 %.0f  max %.0f\n", r.percentileUs(0.50),
                r.percentileUs(0.90), r.percentileUs(0.99), r.percentileUs(0.999),
                r.latencies_us.empty() ? 0.0 : static_cast<double>(r.latencies_us.back()));
    if (r.tls_handshakes > 0) {
      std::printf("TLS handshakes (a new connection per call): %llu, resumed %llu (%.1f %%)\n",
                  static_cast<unsigned long long>(r.tls_handshakes), static_cast<unsigned long long>(r.tls_resumed),
                  100.0 * static_cast<double>(r.tls_resumed) / static_cast<double>(r.tls_handshakes));
    }
    for (size_t i = 1; i < r.errors.size(); ++i) {
      if (r.errors[i] != 0) {
        std::printf("errors %s: %llu\n", grpcscope::testsupport::statusCodeName(static_cast<int>(i)),
                    static_cast<unsigned long long>(r.errors[i]));
      }
    }
  }
  std::fflush(stdout);
  return 0;
}
