#include "schema/filter_eval.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>

namespace simplead::schema {
namespace {

using ldap::Filter;

constexpr std::string_view kObjectClassOid = "2.5.4.0";
constexpr std::string_view kBitAnd = "1.2.840.113556.1.4.803";
constexpr std::string_view kBitOr = "1.2.840.113556.1.4.804";
constexpr std::string_view kInChain = "1.2.840.113556.1.4.1941";

// An attribute description split into its type and its options (";a;b",
// compared case-insensitively; views into the filter or entry).
struct Description {
  const AttributeType* type = nullptr;
  std::string_view options;
};

Description Describe(const Schema& schema, std::string_view text) {
  size_t semi = text.find(';');
  Description d;
  d.type = schema.FindAttribute(text.substr(0, semi));
  if (semi != std::string_view::npos) d.options = text.substr(semi);
  return d;
}

// Does ";a;b" `have` include every option of `wanted`?
bool HasOptions(std::string_view have, std::string_view wanted) {
  while (!wanted.empty()) {
    wanted.remove_prefix(1);  // ';'
    std::string_view option = wanted.substr(0, wanted.find(';'));
    wanted.remove_prefix(option.size());
    bool found = false;
    for (std::string_view rest = have; !rest.empty() && !found;) {
      rest.remove_prefix(1);
      std::string_view o = rest.substr(0, rest.find(';'));
      rest.remove_prefix(o.size());
      found = ldap::EqualsIgnoreCase(o, option);
    }
    if (!found) return false;
  }
  return true;
}

bool Readable(const EvalHooks& hooks, const AttributeType& attr) { return !hooks.can_read || hooks.can_read(attr); }

// Calls `visit` on each value of `wanted` and its subtypes (RFC 4511
// §4.5.1.7: a filter on a type matches its subtypes; the entry's options must
// include the filter's) until it returns true; returns whether one did.
template <typename Visit>
bool AnyValue(const Schema& schema, const ldap::Entry& entry, const Description& wanted, const EvalHooks& hooks,
              Visit visit) {
  for (const auto& attr : entry.attributes()) {
    Description have = Describe(schema, attr.type);
    if (!have.type || !schema.IsSubtypeOf(*have.type, *wanted.type) || !Readable(hooks, *have.type)) continue;
    if (!HasOptions(have.options, wanted.options)) continue;
    for (const auto& v : attr.values) {
      if (visit(v)) return true;
    }
  }
  return false;
}

std::vector<const std::string*> CollectValues(const Schema& schema, const ldap::Entry& entry, const Description& wanted,
                                              const EvalHooks& hooks) {
  std::vector<const std::string*> out;
  AnyValue(schema, entry, wanted, hooks, [&](const std::string& v) {
    out.push_back(&v);
    return false;
  });
  return out;
}

// objectClass values with their superclasses, so (objectClass=person)
// matches an inetOrgPerson.
std::vector<std::string> ObjectClassValues(const Schema& schema, const ldap::Entry& entry) {
  std::vector<std::string> raw;
  for (const auto& attr : entry.attributes()) {
    Description have = Describe(schema, attr.type);
    if (have.type && have.type->oid == kObjectClassOid) raw.insert(raw.end(), attr.values.begin(), attr.values.end());
  }
  std::vector<std::string> out = schema.ExpandObjectClasses(raw);
  for (const auto& v : raw) {
    if (!schema.FindObjectClass(v)) out.push_back(v);  // unknown classes still match themselves
  }
  return out;
}

Tri MatchEqualityValues(const Schema& schema, const MatchingRule& rule, const std::vector<const std::string*>& values,
                        std::string_view assertion) {
  auto want = schema.NormalizeWithRule(rule, assertion);
  if (!want.ok()) return Tri::kUndefined;
  for (const std::string* v : values) {
    if (schema.MatchesNormalized(rule, *v, *want)) return Tri::kTrue;
  }
  return Tri::kFalse;
}

// (objectClass=<known class>): does one of the entry's classes inherit from
// it? Null when the assertion is not simply a class name or OID, so the
// general path (normalise and compare) decides.
std::optional<Tri> MatchObjectClassFast(const Schema& schema, const ldap::Entry& entry, const Description& d,
                                        std::string_view assertion) {
  std::string_view name = assertion;
  while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
  while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
  const ObjectClass* want = schema.FindObjectClass(name);
  // objectIdentifierMatch resolves attribute names first; leave such names to it.
  if (!want || !d.options.empty() || schema.FindAttribute(name)) return std::nullopt;
  for (const auto& attr : entry.attributes()) {
    Description have = Describe(schema, attr.type);
    if (have.type != d.type) continue;
    for (const auto& v : attr.values) {
      std::string_view value = v;
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
      const ObjectClass* oc = schema.FindObjectClass(value);
      if (oc && !schema.FindAttribute(value) && schema.IsSubclassOf(*oc, *want)) return Tri::kTrue;
      if (oc && schema.FindAttribute(value)) return std::nullopt;  // ambiguous name: the general path
    }
  }
  return Tri::kFalse;
}

Tri EvalEquality(const Filter& f, const ldap::Entry& entry, const Schema& schema, const EvalHooks& hooks) {
  Description d = Describe(schema, f.attribute);
  if (!d.type || !Readable(hooks, *d.type) || !d.type->equality_rule) return Tri::kUndefined;
  if (d.type->oid == kObjectClassOid) {
    if (auto fast = MatchObjectClassFast(schema, entry, d, f.value)) return *fast;
    std::vector<std::string> classes = ObjectClassValues(schema, entry);
    std::vector<const std::string*> values;
    for (const auto& c : classes) values.push_back(&c);
    return MatchEqualityValues(schema, *d.type->equality_rule, values, f.value);
  }
  const MatchingRule& rule = *d.type->equality_rule;
  auto want = schema.NormalizeWithRule(rule, f.value);
  if (!want.ok()) return Tri::kUndefined;
  bool found = AnyValue(schema, entry, d, hooks,
                        [&](const std::string& v) { return schema.MatchesNormalized(rule, v, *want); });
  return found ? Tri::kTrue : Tri::kFalse;
}

bool SubstringsMatch(std::string_view value, const std::optional<std::string>& initial,
                     const std::vector<std::string>& any, const std::optional<std::string>& final) {
  size_t pos = 0;
  if (initial) {
    if (value.substr(0, initial->size()) != *initial) return false;
    pos = initial->size();
  }
  size_t end = value.size();
  if (final) {
    if (final->size() > end - pos || value.substr(end - final->size()) != *final) return false;
    end -= final->size();
  }
  for (const auto& piece : any) {
    size_t found = value.substr(0, end).find(piece, pos);
    if (found == std::string_view::npos) return false;
    pos = found + piece.size();
  }
  return true;
}

Tri EvalSubstrings(const Filter& f, const ldap::Entry& entry, const Schema& schema, const EvalHooks& hooks) {
  Description d = Describe(schema, f.attribute);
  if (!d.type || !Readable(hooks, *d.type)) return Tri::kUndefined;
  auto norm = [&](const std::string& s) { return schema.NormalizeSubstring(*d.type, s); };
  std::optional<std::string> initial, final;
  std::vector<std::string> any;
  if (f.initial) {
    auto n = norm(*f.initial);
    if (!n.ok()) return Tri::kUndefined;
    initial = *n;
  }
  if (f.final) {
    auto n = norm(*f.final);
    if (!n.ok()) return Tri::kUndefined;
    final = *n;
  }
  for (const auto& a : f.any) {
    auto n = norm(a);
    if (!n.ok()) return Tri::kUndefined;
    if (!n->empty()) any.push_back(*n);
  }
  bool found = AnyValue(schema, entry, d, hooks, [&](const std::string& v) {
    auto n = norm(v);
    return n.ok() && SubstringsMatch(*n, initial, any, final);
  });
  return found ? Tri::kTrue : Tri::kFalse;
}

Tri EvalOrdering(const Filter& f, const ldap::Entry& entry, const Schema& schema, const EvalHooks& hooks) {
  Description d = Describe(schema, f.attribute);
  if (!d.type || !Readable(hooks, *d.type)) return Tri::kUndefined;
  // Probe the assertion against itself: an unusable rule or value is Undefined.
  if (!schema.CompareOrdering(*d.type, f.value, f.value).ok()) return Tri::kUndefined;
  bool found = AnyValue(schema, entry, d, hooks, [&](const std::string& v) {
    auto cmp = schema.CompareOrdering(*d.type, v, f.value);
    return cmp.ok() && (f.type == Filter::Type::kGreaterOrEqual ? *cmp >= 0 : *cmp <= 0);
  });
  return found ? Tri::kTrue : Tri::kFalse;
}

Tri EvalPresent(const Filter& f, const ldap::Entry& entry, const Schema& schema, const EvalHooks& hooks) {
  Description d = Describe(schema, f.attribute);
  if (!d.type) return Tri::kUndefined;
  if (d.type->oid == kObjectClassOid && d.options.empty()) return Tri::kTrue;
  if (!Readable(hooks, *d.type)) return Tri::kUndefined;
  return AnyValue(schema, entry, d, hooks, [](const std::string&) { return true; }) ? Tri::kTrue : Tri::kFalse;
}

std::optional<int64_t> ParseInt64(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    // AD stores some flags as unsigned 32-bit values.
    uint64_t u = 0;
    auto [pu, ecu] = std::from_chars(s.data(), s.data() + s.size(), u);
    if (ecu != std::errc() || pu != s.data() + s.size()) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  return v;
}

Tri EvalBitwise(const Filter& f, const Description& d, const ldap::Entry& entry, const Schema& schema,
                const EvalHooks& hooks) {
  auto mask = ParseInt64(f.value);
  if (!mask) return Tri::kUndefined;
  bool is_and = f.matching_rule == kBitAnd;
  bool found = AnyValue(schema, entry, d, hooks, [&](const std::string& v) {
    auto value = ParseInt64(v);
    return value && (is_and ? (*value & *mask) == *mask : (*value & *mask) != 0);
  });
  return found ? Tri::kTrue : Tri::kFalse;
}

// Does the rule apply to values of `attr`? (RFC 4511: "attributes that
// support that matchingRule": same assertion syntax.)
bool RuleApplies(const MatchingRule& rule, const AttributeType& attr) {
  if (attr.equality_rule == &rule) return true;
  if (attr.syntax == rule.syntax) return true;
  return attr.equality_rule && attr.equality_rule->kind == rule.kind;
}

Tri EvalExtensible(const Filter& f, const ldap::Entry& entry, const Schema& schema, const EvalHooks& hooks) {
  Description d;
  if (!f.attribute.empty()) {
    d = Describe(schema, f.attribute);
    if (!d.type || !Readable(hooks, *d.type)) return Tri::kUndefined;
  }
  if (f.matching_rule == kBitAnd || f.matching_rule == kBitOr) {
    if (!d.type) return Tri::kUndefined;
    return EvalBitwise(f, d, entry, schema, hooks);
  }
  if (f.matching_rule == kInChain) {
    if (!d.type || !d.type->equality_rule || d.type->equality_rule->kind != MatchingKind::kDistinguishedName) {
      return Tri::kUndefined;
    }
    if (hooks.in_chain) return hooks.in_chain(entry, *d.type, f.value) ? Tri::kTrue : Tri::kFalse;
    // Without a resolver, the chain of length one: a direct value.
    return MatchEqualityValues(schema, *d.type->equality_rule, CollectValues(schema, entry, d, hooks), f.value);
  }
  const MatchingRule* rule = nullptr;
  if (!f.matching_rule.empty()) {
    rule = schema.FindMatchingRule(f.matching_rule);
    if (!rule || rule->kind == MatchingKind::kNone) return Tri::kUndefined;
  } else if (d.type) {
    rule = d.type->equality_rule;
  }
  if (!rule) return Tri::kUndefined;
  if (d.type && d.type->oid != kObjectClassOid && !RuleApplies(*rule, *d.type)) return Tri::kUndefined;

  Tri result = Tri::kFalse;
  auto merge = [&result](Tri t) {
    if (t == Tri::kTrue) result = Tri::kTrue;
    else if (t == Tri::kUndefined && result == Tri::kFalse) result = Tri::kUndefined;
  };
  if (d.type) {
    if (d.type->oid == kObjectClassOid) {
      std::vector<std::string> classes = ObjectClassValues(schema, entry);
      std::vector<const std::string*> values;
      for (const auto& c : classes) values.push_back(&c);
      merge(MatchEqualityValues(schema, *rule, values, f.value));
    } else {
      merge(MatchEqualityValues(schema, *rule, CollectValues(schema, entry, d, hooks), f.value));
    }
  } else {
    // No type: every readable attribute the rule applies to.
    for (const auto& attr : entry.attributes()) {
      Description have = Describe(schema, attr.type);
      if (!have.type || !Readable(hooks, *have.type) || !RuleApplies(*rule, *have.type)) continue;
      std::vector<const std::string*> values;
      for (const auto& v : attr.values) values.push_back(&v);
      merge(MatchEqualityValues(schema, *rule, values, f.value));
      if (result == Tri::kTrue) return result;
    }
  }
  if (result != Tri::kTrue && f.dn_attributes) {
    for (const ldap::Rdn& rdn : entry.dn().rdns()) {
      for (const ldap::Ava& ava : rdn) {
        const AttributeType* t = schema.FindAttribute(ava.type);
        if (!t || !Readable(hooks, *t)) continue;
        if (d.type ? !schema.IsSubtypeOf(*t, *d.type) : !RuleApplies(*rule, *t)) continue;
        merge(MatchEqualityValues(schema, *rule, {&ava.value}, f.value));
        if (result == Tri::kTrue) return result;
      }
    }
  }
  return result;
}

}  // namespace

Tri Evaluate(const ldap::Filter& filter, const ldap::Entry& entry, const Schema& schema, const EvalHooks& hooks) {
  switch (filter.type) {
    case Filter::Type::kAnd: {
      Tri result = Tri::kTrue;
      for (const Filter& child : filter.children) {
        Tri t = Evaluate(child, entry, schema, hooks);
        if (t == Tri::kFalse) return Tri::kFalse;
        if (t == Tri::kUndefined) result = Tri::kUndefined;
      }
      return result;
    }
    case Filter::Type::kOr: {
      Tri result = Tri::kFalse;
      for (const Filter& child : filter.children) {
        Tri t = Evaluate(child, entry, schema, hooks);
        if (t == Tri::kTrue) return Tri::kTrue;
        if (t == Tri::kUndefined) result = Tri::kUndefined;
      }
      return result;
    }
    case Filter::Type::kNot: {
      if (filter.children.size() != 1) return Tri::kUndefined;
      Tri t = Evaluate(filter.children.front(), entry, schema, hooks);
      return t == Tri::kTrue ? Tri::kFalse : t == Tri::kFalse ? Tri::kTrue : Tri::kUndefined;
    }
    case Filter::Type::kEquality:
    case Filter::Type::kApprox:  // approximate match is equality after normalisation
      return EvalEquality(filter, entry, schema, hooks);
    case Filter::Type::kSubstrings:
      return EvalSubstrings(filter, entry, schema, hooks);
    case Filter::Type::kGreaterOrEqual:
    case Filter::Type::kLessOrEqual:
      return EvalOrdering(filter, entry, schema, hooks);
    case Filter::Type::kPresent:
      return EvalPresent(filter, entry, schema, hooks);
    case Filter::Type::kExtensible:
      return EvalExtensible(filter, entry, schema, hooks);
  }
  return Tri::kUndefined;
}

}  // namespace simplead::schema
