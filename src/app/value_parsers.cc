// The notations of flag and config values: durations, sizes, HOST:PORT, log
// levels. Strict on purpose: a value either parses exactly or is rejected with
// a phrase that shows the accepted forms, so a typo never becomes a default.
#include <charconv>
#include <limits>

#include "app/options.h"

namespace grpcscope {
namespace {

void setError(std::string* error, std::string text) {
  if (error != nullptr) *error = std::move(text);
}

std::string quoteText(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  out += text;
  out += '"';
  return out;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlnum(char c) { return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Splits "123unit" into its leading digits and the rest. False when there are
// no digits or the number does not fit in 64 bits.
bool splitNumber(std::string_view text, uint64_t& number, std::string_view& unit, bool& overflow) {
  size_t digits = 0;
  while (digits < text.size() && isDigit(text[digits])) ++digits;
  overflow = false;
  if (digits == 0) return false;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (ec == std::errc::result_out_of_range) {
    overflow = true;
    return false;
  }
  if (ec != std::errc() || ptr != text.data() + digits) return false;
  unit = text.substr(digits);
  return true;
}

}  // namespace

bool parseDurationMs(std::string_view text, uint32_t& ms, std::string* error) {
  const std::string expected =
      "expected a duration such as 250ms, 10s, 2m, 1h (a bare number is milliseconds), got " + quoteText(text);
  uint64_t number = 0;
  std::string_view unit;
  bool overflow = false;
  if (!splitNumber(text, number, unit, overflow)) {
    setError(error, overflow ? "duration " + quoteText(text) + " is too large" : expected);
    return false;
  }
  uint64_t scale = 0;
  if (unit.empty() || unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  } else {
    setError(error, expected);
    return false;
  }
  constexpr uint64_t kMax = std::numeric_limits<uint32_t>::max();
  if (number > kMax / scale) {
    setError(error, "duration " + quoteText(text) + " is too large (at most 49 days)");
    return false;
  }
  ms = static_cast<uint32_t>(number * scale);
  return true;
}

bool parseSizeBytes(std::string_view text, uint64_t& bytes, std::string* error) {
  const std::string expected =
      "expected a size such as 65536, 64KiB, 16MiB, 1GiB (a bare number is bytes), got " + quoteText(text);
  uint64_t number = 0;
  std::string_view unit;
  bool overflow = false;
  if (!splitNumber(text, number, unit, overflow)) {
    setError(error, overflow ? "size " + quoteText(text) + " is too large" : expected);
    return false;
  }
  uint64_t scale = 0;
  if (unit.empty() || unit == "B") {
    scale = 1;
  } else if (unit == "KiB") {
    scale = uint64_t{1} << 10;
  } else if (unit == "MiB") {
    scale = uint64_t{1} << 20;
  } else if (unit == "GiB") {
    scale = uint64_t{1} << 30;
  } else {
    setError(error, expected);
    return false;
  }
  if (number > std::numeric_limits<uint64_t>::max() / scale) {
    setError(error, "size " + quoteText(text) + " is too large");
    return false;
  }
  bytes = number * scale;
  return true;
}

bool parseHostPort(std::string_view text, bool allow_port_zero, HostPort& out, std::string* error) {
  const std::string expected = "expected HOST:PORT, got " + quoteText(text);
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    // "[::1]:8080": the brackets keep the address's colons apart from the port's.
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      setError(error, expected);
      return false;
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
    if (host.empty() || host.find(':') == std::string_view::npos) {
      setError(error, expected + " (brackets are for IPv6 addresses)");
      return false;
    }
    for (char c : host) {
      if (!isAlnum(c) && c != ':' && c != '.' && c != '%' && c != '-' && c != '_') {
        setError(error, expected);
        return false;
      }
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      setError(error, expected);
      return false;
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      setError(error, expected + " (put IPv6 addresses in brackets, e.g. [::1]:8080)");
      return false;
    }
    for (char c : host) {
      if (!isAlnum(c) && c != '.' && c != '-' && c != '_') {
        setError(error, expected);
        return false;
      }
    }
  }
  if (port_text.empty() || port_text.size() > 5) {
    setError(error, expected);
    return false;
  }
  for (char c : port_text) {
    if (!isDigit(c)) {
      setError(error, expected);
      return false;
    }
  }
  unsigned port = 0;
  std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port > 65535) {
    setError(error, "port " + std::string(port_text) + " is out of range 1..65535 in " + quoteText(text));
    return false;
  }
  if (port == 0 && !allow_port_zero) {
    setError(error, "port 0 is not allowed here, got " + quoteText(text));
    return false;
  }
  out.host = host.empty() ? std::string("0.0.0.0") : std::string(host);
  out.port = static_cast<uint16_t>(port);
  return true;
}

bool parseLogLevel(std::string_view text, LogLevel& out, std::string* error) {
  static constexpr LogLevel kLevels[] = {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn,
                                         LogLevel::kError};
  for (LogLevel level : kLevels) {
    if (text == logLevelName(level)) {
      out = level;
      return true;
    }
  }
  setError(error, "expected one of trace, debug, info, warn, error, got " + quoteText(text));
  return false;
}

const char* logLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return "trace";
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

spdlog::level::level_enum toSpdlogLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return spdlog::level::trace;
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::string formatDurationMs(uint32_t ms) {
  if (ms == 0) return "0";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string formatSizeBytes(uint64_t bytes) {
  if (bytes != 0 && bytes % (uint64_t{1} << 30) == 0) return std::to_string(bytes >> 30) + "GiB";
  if (bytes != 0 && bytes % (uint64_t{1} << 20) == 0) return std::to_string(bytes >> 20) + "MiB";
  if (bytes != 0 && bytes % (uint64_t{1} << 10) == 0) return std::to_string(bytes >> 10) + "KiB";
  return std::to_string(bytes);
}

}  // namespace grpcscope
