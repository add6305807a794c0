#include "lib/ldap/dn.h"

#include <lber.h>
#include <ldap.h>

#include <algorithm>
#include <memory>

#include "lib/ldap/entry.h"

namespace simplead::ldap {
namespace {

struct DnFree {
  void operator()(LDAPDN dn) const { ldap_dnfree(dn); }
};
using DnPtr = std::unique_ptr<LDAPRDN, DnFree>;

struct BerFree {
  void operator()(BerElement* ber) const { ber_free(ber, 0); }
};

// A "#hex" AVA value holds a whole BER element; the DN model keeps its content.
Result<std::string> BerContent(const berval& encoded) {
  std::string copy(encoded.bv_val, encoded.bv_len);  // NUL-terminated for liblber's look-ahead
  berval bv{copy.size(), copy.data()};
  std::unique_ptr<BerElement, BerFree> ber(ber_alloc_t(0));
  if (!ber) return InternalError("out of memory");
  ber_init2(ber.get(), &bv, 0);
  berval content{};
  if (ber_get_stringbv(ber.get(), &content, LBER_BV_NOTERM) == LBER_DEFAULT) {
    return Error(ResultCode::kInvalidDnSyntax, "invalid BER in #hex DN value");
  }
  ber_len_t rest = 0;
  ber_get_option(ber.get(), LBER_OPT_BER_REMAINING_BYTES, &rest);
  if (rest != 0) return Error(ResultCode::kInvalidDnSyntax, "trailing bytes in #hex DN value");
  return std::string(content.bv_val, content.bv_len);
}

void AppendLower(std::string* out, std::string_view s) {
  for (char c : s) out->push_back(AsciiLower(c));
}

// Appends one RDN; the common single-AVA case builds no temporaries.
void AppendRdn(std::string* out, const Rdn& rdn, bool normalized) {
  if (rdn.size() == 1) {
    const Ava& ava = rdn.front();
    if (normalized) {
      AppendLower(out, ava.type);
      out->push_back('=');
      *out += EscapeDnValue(NormalizeCaseIgnore(ava.value));
    } else {
      *out += ava.type;
      out->push_back('=');
      *out += EscapeDnValue(ava.value);
    }
    return;
  }
  std::vector<std::string> parts;
  parts.reserve(rdn.size());
  for (const Ava& ava : rdn) {
    if (normalized) {
      parts.push_back(ToLower(ava.type) + "=" + EscapeDnValue(NormalizeCaseIgnore(ava.value)));
    } else {
      parts.push_back(ava.type + "=" + EscapeDnValue(ava.value));
    }
  }
  if (normalized) std::sort(parts.begin(), parts.end());
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out->push_back('+');
    *out += parts[i];
  }
}

std::string RdnToString(const Rdn& rdn, bool normalized) {
  std::string out;
  AppendRdn(&out, rdn, normalized);
  return out;
}

bool RdnEquals(const Rdn& a, const Rdn& b) {
  if (a.size() != b.size()) return false;
  if (a.size() == 1) {
    // Escaping is injective, so comparing the unescaped normal forms is the same test.
    return EqualsIgnoreCase(a.front().type, b.front().type) &&
           NormalizeCaseIgnore(a.front().value) == NormalizeCaseIgnore(b.front().value);
  }
  return RdnToString(a, true) == RdnToString(b, true);
}

bool IsDescrStart(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool IsDescrChar(unsigned char c) { return IsDescrStart(c) || (c >= '0' && c <= '9') || c == '-'; }

// A byte that a value may hold unescaped in the fast path: printable ASCII
// other than the RFC 4514 specials (and '=', which ToString escapes too).
bool IsPlainValueByte(unsigned char c) {
  return c >= 0x20 && c < 0x7f && c != '\\' && c != '"' && c != '+' && c != ',' && c != ';' && c != '<' &&
         c != '>' && c != '=';
}

// Length of the well-formed UTF-8 sequence (2 to 4 bytes) starting at s[i],
// or 0. Rejects overlong forms, surrogates and code points above U+10FFFF.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  }
  return len;
}

// The fast paths of Dn::Parse and NormalizeDn, for what Dn::ToString writes
// for plain DNs: single-AVA RDNs "descr=value" joined by ',', no escapes, no
// spaces around separators or at a value's edges, no '#' value, printable
// ASCII or well-formed UTF-8. Calls visit(type, value) for each RDN, first to
// last, once the whole text has passed; returns false (visiting nothing) for
// anything else, which then goes to libldap. For every input it accepts, the
// result equals libldap's parse (dn_test checks this over tricky inputs).
template <typename Visit>
bool VisitPlainDn(std::string_view text, const Visit& visit) {
  for (int pass = 0; pass < 2; ++pass) {  // check everything, then visit
    size_t pos = 0;
    while (true) {
      size_t end = text.find(',', pos);
      if (end == std::string_view::npos) end = text.size();
      std::string_view rdn = text.substr(pos, end - pos);
      size_t eq = rdn.find('=');
      if (eq == 0 || eq == std::string_view::npos) return false;
      std::string_view type = rdn.substr(0, eq);
      std::string_view value = rdn.substr(eq + 1);
      if (pass == 1) {
        visit(type, value);
      } else {
        if (!IsDescrStart(static_cast<unsigned char>(type[0]))) return false;
        for (char c : type) {
          if (!IsDescrChar(static_cast<unsigned char>(c))) return false;
        }
        if (value.empty() || value.front() == ' ' || value.back() == ' ' || value.front() == '#') return false;
        for (size_t i = 0; i < value.size();) {
          const auto c = static_cast<unsigned char>(value[i]);
          if (c < 0x80) {
            if (!IsPlainValueByte(c)) return false;
            ++i;
            continue;
          }
          const size_t len = Utf8SequenceLength(value, i);
          if (len == 0) return false;
          i += len;
        }
      }
      if (end == text.size()) break;
      pos = end + 1;
    }
  }
  return true;
}

bool ParsePlainDn(std::string_view text, std::vector<Rdn>* out) {
  size_t count = 1;
  for (char c : text) count += c == ',';
  std::vector<Rdn> rdns;
  rdns.reserve(count);
  bool plain = VisitPlainDn(text, [&](std::string_view type, std::string_view value) {
    Rdn parsed(1);
    parsed.front().type.assign(type);
    parsed.front().value.assign(value);
    rdns.push_back(std::move(parsed));
  });
  if (plain) *out = std::move(rdns);
  return plain;
}

// Dn::Normalized of a plain DN without building the Dn: a plain value holds
// no byte EscapeDnValue would escape once NormalizeCaseIgnore has trimmed
// it, so each RDN is the lower-cased type, '=' and the folded value.
bool NormalizePlainDn(std::string_view text, std::string* out) {
  std::string normalized;
  normalized.reserve(text.size());
  bool plain = VisitPlainDn(text, [&](std::string_view type, std::string_view value) {
    if (!normalized.empty()) normalized.push_back(',');
    AppendLower(&normalized, type);
    normalized.push_back('=');
    normalized += NormalizeCaseIgnore(value);
  });
  if (plain) *out = std::move(normalized);
  return plain;
}

}  // namespace

