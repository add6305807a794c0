#include "server/backend/access.h"

#include <algorithm>
#include <cctype>

#include "schema/filter_eval.h"

namespace simplead::backend {

namespace {

struct Token {
  std::string key;    // "allow", "scope", "attrs!", "filter", "on" ...; empty for a bare quoted string
  std::string value;  // after '=' or the quoted text
  bool has_value = false;
};

Status RuleError(std::string_view text, const std::string& why) {
  return Error(ResultCode::kInvalidAttributeSyntax, "access rule \"" + std::string(text) + "\": " + why);
}

// Splits a rule into tokens: words, key=value, key="quoted value",
// filter=(balanced parentheses) and bare "quoted strings".
Result<std::vector<Token>> Tokenize(std::string_view text) {
  std::vector<Token> tokens;
  size_t i = 0;
  auto read_quoted = [&](std::string* out) -> Status {
    ++i;  // opening quote
    while (i < text.size() && text[i] != '"') {
      if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == '"' || text[i + 1] == '\\')) ++i;
      out->push_back(text[i++]);
    }
    if (i >= text.size()) return RuleError(text, "unterminated quoted string");
    ++i;  // closing quote
    return Status::Ok();
  };
  while (tokens.size() < 64) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i >= text.size()) return tokens;
    Token token;
    if (text[i] == '"') {
      SIMPLEAD_RETURN_IF_ERROR(read_quoted(&token.value));
      token.has_value = true;
      tokens.push_back(std::move(token));
      continue;
    }
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])) && text[i] != '=') {
      token.key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(text[i]))));
      ++i;
    }
    if (i < text.size() && text[i] == '=') {
      token.has_value = true;
      ++i;
      if (i < text.size() && text[i] == '"') {
        SIMPLEAD_RETURN_IF_ERROR(read_quoted(&token.value));
      } else if (i < text.size() && text[i] == '(') {
        int depth = 0;
        size_t start = i;
        for (; i < text.size(); ++i) {
          if (text[i] == '(') ++depth;
          if (text[i] == ')' && --depth == 0) break;
        }
        if (i >= text.size()) return RuleError(text, "unbalanced parentheses in filter");
        ++i;
        token.value = std::string(text.substr(start, i - start));
      } else {
        while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) token.value.push_back(text[i++]);
      }
    }
    tokens.push_back(std::move(token));
  }
  return RuleError(text, "too many parts");
}

Result<uint32_t> ParseRights(std::string_view text, std::string_view list) {
  uint32_t rights = 0;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string_view::npos) end = list.size();
    std::string_view word = list.substr(start, end - start);
    if (word == "read") {
      rights |= kReadRight;
    } else if (word == "write") {
      rights |= kWriteRight;
    } else if (word == "add") {
      rights |= kAddRight;
    } else if (word == "delete") {
      rights |= kDeleteRight;
    } else if (word == "all") {
      rights |= kAllRights;
    } else {
      return RuleError(text, "unknown right \"" + std::string(word) + "\" (read, write, add, delete or all)");
    }
    start = end + 1;
  }
  return rights;
}

// Position of the first RDN separator (an unescaped ',') in a normalised DN.
size_t FirstSeparator(std::string_view key) {
  for (size_t i = 0; i < key.size(); ++i) {
    if (key[i] == '\\') {
      ++i;
    } else if (key[i] == ',') {
      return i;
    }
  }
  return std::string_view::npos;
}

}  // namespace

bool DnKeyInScope(std::string_view key, std::string_view base, ldap::SearchScope scope) {
  using Scope = ldap::SearchScope;
  if (key == base) return scope == Scope::kBase || scope == Scope::kSubtree;
  if (scope == Scope::kBase) return false;
  if (scope == Scope::kOneLevel) {
    size_t sep = FirstSeparator(key);
    return sep != std::string_view::npos && key.substr(sep + 1) == base;
  }
  if (base.empty()) return true;
  if (key.size() <= base.size() + 1 || key.substr(key.size() - base.size()) != base) return false;
  // The ',' before the base must be a separator, not an escaped comma in a value.
  size_t comma = key.size() - base.size() - 1;
  if (key[comma] != ',') return false;
  size_t backslashes = 0;
  while (backslashes < comma && key[comma - 1 - backslashes] == '\\') ++backslashes;
  return backslashes % 2 == 0;
}

