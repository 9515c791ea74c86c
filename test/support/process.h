// Child processes for the integration tests (the grpcscope binary, the
// standalone echo server, h2load, python) and waiting on conditions with
// deadlines: tests never sleep for a fixed time to let something happen.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace grpcscope::testsupport {

using namespace std::chrono_literals;

// Polls `predicate` every `interval` until it holds or `timeout` passed.
// Returns the predicate's last value.
bool waitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval = 10ms);

// A fresh directory under $TMPDIR (or /tmp) for a test's files.
std::string makeTempDir(const std::string& prefix);
std::string readFile(const std::string& path);
bool writeFile(const std::string& path, const std::string& data);
// The last `lines` lines of `text`.
std::string tailLines(const std::string& text, size_t lines);

struct SpawnOptions {
  std::vector<std::string> env;  // "NAME=value" entries added to (or replacing) the environment
  std::string stdout_path;       // empty: a file in a fresh temp dir
  std::string stderr_path;
};

// A child with stdin from /dev/null and stdout/stderr going to files, so it
// never blocks on a pipe nobody reads. The child is killed (SIGKILL) when the
// object is destroyed while it still runs, and by the kernel when the
// spawning thread dies (PR_SET_PDEATHSIG), so a crashed test leaves no
// proxy behind.
class ChildProcess {
 public:
  // Exit status convention: the exit code, or 128 + the signal number.
  static constexpr int kTimedOut = -1;

  static std::unique_ptr<ChildProcess> spawn(const std::vector<std::string>& argv, const SpawnOptions& options,
                                             std::string* error);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits up to `timeout` for the exit; returns the status or kTimedOut.
  int wait(std::chrono::milliseconds timeout);
  std::optional<int> exitStatus() const { return status_; }

  const std::string& stdoutPath() const { return stdout_path_; }
  const std::string& stderrPath() const { return stderr_path_; }
  std::string stdoutText() const { return readFile(stdout_path_); }
  std::string stderrText() const { return readFile(stderr_path_); }

 private:
  ChildProcess() = default;
  bool reap(int flags);

  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string stdout_path_;
  std::string stderr_path_;
};

struct RunResult {
  int status = ChildProcess::kTimedOut;  // exit code, 128 + signal, or kTimedOut (then it was killed)
  std::string out;
  std::string err;
};

// Runs argv to completion (killing it after `timeout`) and captures its output.
RunResult runProcess(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                     const std::vector<std::string>& env = {});

// VmRSS of a process in KiB (0 when it is gone).
long rssKiB(pid_t pid);
// User + system CPU seconds of a process (0 when it is gone).
double cpuSeconds(pid_t pid);

}  // namespace grpcscope::testsupport
