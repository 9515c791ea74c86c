// Flags (CLI11) and the YAML file (yaml-cpp) -> Config.
//
// One table (settings()) describes every setting once: its flag, its config
// key, its help and how its text becomes a Config field. The command line and
// the file both go through it, so the two can never disagree about a name, a
// unit or a range. Order of work: parse the command line; if --config was
// given, apply the file; apply the flags that were given on top (flags win);
// then check what involves several settings (pairs, files, required ones).
// Every failure becomes exactly one line for stderr and exit code 2.
#include "app/options.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <set>
#include <vector>

#ifndef GRPCSCOPE_VERSION
#define GRPCSCOPE_VERSION "0.0.0"
#endif

namespace grpcscope {
namespace {

constexpr int kExitUsage = 2;  // docs/configuration.md: bad flags or config exit 2
constexpr uint64_t kMaxWindow = (uint64_t{1} << 31) - 1;  // RFC 9113 section 6.9.1

enum class Kind : uint8_t { kAddress, kFile, kName, kSwitch, kCount, kDuration, kSize, kReal, kLevel };

struct Setting {
  std::string key;        // YAML path, "limits.max_stream_window"
  std::string flag;       // "--max-stream-window"
  std::string group;      // help section
  std::string type_name;  // shown in --help
  std::string help;
  Kind kind;
  // Text -> field. False with a phrase in *error when the text is not accepted.
  std::function<bool(std::string_view, Config&, std::string*)> apply;
  // Field -> text in the same notation (the defaults shown by --help).
  std::function<std::string(Config&)> show;
};

std::string quoteText(std::string_view text) { return "\"" + std::string(text) + "\""; }

template <class Field>
Setting address(std::string key, std::string flag, std::string group, std::string help, Field field,
                bool allow_port_zero) {
  return {std::move(key), std::move(flag), std::move(group), "HOST:PORT", std::move(help), Kind::kAddress,
          [field, allow_port_zero](std::string_view text, Config& c, std::string* error) {
            return parseHostPort(text, allow_port_zero, field(c), error);
          },
          [field](Config& c) { return field(c).toString(); }};
}

// Path or name kept as text; empty means unset. Files are checked for
// readability once everything is merged (checkFiles()).
template <class Field>
Setting text(std::string key, std::string flag, std::string group, std::string type_name, std::string help,
             Kind kind, Field field) {
  return {std::move(key), std::move(flag), std::move(group), std::move(type_name), std::move(help), kind,
          [field, kind](std::string_view value, Config& c, std::string* error) {
            if (kind == Kind::kName) {
              // A DNS name (RFC 6066 section 3: SNI carries host names, not addresses).
              for (char ch : value) {
                if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-' && ch != '_') {
                  *error = "expected a host name, got " + quoteText(value);
                  return false;
                }
              }
            }
            field(c) = std::string(value);
            return true;
          },
          [field](Config& c) { return field(c); }};
}

template <class Field>
Setting toggle(std::string key, std::string flag, std::string group, std::string help, Field field) {
  return {std::move(key), std::move(flag), std::move(group), "", std::move(help), Kind::kSwitch,
          [field](std::string_view value, Config& c, std::string* error) {
            if (value == "true") {
              field(c) = true;
            } else if (value == "false") {
              field(c) = false;
            } else {
              *error = "expected true or false, got " + quoteText(value);
              return false;
            }
            return true;
          },
          [field](Config& c) { return std::string(field(c) ? "true" : "false"); }};
}

std::string rangeError(std::string_view value, const std::string& low, const std::string& high) {
  return quoteText(value) + " is out of range " + low + ".." + high;
}

template <class Field>
Setting count(std::string key, std::string flag, std::string group, std::string help, Field field, uint64_t low,
              uint64_t high) {
  return {std::move(key), std::move(flag), std::move(group), "N", std::move(help), Kind::kCount,
          [field, low, high](std::string_view value, Config& c, std::string* error) {
            uint64_t number = 0;
            const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
            if (value.empty() || ec == std::errc::invalid_argument || ptr != value.data() + value.size()) {
              *error = "expected a whole number, got " + quoteText(value);
              return false;
            }
            if (ec == std::errc::result_out_of_range || number < low || number > high) {
              *error = rangeError(value, std::to_string(low), std::to_string(high));
              return false;
            }
            field(c) = static_cast<std::remove_reference_t<decltype(field(c))>>(number);
            return true;
          },
          [field](Config& c) { return std::to_string(field(c)); }};
}

template <class Field>
Setting duration(std::string key, std::string flag, std::string group, std::string help, Field field,
                 uint32_t low_ms) {
  return {std::move(key), std::move(flag), std::move(group), "DURATION", std::move(help), Kind::kDuration,
          [field, low_ms](std::string_view value, Config& c, std::string* error) {
            uint32_t ms = 0;
            if (!parseDurationMs(value, ms, error)) return false;
            if (ms < low_ms) {
              *error = quoteText(value) + " is too short (at least " + formatDurationMs(low_ms) + ")";
              return false;
            }
            field(c) = ms;
            return true;
          },
          [field](Config& c) { return formatDurationMs(field(c)); }};
}

template <class Field>
Setting size(std::string key, std::string flag, std::string group, std::string help, Field field, uint64_t low,
             uint64_t high) {
  return {std::move(key), std::move(flag), std::move(group), "SIZE", std::move(help), Kind::kSize,
          [field, low, high](std::string_view value, Config& c, std::string* error) {
            uint64_t bytes = 0;
            if (!parseSizeBytes(value, bytes, error)) return false;
            if (bytes < low || bytes > high) {
              *error = rangeError(value, std::to_string(low), std::to_string(high));
              return false;
            }
            field(c) = static_cast<uint32_t>(bytes);
            return true;
          },
          [field](Config& c) { return formatSizeBytes(field(c)); }};
}

template <class Field>
Setting real(std::string key, std::string flag, std::string group, std::string help, Field field, double low,
             double high) {
  return {std::move(key), std::move(flag), std::move(group), "X", std::move(help), Kind::kReal,
          [field, low, high](std::string_view value, Config& c, std::string* error) {
            double number = 0;
            const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
            if (value.empty() || ec != std::errc() || ptr != value.data() + value.size() || !std::isfinite(number)) {
              *error = "expected a number, got " + quoteText(value);
              return false;
            }
            if (number < low || number > high) {
              std::array<char, 32> lo{}, hi{};
              std::to_chars(lo.data(), lo.data() + lo.size(), low);
              std::to_chars(hi.data(), hi.data() + hi.size(), high);
              *error = rangeError(value, lo.data(), hi.data());
              return false;
            }
            field(c) = number;
            return true;
          },
          [field](Config& c) {
            std::array<char, 32> buf{};
            const auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), field(c));
            return std::string(buf.data(), ptr);
          }};
}

