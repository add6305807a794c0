// Schema: attribute types, object classes, matching rules and syntaxes,
// loaded from RFC 4512 definition files in schema/*.schema. A Schema is
// immutable once built and shared as shared_ptr<const Schema>, so it is safe
// for concurrent use and is swapped whole on reload. (Its only mutable part is
// an internal, bounded cache of per-object-class-set facts for ValidateEntry,
// guarded by its own lock.)
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lib/base/status.h"
#include "lib/ldap/entry.h"

namespace simplead::schema {

enum class AttributeUsage { kUserApplications, kDirectoryOperation, kDistributedOperation, kDsaOperation };
enum class ObjectClassKind { kAbstract, kStructural, kAuxiliary };

// Matching rules the engine implements (by OID/name in the schema files).
enum class MatchingKind {
  kNone,
  kCaseIgnore,         // caseIgnoreMatch / caseIgnoreOrderingMatch / caseIgnoreSubstringsMatch, caseIgnoreIA5Match
  kCaseExact,          // caseExactMatch, caseExactIA5Match, ...
  kInteger,            // integerMatch, integerOrderingMatch
  kDistinguishedName,  // distinguishedNameMatch
  kOctetString,        // octetStringMatch, octetStringOrderingMatch
  kGeneralizedTime,    // generalizedTimeMatch, generalizedTimeOrderingMatch
  kNumericString,      // numericStringMatch (spaces insignificant)
  kTelephoneNumber,    // telephoneNumberMatch (spaces and hyphens insignificant)
  kBoolean,            // booleanMatch
  kObjectIdentifier,   // objectIdentifierMatch (names resolve to OIDs)
  kUuid,               // UUIDMatch
};

struct MatchingRule {
  std::string oid;
  std::vector<std::string> names;
  std::string syntax;
  MatchingKind kind = MatchingKind::kNone;
};

struct Syntax {
  std::string oid;
  std::string description;
  bool human_readable = true;
};

struct AttributeType {
  std::string oid;
  std::vector<std::string> names;  // names.front() is the canonical name
  std::string description;
  std::string superior;            // canonical name of SUP, may be empty
  std::string equality, ordering, substring;  // rule OIDs/names as written (inherited from SUP when absent)
  std::string syntax;              // OID, with optional {len} removed
  std::optional<size_t> syntax_length;
  bool single_value = false;
  bool collective = false;
  bool no_user_modification = false;
  bool obsolete = false;
  AttributeUsage usage = AttributeUsage::kUserApplications;
  // Resolved by the loader:
  const MatchingRule* equality_rule = nullptr;
  const MatchingRule* ordering_rule = nullptr;
  const MatchingRule* substring_rule = nullptr;
  std::string definition;          // the RFC 4512 text as published in cn=Subschema

  const std::string& name() const { return names.empty() ? oid : names.front(); }
  bool IsOperational() const { return usage != AttributeUsage::kUserApplications; }
};

struct ObjectClass {
  std::string oid;
  std::vector<std::string> names;
  std::string description;
  std::vector<std::string> superiors;  // canonical names
  ObjectClassKind kind = ObjectClassKind::kStructural;
  std::vector<std::string> must;       // canonical attribute names (own, not inherited)
  std::vector<std::string> may;
  bool obsolete = false;
  std::string definition;

  const std::string& name() const { return names.empty() ? oid : names.front(); }
};

class Schema {
 public:
  // Loads every *.schema file in `dir`, in name order (so "00-core" first).
  // Errors name the file, line and problem (kOther).
  static Result<std::shared_ptr<const Schema>> LoadDirectory(const std::string& dir);
  static Result<std::shared_ptr<const Schema>> LoadText(const std::vector<std::string>& texts);

  // Lookup by any name (case-insensitive) or OID; nullptr when unknown.
  const AttributeType* FindAttribute(std::string_view name_or_oid) const;
  const ObjectClass* FindObjectClass(std::string_view name_or_oid) const;
  const MatchingRule* FindMatchingRule(std::string_view name_or_oid) const;
  const Syntax* FindSyntax(std::string_view oid) const;

  // Canonical attribute name (first NAME) for any alias or OID; the input
  // unchanged when unknown. Handles options: "cn;lang-en" -> "cn;lang-en".
  std::string CanonicalAttributeName(std::string_view name) const;

