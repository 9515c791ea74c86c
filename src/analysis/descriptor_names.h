// Field names for the wire profile (--descriptor-set FILE): a
// FileDescriptorSet as written by `protoc --descriptor_set_out=FILE
// --include_imports` is built into a DescriptorPool once; then a method
// ("/pkg.Service/Method") and a field path of numbers ("3.2") map to dotted
// field names ("items.price").
//
// Threading: immutable after load(); any number of threads may call the
// const methods concurrently (DescriptorPool lookups are thread-safe and the
// pool has no fallback database, so nothing is built lazily).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace google::protobuf {
class Descriptor;
class DescriptorPool;
}  // namespace google::protobuf

namespace grpcscope {

class DescriptorNames {
 public:
  // Reads and builds the descriptor set at `path`. On failure returns null and
  // sets *error (when not null) to one line naming the file and the problem:
  // cannot open/read, not a FileDescriptorSet, an import missing from the set
  // (written without --include_imports), or a file the pool rejects.
  static std::unique_ptr<DescriptorNames> load(const std::string& path, std::string* error);

  ~DescriptorNames();
  DescriptorNames(const DescriptorNames&) = delete;
  DescriptorNames& operator=(const DescriptorNames&) = delete;

  // Dotted field names for `path` in the request (or response) type of
  // `method` ("/pkg.Service/Method"; the leading slash is optional), or ""
  // when the method, a field number, or a nesting step is unknown (for
  // instance a child path under a string field, see wire_profile.h).
  // Extensions are shown as "[full.name]".
  std::string fieldName(std::string_view method, bool request, std::string_view path) const;

  // The request or response message type of `method`, or null.
  const google::protobuf::Descriptor* messageType(std::string_view method, bool request) const;

  size_t methodCount() const { return methods_.size(); }
  size_t fileCount() const { return files_; }

 private:
  struct Method {
    const google::protobuf::Descriptor* input = nullptr;
    const google::protobuf::Descriptor* output = nullptr;
  };

  DescriptorNames();

  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
  std::map<std::string, Method, std::less<>> methods_;  // "pkg.Service/Method"
  size_t files_ = 0;
};

}  // namespace grpcscope