Setting level() {
  return {"log_level", "--log-level", "General", "LEVEL", "trace|debug|info|warn|error", Kind::kLevel,
          [](std::string_view value, Config& c, std::string* error) {
            return parseLogLevel(value, c.log_level, error);
          },
          [](Config& c) { return std::string(logLevelName(c.log_level)); }};
}

// The single description of every setting. Order is --help order.
const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = [] {
    const char* g = "General";
    const char* t = "TLS toward clients";
    const char* u = "TLS toward the server";
    const char* to = "Timeouts";
    const char* b = "Upstream reconnect backoff";
    const char* l = "Limits";
    const uint64_t u32 = std::numeric_limits<uint32_t>::max();
    std::vector<Setting> s;
    s.push_back(address("listen", "--listen", g,
                        "Where clients connect (h2c, or TLS with --tls-cert). Port 0 picks a free port. Required.",
                        [](Config& c) -> HostPort& { return c.listen; }, true));
    s.push_back(address("upstream", "--upstream", g, "The gRPC server to relay to. Required.",
                        [](Config& c) -> HostPort& { return c.upstream; }, false));
    s.push_back(address("admin", "--admin", g,
                        "Admin HTTP endpoint. Loopback by default; port 0 picks a free port.",
                        [](Config& c) -> HostPort& { return c.admin; }, true));
    s.push_back(count("workers", "--workers", g, "Event loops (threads) sharing the listen port (1..64).",
                      [](Config& c) -> int& { return c.workers; }, 1, 64));
    s.push_back(level());
    s.push_back(text("tls.cert", "--tls-cert", t, "FILE", "PEM certificate chain: terminate TLS toward clients.",
                     Kind::kFile, [](Config& c) -> std::string& { return c.tls.cert_file; }));
    s.push_back(text("tls.key", "--tls-key", t, "FILE", "PEM private key for --tls-cert.", Kind::kFile,
                     [](Config& c) -> std::string& { return c.tls.key_file; }));
    s.push_back(text("tls.client_ca", "--tls-client-ca", t, "FILE",
                     "PEM CA bundle: require client certificates signed by it (mTLS).", Kind::kFile,
                     [](Config& c) -> std::string& { return c.tls.client_ca_file; }));
    s.push_back(duration("tls.ticket_rotation", "--tls-ticket-rotation", t,
                         "Session ticket key lifetime (a ticket resumes for up to twice this); 0: no tickets.",
                         [](Config& c) -> uint32_t& { return c.tls.ticket_rotation_ms; }, 0));
    s.push_back(toggle("upstream_tls.enabled", "--upstream-tls", u,
                       "Speak TLS to the server (the certificate is verified).",
                       [](Config& c) -> bool& { return c.upstream_tls.enabled; }));
    s.push_back(text("upstream_tls.ca", "--upstream-ca", u, "FILE",
                     "PEM CA bundle that verifies the server (default: the system trust store).", Kind::kFile,
                     [](Config& c) -> std::string& { return c.upstream_tls.ca_file; }));
    s.push_back(text("upstream_tls.sni", "--upstream-sni", u, "NAME",
                     "Server name sent (SNI) and verified (default: the --upstream host if it is a name).",
                     Kind::kName, [](Config& c) -> std::string& { return c.upstream_tls.sni; }));
    s.push_back(text("upstream_tls.cert", "--upstream-cert", u, "FILE", "PEM client certificate toward the server.",
                     Kind::kFile, [](Config& c) -> std::string& { return c.upstream_tls.cert_file; }));
    s.push_back(text("upstream_tls.key", "--upstream-key", u, "FILE", "PEM private key for --upstream-cert.",
                     Kind::kFile, [](Config& c) -> std::string& { return c.upstream_tls.key_file; }));
    s.push_back(duration("timeouts.handshake", "--handshake-timeout", to,
                         "Client preface and SETTINGS (and TLS handshake) must arrive within this.",
                         [](Config& c) -> uint32_t& { return c.timeouts.handshake_ms; }, 1));
    s.push_back(duration("timeouts.idle", "--idle-timeout", to,
                         "Close a connection without open streams after this; 0: never.",
                         [](Config& c) -> uint32_t& { return c.timeouts.idle_ms; }, 0));
    s.push_back(duration("timeouts.upstream_connect", "--upstream-connect-timeout", to,
                         "TCP connect (and TLS handshake) plus the server's SETTINGS.",
                         [](Config& c) -> uint32_t& { return c.timeouts.upstream_connect_ms; }, 1));
    s.push_back(duration("timeouts.drain", "--drain-timeout", to,
                         "On SIGTERM/SIGINT, in-flight streams may finish until then.",
                         [](Config& c) -> uint32_t& { return c.timeouts.drain_ms; }, 0));
    s.push_back(duration("backoff.initial", "--backoff-initial", b, "Wait after the first failed connect.",
                         [](Config& c) -> uint32_t& { return c.backoff.initial_ms; }, 1));
    s.push_back(duration("backoff.max", "--backoff-max", b, "Upper bound of the wait.",
                         [](Config& c) -> uint32_t& { return c.backoff.max_ms; }, 1));
    s.push_back(real("backoff.multiplier", "--backoff-multiplier", b, "Growth per further failure (1..100).",
                     [](Config& c) -> double& { return c.backoff.multiplier; }, 1.0, 100.0));
    s.push_back(real("backoff.jitter", "--backoff-jitter", b, "Random spread of each wait, as a fraction (0..1).",
                     [](Config& c) -> double& { return c.backoff.jitter; }, 0.0, 1.0));
    s.push_back(size("limits.max_stream_window", "--max-stream-window", l,
                     "Cap on a stream flow-control window offered to a peer (65535..2^31-1).",
                     [](Config& c) -> uint32_t& { return c.limits.max_stream_window; }, 65535, kMaxWindow));
    s.push_back(size("limits.max_connection_window", "--max-connection-window", l,
                     "Cap on a connection flow-control window offered to a peer (65535..2^31-1).",
                     [](Config& c) -> uint32_t& { return c.limits.max_connection_window; }, 65535, kMaxWindow));
    s.push_back(size("limits.max_connection_buffer", "--max-connection-buffer", l,
                     "Bytes of one connection held for streams whose reader is slow, with their connection "
                     "window already returned to the sender (64KiB..2^31-1).",
                     [](Config& c) -> uint32_t& { return c.limits.max_connection_buffer; }, 65536, kMaxWindow));
    s.push_back(size("limits.write_high_water", "--write-high-water", l,
                     "Bytes pending toward one socket before reading the other leg pauses (1KiB..1GiB).",
                     [](Config& c) -> uint32_t& { return c.limits.write_high_water; }, 1024, uint64_t{1} << 30));
    s.push_back(size("limits.max_header_list_size", "--max-header-list-size", l,
                     "Larger header lists close the connection (1KiB..2^31-1).",
                     [](Config& c) -> uint32_t& { return c.limits.max_header_list_size; }, 1024, kMaxWindow));
    s.push_back(count("limits.max_concurrent_streams", "--max-concurrent-streams", l,
                      "Offered to clients when the server sets no limit (1..2^31-1).",
                      [](Config& c) -> uint32_t& { return c.limits.max_concurrent_streams; }, 1, kMaxWindow));
    s.push_back(count("limits.max_outstanding_pings", "--max-outstanding-pings", l,
                      "Relayed PINGs awaiting an ACK; more is a flood (1..100000).",
                      [](Config& c) -> uint32_t& { return c.limits.max_outstanding_pings; }, 1, 100'000));
    s.push_back(count("limits.max_settings_entries", "--max-settings-entries", l,
                      "Entries accepted in one SETTINGS frame (1..65535).",
                      [](Config& c) -> uint32_t& { return c.limits.max_settings_entries; }, 1, 65'535));
    s.push_back(count("limits.max_outbound_ack", "--max-outbound-ack", l,
                      "Queued SETTINGS/PING ACKs before the peer counts as flooding (1..1000000).",
                      [](Config& c) -> uint32_t& { return c.limits.max_outbound_ack; }, 1, 1'000'000));
    s.push_back(count("limits.reset_burst", "--reset-burst", l, "Rapid-reset guard: RST_STREAM burst (1..2^32-1).",
                      [](Config& c) -> uint32_t& { return c.limits.reset_burst; }, 1, u32));
    s.push_back(count("limits.reset_rate", "--reset-rate", l,
                      "Rapid-reset guard: RST_STREAM tokens per second (1..2^32-1).",
                      [](Config& c) -> uint32_t& { return c.limits.reset_rate; }, 1, u32));
    const char* m = "Measurement";
    s.push_back(toggle("analysis.enabled", "--measure", m,
                       "Measure and serve statistics (--measure=false: relay only, the admin API serves no data).",
                       [](Config& c) -> bool& { return c.analysis.enabled; }));
    s.push_back(text("analysis.descriptor_set", "--descriptor-set", m, "FILE",
                     "protoc --descriptor_set_out file: protobuf field names in the wire reports.", Kind::kFile,
                     [](Config& c) -> std::string& { return c.analysis.descriptor_set; }));
    s.push_back(count("analysis.max_methods", "--max-methods", m,
                      "Distinct grpc_method labels kept; further methods count as \"other\" (1..100000).",
                      [](Config& c) -> uint32_t& { return c.analysis.max_methods; }, 1, 100'000));
    s.push_back(duration("analysis.tick", "--tcp-info-interval", m,
                         "How often TCP_INFO is sampled per connection; 0: never.",
                         [](Config& c) -> uint32_t& { return c.analysis.tick_ms; }, 0));
    s.push_back(count("analysis.wire_sample_every", "--wire-sample-every", m,
                      "Protobuf wire analysis of 1 message in N per method and direction; 0: off (0..1000000).",
                      [](Config& c) -> uint32_t& { return c.analysis.wire_sample_every; }, 0, 1'000'000));
    s.push_back(size("analysis.wire_sample_max", "--wire-sample-max", m,
                     "Messages larger than this are not wire-analysed (1KiB..64MiB).",
                     [](Config& c) -> uint32_t& { return c.analysis.wire_sample_max; }, 1024, uint64_t{64} << 20));
    s.push_back(count("analysis.max_connections_listed", "--max-connections-listed", m,
                      "Connections listed by /api/connections at most (1..1000000).",
                      [](Config& c) -> uint32_t& { return c.analysis.max_connections_listed; }, 1, 1'000'000));
    return s;
  }();
  return table;
}

size_t indexOf(std::string_view key) {
  const auto& table = settings();
  for (size_t i = 0; i < table.size(); ++i) {
    if (table[i].key == key) return i;
  }
  return table.size();
}

// Levenshtein distance, for "did you mean" on unknown keys.
size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Readable regular file (or anything that is not a directory, e.g. a pipe).
bool checkReadable(const std::string& path, std::string* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    *error = "cannot read " + quoteText(path) + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  const bool is_dir = ::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
  ::close(fd);
  if (is_dir) {
    *error = "cannot read " + quoteText(path) + ": is a directory";
    return false;
  }
  return true;
}

bool readWholeFile(const std::string& path, std::string& contents, std::string* error) {
  if (!checkReadable(path, error)) return false;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot read " + quoteText(path) + ": " + std::strerror(errno);
    return false;
  }
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = "cannot read " + quoteText(path) + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    contents.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

// The merge in progress: the config, and where each setting's value came from
// ("" default, "--flag", or "key (file:line)") so that messages about several
// settings name them the way the user wrote them.
struct Merge {
  Config config;
  std::vector<std::string> origin = std::vector<std::string>(settings().size());
  std::string error;  // the one line, once something failed

  bool fail(std::string line) {
    error = "grpcscope: " + std::move(line);
    return false;
  }
  bool set(size_t i) const { return !origin[i].empty(); }
  bool fromFlag(size_t i) const { return origin[i].rfind("--", 0) == 0; }
  // How to name setting `i` in a message that is about `like` as well.
  std::string nameLike(size_t i, size_t like) const {
    return fromFlag(like) ? settings()[i].flag : settings()[i].key;
  }
};

class YamlLoader {
 public:
  YamlLoader(std::string file, Merge& merge) : file_(std::move(file)), merge_(merge) {
    base_dir_ = std::filesystem::path(file_).parent_path();
  }

  bool load() {
    std::string contents;
    std::string error;
    if (!readWholeFile(file_, contents, &error)) return merge_.fail("--config: " + error);
    YAML::Node root;
    try {
      root = YAML::Load(contents);
    } catch (const YAML::Exception& e) {
      return merge_.fail(file_ + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                         ": YAML syntax error: " + e.msg);
    }
    if (root.IsNull()) return true;  // an empty file changes nothing
    if (!root.IsMap()) return merge_.fail(at(root) + "expected a mapping of settings (key: value) at the top level");
    return walk(root, "");
  }

 private:
  std::string at(const YAML::Node& node) const {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null()) return file_ + ": ";
    return file_ + ":" + std::to_string(mark.line + 1) + ": ";
  }

  static const char* typeOf(const YAML::Node& node) {
    if (node.IsMap()) return "a mapping";
    if (node.IsSequence()) return "a list";
    if (node.IsNull()) return "nothing";
    return "a value";
  }

  static bool isSection(const std::string& path) {
    for (const Setting& s : settings()) {
      if (s.key.size() > path.size() && s.key.compare(0, path.size(), path) == 0 && s.key[path.size()] == '.') {
        return true;
      }
    }
    return false;
  }

  std::string unknownKey(const YAML::Node& key_node, const std::string& path) const {
    std::string best;
    size_t best_distance = 3;  // suggest only close matches
    for (const Setting& s : settings()) {
      const size_t d = editDistance(path, s.key);
      if (d < best_distance) {
        best_distance = d;
        best = s.key;
      }
    }
    std::string line = at(key_node) + "unknown key " + quoteText(path);
    if (!best.empty()) line += " (did you mean " + quoteText(best) + "?)";
    return line;
  }

  bool walk(const YAML::Node& map, const std::string& prefix) {
    std::set<std::string> seen;
    for (const auto& entry : map) {
      const YAML::Node& key_node = entry.first;
      const YAML::Node& value = entry.second;
      if (!key_node.IsScalar()) return merge_.fail(at(key_node) + "keys must be plain names");
      const std::string path = prefix + key_node.Scalar();
      if (!seen.insert(path).second) return merge_.fail(at(key_node) + "duplicate key " + quoteText(path));

      const size_t i = indexOf(path);
      if (i < settings().size()) {
        if (!applyValue(i, key_node, value)) return false;
        continue;
      }
      if (!isSection(path)) return merge_.fail(unknownKey(key_node, path));
      if (value.IsNull()) continue;  // "tls:" with nothing under it
      // A section with an "enabled" key also takes a bare boolean:
      // "upstream_tls: true" means "upstream_tls: {enabled: true}".
      const size_t enabled = indexOf(path + ".enabled");
      if (value.IsScalar() && enabled < settings().size()) {
        if (!applyValue(enabled, key_node, value)) return false;
        continue;
      }
      if (!value.IsMap()) {
        return merge_.fail(at(key_node) + path + ": expected a mapping of settings, got " + typeOf(value));
      }
      if (!walk(value, path + ".")) return false;
    }
    return true;
  }

  bool applyValue(size_t i, const YAML::Node& key_node, const YAML::Node& value) {
    const Setting& setting = settings()[i];
    std::string text;
    if (value.IsScalar()) {
      text = value.Scalar();
    } else if (value.IsNull() && (setting.kind == Kind::kFile || setting.kind == Kind::kName)) {
      text.clear();  // "client_ca:" with no value: unset
    } else {
      return merge_.fail(at(key_node) + setting.key + ": expected " + describe(setting) + ", got " + typeOf(value));
    }
    if (setting.kind == Kind::kSwitch) {
      // YAML 1.1 booleans (true/false, yes/no, on/off), as yaml-cpp reads them.
      bool flag = false;
      if (!YAML::convert<bool>::decode(value, flag)) {
        return merge_.fail(at(key_node) + setting.key + ": expected true or false, got " + quoteText(text));
      }
      text = flag ? "true" : "false";
    }
    if (setting.kind == Kind::kFile && !text.empty() && base_dir_ != "" &&
        std::filesystem::path(text).is_relative()) {
      // Like Prometheus: relative paths in a config file are relative to the file.
      text = (base_dir_ / text).string();
    }
    std::string error;
    if (!setting.apply(text, merge_.config, &error)) return merge_.fail(at(value) + setting.key + ": " + error);
    const std::string where = at(key_node);
    merge_.origin[i] = setting.key + " (" + where.substr(0, where.size() - 2) + ")";
    return true;
  }

  static std::string describe(const Setting& setting) {
    switch (setting.kind) {
      case Kind::kAddress: return "HOST:PORT";
      case Kind::kFile: return "a file path";
      case Kind::kName: return "a host name";
      case Kind::kSwitch: return "true or false";
      case Kind::kCount: return "a whole number";
      case Kind::kDuration: return "a duration";
      case Kind::kSize: return "a size";
      case Kind::kReal: return "a number";
      case Kind::kLevel: return "a log level";
    }
    return "a value";
  }

  std::string file_;
  std::filesystem::path base_dir_;
  Merge& merge_;
};

// Checks that involve more than one setting, or the file system.
bool checkMerged(Merge& m) {
  const auto idx = [](const char* key) { return indexOf(key); };
  const size_t listen = idx("listen"), upstream = idx("upstream");
  if (!m.set(listen)) return m.fail("--listen is required (or listen: in the --config file)");
  if (!m.set(upstream)) return m.fail("--upstream is required (or upstream: in the --config file)");

  // Settings that only mean something together with another one.
  const auto together = [&m](size_t a, size_t b, const char* why) {
    if (m.set(a) && !m.set(b)) {
      return m.fail(m.origin[a] + " is given without " + m.nameLike(b, a) + " (" + why + ")");
    }
    return true;
  };
  const size_t cert = idx("tls.cert"), key = idx("tls.key"), client_ca = idx("tls.client_ca");
  const size_t up_cert = idx("upstream_tls.cert"), up_key = idx("upstream_tls.key");
  // Empty text unsets a file setting: count only non-empty values as given.
  for (size_t i : {cert, key, client_ca, idx("upstream_tls.ca"), idx("upstream_tls.sni"), up_cert, up_key}) {
    std::string value = settings()[i].show(m.config);
    if (value.empty()) m.origin[i].clear();
  }
  if (!together(cert, key, "a certificate and its key come together")) return false;
  if (!together(key, cert, "a certificate and its key come together")) return false;
  if (!together(client_ca, cert, "client certificates are verified only when TLS is terminated")) return false;
  if (!together(up_cert, up_key, "a certificate and its key come together")) return false;
  if (!together(up_key, up_cert, "a certificate and its key come together")) return false;

  const size_t up_tls = idx("upstream_tls.enabled");
  if (!m.config.upstream_tls.enabled) {
    for (const char* k : {"upstream_tls.ca", "upstream_tls.sni", "upstream_tls.cert", "upstream_tls.key"}) {
      const size_t i = idx(k);
      if (m.set(i)) {
        if (m.set(up_tls)) return m.fail(m.origin[i] + " is given but " + m.origin[up_tls] + " turns upstream TLS off");
        return m.fail(m.origin[i] + " is given without " + m.nameLike(up_tls, i));
      }
    }
  }

  for (size_t i : {cert, key, client_ca, idx("upstream_tls.ca"), up_cert, up_key, idx("analysis.descriptor_set")}) {
    if (!m.set(i)) continue;
    std::string error;
    const std::string path = settings()[i].show(m.config);
    if (!checkReadable(path, &error)) return m.fail(m.origin[i] + ": " + error);
  }

  if (m.config.backoff.max_ms < m.config.backoff.initial_ms) {
    const size_t initial = idx("backoff.initial"), max = idx("backoff.max");
    const size_t like = m.set(max) ? max : initial;
    const auto describe = [&](size_t i, uint32_t ms) {
      if (m.fromFlag(i)) return m.origin[i] + " " + formatDurationMs(ms);
      if (m.set(i)) return settings()[i].key + ": " + formatDurationMs(ms) + m.origin[i].substr(settings()[i].key.size());
      return m.nameLike(i, like) + " " + formatDurationMs(ms) + " (default)";
    };
    return m.fail(describe(max, m.config.backoff.max_ms) + " is less than " +
                  describe(initial, m.config.backoff.initial_ms));
  }
  return true;
}

std::string trimEnd(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string oneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

}  // namespace

std::string_view versionString() { return GRPCSCOPE_VERSION; }

OptionsResult parseOptions(int argc, const char* const* argv, Config& out) {
  OptionsResult result;
  try {
    CLI::App app{
        "grpcscope: a transparent diagnosing HTTP/2 (gRPC) proxy. It relays every stream between a gRPC\n"
        "client and server unchanged and measures serialization, flow control, connection management,\n"
        "TLS and TCP on the way; results are served on the admin endpoint.",
        "grpcscope"};
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.get_formatter()->column_width(40);
    app.set_version_flag("--version", std::string("grpcscope ") + GRPCSCOPE_VERSION);
    app.footer(
        "Durations: 250ms, 10s, 2m, 1h (a bare number is milliseconds). Sizes: 65536, 64KiB, 16MiB, 1GiB.\n"
        "HOST:PORT: 127.0.0.1:8080, [::1]:8080, name:8080, :8080 (all interfaces).\n"
        "Every flag has a key in the --config YAML file; flags given on the command line win over the file.\n"
        "See docs/configuration.md.");

    std::string config_file;
    CLI::Option* config_option =
        app.add_option("--config", config_file, "YAML config file (every flag has a key; flags win)")
            ->type_name("FILE")
            ->group("General");

    const auto& table = settings();
    std::vector<std::string> values(table.size());
    std::vector<CLI::Option*> options(table.size());
    Config defaults;
    for (size_t i = 0; i < table.size(); ++i) {
      const Setting& s = table[i];
      CLI::Option* option = nullptr;
      if (s.kind == Kind::kSwitch) {
        option = app.add_flag(s.flag, values[i], s.help);
      } else {
        option = app.add_option(s.flag, values[i], s.help)->type_name(s.type_name);
        std::string shown = s.show(defaults);
        if (s.key == "listen" || s.key == "upstream") shown.clear();  // required: no default to show
        if (!shown.empty()) option->default_str(shown);
      }
      option->group(s.group);
      options[i] = option;
    }

    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
      return {false, 0, trimEnd(app.help())};
    } catch (const CLI::CallForAllHelp&) {
      return {false, 0, trimEnd(app.help("", CLI::AppFormatMode::All))};
    } catch (const CLI::CallForVersion& e) {
      return {false, 0, trimEnd(e.what())};
    } catch (const CLI::ExtrasError& e) {
      // "The following arguments were not expected: --foo"
      std::string what = e.what();
      const size_t colon = what.find(": ");
      const std::string extras = colon == std::string::npos ? what : what.substr(colon + 2);
      return {false, kExitUsage,
              oneLine("grpcscope: unknown option or unexpected argument: " + extras + " (see --help)")};
    } catch (const CLI::ParseError& e) {
      return {false, kExitUsage, oneLine("grpcscope: " + std::string(e.what()) + " (see --help)")};
    }

    Merge merge;
    if (config_option->count() > 0) {
      YamlLoader loader(config_file, merge);
      if (!loader.load()) return {false, kExitUsage, oneLine(merge.error)};
    }
    for (size_t i = 0; i < table.size(); ++i) {
      if (options[i]->count() == 0) continue;
      std::string error;
      if (!table[i].apply(values[i], merge.config, &error)) {
        return {false, kExitUsage, oneLine("grpcscope: " + table[i].flag + ": " + error)};
      }
      merge.origin[i] = table[i].flag;
    }
    if (!checkMerged(merge)) return {false, kExitUsage, oneLine(merge.error)};
    out = std::move(merge.config);
    return {true, 0, ""};
  } catch (const std::exception& e) {
    // Nothing above should throw past its own handlers; never let it escape.
    return {false, kExitUsage, oneLine(std::string("grpcscope: ") + e.what())};
  }
}

}  // namespace grpcscope
