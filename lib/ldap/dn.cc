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

std::string RdnToString(const Rdn& rdn, bool normalized) {
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
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += '+';
    out += parts[i];
  }
  return out;
}

bool RdnEquals(const Rdn& a, const Rdn& b) {
  return a.size() == b.size() && RdnToString(a, true) == RdnToString(b, true);
}

}  // namespace

Result<Dn> Dn::Parse(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) {
    return Error(ResultCode::kInvalidDnSyntax, "NUL byte in DN");
  }
  if (text.find_first_not_of(' ') == std::string_view::npos) return Dn();
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
    out += RdnToString(rdns_[i], false);
  }
  return out;
}

std::string Dn::Normalized() const {
  std::string out;
  for (size_t i = 0; i < rdns_.size(); ++i) {
    if (i > 0) out += ',';
    out += RdnToString(rdns_[i], true);
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
  SIMPLEAD_ASSIGN_OR_RETURN(Dn dn, Dn::Parse(text));
  return dn.Normalized();
}

}  // namespace simplead::ldap
