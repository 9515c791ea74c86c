#include "support/proxy_process.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sstream>

namespace grpcscope::testsupport {

namespace {

constexpr std::string_view kListeningPrefix = "grpcscope listening on ";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

std::string ProxyProcess::binaryPath() {
  if (const char* env = std::getenv("GRPCSCOPE_BINARY"); env && *env) return env;
#ifdef GRPCSCOPE_BINARY
  return GRPCSCOPE_BINARY;
#else
  return "grpcscope";
#endif
}

ProxyProcess::~ProxyProcess() {
  if (running()) stop(SIGKILL, 10s);
}

bool ProxyProcess::start(const ProxyOptions& options, std::string* error) {
  std::vector<std::string> argv = {binaryPath(),    "--listen",    "127.0.0.1:0",
                                   "--upstream",    options.upstream,
                                   // Port 0: tests run in parallel; the default 9901 would collide.
                                   "--admin",       "127.0.0.1:0", "--log-level", options.log_level};
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  SpawnOptions spawn;
  spawn.env = options.env;
  child_ = ChildProcess::spawn(argv, spawn, error);
  if (!child_) return false;

  bool found = waitFor(
      [&] {
        std::istringstream out(child_->stdoutText());
        std::string line;
        while (std::getline(out, line)) {
          if (line.rfind(kListeningPrefix, 0) != 0) continue;
          listening_line_ = line;
          return true;
        }
        return !child_->running();
      },
      options.start_timeout, 5ms);
  if (!found || listening_line_.empty()) {
    std::ostringstream why;
    if (!child_->running()) {
      why << "grpcscope exited with status " << *child_->exitStatus() << " before printing its listening line";
    } else {
      why << "grpcscope printed no '" << kListeningPrefix << "' line on stdout within "
          << options.start_timeout.count() << " ms";
    }
    why << "\ncommand:";
    for (auto& a : argv) why << ' ' << a;
    why << "\n--- log tail ---\n" << logTail(40);
    *error = why.str();
    return false;
  }
  // "grpcscope listening on HOST:PORT (h2c) -> ..."
  std::string rest = listening_line_.substr(kListeningPrefix.size());
  std::string addr = rest.substr(0, rest.find(' '));
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos) {
    *error = "cannot parse the listening address from: " + listening_line_;
    return false;
  }
  host_ = addr.substr(0, colon);
  if (host_.size() > 2 && host_.front() == '[') host_ = host_.substr(1, host_.size() - 2);
  port_ = static_cast<uint16_t>(std::strtoul(addr.c_str() + colon + 1, nullptr, 10));
  address_ = addr;
  if (port_ == 0) {
    *error = "listening line names port 0: " + listening_line_;
    return false;
  }
  return true;
}

int ProxyProcess::stop(int sig, std::chrono::milliseconds timeout) {
  if (!child_) return ChildProcess::kTimedOut;
  exit_expected_ = true;
  if (child_->exitStatus()) return *child_->exitStatus();
  child_->signal(sig);
  int status = child_->wait(timeout);
  if (status == ChildProcess::kTimedOut) {
    child_->signal(SIGKILL);
    child_->wait(10s);
  }
  return status;
}

int ProxyProcess::waitExit(std::chrono::milliseconds timeout) {
  exit_expected_ = true;
  return child_ ? child_->wait(timeout) : ChildProcess::kTimedOut;
}

long ProxyProcess::rssKiB() const { return child_ ? testsupport::rssKiB(child_->pid()) : 0; }
double ProxyProcess::cpuSeconds() const { return child_ ? testsupport::cpuSeconds(child_->pid()) : 0; }

std::string ProxyProcess::logText() const {
  if (!child_) return {};
  return child_->stdoutText() + child_->stderrText();
}

std::string ProxyProcess::logTail(size_t lines) const {
  if (!child_) return {};
  return "[stdout]\n" + tailLines(child_->stdoutText(), lines / 3) + "\n[stderr]\n" +
         tailLines(child_->stderrText(), lines);
}

std::string ProxyProcess::sanitizerReport() const {
  std::istringstream in(logText());
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("ERROR: AddressSanitizer") != std::string::npos ||
        line.find("ERROR: LeakSanitizer") != std::string::npos || line.find("runtime error:") != std::string::npos) {
      return line;
    }
  }
  return {};
}

bool ProxyProcess::exitedUnexpectedly() { return child_ && !exit_expected_ && !child_->running(); }

bool ProxyProcess::logHasLineWith(const std::vector<std::string>& needles) const {
  std::istringstream in(lower(logText()));
  std::string line;
  while (std::getline(in, line)) {
    bool all = std::all_of(needles.begin(), needles.end(),
                           [&](const std::string& n) { return line.find(lower(n)) != std::string::npos; });
    if (all) return true;
  }
  return false;
}

}  // namespace grpcscope::testsupport
