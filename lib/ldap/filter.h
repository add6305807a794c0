// Search filters (RFC 4511 §4.5.1) as a tree of values, with the RFC 4515
// string form for logs, tools and tests. Thread-compatible value type.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/status.h"

namespace simplead::ldap {

struct Filter {
  enum class Type { kAnd, kOr, kNot, kEquality, kSubstrings, kGreaterOrEqual, kLessOrEqual, kPresent, kApprox, kExtensible };

  Type type = Type::kPresent;
  std::vector<Filter> children;  // kAnd, kOr (any count), kNot (exactly one)
  std::string attribute;         // item filters; may be empty for kExtensible
  std::string value;             // assertion value (raw bytes)
  // kSubstrings
  std::optional<std::string> initial;
  std::vector<std::string> any;
  std::optional<std::string> final;
  // kExtensible
  std::string matching_rule;  // OID or name, may be empty
  bool dn_attributes = false;

  static Filter Present(std::string attribute);
  static Filter Equality(std::string attribute, std::string value);
  static Filter And(std::vector<Filter> children);
  static Filter Or(std::vector<Filter> children);
  static Filter Not(Filter child);
};

// RFC 4515 string form; errors are kProtocolError with a diagnostic that names
// the position. max_depth bounds nesting (kAdminLimitExceeded past it).
Result<Filter> ParseFilter(std::string_view text, int max_depth = 64);
std::string FilterToString(const Filter& filter);
// Nesting depth (an item filter is 1) and node count, for resource limits.
int FilterDepth(const Filter& filter);
size_t FilterSize(const Filter& filter);

}  // namespace simplead::ldap
