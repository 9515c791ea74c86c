// The real grpcscope binary as a child process, for integration tests.
//
//   ProxyProcess proxy;
//   ASSERT_TRUE(proxy.start({.upstream = server.address()}, &error)) << error;
//   ... connect to proxy.address() ...
//   EXPECT_EQ(proxy.stop(SIGTERM), 0);
//
// It runs `grpcscope --listen 127.0.0.1:0 --upstream U --admin 127.0.0.1:0
// --log-level debug EXTRA...` and parses the bound address from the line the
// proxy prints once on stdout:
//   grpcscope listening on 127.0.0.1:41234 (h2c) -> upstream 127.0.0.1:50051 (h2c), admin 127.0.0.1:9901
// stdout and stderr go to files (logText(), logTail()) so a failing test can
// show what the proxy said.
#pragma once

#include <signal.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/process.h"

namespace grpcscope::testsupport {

struct ProxyOptions {
  std::string upstream;                 // HOST:PORT
  std::vector<std::string> extra_args;  // appended after the defaults
  std::vector<std::string> env;         // "NAME=value"
  std::string log_level = "debug";
  std::chrono::milliseconds start_timeout = 30s;
};

class ProxyProcess {
 public:
  // $GRPCSCOPE_BINARY when set, else the build's grpcscope target.
  static std::string binaryPath();

  ProxyProcess() = default;
  ~ProxyProcess();
  ProxyProcess(const ProxyProcess&) = delete;
  ProxyProcess& operator=(const ProxyProcess&) = delete;

  // Starts the proxy and waits for its listening line. False (with `error`
  // naming the cause and the log tail) when it exits or stays silent.
  bool start(const ProxyOptions& options, std::string* error);

  const std::string& address() const { return address_; }  // "127.0.0.1:PORT"
  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  const std::string& listeningLine() const { return listening_line_; }
  pid_t pid() const { return child_ ? child_->pid() : -1; }
  bool running() { return child_ && child_->running(); }

  // Sends `sig` and waits up to `timeout` for the exit; returns the exit
  // status (128 + signal when killed by one), or ChildProcess::kTimedOut
  // (then the proxy is killed with SIGKILL).
  int stop(int sig = SIGTERM, std::chrono::milliseconds timeout = 60s);
  // Waits for an exit that something else caused; kTimedOut if still running.
  int waitExit(std::chrono::milliseconds timeout);

  long rssKiB() const;
  double cpuSeconds() const;

  std::string logText() const;  // stdout then stderr
  std::string logTail(size_t lines = 60) const;
  // Case-insensitive: true when one log line contains every one of `needles`.
  bool logHasLineWith(const std::vector<std::string>& needles) const;
  // The first line of an AddressSanitizer/LeakSanitizer/UBSan report in the
  // log, or "" when there is none.
  std::string sanitizerReport() const;
  // True once the proxy exited although no one asked it to (stop/waitExit).
  bool exitedUnexpectedly();
  std::optional<int> exitStatus() const { return child_ ? child_->exitStatus() : std::nullopt; }

 private:
  std::unique_ptr<ChildProcess> child_;
  std::string address_;
  std::string host_;
  uint16_t port_ = 0;
  std::string listening_line_;
  bool exit_expected_ = false;
};

}  // namespace grpcscope::testsupport
