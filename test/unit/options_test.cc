// parseOptions(): flags, the YAML file, their merge, and every class of error
// (one line starting "grpcscope: ", exit code 2).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "app/options.h"

namespace grpcscope {
namespace {

namespace fs = std::filesystem;

struct Parsed {
  OptionsResult result;
  Config config;
};

Parsed parse(std::vector<std::string> args) {
  args.insert(args.begin(), "grpcscope");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  Parsed p;
  p.result = parseOptions(static_cast<int>(argv.size()), argv.data(), p.config);
  return p;
}

// A directory of its own per test, removed afterwards.
class OptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("grpcscope_options_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& contents) {
    const fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << contents;
    return path.string();
  }

  // Expects a failure with exit code 2 and a single line containing `needle`.
  static void expectError(const Parsed& p, const std::string& needle) {
    EXPECT_FALSE(p.result.ok);
    EXPECT_EQ(p.result.exit_code, 2);
    EXPECT_EQ(p.result.message.rfind("grpcscope: ", 0), 0u) << p.result.message;
    EXPECT_EQ(p.result.message.find('\n'), std::string::npos) << p.result.message;
    EXPECT_NE(p.result.message.find(needle), std::string::npos)
        << "message: " << p.result.message << "\nexpected to contain: " << needle;
  }

