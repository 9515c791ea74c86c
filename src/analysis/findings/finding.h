// What a rule reports: one diagnosis, in the shape of docs/findings.md's
// finding object, without the lifecycle fields (count, first and last seen,
// active, resolved_at) that the engine adds (findings_engine.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace grpcscope::findings {

enum class Severity : uint8_t { kInfo, kWarning, kCritical };
enum class Layer : uint8_t { kSerialization, kFlowControl, kConnection, kTls, kTransport, kApplication, kProxy };

std::string_view severityName(Severity s);
std::string_view layerName(Layer l);

struct Finding {
  std::string id;  // "keepalive.too_many_pings": one of docs/findings.md's ids
  Severity severity = Severity::kWarning;
  Layer layer = Layer::kConnection;
  std::string title;
  // The measured figures that triggered it, each key naming its unit
  // ("ping_interval_s", "window_bytes"); never payload or metadata values.
  nlohmann::json evidence = nlohmann::json::object();
  std::string recommendation;  // what to change, naming each stack's real option
  // Where: "method", "hop", "connection", "client", "server"... Part of the
  // finding's identity, so a rule keeps its scopes bounded (kMaxPerRule).
  std::map<std::string, std::string> scope;
};

}  // namespace grpcscope::findings