Result<Dn> Dn::Parse(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) {
    return Error(ResultCode::kInvalidDnSyntax, "NUL byte in DN");
  }
  if (text.find_first_not_of(' ') == std::string_view::npos) return Dn();
  if (std::vector<Rdn> plain; ParsePlainDn(text, &plain)) return Dn(std::move(plain));
  std::string copy(text);
  berval bv{copy.size(), copy.data()};
  LDAPDN raw = nullptr;
  // LDAP_DN_FORMAT_LDAP: RFC 4514 with RFC 2253 tolerance (';', spaces).
  if (ldap_bv2dn(&bv, &raw, LDAP_DN_FORMAT_LDAP) != LDAP_SUCCESS) {
    if (raw) ldap_dnfree(raw);
    return Error(ResultCode::kInvalidDnSyntax, "invalid DN syntax: " + copy);
  }
  DnPtr dn(raw);
  std::vector<Rdn> rdns;
  for (int r = 0; raw && raw[r]; ++r) {
    Rdn rdn;
    for (int a = 0; raw[r][a]; ++a) {
      const LDAPAVA* ava = raw[r][a];
      Ava out;
      out.type.assign(ava->la_attr.bv_val, ava->la_attr.bv_len);
      if (ava->la_flags & LDAP_AVA_BINARY) {
        SIMPLEAD_ASSIGN_OR_RETURN(out.value, BerContent(ava->la_value));
      } else {
        out.value.assign(ava->la_value.bv_val ? ava->la_value.bv_val : "", ava->la_value.bv_len);
      }
      rdn.push_back(std::move(out));
    }
    if (rdn.empty()) return Error(ResultCode::kInvalidDnSyntax, "empty RDN");
    rdns.push_back(std::move(rdn));
  }
  return Dn(std::move(rdns));
}

