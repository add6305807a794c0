// Distinguished names (RFC 4514). A Dn is an immutable-by-convention value
// type: parse once at the edge, compare by Normalized(). Thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/base/status.h"

namespace simplead::ldap {

// One attribute-value assertion of an RDN. `value` is unescaped (raw bytes);
// a hex-string value (#04..) is decoded to its BER content.
struct Ava {
  std::string type;
  std::string value;
};

// A multi-valued RDN holds its AVAs in the order given.
using Rdn = std::vector<Ava>;

class Dn {
 public:
  Dn() = default;  // the root DSE's empty DN
  explicit Dn(std::vector<Rdn> rdns) : rdns_(std::move(rdns)) {}

  // Parses an RFC 4514 string (also tolerates spaces around ',' '+' '=' and
  // ';' as separator, as RFC 2253 parsers do). Errors: kInvalidDnSyntax.
  static Result<Dn> Parse(std::string_view text);

  const std::vector<Rdn>& rdns() const { return rdns_; }
  bool empty() const { return rdns_.empty(); }
  size_t size() const { return rdns_.size(); }
  const Rdn& rdn() const { return rdns_.front(); }  // requires !empty()

  Dn Parent() const;                       // empty for a one-RDN DN
  Dn Child(Rdn rdn) const;                 // rdn + "," + this
  Dn WithRdn(Rdn rdn) const;               // replace the first RDN
  Dn Rebase(const Dn& old_base, const Dn& new_base) const;  // requires IsDescendantOrSelf(old_base)

  // RFC 4514 string, keeping the case and type names as given.
  std::string ToString() const;
  // Canonical form for comparison and storage keys: types lower-cased,
  // values case-folded with insignificant spaces removed (caseIgnoreMatch),
  // AVAs of a multi-valued RDN sorted, no spaces around separators.
  std::string Normalized() const;

  bool IsDescendantOf(const Dn& ancestor) const;        // strictly below
  bool IsDescendantOrSelf(const Dn& ancestor) const;
  bool operator==(const Dn& other) const { return Normalized() == other.Normalized(); }

 private:
  std::vector<Rdn> rdns_;
};

// RFC 4514 escaping of one attribute value.
std::string EscapeDnValue(std::string_view value);
// caseIgnore normalisation used by Dn::Normalized(): lower-case ASCII, trim,
// fold runs of spaces to one.
std::string NormalizeCaseIgnore(std::string_view value);
// Normalise a DN given as text; errors as Dn::Parse.
Result<std::string> NormalizeDn(std::string_view text);

}  // namespace simplead::ldap
