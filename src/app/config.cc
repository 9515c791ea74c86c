#include "grpcscope/config.h"

namespace grpcscope {

std::string HostPort::toString() const {
  // RFC 3986 section 3.2.2: an IPv6 literal in an authority goes in brackets.
  const bool ipv6 = host.find(':') != std::string::npos;
  std::string text;
  text.reserve(host.size() + 8);
  if (ipv6) text += '[';
  text += host;
  if (ipv6) text += ']';
  text += ':';
  text += std::to_string(port);
  return text;
}

}  // namespace grpcscope
