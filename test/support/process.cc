#include "support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

extern char** environ;

namespace grpcscope::testsupport {

bool waitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (predicate()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return predicate();
    std::this_thread::sleep_for(interval);
  }
}

std::string makeTempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) return "/tmp";
  return buf.data();
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool writeFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  return static_cast<bool>(out);
}

std::string tailLines(const std::string& text, size_t lines) {
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (size_t n = 0; n < lines && pos > 0; ++n) {
    size_t nl = text.rfind('\n', pos - 1);
    if (nl == std::string::npos) return text;
    pos = nl;
  }
  return pos == 0 ? text : text.substr(pos + 1);
}

std::unique_ptr<ChildProcess> ChildProcess::spawn(const std::vector<std::string>& argv,
                                                  const SpawnOptions& options, std::string* error) {
  if (argv.empty()) {
    *error = "empty argv";
    return nullptr;
  }
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  std::string dir;
  auto pathFor = [&](const std::string& given, const char* name) {
    if (!given.empty()) return given;
    if (dir.empty()) dir = makeTempDir("grpcscope-child");
    return dir + "/" + name;
  };
  child->stdout_path_ = pathFor(options.stdout_path, "stdout.log");
  child->stderr_path_ = pathFor(options.stderr_path, "stderr.log");

  // Everything the child needs is prepared before fork(): between fork and
  // exec only async-signal-safe calls are allowed (the parent runs gRPC threads).
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    env[kv.substr(0, kv.find('='))] = kv;
  }
  for (const auto& kv : options.env) env[kv.substr(0, kv.find('='))] = kv;
  std::vector<std::string> env_strings;
  for (auto& [k, kv] : env) env_strings.push_back(kv);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argvp;
  for (auto& s : args) argvp.push_back(s.data());
  argvp.push_back(nullptr);

  int out_fd = open(child->stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err_fd = open(child->stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out_fd < 0 || err_fd < 0 || null_fd < 0) {
    *error = "cannot open output files: " + std::string(std::strerror(errno));
    for (int fd : {out_fd, err_fd, null_fd}) {
      if (fd >= 0) close(fd);
    }
    return nullptr;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(null_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    // Restore what a shell would give the child: no blocked signals, SIGPIPE
    // at its default (gRPC in the test process ignores it).
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, nullptr);
    execve(argvp[0], argvp.data(), envp.data());
    const char msg[] = "exec failed\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(127);
  }
  int saved = errno;
  close(out_fd);
  close(err_fd);
  close(null_fd);
  if (pid < 0) {
    *error = "fork: " + std::string(std::strerror(saved));
    return nullptr;
  }
  child->pid_ = pid;
  return child;
}

ChildProcess::~ChildProcess() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    reap(0);
  }
}

bool ChildProcess::reap(int flags) {
  if (status_ || pid_ <= 0) return true;
  int st = 0;
  pid_t r = waitpid(pid_, &st, flags);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return true;
  }
  return r < 0;  // not our child any more (should not happen): treat as gone
}

bool ChildProcess::running() { return !reap(WNOHANG); }

void ChildProcess::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

int ChildProcess::wait(std::chrono::milliseconds timeout) {
  waitFor([&] { return !running(); }, timeout, 5ms);
  return status_ ? *status_ : kTimedOut;
}

RunResult runProcess(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                     const std::vector<std::string>& env) {
  RunResult result;
  std::string error;
  SpawnOptions options;
  options.env = env;
  auto child = ChildProcess::spawn(argv, options, &error);
  if (!child) {
    result.err = error;
    return result;
  }
  result.status = child->wait(timeout);
  if (result.status == ChildProcess::kTimedOut) {
    child->signal(SIGKILL);
    child->wait(5s);
  }
  result.out = child->stdoutText();
  result.err = child->stderrText();
  return result;
}

long rssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

double cpuSeconds(pid_t pid) {
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  // Fields after the command name (which may hold spaces) start at the last ')'.
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // rest starts at field 3 (state); utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace grpcscope::testsupport