Dn Dn::Parent() const {
  if (rdns_.size() <= 1) return Dn();
  return Dn(std::vector<Rdn>(rdns_.begin() + 1, rdns_.end()));
}

Dn Dn::Child(Rdn rdn) const {
  std::vector<Rdn> rdns;
  rdns.reserve(rdns_.size() + 1);
  rdns.push_back(std::move(rdn));
  rdns.insert(rdns.end(), rdns_.begin(), rdns_.end());
  return Dn(std::move(rdns));
}

Dn Dn::WithRdn(Rdn rdn) const {
  if (rdns_.empty()) return Dn({std::move(rdn)});
  std::vector<Rdn> rdns = rdns_;
  rdns.front() = std::move(rdn);
  return Dn(std::move(rdns));
}

Dn Dn::Rebase(const Dn& old_base, const Dn& new_base) const {
  size_t keep = rdns_.size() >= old_base.size() ? rdns_.size() - old_base.size() : 0;
  std::vector<Rdn> rdns(rdns_.begin(), rdns_.begin() + static_cast<std::ptrdiff_t>(keep));
  rdns.insert(rdns.end(), new_base.rdns_.begin(), new_base.rdns_.end());
  return Dn(std::move(rdns));
}

std::string Dn::ToString() const {
  std::string out;
  for (size_t i = 0; i < rdns_.size(); ++i) {
    if (i > 0) out += ',';
    AppendRdn(&out, rdns_[i], false);
  }
  return out;
}

std::string Dn::Normalized() const {
  std::string out;
  for (size_t i = 0; i < rdns_.size(); ++i) {
    if (i > 0) out += ',';
    AppendRdn(&out, rdns_[i], true);
  }
  return out;
}

bool Dn::IsDescendantOrSelf(const Dn& ancestor) const {
  if (ancestor.size() > size()) return false;
  size_t offset = size() - ancestor.size();
  for (size_t i = 0; i < ancestor.size(); ++i) {
    if (!RdnEquals(rdns_[offset + i], ancestor.rdns_[i])) return false;
  }
  return true;
}

bool Dn::IsDescendantOf(const Dn& ancestor) const {
  return size() > ancestor.size() && IsDescendantOrSelf(ancestor);
}

std::string EscapeDnValue(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size() + 8);
  for (size_t i = 0; i < value.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    bool edge_space = c == ' ' && (i == 0 || i + 1 == value.size());
    if (edge_space || (c == '#' && i == 0) || c == '"' || c == '+' || c == ',' || c == ';' || c == '<' ||
        c == '>' || c == '\\' || c == '=') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      // Control bytes (NUL must be, the rest are for readable logs) as hex pairs.
      out += '\\';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string NormalizeCaseIgnore(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char ch : value) {
    if (ch == ' ') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
  }
  return out;
}

Result<std::string> NormalizeDn(std::string_view text) {
  // The fast path is half the instructions of parsing first: it was 8 % of
  // an import, whose entries carry DN values (creatorsName, memberOf...).
  if (std::string plain; NormalizePlainDn(text, &plain)) return plain;
  SIMPLEAD_ASSIGN_OR_RETURN(Dn dn, Dn::Parse(text));
  return dn.Normalized();
}

}  // namespace simplead::ldap