  // True when `attr` is `ancestor` or a subtype of it (name is a subtype of cn).
  bool IsSubtypeOf(const AttributeType& attr, const AttributeType& ancestor) const;
  // All object classes implied by the given ones (superclasses, transitively), canonical names.
  std::vector<std::string> ExpandObjectClasses(const std::vector<std::string>& classes) const;

  // Syntax check of one value (kInvalidAttributeSyntax with a message naming
  // the attribute and syntax).
  Status CheckSyntax(const AttributeType& attr, std::string_view value) const;

  // Normalised form under the attribute's EQUALITY rule: equal values give
  // equal strings. Used for index keys, duplicate detection and filters.
  // kInappropriateMatching if the attribute has no equality rule.
  Result<std::string> NormalizeEquality(const AttributeType& attr, std::string_view value) const;
  // Normalised form under one matching rule (extensible match, DN AVAs).
  // kInappropriateMatching for a rule the engine does not implement.
  Result<std::string> NormalizeWithRule(const MatchingRule& rule, std::string_view value) const;
  // True when `value` normalises under `rule` to `normalized` (a result of
  // NormalizeWithRule). Compares without building the normal form for the
  // string rules (caseIgnore, caseExact), so filters can test many values
  // against one normalised assertion cheaply.
  bool MatchesNormalized(const MatchingRule& rule, std::string_view value, std::string_view normalized) const;
  // Normalised form for substring matching (substring rule, else equality).
  Result<std::string> NormalizeSubstring(const AttributeType& attr, std::string_view value) const;
  // Ordering comparison under the ORDERING rule (or equality-rule order for
  // integers/time): <0, 0, >0; kInappropriateMatching if none applies.
  Result<int> CompareOrdering(const AttributeType& attr, std::string_view a, std::string_view b) const;

  // Checks a whole entry against the schema for add/modify:
  //  - objectClass present, known, exactly one structural chain (65, 21)
  //  - every attribute type known (17), allowed by the classes (65),
  //    required ones present (65), SINGLE-VALUE held (19), syntax (21),
  //    no duplicate values under the equality rule (20)
  //  - RDN values present in the entry (64 namingViolation)
  // Operational attributes are not checked against MUST/MAY.
  // extensibleObject allows any user attribute.
  Status ValidateEntry(const ldap::Entry& entry) const;

  // The structural object class of an entry (the most specific one), or empty.
  std::string StructuralObjectClass(const std::vector<std::string>& classes) const;

  // cn=Subschema content: attributeTypes, objectClasses, ldapSyntaxes,
  // matchingRules (and objectClass/cn), for publication.
  std::vector<ldap::Attribute> SubschemaAttributes() const;

  // True when `oc` is `ancestor` or inherits from it (through SUP, transitively).
  bool IsSubclassOf(const ObjectClass& oc, const ObjectClass& ancestor) const;

  const std::map<std::string, AttributeType>& attributes_by_oid() const { return attributes_; }

  Schema() = default;
  Schema(const Schema&) = delete;  // the indexes point into the maps
  Schema& operator=(const Schema&) = delete;

 private:
  friend class SchemaBuilder;
  // ASCII case-insensitive hashing and equality over string_view, so lookups
  // by any spelling of a name neither copy nor lower-case it.
  struct FoldHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const;
  };
  struct FoldEqual {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const;
  };
  template <typename T>
  using FoldIndex = std::unordered_map<std::string, const T*, FoldHash, FoldEqual>;
  // What ValidateEntry needs from one objectClass value list (see schema.cc).
  struct ClassSet;

  std::shared_ptr<const ClassSet> ClassSetFor(const std::vector<std::string>& values) const;

  std::map<std::string, AttributeType> attributes_;        // by OID
  std::map<std::string, ObjectClass> object_classes_;      // by OID
  std::map<std::string, MatchingRule> matching_rules_;     // by OID
  std::map<std::string, Syntax> syntaxes_;                 // by OID
  FoldIndex<AttributeType> attribute_index_;               // any name or OID
  FoldIndex<ObjectClass> object_class_index_;              // any name or OID
  FoldIndex<MatchingRule> matching_rule_index_;            // any name or OID
  // Each class with its superclasses (itself first), for IsSubclassOf.
  std::unordered_map<const ObjectClass*, std::vector<const ObjectClass*>> class_ancestors_;

  // Bounded cache keyed by the case-folded objectClass values, in order.
  static constexpr size_t kMaxCachedClassSets = 512;
  mutable std::shared_mutex class_sets_mu_;
  mutable std::unordered_map<std::string, std::shared_ptr<const ClassSet>> class_sets_;
};

}  // namespace simplead::schema
