#include "analysis/descriptor_names.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <unordered_map>
#include <vector>

namespace grpcscope {
namespace {

namespace pb = google::protobuf;

// A descriptor set of a large API is a few MiB; anything far larger is not one.
constexpr size_t kMaxFileBytes = 256u * 1024 * 1024;

bool readFile(const std::string& path, std::string* out, std::string* why) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    *why = std::string("cannot open (") + std::strerror(errno) + ")";
    return false;
  }
  char buf[64 * 1024];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
    out->append(buf, n);
    if (out->size() > kMaxFileBytes) {
      std::fclose(f);
      *why = "too large to be a descriptor set";
      return false;
    }
  }
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) {
    *why = std::string("cannot read (") + std::strerror(err) + ")";
    return false;
  }
  return true;
}

// Keeps the first error the pool reports: that is the one to show.
class FirstError final : public pb::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name, const pb::Message*,
                ErrorLocation, const std::string& message) override {
    if (!text.empty()) return;
    text = filename + ": ";
    if (!element_name.empty()) text += element_name + ": ";
    text += message;
  }
  std::string text;
};

}  // namespace

DescriptorNames::DescriptorNames() = default;
DescriptorNames::~DescriptorNames() = default;

std::unique_ptr<DescriptorNames> DescriptorNames::load(const std::string& path, std::string* error) {
  std::string ignored;
  std::string& err = error != nullptr ? *error : ignored;
  const std::string where = "descriptor set " + path + ": ";
  std::string bytes;
  std::string why;
  if (!readFile(path, &bytes, &why)) {
    err = where + why;
    return nullptr;
  }
  // A FileDescriptorSet has one field (1: file). Parsing alone proves little:
  // protobuf keeps what it does not know as unknown fields, so text or
  // another message type can "parse". Require no unknown fields, at least
  // one file, and a name on every file.
  pb::FileDescriptorSet set;
  bool valid = set.ParseFromString(bytes) && set.file_size() > 0 && set.unknown_fields().empty();
  for (int i = 0; valid && i < set.file_size(); ++i) valid = !set.file(i).name().empty();
  if (!valid) {
    err = where + "not a FileDescriptorSet (write one with protoc --descriptor_set_out=FILE --include_imports)";
    return nullptr;
  }

  // protoc writes dependencies first, but a concatenation of sets need not
  // be ordered: build each file after its imports, depth first.
  std::unordered_map<std::string, int> by_name;
  std::vector<int> order;
  for (int i = 0; i < set.file_size(); ++i) {
    auto [it, inserted] = by_name.emplace(set.file(i).name(), i);
    if (inserted) continue;
    if (set.file(it->second).SerializeAsString() != set.file(i).SerializeAsString()) {
      err = where + "file " + set.file(i).name() + " appears twice with different contents";
      return nullptr;
    }
  }
  auto names = std::unique_ptr<DescriptorNames>(new DescriptorNames());
  names->pool_ = std::make_unique<pb::DescriptorPool>();
  enum : uint8_t { kNew, kBuilding, kBuilt };
  std::vector<uint8_t> state(static_cast<size_t>(set.file_size()), kNew);
  std::string failure;
  // Returns false with `failure` set. Depth is bounded by the import chain.
  auto build = [&](auto&& self, int i) -> bool {
    if (state[i] == kBuilt) return true;
    const pb::FileDescriptorProto& file = set.file(i);
    if (state[i] == kBuilding) {
      failure = "import cycle through " + file.name();
      return false;
    }
    state[i] = kBuilding;
    for (const std::string& dep : file.dependency()) {
      auto it = by_name.find(dep);
      if (it == by_name.end()) {
        failure = file.name() + " imports " + dep +
                  ", which the set does not contain (write the set with protoc --include_imports)";
        return false;
      }
      if (!self(self, it->second)) return false;
    }
    FirstError collector;
    if (names->pool_->BuildFileCollectingErrors(file, &collector) == nullptr) {
      failure = collector.text.empty() ? file.name() + ": rejected by the descriptor pool" : collector.text;
      return false;
    }
    state[i] = kBuilt;
    return true;
  };
  for (int i = 0; i < set.file_size(); ++i) {  // in set order: the first problem protoc would hit
    if (!build(build, by_name[set.file(i).name()])) {
      err = where + failure;
      return nullptr;
    }
  }
  names->files_ = by_name.size();

  for (const auto& [name, i] : by_name) {
    const pb::FileDescriptor* file = names->pool_->FindFileByName(name);
    if (file == nullptr) continue;
    for (int s = 0; s < file->service_count(); ++s) {
      const pb::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const pb::MethodDescriptor* method = service->method(m);
        names->methods_[service->full_name() + "/" + method->name()] = {method->input_type(), method->output_type()};
      }
    }
  }
  return names;
}

const pb::Descriptor* DescriptorNames::messageType(std::string_view method, bool request) const {
  if (!method.empty() && method.front() == '/') method.remove_prefix(1);
  auto it = methods_.find(method);
  if (it == methods_.end()) return nullptr;
  return request ? it->second.input : it->second.output;
}

std::string DescriptorNames::fieldName(std::string_view method, bool request, std::string_view path) const {
  const pb::Descriptor* type = messageType(method, request);
  std::string out;
  while (!path.empty()) {
    if (type == nullptr) return "";  // a step below a non-message field, or an unknown method
    const size_t dot = path.find('.');
    const std::string_view part = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    uint32_t number = 0;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), number);
    if (ec != std::errc() || end != part.data() + part.size() || number == 0) return "";
    const pb::FieldDescriptor* field = type->FindFieldByNumber(static_cast<int>(number));
    if (field == nullptr) field = pool_->FindExtensionByNumber(type, static_cast<int>(number));
    if (field == nullptr) return "";
    if (!out.empty()) out += '.';
    if (field->is_extension()) {
      out += "[" + field->full_name() + "]";
    } else {
      out += field->name();
    }
    // Groups are not walked as nested messages by the wire profile.
    type = field->type() == pb::FieldDescriptor::TYPE_MESSAGE ? field->message_type() : nullptr;
  }
  return out;
}

}  // namespace grpcscope
