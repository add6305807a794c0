#include "lib/ldap/entry.h"

#include <algorithm>

namespace simplead::ldap {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return AsciiLower(x) == AsciiLower(y); });
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

Attribute* Entry::Find(std::string_view type) {
  for (auto& attr : attributes_) {
    if (EqualsIgnoreCase(attr.type, type)) return &attr;
  }
  return nullptr;
}

const Attribute* Entry::Find(std::string_view type) const {
  return const_cast<Entry*>(this)->Find(type);
}

const std::string* Entry::First(std::string_view type) const {
  const Attribute* attr = Find(type);
  return attr && !attr->values.empty() ? &attr->values.front() : nullptr;
}

const std::vector<std::string>& Entry::Values(std::string_view type) const {
  static const std::vector<std::string> kEmpty;
  const Attribute* attr = Find(type);
  return attr ? attr->values : kEmpty;
}

void Entry::AddValue(std::string_view type, std::string value) {
  if (Attribute* attr = Find(type)) {
    attr->values.push_back(std::move(value));
  } else {
    attributes_.push_back(Attribute{std::string(type), {std::move(value)}});
  }
}

void Entry::Set(std::string_view type, std::vector<std::string> values) {
  if (values.empty()) {
    Remove(type);
    return;
  }
  if (Attribute* attr = Find(type)) {
    attr->values = std::move(values);
  } else {
    attributes_.push_back(Attribute{std::string(type), std::move(values)});
  }
}

void Entry::Remove(std::string_view type) {
  std::erase_if(attributes_, [&](const Attribute& a) { return EqualsIgnoreCase(a.type, type); });
}

}  // namespace simplead::ldap
