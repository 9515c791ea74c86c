// Bounds on values a peer chooses. Anything that came off the wire (an
// HTTP/2 error code, a GOAWAY debug text, a header value, an ALPN or SNI
// string, a SETTINGS id) must never become an unbounded map key or metric
// label, nor a byte that breaks the JSON (strict UTF-8) or the Prometheus
// text: one client sending 3,000 made-up RST_STREAM codes must not add 3,000
// series. docs/metrics.md ("Bounds on peer-chosen values") lists each bound.
//
// Header-only and allocation-light: these run on the worker's loop thread.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace grpcscope {

// RFC 9113 section 7: codes 0x0 (NO_ERROR) .. 0xd (HTTP_1_1_REQUIRED) are the
// registry; every other code (the registry says to treat it as
// INTERNAL_ERROR, we only count it) goes to one "unknown" bucket.
constexpr size_t kH2ErrorCodes = 14;
constexpr size_t kH2UnknownErrorBucket = kH2ErrorCodes;
using H2ErrorCounts = std::array<uint64_t, kH2ErrorCodes + 1>;  // by h2ErrorBucket()

inline size_t h2ErrorBucket(uint32_t code) { return code < kH2ErrorCodes ? code : kH2UnknownErrorBucket; }

// Printable ASCII (0x20..0x7e) only, every other byte replaced by '?', cut
// to at most max_bytes: safe as a JSON string, a label value and a log field.
inline std::string boundedText(std::string_view v, size_t max_bytes) {
  std::string out(v.substr(0, max_bytes));
  for (char& ch : out) {
    if (ch < 0x20 || ch > 0x7e) ch = '?';
  }
  return out;
}

// The userinfo part of an authority ("user:password@host") is a credential
// (RFC 9113 section 8.3.1 forbids it in :authority; a peer may still send
// it): only what follows the last '@' is kept.
inline std::string_view withoutUserinfo(std::string_view authority) {
  size_t at = authority.rfind('@');
  return at == std::string_view::npos ? authority : authority.substr(at + 1);
}

// Label values for TLS handshakes: the versions OpenSSL names, else "other".
inline const char* tlsVersionLabel(std::string_view version) {
  for (const char* known : {"TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1", "SSLv3"}) {
    if (version == known) return known;
  }
  return "other";
}

// The negotiated ALPN protocol as a label: "none" when none was negotiated,
// the two protocols a gRPC peer can speak, else "other".
inline const char* alpnLabel(std::string_view alpn) {
  if (alpn.empty()) return "none";
  if (alpn == "h2") return "h2";
  if (alpn == "http/1.1") return "http/1.1";
  return "other";
}

// Counts per free text with a bounded key set: texts are made safe and cut
// (boundedText), the first max_keys distinct texts are kept, every later one
// counts under "other". Size: at most max_keys + 1 keys of max_key_bytes.
class BoundedCounts {
 public:
  static constexpr std::string_view kOther = "other";

  BoundedCounts(size_t max_keys, size_t max_key_bytes) : max_keys_(max_keys), max_key_bytes_(max_key_bytes) {}

  using Map = std::map<std::string, uint64_t, std::less<>>;

  void add(std::string_view text, uint64_t n = 1) {
    std::string key = boundedText(text, max_key_bytes_);
    if (auto it = counts_.find(key); it != counts_.end()) {
      it->second += n;
      return;
    }
    size_t kept = counts_.size() - (counts_.find(kOther) != counts_.end() ? 1 : 0);
    if (key == kOther || kept >= max_keys_) {
      counts_[std::string(kOther)] += n;
    } else {
      counts_.emplace(std::move(key), n);
    }
  }

  // Adds another worker's counts under this one's bounds.
  void merge(const BoundedCounts& other) {
    for (const auto& [text, n] : other.counts_) add(text, n);
  }

  // Leaves the counts added since `earlier` (these counts, earlier).
  void subtract(const BoundedCounts& earlier) {
    for (const auto& [text, n] : earlier.counts_) {
      auto it = counts_.find(text);
      if (it == counts_.end()) continue;
      it->second -= std::min(it->second, n);
      if (it->second == 0) counts_.erase(it);
    }
  }

  const Map& counts() const { return counts_; }
  size_t size() const { return counts_.size(); }
  bool empty() const { return counts_.empty(); }
  uint64_t count(std::string_view text) const {
    auto it = counts_.find(text);
    return it == counts_.end() ? 0 : it->second;
  }

 private:
  size_t max_keys_;
  size_t max_key_bytes_;
  Map counts_;
};

}  // namespace grpcscope
