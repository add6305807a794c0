// Evaluates a search filter against an entry with the schema's matching rules
// (RFC 4511 §4.5.1.7): three-valued, Undefined for unknown attributes or
// inapplicable rules. Stateless; thread-safe given a const Schema.
#pragma once

#include <functional>
#include <string_view>

#include "lib/ldap/entry.h"
#include "lib/ldap/filter.h"
#include "schema/schema.h"

namespace simplead::schema {

enum class Tri { kTrue, kFalse, kUndefined };

struct EvalHooks {
  // Attribute visibility for access control: an attribute the caller may not
  // read makes its item filters Undefined (so probing it matches nothing).
  std::function<bool(const AttributeType&)> can_read;
  // LDAP_MATCHING_RULE_IN_CHAIN (1.2.840.113556.1.4.1941): does `entry`'s
  // attribute reach `target_dn` through a chain of the same attribute? The
  // server implements the transitive walk (with cycle protection).
  std::function<bool(const ldap::Entry& entry, const AttributeType& attr, std::string_view target_dn)> in_chain;
};

Tri Evaluate(const ldap::Filter& filter, const ldap::Entry& entry, const Schema& schema,
             const EvalHooks& hooks = {});

inline bool Matches(const ldap::Filter& f, const ldap::Entry& e, const Schema& s, const EvalHooks& h = {}) {
  return Evaluate(f, e, s, h) == Tri::kTrue;
}

}  // namespace simplead::schema
