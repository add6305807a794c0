// The naming scheme shared by ldapdatagen and ldapbench, so that the load
// generator picks users that the data generator wrote: user n (1 <= n <= N)
// has the name Expand(name_template, n) (default "user{n}"), the DN
// Expand(user_dn_template, n) and the password Expand(password_template, n).
// Templates may use {n} and {suffix}. Plain value types; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace simplead::bench {

enum class Style { kPlain, kAd };

std::optional<Style> ParseStyle(std::string_view text);

struct Naming {
  Style style = Style::kPlain;
  std::string suffix;              // dc=example,dc=com or DC=corp,DC=example,DC=com
  std::string name_template;       // uid / sAMAccountName / cn of user n
  std::string user_dn_template;    // uid=user{n},ou=people,{suffix}
  std::string group_dn_template;   // cn=group{n},ou=groups,{suffix}
  std::string password_template;   // Pass{n}!word
  std::string admin_dn;            // the bind DN the benchmark uses for searches and writes
};

// The defaults of a style; an empty suffix selects the style's default suffix.
Naming DefaultNaming(Style style, std::string suffix = {});

// Fills the empty fields of `naming` from DefaultNaming(naming.style, suffix).
void FillDefaults(Naming& naming);

// Replaces every "{n}" by `n` and every "{suffix}" by `suffix`.
std::string Expand(std::string_view tmpl, std::string_view n, std::string_view suffix);
inline std::string Expand(std::string_view tmpl, uint64_t n, std::string_view suffix) {
  return Expand(tmpl, std::to_string(n), suffix);
}

// "dc=corp,dc=example,dc=com" -> "corp.example.com"; non-dc RDNs are skipped.
std::string SuffixToDomain(std::string_view suffix);

// The attribute type and value of a DN's first RDN: "uid=user1,ou=x" -> {"uid", "user1"}.
// No escaping is handled: benchmark names never need it.
std::pair<std::string, std::string> FirstRdn(std::string_view dn);

// The name attribute that identifies a user by equality: uid or sAMAccountName.
inline const char* LoginAttribute(Style style) { return style == Style::kAd ? "sAMAccountName" : "uid"; }

}  // namespace simplead::bench
