// One HTTP/2 header block (request/response headers or trailers) as received,
// kept in one string so that it can be resubmitted on the other leg
// unchanged: same order, same values, same never-index flags (RFC 7541
// section 7.1.3: a field sent "never indexed" stays so on every hop).
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <grpcscope/observer.h>

namespace grpcscope {

class HeaderBlock {
 public:
  void clear() {
    bytes_.clear();
    entries_.clear();
    list_size_ = 0;
  }
  void add(std::string_view name, std::string_view value, uint8_t flags) {
    Entry e;
    e.name_off = static_cast<uint32_t>(bytes_.size());
    e.name_len = static_cast<uint32_t>(name.size());
    bytes_.append(name);
    e.value_off = static_cast<uint32_t>(bytes_.size());
    e.value_len = static_cast<uint32_t>(value.size());
    bytes_.append(value);
    e.flags = flags & NGHTTP2_NV_FLAG_NO_INDEX;
    entries_.push_back(e);
    // RFC 9113 section 6.5.2: SETTINGS_MAX_HEADER_LIST_SIZE counts 32 bytes per field.
    list_size_ += name.size() + value.size() + 32;
  }
  bool empty() const { return entries_.empty(); }
  size_t count() const { return entries_.size(); }
  size_t listSize() const { return list_size_; }

  std::string_view name(size_t i) const { return {bytes_.data() + entries_[i].name_off, entries_[i].name_len}; }
  std::string_view value(size_t i) const { return {bytes_.data() + entries_[i].value_off, entries_[i].value_len}; }
  std::string_view find(std::string_view name) const {
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (this->name(i) == name) return value(i);
    }
    return {};
  }

  // nghttp2 copies the fields on submit, so the array may be reused at once.
  const nghttp2_nv* nva() {
    nva_.resize(entries_.size());
    for (size_t i = 0; i < entries_.size(); ++i) {
      const Entry& e = entries_[i];
      nva_[i].name = reinterpret_cast<uint8_t*>(bytes_.data() + e.name_off);
      nva_[i].namelen = e.name_len;
      nva_[i].value = reinterpret_cast<uint8_t*>(bytes_.data() + e.value_off);
      nva_[i].valuelen = e.value_len;
      nva_[i].flags = e.flags;
    }
    return nva_.data();
  }

  // Views for observer events; valid until the block changes.
  const HeaderField* fields() {
    fields_.resize(entries_.size());
    for (size_t i = 0; i < entries_.size(); ++i) fields_[i] = HeaderField{name(i), value(i)};
    return fields_.data();
  }

  void swap(HeaderBlock& other) {
    bytes_.swap(other.bytes_);
    entries_.swap(other.entries_);
    std::swap(list_size_, other.list_size_);
  }

 private:
  struct Entry {
    uint32_t name_off, name_len, value_off, value_len;
    uint8_t flags;
  };
  std::string bytes_;
  std::vector<Entry> entries_;
  std::vector<nghttp2_nv> nva_;
  std::vector<HeaderField> fields_;
  size_t list_size_ = 0;
};

}  // namespace grpcscope
