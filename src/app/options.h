// Command line and YAML configuration (--config) -> grpcscope::Config.
//
// The flags are listed in docs/configuration.md; every flag also has a
// config file key (docs/configuration.md lists both). The file is read first,
// then flags given on the command line override it. Parsing never prints and
// never exits: the caller prints `message` (stdout for exit code 0, stderr
// otherwise) and exits with `exit_code`.
#pragma once

#include <spdlog/common.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "grpcscope/config.h"

namespace grpcscope {

struct OptionsResult {
  // true: `out` is complete and valid, run the proxy (exit_code 0, message empty).
  // false: exit now with exit_code: 0 for --help/--version (message is the help
  // or version text, for stdout), 2 for a bad flag or config (message is one
  // line starting with "grpcscope: ", for stderr). Never a trailing newline.
  bool ok = false;
  int exit_code = 0;
  std::string message;
};

// argv[0] is the program name. On failure `out` may be partly filled.
OptionsResult parseOptions(int argc, const char* const* argv, Config& out);

// "0.1.0" (the CMake project version).
std::string_view versionString();

spdlog::level::level_enum toSpdlogLevel(LogLevel level);
const char* logLevelName(LogLevel level);  // "trace" .. "error"

// The value parsers behind the flags and keys, exposed for tests and for other
// modules that read the same notations. Each returns false and sets *error to a
// short phrase (no prefix, no flag name) when the text is not accepted.

// "250ms", "10s", "2m", "1h"; a bare number is milliseconds. Result in ms.
bool parseDurationMs(std::string_view text, uint32_t& ms, std::string* error);
// "65536", "64KiB", "16MiB", "1GiB" (also "512B"). Result in bytes.
bool parseSizeBytes(std::string_view text, uint64_t& bytes, std::string* error);
// "127.0.0.1:8080", "[::1]:8080", "name:8080", ":8080" (host 0.0.0.0).
// Port 0 is accepted only when allow_port_zero is set.
bool parseHostPort(std::string_view text, bool allow_port_zero, HostPort& out, std::string* error);
// trace|debug|info|warn|error
bool parseLogLevel(std::string_view text, LogLevel& out, std::string* error);

// The inverse, in the largest exact unit: 10000 -> "10s", 16777216 -> "16MiB".
// Every result parses back to the same value.
std::string formatDurationMs(uint32_t ms);
std::string formatSizeBytes(uint64_t bytes);

}  // namespace grpcscope