  fs::path dir_;
};

const std::vector<std::string> kRequired = {"--listen", "127.0.0.1:8080", "--upstream", "server:50051"};

std::vector<std::string> withRequired(std::vector<std::string> extra) {
  std::vector<std::string> args = kRequired;
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// ---------------------------------------------------------------- good flags

TEST_F(OptionsTest, MinimalFlagsKeepDefaults) {
  const Parsed p = parse(kRequired);
  ASSERT_TRUE(p.result.ok) << p.result.message;
  EXPECT_EQ(p.result.exit_code, 0);
  EXPECT_EQ(p.config.listen.host, "127.0.0.1");
  EXPECT_EQ(p.config.listen.port, 8080);
  EXPECT_EQ(p.config.upstream.host, "server");
  EXPECT_EQ(p.config.upstream.port, 50051);
  const Config defaults;
  EXPECT_EQ(p.config.admin.toString(), "127.0.0.1:9901");
  EXPECT_EQ(p.config.workers, defaults.workers);
  EXPECT_EQ(p.config.log_level, LogLevel::kInfo);
  EXPECT_FALSE(p.config.tls.enabled());
  EXPECT_FALSE(p.config.upstream_tls.enabled);
  EXPECT_EQ(p.config.timeouts.handshake_ms, defaults.timeouts.handshake_ms);
  EXPECT_EQ(p.config.timeouts.drain_ms, defaults.timeouts.drain_ms);
  EXPECT_EQ(p.config.backoff.initial_ms, defaults.backoff.initial_ms);
  EXPECT_EQ(p.config.limits.max_stream_window, defaults.limits.max_stream_window);
  EXPECT_EQ(p.config.limits.reset_rate, defaults.limits.reset_rate);
}

TEST_F(OptionsTest, EveryFlag) {
  const std::string cert = write("cert.pem", "x");
  const std::string key = write("key.pem", "x");
  const std::string ca = write("ca.pem", "x");
  const std::string up_ca = write("up-ca.pem", "x");
  const std::string up_cert = write("up-cert.pem", "x");
  const std::string up_key = write("up-key.pem", "x");
  const Parsed p = parse({"--listen", "[::1]:0",
                          "--upstream", "10.0.0.7:443",
                          "--admin", "0.0.0.0:9999",
                          "--workers", "4",
                          "--log-level", "debug",
                          "--tls-cert", cert, "--tls-key", key, "--tls-client-ca", ca,
                          "--upstream-tls", "--upstream-ca", up_ca, "--upstream-sni", "api.example.com",
                          "--upstream-cert", up_cert, "--upstream-key", up_key,
                          "--handshake-timeout", "3s", "--idle-timeout", "2m",
                          "--upstream-connect-timeout", "750ms", "--drain-timeout", "1h",
                          "--backoff-initial", "50", "--backoff-max", "30s",
                          "--backoff-multiplier", "2.5", "--backoff-jitter", "0",
                          "--max-stream-window", "1MiB", "--max-connection-window", "65535",
                          "--write-high-water", "256KiB", "--max-header-list-size", "8KiB",
                          "--max-concurrent-streams", "100", "--max-outstanding-pings", "4",
                          "--max-settings-entries", "12", "--max-outbound-ack", "77",
                          "--reset-burst", "200", "--reset-rate", "10"});
  ASSERT_TRUE(p.result.ok) << p.result.message;
  const Config& c = p.config;
  EXPECT_EQ(c.listen.host, "::1");
  EXPECT_EQ(c.listen.port, 0);
  EXPECT_EQ(c.upstream.toString(), "10.0.0.7:443");
  EXPECT_EQ(c.admin.toString(), "0.0.0.0:9999");
  EXPECT_EQ(c.workers, 4);
  EXPECT_EQ(c.log_level, LogLevel::kDebug);
  EXPECT_EQ(c.tls.cert_file, cert);
  EXPECT_EQ(c.tls.key_file, key);
  EXPECT_EQ(c.tls.client_ca_file, ca);
  EXPECT_TRUE(c.tls.enabled());
  EXPECT_TRUE(c.upstream_tls.enabled);
  EXPECT_EQ(c.upstream_tls.ca_file, up_ca);
  EXPECT_EQ(c.upstream_tls.sni, "api.example.com");
  EXPECT_EQ(c.upstream_tls.cert_file, up_cert);
  EXPECT_EQ(c.upstream_tls.key_file, up_key);
  EXPECT_EQ(c.timeouts.handshake_ms, 3000u);
  EXPECT_EQ(c.timeouts.idle_ms, 120'000u);
  EXPECT_EQ(c.timeouts.upstream_connect_ms, 750u);
  EXPECT_EQ(c.timeouts.drain_ms, 3'600'000u);
  EXPECT_EQ(c.backoff.initial_ms, 50u);
  EXPECT_EQ(c.backoff.max_ms, 30'000u);
  EXPECT_DOUBLE_EQ(c.backoff.multiplier, 2.5);
  EXPECT_DOUBLE_EQ(c.backoff.jitter, 0.0);
  EXPECT_EQ(c.limits.max_stream_window, 1u << 20);
  EXPECT_EQ(c.limits.max_connection_window, 65535u);
  EXPECT_EQ(c.limits.write_high_water, 256u << 10);
  EXPECT_EQ(c.limits.max_header_list_size, 8u << 10);
  EXPECT_EQ(c.limits.max_concurrent_streams, 100u);
  EXPECT_EQ(c.limits.max_outstanding_pings, 4u);
  EXPECT_EQ(c.limits.max_settings_entries, 12u);
  EXPECT_EQ(c.limits.max_outbound_ack, 77u);
  EXPECT_EQ(c.limits.reset_burst, 200u);
  EXPECT_EQ(c.limits.reset_rate, 10u);
}

TEST_F(OptionsTest, EqualsFormAndLastOccurrenceWins) {
  const Parsed p = parse({"--listen=:8080", "--upstream=a:1", "--upstream", "b:2", "--workers=2"});
  ASSERT_TRUE(p.result.ok) << p.result.message;
  EXPECT_EQ(p.config.listen.toString(), "0.0.0.0:8080");
  EXPECT_EQ(p.config.upstream.toString(), "b:2");
  EXPECT_EQ(p.config.workers, 2);
}

TEST_F(OptionsTest, UpstreamTlsFlagTakesExplicitFalse) {
  const Parsed p = parse(withRequired({"--upstream-tls=false"}));
  ASSERT_TRUE(p.result.ok) << p.result.message;
  EXPECT_FALSE(p.config.upstream_tls.enabled);
}

TEST_F(OptionsTest, HelpAndVersionExitZeroWithText) {
  const Parsed help = parse({"--help"});
  EXPECT_FALSE(help.result.ok);
  EXPECT_EQ(help.result.exit_code, 0);
  for (const char* flag : {"--listen", "--upstream", "--admin", "--config", "--workers", "--log-level",
                           "--tls-cert", "--upstream-tls", "--idle-timeout", "--backoff-jitter", "--reset-rate"}) {
    EXPECT_NE(help.result.message.find(flag), std::string::npos) << flag;
  }
  const Parsed short_help = parse({"-h"});
  EXPECT_EQ(short_help.result.exit_code, 0);
  EXPECT_EQ(short_help.result.message, help.result.message);

  const Parsed version = parse({"--version"});
  EXPECT_FALSE(version.result.ok);
  EXPECT_EQ(version.result.exit_code, 0);
  EXPECT_NE(version.result.message.find(std::string(versionString())), std::string::npos);
  // --help wins even when required flags are missing or others are wrong.
  EXPECT_EQ(parse({"--workers", "0", "--help"}).result.exit_code, 0);
}

// ---------------------------------------------------------------- value notations

TEST(ValueParsers, Durations) {
  const std::pair<const char*, uint32_t> good[] = {
      {"0", 0}, {"250", 250}, {"250ms", 250}, {"10s", 10'000}, {"2m", 120'000}, {"1h", 3'600'000},
      {"0s", 0}, {"4294967295", 4'294'967'295u}};
  for (const auto& [text, ms] : good) {
    uint32_t out = 1;
    std::string error;
    EXPECT_TRUE(parseDurationMs(text, out, &error)) << text << ": " << error;
    EXPECT_EQ(out, ms) << text;
  }
  for (const char* text : {"", "s", "10 s", "-1s", "1.5s", "10sec", "10S", "1d", "ms10", "2h ", "1194h",
                           "4294967296", "99999999999999999999999"}) {
    uint32_t out = 0;
    std::string error;
    EXPECT_FALSE(parseDurationMs(text, out, &error)) << text;
    EXPECT_FALSE(error.empty()) << text;
  }
}

TEST(ValueParsers, Sizes) {
  const std::pair<const char*, uint64_t> good[] = {{"0", 0},           {"65536", 65536},
                                                   {"64KiB", 65536},   {"16MiB", 16u << 20},
                                                   {"1GiB", 1u << 30}, {"512B", 512}};
  for (const auto& [text, bytes] : good) {
    uint64_t out = 1;
    std::string error;
    EXPECT_TRUE(parseSizeBytes(text, out, &error)) << text << ": " << error;
    EXPECT_EQ(out, bytes) << text;
  }
  for (const char* text : {"", "KiB", "64 KiB", "64kb", "64K", "1.5MiB", "-1", "16MB", "99999999999GiB"}) {
    uint64_t out = 0;
    std::string error;
    EXPECT_FALSE(parseSizeBytes(text, out, &error)) << text;
    EXPECT_FALSE(error.empty()) << text;
  }
}

TEST(ValueParsers, FormattersRoundTrip) {
  EXPECT_EQ(formatDurationMs(0), "0");
  EXPECT_EQ(formatDurationMs(250), "250ms");
  EXPECT_EQ(formatDurationMs(10'000), "10s");
  EXPECT_EQ(formatDurationMs(120'000), "2m");
  EXPECT_EQ(formatDurationMs(7'200'000), "2h");
  EXPECT_EQ(formatSizeBytes(16u << 20), "16MiB");
  EXPECT_EQ(formatSizeBytes(65535), "65535");
  EXPECT_EQ(formatSizeBytes(64u << 10), "64KiB");
  for (uint32_t ms : {0u, 1u, 999u, 1000u, 61'000u, 3'600'000u, 4'294'967'295u}) {
    uint32_t back = 0;
    ASSERT_TRUE(parseDurationMs(formatDurationMs(ms), back, nullptr));
    EXPECT_EQ(back, ms);
  }
  for (uint64_t bytes : {uint64_t{0}, uint64_t{1}, uint64_t{65535}, uint64_t{1} << 20, uint64_t{3} << 30}) {
    uint64_t back = 0;
    ASSERT_TRUE(parseSizeBytes(formatSizeBytes(bytes), back, nullptr));
    EXPECT_EQ(back, bytes);
  }
}

TEST(ValueParsers, HostPorts) {
  struct Case {
    const char* text;
    const char* host;
    uint16_t port;
  };
  const Case good[] = {{"127.0.0.1:8080", "127.0.0.1", 8080}, {"[::1]:8080", "::1", 8080},
                       {"name:8080", "name", 8080},           {":8080", "0.0.0.0", 8080},
                       {"my-svc.ns.svc:65535", "my-svc.ns.svc", 65535},
                       {"[fe80::1%eth0]:1", "fe80::1%eth0", 1}};
  for (const Case& c : good) {
    HostPort hp;
    std::string error;
    ASSERT_TRUE(parseHostPort(c.text, false, hp, &error)) << c.text << ": " << error;
    EXPECT_EQ(hp.host, c.host);
    EXPECT_EQ(hp.port, c.port);
  }
  for (const char* text : {"", "foo", "8080", "host:", "host:port", "host:65536", "host:-1", "::1:8080", "[::1]",
                           "[::1]8080", "[]:80", "[host]:80", "a b:80", "host:123456", "host:80x"}) {
    HostPort hp;
    std::string error;
    EXPECT_FALSE(parseHostPort(text, true, hp, &error)) << text;
    EXPECT_FALSE(error.empty()) << text;
  }
  HostPort hp;
  std::string error;
  EXPECT_FALSE(parseHostPort("host:0", false, hp, &error));
  EXPECT_NE(error.find("port 0"), std::string::npos) << error;
  EXPECT_TRUE(parseHostPort("host:0", true, hp, &error));
  EXPECT_EQ(hp.port, 0);
}

TEST(ValueParsers, HostPortToStringBracketsIpv6) {
  EXPECT_EQ((HostPort{"::1", 80}).toString(), "[::1]:80");
  EXPECT_EQ((HostPort{"10.1.2.3", 0}).toString(), "10.1.2.3:0");
  EXPECT_EQ((HostPort{"name", 443}).toString(), "name:443");
}

TEST(ValueParsers, LogLevels) {
  const std::pair<const char*, spdlog::level::level_enum> levels[] = {{"trace", spdlog::level::trace},
                                                                      {"debug", spdlog::level::debug},
                                                                      {"info", spdlog::level::info},
                                                                      {"warn", spdlog::level::warn},
                                                                      {"error", spdlog::level::err}};
  for (const auto& [name, spd] : levels) {
    LogLevel level = LogLevel::kInfo;
    ASSERT_TRUE(parseLogLevel(name, level, nullptr)) << name;
    EXPECT_EQ(toSpdlogLevel(level), spd);
    EXPECT_STREQ(logLevelName(level), name);
  }
  LogLevel level = LogLevel::kInfo;
  EXPECT_FALSE(parseLogLevel("warning", level, nullptr));
  EXPECT_FALSE(parseLogLevel("INFO", level, nullptr));
}

// ---------------------------------------------------------------- flag errors

TEST_F(OptionsTest, FlagErrorsAreOneLineExitTwo) {
  const std::string readable = write("present.pem", "x");
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {{"--upstream", "a:1"}, "--listen is required"},
      {{"--listen", ":1"}, "--upstream is required"},
      {{"--listen", ":1", "--upstream", "foo"}, "--upstream: expected HOST:PORT, got \"foo\""},
      {{"--listen", ":1", "--upstream", "a:0"}, "--upstream: port 0 is not allowed"},
      {{"--listen", ":99999", "--upstream", "a:1"}, "--listen: port 99999 is out of range"},
      {{"--listen", "::1:80", "--upstream", "a:1"}, "brackets"},
      {withRequired({"--admin", "nope"}), "--admin: expected HOST:PORT"},
      {withRequired({"--bogus"}), "unknown option or unexpected argument: --bogus"},
      {withRequired({"stray"}), "unexpected argument: stray"},
      {withRequired({"--workers"}), "--workers"},
      {withRequired({"--workers", "0"}), "--workers: \"0\" is out of range 1..64"},
      {withRequired({"--workers", "65"}), "--workers: \"65\" is out of range 1..64"},
      {withRequired({"--workers", "two"}), "--workers: expected a whole number"},
      {withRequired({"--log-level", "verbose"}), "--log-level: expected one of trace, debug, info, warn, error"},
      {withRequired({"--idle-timeout", "5x"}), "--idle-timeout: expected a duration"},
      {withRequired({"--handshake-timeout", "0"}), "--handshake-timeout: \"0\" is too short"},
      {withRequired({"--upstream-connect-timeout", "0s"}), "--upstream-connect-timeout: \"0s\" is too short"},
      {withRequired({"--max-stream-window", "1KiB"}), "--max-stream-window: \"1KiB\" is out of range"},
      {withRequired({"--max-connection-window", "2GiB"}), "--max-connection-window: \"2GiB\" is out of range"},
      {withRequired({"--write-high-water", "lots"}), "--write-high-water: expected a size"},
      {withRequired({"--max-header-list-size", "1"}), "--max-header-list-size"},
      {withRequired({"--max-concurrent-streams", "0"}), "--max-concurrent-streams"},
      {withRequired({"--max-outstanding-pings", "0"}), "--max-outstanding-pings"},
      {withRequired({"--max-settings-entries", "70000"}), "--max-settings-entries"},
      {withRequired({"--max-outbound-ack", "-1"}), "--max-outbound-ack"},
      {withRequired({"--reset-burst", "0"}), "--reset-burst"},
      {withRequired({"--reset-rate", "4294967296"}), "--reset-rate"},
      {withRequired({"--backoff-multiplier", "0.5"}), "--backoff-multiplier: \"0.5\" is out of range"},
      {withRequired({"--backoff-jitter", "nan"}), "--backoff-jitter: expected a number"},
      {withRequired({"--backoff-initial", "20s"}), "--backoff-max 10s (default) is less than --backoff-initial 20s"},
      {withRequired({"--tls-cert", readable}), "--tls-cert is given without --tls-key"},
      {withRequired({"--tls-key", readable}), "--tls-key is given without --tls-cert"},
      {withRequired({"--tls-client-ca", readable}), "--tls-client-ca is given without --tls-cert"},
      {withRequired({"--tls-cert", "/nonexistent/cert.pem", "--tls-key", readable}),
       "--tls-cert: cannot read \"/nonexistent/cert.pem\": No such file or directory"},
      {withRequired({"--tls-cert", readable, "--tls-key", dir_.string()}), "--tls-key: cannot read"},
      {withRequired({"--upstream-ca", readable}), "--upstream-ca is given without --upstream-tls"},
      {withRequired({"--upstream-tls", "--upstream-cert", readable}), "--upstream-cert is given without --upstream-key"},
      {withRequired({"--upstream-tls", "--upstream-ca", "/nonexistent"}), "--upstream-ca: cannot read"},
      {withRequired({"--upstream-tls", "--upstream-sni", "a b"}), "--upstream-sni: expected a host name"},
      {withRequired({"--config", (dir_ / "missing.yaml").string()}), "--config: cannot read"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.args));
    expectError(parse(c.args), c.needle);
  }
}

// ---------------------------------------------------------------- YAML

TEST_F(OptionsTest, YamlWithEveryKey) {
  write("certs/cert.pem", "x");
  write("certs/key.pem", "x");
  write("certs/ca.pem", "x");
  write("certs/up-ca.pem", "x");
  write("certs/up-cert.pem", "x");
  const std::string up_key = write("abs/up-key.pem", "x");
  const std::string file = write("grpcscope.yaml",
                                 "# every key\n"
                                 "listen: 0.0.0.0:8443\n"
                                 "upstream: server:50051\n"
                                 "admin: \"[::1]:9902\"\n"
                                 "workers: 2\n"
                                 "log_level: warn\n"
                                 "tls: {cert: certs/cert.pem, key: certs/key.pem, client_ca: certs/ca.pem}\n"
                                 "upstream_tls:\n"
                                 "  enabled: true\n"
                                 "  ca: certs/up-ca.pem\n"
                                 "  sni: backend.internal\n"
                                 "  cert: certs/up-cert.pem\n"
                                 "  key: " + up_key + "\n"
                                 "timeouts: {handshake: 2s, idle: 0, upstream_connect: 1500ms, drain: 1m}\n"
                                 "backoff: {initial: 20ms, max: 2s, multiplier: 2, jitter: 0.5}\n"
                                 "limits:\n"
                                 "  max_stream_window: 4MiB\n"
                                 "  max_connection_window: 8MiB\n"
                                 "  write_high_water: 64KiB\n"
                                 "  max_header_list_size: 16KiB\n"
                                 "  max_concurrent_streams: 250\n"
                                 "  max_outstanding_pings: 3\n"
                                 "  max_settings_entries: 10\n"
                                 "  max_outbound_ack: 500\n"
                                 "  reset_burst: 300\n"
                                 "  reset_rate: 20\n");
  const Parsed p = parse({"--config", file});
  ASSERT_TRUE(p.result.ok) << p.result.message;
  const Config& c = p.config;
  EXPECT_EQ(c.listen.toString(), "0.0.0.0:8443");
  EXPECT_EQ(c.upstream.toString(), "server:50051");
  EXPECT_EQ(c.admin.toString(), "[::1]:9902");
  EXPECT_EQ(c.workers, 2);
  EXPECT_EQ(c.log_level, LogLevel::kWarn);
  // Relative paths in the file are relative to the file's directory.
  EXPECT_EQ(c.tls.cert_file, (dir_ / "certs/cert.pem").string());
  EXPECT_EQ(c.tls.key_file, (dir_ / "certs/key.pem").string());
  EXPECT_EQ(c.tls.client_ca_file, (dir_ / "certs/ca.pem").string());
  EXPECT_TRUE(c.upstream_tls.enabled);
  EXPECT_EQ(c.upstream_tls.ca_file, (dir_ / "certs/up-ca.pem").string());
  EXPECT_EQ(c.upstream_tls.sni, "backend.internal");
  EXPECT_EQ(c.upstream_tls.cert_file, (dir_ / "certs/up-cert.pem").string());
  EXPECT_EQ(c.upstream_tls.key_file, up_key);
  EXPECT_EQ(c.timeouts.handshake_ms, 2000u);
  EXPECT_EQ(c.timeouts.idle_ms, 0u);
  EXPECT_EQ(c.timeouts.upstream_connect_ms, 1500u);
  EXPECT_EQ(c.timeouts.drain_ms, 60'000u);
  EXPECT_EQ(c.backoff.initial_ms, 20u);
  EXPECT_EQ(c.backoff.max_ms, 2000u);
  EXPECT_DOUBLE_EQ(c.backoff.multiplier, 2.0);
  EXPECT_DOUBLE_EQ(c.backoff.jitter, 0.5);
  EXPECT_EQ(c.limits.max_stream_window, 4u << 20);
  EXPECT_EQ(c.limits.max_connection_window, 8u << 20);
  EXPECT_EQ(c.limits.write_high_water, 64u << 10);
  EXPECT_EQ(c.limits.max_header_list_size, 16u << 10);
  EXPECT_EQ(c.limits.max_concurrent_streams, 250u);
  EXPECT_EQ(c.limits.max_outstanding_pings, 3u);
  EXPECT_EQ(c.limits.max_settings_entries, 10u);
  EXPECT_EQ(c.limits.max_outbound_ack, 500u);
  EXPECT_EQ(c.limits.reset_burst, 300u);
  EXPECT_EQ(c.limits.reset_rate, 20u);
}

TEST_F(OptionsTest, ShippedExampleConfigParses) {
  // config/grpcscope.yaml must stay valid: it documents every key.
  const fs::path example = fs::path(GRPCSCOPE_SOURCE_DIR) / "config" / "grpcscope.yaml";
  ASSERT_TRUE(fs::exists(example)) << example;
  const Parsed p = parse({"--config", example.string()});
  EXPECT_TRUE(p.result.ok) << p.result.message;
}

TEST_F(OptionsTest, FlagsOverrideTheFile) {
  const std::string file = write("c.yaml",
                                 "listen: 127.0.0.1:1000\n"
                                 "upstream: a:1\n"
                                 "workers: 3\n"
                                 "timeouts: {idle: 5s, drain: 1s}\n"
                                 "limits: {max_stream_window: 1MiB}\n"
                                 "upstream_tls: {enabled: true}\n");
  const Parsed p = parse({"--workers", "5", "--config", file, "--listen", ":2000", "--idle-timeout", "0",
                          "--max-stream-window", "2MiB", "--upstream-tls=false"});
  ASSERT_TRUE(p.result.ok) << p.result.message;
  EXPECT_EQ(p.config.listen.toString(), "0.0.0.0:2000");
  EXPECT_EQ(p.config.upstream.toString(), "a:1");  // from the file
  EXPECT_EQ(p.config.workers, 5);
  EXPECT_EQ(p.config.timeouts.idle_ms, 0u);
  EXPECT_EQ(p.config.timeouts.drain_ms, 1000u);  // from the file
  EXPECT_EQ(p.config.limits.max_stream_window, 2u << 20);
  EXPECT_FALSE(p.config.upstream_tls.enabled);
}

TEST_F(OptionsTest, FileSatisfiesRequiredFlagsAndEmptyFileIsFine) {
  const Parsed from_file = parse({"--config", write("c.yaml", "listen: :0\nupstream: a:1\n")});
  ASSERT_TRUE(from_file.result.ok) << from_file.result.message;
  EXPECT_EQ(from_file.config.listen.toString(), "0.0.0.0:0");

  const Parsed empty = parse(withRequired({"--config", write("empty.yaml", "# nothing yet\n")}));
  EXPECT_TRUE(empty.result.ok) << empty.result.message;

  const Parsed sections_only = parse(withRequired({"--config", write("s.yaml", "tls:\nlimits:\n")}));
  EXPECT_TRUE(sections_only.result.ok) << sections_only.result.message;
}

TEST_F(OptionsTest, UpstreamTlsShorthandAndYamlBooleans) {
  Parsed p = parse(withRequired({"--config", write("a.yaml", "upstream_tls: true\n")}));
  ASSERT_TRUE(p.result.ok) << p.result.message;
  EXPECT_TRUE(p.config.upstream_tls.enabled);
  p = parse(withRequired({"--config", write("b.yaml", "upstream_tls: {enabled: yes}\n")}));
  ASSERT_TRUE(p.result.ok) << p.result.message;
  EXPECT_TRUE(p.config.upstream_tls.enabled);
  p = parse(withRequired({"--config", write("c.yaml", "upstream_tls: {enabled: false, ca: \"\"}\n")}));
  ASSERT_TRUE(p.result.ok) << p.result.message;
  EXPECT_FALSE(p.config.upstream_tls.enabled);
}

TEST_F(OptionsTest, YamlErrorsNameFileKeyAndLine) {
  struct Case {
    std::string name;
    std::string yaml;
    std::vector<std::string> needles;
  };
  const std::vector<Case> cases = {
      {"unknown.yaml", "listen: :1\nupstream: a:1\nlisen: :2\n", {"unknown.yaml:3: unknown key \"lisen\""}},
      {"typo.yaml", "limits:\n  max_stream_windows: 1MiB\n",
       {"typo.yaml:2: unknown key \"limits.max_stream_windows\"", "did you mean \"limits.max_stream_window\""}},
      {"unknown_section.yaml", "tracing: {on: true}\n", {"unknown_section.yaml:1: unknown key \"tracing\""}},
      {"map_for_scalar.yaml", "workers: {n: 2}\n", {"map_for_scalar.yaml:1: workers: expected a whole number, got a mapping"}},
      {"list_for_scalar.yaml", "listen: [a, b]\n", {"list_for_scalar.yaml:1: listen: expected HOST:PORT, got a list"}},
      {"null_value.yaml", "workers:\n", {"null_value.yaml:1: workers: expected a whole number, got nothing"}},
      {"scalar_for_section.yaml", "timeouts: 5s\n", {"scalar_for_section.yaml:1: timeouts: expected a mapping"}},
      {"bad_value.yaml", "listen: :1\ntimeouts:\n  idle: soon\n",
       {"bad_value.yaml:3: timeouts.idle: expected a duration", "\"soon\""}},
      {"bad_bool.yaml", "upstream_tls: {enabled: maybe}\n", {"bad_bool.yaml:1: upstream_tls.enabled: expected true or false"}},
      {"range.yaml", "limits: {max_connection_window: 100}\n",
       {"range.yaml:1: limits.max_connection_window: \"100\" is out of range 65535..2147483647"}},
      {"syntax.yaml", "listen: :1\nupstream: [a:1\nworkers: 2\n", {"syntax.yaml:", "YAML syntax error"}},
      {"indent.yaml", "listen: :1\n  upstream: a:1\n", {"indent.yaml:2:", "YAML syntax error"}},
      {"top_list.yaml", "- listen: :1\n", {"top_list.yaml:1: expected a mapping of settings"}},
      {"duplicate.yaml", "workers: 1\nworkers: 2\n", {"duplicate.yaml:2: duplicate key \"workers\""}},
      {"pair.yaml", "tls: {cert: /etc/hostname}\n", {"tls.cert (", "pair.yaml:1) is given without tls.key"}},
      {"missing_file.yaml", "upstream_tls: {enabled: true, ca: nope.pem}\n",
       {"upstream_tls.ca (", "missing_file.yaml:1): cannot read", "nope.pem\": No such file or directory"}},
      {"tls_off.yaml", "upstream_tls: {sni: a.b}\n", {"upstream_tls.sni (", "is given without upstream_tls.enabled"}},
      {"backoff.yaml", "backoff: {initial: 5s, max: 1s}\n", {"backoff.max: 1s (", "backoff.yaml:1) is less than backoff.initial: 5s ("}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string file = write(c.name, c.yaml);
    const Parsed p = parse(withRequired({"--config", file}));
    for (const std::string& needle : c.needles) expectError(p, needle);
  }
}

TEST_F(OptionsTest, ConfigFileThatIsADirectory) {
  expectError(parse(withRequired({"--config", dir_.string()})), "is a directory");
}

TEST_F(OptionsTest, FlagTurningOffTlsNamesBothSources) {
  const std::string file = write("c.yaml", "upstream_tls: {enabled: true, sni: api.example.com}\n");
  const Parsed p = parse(withRequired({"--config", file, "--upstream-tls=false"}));
  expectError(p, "upstream_tls.sni (");
  expectError(p, "c.yaml:1) is given but --upstream-tls turns upstream TLS off");
}

}  // namespace
}  // namespace grpcscope
