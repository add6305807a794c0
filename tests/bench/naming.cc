#include "tests/bench/naming.h"

#include <cctype>

namespace simplead::bench {

std::optional<Style> ParseStyle(std::string_view text) {
  if (text == "plain") return Style::kPlain;
  if (text == "ad") return Style::kAd;
  return std::nullopt;
}

Naming DefaultNaming(Style style, std::string suffix) {
  Naming n;
  n.style = style;
  n.name_template = "user{n}";
  n.password_template = "Pass{n}!word";
  if (style == Style::kAd) {
    n.suffix = suffix.empty() ? "DC=corp,DC=example,DC=com" : suffix;
    n.user_dn_template = "CN=user{n},CN=Users,{suffix}";
    n.group_dn_template = "CN=group{n},CN=Users,{suffix}";
    n.admin_dn = "CN=Administrator,CN=Users," + n.suffix;
  } else {
    n.suffix = suffix.empty() ? "dc=example,dc=com" : suffix;
    n.user_dn_template = "uid=user{n},ou=people,{suffix}";
    n.group_dn_template = "cn=group{n},ou=groups,{suffix}";
    n.admin_dn = "cn=admin," + n.suffix;
  }
  return n;
}

void FillDefaults(Naming& naming) {
  Naming d = DefaultNaming(naming.style, naming.suffix);
  naming.suffix = d.suffix;
  if (naming.name_template.empty()) naming.name_template = d.name_template;
  if (naming.user_dn_template.empty()) naming.user_dn_template = d.user_dn_template;
  if (naming.group_dn_template.empty()) naming.group_dn_template = d.group_dn_template;
  if (naming.password_template.empty()) naming.password_template = d.password_template;
  if (naming.admin_dn.empty()) naming.admin_dn = d.admin_dn;
}

std::string Expand(std::string_view tmpl, std::string_view n, std::string_view suffix) {
  std::string out;
  out.reserve(tmpl.size() + suffix.size() + n.size());
  for (size_t i = 0; i < tmpl.size();) {
    if (tmpl.compare(i, 3, "{n}") == 0) {
      out += n;
      i += 3;
    } else if (tmpl.compare(i, 8, "{suffix}") == 0) {
      out += suffix;
      i += 8;
    } else {
      out += tmpl[i++];
    }
  }
  return out;
}

std::string SuffixToDomain(std::string_view suffix) {
  std::string out;
  size_t start = 0;
  while (start < suffix.size()) {
    size_t comma = suffix.find(',', start);
    if (comma == std::string_view::npos) comma = suffix.size();
    std::string_view rdn = suffix.substr(start, comma - start);
    while (!rdn.empty() && rdn.front() == ' ') rdn.remove_prefix(1);
    if (rdn.size() > 3 && std::tolower(static_cast<unsigned char>(rdn[0])) == 'd' &&
        std::tolower(static_cast<unsigned char>(rdn[1])) == 'c' && rdn[2] == '=') {
      if (!out.empty()) out += '.';
      out += rdn.substr(3);
    }
    start = comma + 1;
  }
  return out;
}

std::pair<std::string, std::string> FirstRdn(std::string_view dn) {
  std::string_view rdn = dn.substr(0, dn.find(','));
  size_t eq = rdn.find('=');
  if (eq == std::string_view::npos) return {std::string(rdn), {}};
  return {std::string(rdn.substr(0, eq)), std::string(rdn.substr(eq + 1))};
}

}  // namespace simplead::bench
