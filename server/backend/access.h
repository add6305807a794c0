// Access control: rules that say who may read, write, add or delete what,
// attribute by attribute, and their evaluation. Rules come from three places
// (the built-in defaults, the configuration, and simpleadAccessRule values on
// entries) and share one text form:
//
//   allow|deny RIGHTS [on "DN"] [scope=subtree|base|one|children]
//              [attrs=a,b | attrs!=a,b] [filter=(ldap filter)] by SUBJECT
//   RIGHTS  = read,write,add,delete (comma-separated) or all
//   SUBJECT = anyone | anonymous | authenticated | self | dn="DN" | group="DN"
//
// A decision is order-independent: a matching deny beats any allow, and with
// no matching allow the answer is no. `read` covers returning values, matching
// them in filters and compare; an entry is visible when some read rule
// applies to it and no whole-entry deny does. `add` on an entry lets you
// create children under it; `delete` lets you delete it; `write` covers
// modifying its attributes and renaming it. Invariants outside the rules
// (verifiers never readable, administrators unrestricted, protected accounts)
// are the Directory's. Pure and immutable once built: thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/status.h"
#include "lib/ldap/entry.h"
#include "lib/ldap/filter.h"
#include "lib/ldap/message.h"
#include "schema/schema.h"

namespace simplead::backend {

enum AccessRight : uint32_t {
  kReadRight = 1,
  kWriteRight = 2,
  kAddRight = 4,
  kDeleteRight = 8,
  kAllRights = 15,
};

struct AccessSubject {
  enum class Kind { kAnyone, kAnonymous, kAuthenticated, kSelf, kDn, kGroup };
  Kind kind = Kind::kAnyone;
  std::string key;  // normalised DN for kDn and kGroup
};

struct AccessRule {
  bool allow = true;
  uint32_t rights = 0;
  std::string target_key;  // normalised DN the rule is anchored at
  ldap::SearchScope scope = ldap::SearchScope::kSubtree;
  std::optional<ldap::Filter> filter;  // narrows the entries below the target
  std::set<std::string, std::less<>> attributes;  // canonical lower-case names; empty: the whole entry
  bool attributes_negated = false;     // attrs!=: every attribute except these
  AccessSubject subject;
  std::string text;    // as written, for diagnostics
  std::string origin;  // "built-in", "config" or the DN holding it
};

// Turns DNs into directory keys (the Directory's DnKey).
using DnKeyFn = std::function<Result<std::string>(std::string_view dn)>;

// Parses one rule. `default_target` (a DN) anchors rules without `on`;
// `allow_on` false rejects `on` (rules stored on an entry apply to that entry's
// subtree). Errors are kInvalidAttributeSyntax naming the offending part.
Result<AccessRule> ParseAccessRule(std::string_view text, const schema::Schema& schema, const DnKeyFn& dn_key,
                                   std::string_view default_target, bool allow_on = true);

// Who is asking, for rule matching. `groups` is called at most once per
// decision, only when a group rule could apply (it walks memberOf).
struct AccessRequester {
  bool anonymous = true;
  std::string key;  // normalised DN of the bound entry
  std::function<const std::vector<std::string>&()> groups;
};

// The rules that apply to one requester on one entry; answers per right and
// attribute. Cheap to build; build one per entry examined.
class EntryAccess {
 public:
  // Administrators and the server itself: every right on every attribute.
  static EntryAccess Unrestricted() {
    EntryAccess access;
    access.unrestricted_ = true;
    return access;
  }
  // True when `right` is granted for the attribute (canonical lower-case name).
  bool Allows(uint32_t right, std::string_view attribute) const;
  // True when some rule grants `right` on the entry and no whole-entry deny
  // takes it away (visibility for kReadRight, add/delete/rename otherwise).
  bool AllowsEntry(uint32_t right) const;

 private:
  friend class AccessPolicy;
  bool unrestricted_ = false;
  std::vector<const AccessRule*> rules_;
};

class AccessPolicy {
 public:
  AccessPolicy() = default;
  explicit AccessPolicy(std::vector<AccessRule> rules) : rules_(std::move(rules)) {}

  // `entry_key` is the entry's normalised DN.
  EntryAccess For(const AccessRequester& requester, std::string_view entry_key, const ldap::Entry& entry,
                  const schema::Schema& schema) const;
  const std::vector<AccessRule>& rules() const { return rules_; }

 private:
  std::vector<AccessRule> rules_;
};

// Does `key` fall under `base` with `scope`? Both normalised DNs.
bool DnKeyInScope(std::string_view key, std::string_view base, ldap::SearchScope scope);

}  // namespace simplead::backend
