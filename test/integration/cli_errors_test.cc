// Bad flags or config: the binary exits 2 with exactly one line on stderr
// naming the problem (docs/configuration.md).
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "proxy_fixture.h"

namespace grpcscope::testsupport {
namespace {

struct BadCase {
  const char* name;
  std::vector<std::string> args;
  const char* config;       // YAML written to a temp file and passed with --config, or nullptr
  const char* must_mention;  // a word the one line must contain (case-insensitive), or nullptr
};

// gtest prints parameters in test names (ctest -N); the name is enough.
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class CliErrorsTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(CliErrorsTest, ExitsTwoWithOneLine) {
  SKIP_IF_DIRECT("tests the binary");
  const BadCase& c = GetParam();
  std::vector<std::string> argv = {ProxyProcess::binaryPath()};
  argv.insert(argv.end(), c.args.begin(), c.args.end());
  if (c.config != nullptr) {
    std::string dir = makeTempDir("grpcscope-cli");
    ASSERT_TRUE(writeFile(dir + "/config.yaml", c.config));
    argv.push_back("--config");
    argv.push_back(dir + "/config.yaml");
  }
  RunResult r = runProcess(argv, 20s);
  std::string cmd;
  for (auto& a : argv) cmd += " " + a;
  EXPECT_EQ(r.status, 2) << cmd << "\nstderr: " << r.err;
  std::string err = r.err;
  ASSERT_FALSE(err.empty()) << cmd;
  EXPECT_EQ(err.back(), '\n') << "stderr: " << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << cmd << "\nstderr:\n" << err;
  if (c.must_mention != nullptr) {
    EXPECT_NE(lower(err).find(lower(c.must_mention)), std::string::npos) << "stderr: " << err;
  }
  std::cout << c.name << ": " << err;
}

const BadCase kCases[] = {
    {"NoArguments", {}, nullptr, nullptr},
    {"MissingUpstream", {"--listen", "127.0.0.1:0"}, nullptr, "upstream"},
    {"MissingListen", {"--upstream", "127.0.0.1:1"}, nullptr, "listen"},
    {"UnknownFlag", {"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--bogus"}, nullptr, "bogus"},
    {"ListenNotAnAddress", {"--listen", "nonsense", "--upstream", "127.0.0.1:1"}, nullptr, "listen"},
    {"ListenPortOutOfRange", {"--listen", "127.0.0.1:99999", "--upstream", "127.0.0.1:1"}, nullptr, "listen"},
    {"UnknownLogLevel", {"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--log-level", "loud"}, nullptr,
     "log"},
    {"BadDuration",
     {"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--drain-timeout", "banana"},
     nullptr,
     "drain"},
    {"ZeroWorkers", {"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--workers", "0"}, nullptr, "workers"},
    {"MissingTlsCertFile",
     {"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--tls-cert", "/nonexistent/cert.pem", "--tls-key",
      "/nonexistent/key.pem"},
     nullptr,
     nullptr},
    {"MissingConfigFile", {"--config", "/nonexistent/grpcscope.yaml"}, nullptr, "config"},
    {"ConfigUnknownKey", {}, "listen: 127.0.0.1:0\nupstream: 127.0.0.1:1\nno_such_key: 1\n", "no_such_key"},
    {"ConfigWrongType", {}, "listen: 127.0.0.1:0\nupstream: 127.0.0.1:1\nworkers: many\n", "workers"},
    {"ConfigNotYaml", {}, "listen: [127.0.0.1:0\nupstream: {\n", nullptr},
};

INSTANTIATE_TEST_SUITE_P(BadFlags, CliErrorsTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<BadCase>& info) { return info.param.name; });

TEST(CliTest, VersionExitsZero) {
  SKIP_IF_DIRECT("tests the binary");
  RunResult r = runProcess({ProxyProcess::binaryPath(), "--version"}, 20s);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("grpcscope"), std::string::npos) << r.out;
}

TEST(CliTest, ListenPortInUseFailsWithOneLine) {
  SKIP_IF_DIRECT("tests the binary");
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string busy = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  RunResult r = runProcess(
      {ProxyProcess::binaryPath(), "--listen", busy, "--upstream", "127.0.0.1:1", "--admin", "127.0.0.1:0"}, 20s);
  close(fd);
  EXPECT_NE(r.status, 0) << "started on a port in use";
  EXPECT_NE(r.status, ChildProcess::kTimedOut) << "kept running on a port in use";
  EXPECT_FALSE(r.err.empty());
  std::cout << "port in use: status " << r.status << ", stderr: " << r.err;
}

}  // namespace
}  // namespace grpcscope::testsupport
