// Schema: attribute types, object classes, matching rules and syntaxes,
// loaded from RFC 4512 definition files in schema/*.schema. A Schema is
// immutable once built and shared as shared_ptr<const Schema>, so it is safe
// for concurrent use and is swapped whole on reload.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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

  const std::map<std::string, AttributeType>& attributes_by_oid() const { return attributes_; }

 private:
  friend class SchemaBuilder;
  std::map<std::string, AttributeType> attributes_;        // by OID
  std::map<std::string, ObjectClass> object_classes_;      // by OID
  std::map<std::string, MatchingRule> matching_rules_;     // by OID
  std::map<std::string, Syntax> syntaxes_;                 // by OID
  std::map<std::string, std::string> attribute_index_;     // lower-case name/OID -> OID
  std::map<std::string, std::string> object_class_index_;  // lower-case name/OID -> OID
  std::map<std::string, std::string> matching_rule_index_; // lower-case name/OID -> OID
};

}  // namespace simplead::schema
