// Entry: a DN and its attributes, as the protocol and the store see it.
// Attribute type lookups are case-insensitive on the name as written; alias
// resolution (cn vs commonName) is the schema's job. Thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/ldap/dn.h"

namespace simplead::ldap {

struct Attribute {
  std::string type;
  std::vector<std::string> values;
};

// ASCII case folding, as LDAP's descriptors and caseIgnore keys use (and as
// std::tolower in the C locale, without its per-call locale lookup).
constexpr char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string ToLower(std::string_view s);

class Entry {
 public:
  Entry() = default;
  Entry(Dn dn, std::vector<Attribute> attributes) : dn_(std::move(dn)), attributes_(std::move(attributes)) {}

  const Dn& dn() const { return dn_; }
  void set_dn(Dn dn) { dn_ = std::move(dn); }
  const std::vector<Attribute>& attributes() const { return attributes_; }
  std::vector<Attribute>& mutable_attributes() { return attributes_; }

  Attribute* Find(std::string_view type);
  const Attribute* Find(std::string_view type) const;
  bool Has(std::string_view type) const { return Find(type) != nullptr; }
  // First value or nullptr.
  const std::string* First(std::string_view type) const;
  // Values or an empty list.
  const std::vector<std::string>& Values(std::string_view type) const;

  void AddValue(std::string_view type, std::string value);
  void Set(std::string_view type, std::vector<std::string> values);  // empty values removes
  void Remove(std::string_view type);

 private:
  Dn dn_;
  std::vector<Attribute> attributes_;
};

}  // namespace simplead::ldap