Result<AccessRule> ParseAccessRule(std::string_view text, const schema::Schema& schema, const DnKeyFn& dn_key,
                                   std::string_view default_target, bool allow_on) {
  SIMPLEAD_ASSIGN_OR_RETURN(auto tokens, Tokenize(text));
  AccessRule rule;
  rule.text = std::string(text);
  if (tokens.size() < 4) return RuleError(text, "expected: allow|deny RIGHTS [options] by SUBJECT");
  if (tokens[0].key == "allow" && !tokens[0].has_value) {
    rule.allow = true;
  } else if (tokens[0].key == "deny" && !tokens[0].has_value) {
    rule.allow = false;
  } else {
    return RuleError(text, "a rule starts with allow or deny");
  }
  if (tokens[1].has_value) return RuleError(text, "expected rights after " + tokens[0].key);
  SIMPLEAD_ASSIGN_OR_RETURN(rule.rights, ParseRights(text, tokens[1].key));
  std::string target(default_target);
  size_t i = 2;
  bool saw_by = false;
  for (; i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    if (t.key == "by" && !t.has_value) {
      saw_by = true;
      ++i;
      break;
    }
    if (t.key == "on" && !t.has_value) {
      if (!allow_on) return RuleError(text, "rules stored on an entry apply to its subtree; drop the 'on' clause");
      if (i + 1 >= tokens.size() || !tokens[i + 1].key.empty()) return RuleError(text, "'on' takes a quoted DN");
      target = tokens[++i].value;
    } else if (t.key == "scope" && t.has_value) {
      if (t.value == "subtree" || t.value == "sub") {
        rule.scope = ldap::SearchScope::kSubtree;
      } else if (t.value == "base") {
        rule.scope = ldap::SearchScope::kBase;
      } else if (t.value == "one" || t.value == "onelevel") {
        rule.scope = ldap::SearchScope::kOneLevel;
      } else if (t.value == "children") {
        rule.scope = ldap::SearchScope::kChildren;
      } else {
        return RuleError(text, "unknown scope \"" + t.value + "\" (subtree, base, one or children)");
      }
    } else if ((t.key == "attrs" || t.key == "attrs!") && t.has_value) {
      if (!rule.attributes.empty()) return RuleError(text, "attrs given twice");
      rule.attributes_negated = t.key == "attrs!";
      size_t start = 0;
      while (start <= t.value.size()) {
        size_t end = t.value.find(',', start);
        if (end == std::string::npos) end = t.value.size();
        std::string name = t.value.substr(start, end - start);
        const auto* at = schema.FindAttribute(name);
        if (!at) return RuleError(text, "unknown attribute \"" + name + "\"");
        rule.attributes.insert(ldap::ToLower(at->name()));
        start = end + 1;
      }
    } else if (t.key == "filter" && t.has_value) {
      auto filter = ldap::ParseFilter(t.value, 16);
      if (!filter.ok()) return RuleError(text, "bad filter: " + filter.status().message());
      rule.filter = std::move(*filter);
    } else {
      return RuleError(text, "unexpected \"" + (t.key.empty() ? t.value : t.key) + "\"");
    }
  }
  if (!saw_by || i >= tokens.size()) return RuleError(text, "missing 'by SUBJECT'");
  const Token& who = tokens[i];
  using Kind = AccessSubject::Kind;
  if (who.key == "anyone" && !who.has_value) {
    rule.subject.kind = Kind::kAnyone;
  } else if (who.key == "anonymous" && !who.has_value) {
    rule.subject.kind = Kind::kAnonymous;
  } else if (who.key == "authenticated" && !who.has_value) {
    rule.subject.kind = Kind::kAuthenticated;
  } else if (who.key == "self" && !who.has_value) {
    rule.subject.kind = Kind::kSelf;
  } else if ((who.key == "dn" || who.key == "group") && who.has_value) {
    rule.subject.kind = who.key == "dn" ? Kind::kDn : Kind::kGroup;
    auto key = dn_key(who.value);
    if (!key.ok() || key->empty()) return RuleError(text, "bad DN \"" + who.value + "\"");
    rule.subject.key = *key;
  } else {
    return RuleError(text, "unknown subject (anyone, anonymous, authenticated, self, dn=\"DN\" or group=\"DN\")");
  }
  if (i + 1 != tokens.size()) return RuleError(text, "unexpected text after the subject");
  auto target_key = dn_key(target);
  if (!target_key.ok()) return RuleError(text, "bad target DN \"" + target + "\"");
  rule.target_key = *target_key;
  return rule;
}

EntryAccess AccessPolicy::For(const AccessRequester& requester, std::string_view entry_key,
                              const ldap::Entry& entry, const schema::Schema& schema) const {
  using Kind = AccessSubject::Kind;
  EntryAccess access;
  const std::vector<std::string>* groups = nullptr;
  for (const auto& rule : rules_) {
    switch (rule.subject.kind) {
      case Kind::kAnyone:
        break;
      case Kind::kAnonymous:
        if (!requester.anonymous) continue;
        break;
      case Kind::kAuthenticated:
        if (requester.anonymous) continue;
        break;
      case Kind::kSelf:
        if (requester.anonymous || requester.key != entry_key) continue;
        break;
      case Kind::kDn:
        if (requester.anonymous || requester.key != rule.subject.key) continue;
        break;
      case Kind::kGroup:
        if (requester.anonymous) continue;
        break;
    }
    if (!DnKeyInScope(entry_key, rule.target_key, rule.scope)) continue;
    if (rule.filter && schema::Evaluate(*rule.filter, entry, schema) != schema::Tri::kTrue) continue;
    if (rule.subject.kind == Kind::kGroup) {
      if (!groups) {
        static const std::vector<std::string> kNone;
        groups = requester.groups ? &requester.groups() : &kNone;
      }
      if (std::find(groups->begin(), groups->end(), rule.subject.key) == groups->end()) continue;
    }
    access.rules_.push_back(&rule);
  }
  return access;
}

bool EntryAccess::Allows(uint32_t right, std::string_view attribute) const {
  if (unrestricted_) return true;
  bool allowed = false;
  for (const AccessRule* rule : rules_) {
    if (!(rule->rights & right)) continue;
    bool listed = rule->attributes.find(attribute) != rule->attributes.end();
    bool covers = rule->attributes.empty() || (rule->attributes_negated ? !listed : listed);
    if (!covers) continue;
    if (!rule->allow) return false;
    allowed = true;
  }
  return allowed;
}

bool EntryAccess::AllowsEntry(uint32_t right) const {
  if (unrestricted_) return true;
  bool allowed = false;
  for (const AccessRule* rule : rules_) {
    if (!(rule->rights & right)) continue;
    if (!rule->allow) {
      if (rule->attributes.empty()) return false;
      continue;
    }
    allowed = true;
  }
  return allowed;
}

}  // namespace simplead::backend
