#include "schema/schema.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_set>

#include "lib/ldap/dn.h"

namespace simplead::schema {
namespace {

using ldap::EqualsIgnoreCase;
using ldap::ToLower;

constexpr std::string_view kSyntaxPrefix = "1.3.6.1.4.1.1466.115.121.1.";
// Bounds the SUP chains we follow; the loader rejects cycles, this guards lookups.
constexpr int kMaxSupDepth = 64;

// ---------------------------------------------------------------------------
// Built-in syntaxes and matching rules: the engine implements these, the
// schema files refer to them by OID or name.

struct BuiltinSyntax {
  const char* suffix;  // after kSyntaxPrefix, or a full OID when it has a dot
  const char* description;
  bool human_readable;
};

constexpr BuiltinSyntax kSyntaxes[] = {
    {"3", "Attribute Type Description", true},
    {"5", "Binary", false},
    {"6", "Bit String", true},
    {"7", "Boolean", true},
    {"8", "Certificate", false},
    {"9", "Certificate List", false},
    {"10", "Certificate Pair", false},
    {"11", "Country String", true},
    {"12", "DN", true},
    {"14", "Delivery Method", true},
    {"15", "Directory String", true},
    {"16", "DIT Content Rule Description", true},
    {"17", "DIT Structure Rule Description", true},
    {"21", "Enhanced Guide", true},
    {"22", "Facsimile Telephone Number", true},
    {"23", "Fax", false},
    {"24", "Generalized Time", true},
    {"25", "Guide", true},
    {"26", "IA5 String", true},
    {"27", "INTEGER", true},
    {"28", "JPEG", false},
    {"30", "Matching Rule Description", true},
    {"31", "Matching Rule Use Description", true},
    {"34", "Name And Optional UID", true},
    {"35", "Name Form Description", true},
    {"36", "Numeric String", true},
    {"37", "Object Class Description", true},
    {"38", "OID", true},
    {"39", "Other Mailbox", true},
    {"40", "Octet String", false},
    {"41", "Postal Address", true},
    {"44", "Printable String", true},
    {"45", "Subtree Specification", true},
    {"49", "Supported Algorithm", false},
    {"50", "Telephone Number", true},
    {"51", "Teletex Terminal Identifier", true},
    {"52", "Telex Number", true},
    {"54", "LDAP Syntax Description", true},
    {"58", "Substring Assertion", true},
    {"1.3.6.1.1.16.1", "UUID", true},
};

struct BuiltinRule {
  const char* oid;
  const char* name;
  const char* syntax;  // suffix or full OID, as for kSyntaxes
  MatchingKind kind;
};

constexpr BuiltinRule kRules[] = {
    {"2.5.13.0", "objectIdentifierMatch", "38", MatchingKind::kObjectIdentifier},
    {"2.5.13.1", "distinguishedNameMatch", "12", MatchingKind::kDistinguishedName},
    {"2.5.13.2", "caseIgnoreMatch", "15", MatchingKind::kCaseIgnore},
    {"2.5.13.3", "caseIgnoreOrderingMatch", "15", MatchingKind::kCaseIgnore},
    {"2.5.13.4", "caseIgnoreSubstringsMatch", "58", MatchingKind::kCaseIgnore},
    {"2.5.13.5", "caseExactMatch", "15", MatchingKind::kCaseExact},
    {"2.5.13.6", "caseExactOrderingMatch", "15", MatchingKind::kCaseExact},
    {"2.5.13.7", "caseExactSubstringsMatch", "58", MatchingKind::kCaseExact},
    {"2.5.13.8", "numericStringMatch", "36", MatchingKind::kNumericString},
    {"2.5.13.9", "numericStringOrderingMatch", "36", MatchingKind::kNumericString},
    {"2.5.13.10", "numericStringSubstringsMatch", "58", MatchingKind::kNumericString},
    {"2.5.13.11", "caseIgnoreListMatch", "41", MatchingKind::kCaseIgnore},
    {"2.5.13.12", "caseIgnoreListSubstringsMatch", "58", MatchingKind::kCaseIgnore},
    {"2.5.13.13", "booleanMatch", "7", MatchingKind::kBoolean},
    {"2.5.13.14", "integerMatch", "27", MatchingKind::kInteger},
    {"2.5.13.15", "integerOrderingMatch", "27", MatchingKind::kInteger},
    {"2.5.13.16", "bitStringMatch", "6", MatchingKind::kOctetString},
    {"2.5.13.17", "octetStringMatch", "40", MatchingKind::kOctetString},
    {"2.5.13.18", "octetStringOrderingMatch", "40", MatchingKind::kOctetString},
    {"2.5.13.20", "telephoneNumberMatch", "50", MatchingKind::kTelephoneNumber},
    {"2.5.13.21", "telephoneNumberSubstringsMatch", "58", MatchingKind::kTelephoneNumber},
    {"2.5.13.23", "uniqueMemberMatch", "34", MatchingKind::kDistinguishedName},
    {"2.5.13.27", "generalizedTimeMatch", "24", MatchingKind::kGeneralizedTime},
    {"2.5.13.28", "generalizedTimeOrderingMatch", "24", MatchingKind::kGeneralizedTime},
    {"2.5.13.29", "integerFirstComponentMatch", "27", MatchingKind::kInteger},
    {"2.5.13.30", "objectIdentifierFirstComponentMatch", "38", MatchingKind::kObjectIdentifier},
    {"1.3.6.1.4.1.1466.109.114.1", "caseExactIA5Match", "26", MatchingKind::kCaseExact},
    {"1.3.6.1.4.1.1466.109.114.2", "caseIgnoreIA5Match", "26", MatchingKind::kCaseIgnore},
    {"1.3.6.1.4.1.1466.109.114.3", "caseIgnoreIA5SubstringsMatch", "58", MatchingKind::kCaseIgnore},
    {"1.3.6.1.4.1.4203.1.2.1", "caseExactIA5SubstringsMatch", "58", MatchingKind::kCaseExact},
    {"1.3.6.1.1.16.2", "UUIDMatch", "1.3.6.1.1.16.1", MatchingKind::kUuid},
    {"1.3.6.1.1.16.3", "UUIDOrderingMatch", "1.3.6.1.1.16.1", MatchingKind::kUuid},
};

std::string FullSyntaxOid(std::string_view s) {
  if (s.find('.') != std::string_view::npos) return std::string(s);
  return std::string(kSyntaxPrefix) + std::string(s);
}

// ---------------------------------------------------------------------------
// String helpers.

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
char FoldAscii(char c) { return IsUpper(c) ? static_cast<char>(c + ('a' - 'A')) : c; }

// True when PrepareString would return `in` unchanged (the common case for
// stored values and assertions), so it can be copied whole.
bool IsPrepared(std::string_view in, bool fold_case) {
  if (!in.empty() && (in.front() == ' ' || in.back() == ' ')) return false;
  char prev = 0;
  for (char c : in) {
    if (c == ' ' && prev == ' ') return false;
    if (fold_case && IsUpper(c)) return false;
    prev = c;
  }
  return true;
}

// Compares PrepareString(in, fold_case) with `prepared` without building it.
bool PreparedEquals(std::string_view in, bool fold_case, std::string_view prepared) {
  size_t k = 0;
  bool pending_space = false;
  for (char c : Trim(in)) {
    if (c == ' ') {
      pending_space = true;
      continue;
    }
    if (pending_space && (k >= prepared.size() || prepared[k++] != ' ')) return false;
    pending_space = false;
    if (k >= prepared.size() || prepared[k++] != (fold_case ? FoldAscii(c) : c)) return false;
  }
  return k == prepared.size();
}

// Trims and folds runs of spaces to one; lower-cases ASCII when `fold_case`.
std::string PrepareString(std::string_view in, bool fold_case) {
  if (IsPrepared(in, fold_case)) return std::string(in);
  std::string out;
  out.reserve(in.size());
  bool pending_space = false;
  for (char c : Trim(in)) {
    if (c == ' ') {
      pending_space = true;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(fold_case ? FoldAscii(c) : c);
  }
  return out;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    if (len == 2 && c < 0xC2) return false;  // overlong
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool IsPrintableChar(char c) {
  return IsAlpha(c) || IsDigit(c) || std::string_view("'()+,-./:? =").find(c) != std::string_view::npos;
}

bool IsNumericOid(std::string_view s) {
  if (s.empty()) return false;
  bool need_digit = true;
  size_t run = 0;
  char first = 0;
  for (char c : s) {
    if (c == '.') {
      if (need_digit) return false;
      need_digit = true;
      run = 0;
    } else if (IsDigit(c)) {
      if (run == 0) first = c;
      else if (first == '0') return false;  // no leading zeros
      ++run;
      need_digit = false;
    } else {
      return false;
    }
  }
  return !need_digit && s.find('.') != std::string_view::npos;
}

bool IsDescr(std::string_view s) {
  if (s.empty() || !IsAlpha(s.front())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsAlpha(c) || IsDigit(c) || c == '-'; });
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

bool IsBitString(std::string_view s) {
  if (s.size() < 3 || s.front() != '\'' || s.substr(s.size() - 2) != "'B") return false;
  std::string_view bits = s.substr(1, s.size() - 3);
  return std::all_of(bits.begin(), bits.end(), [](char c) { return c == '0' || c == '1'; });
}

// RFC 4517 INTEGER: "0" or an optional '-' and digits without leading zero.
bool IsCanonicalInteger(std::string_view s) {
  if (!s.empty() && s.front() == '-') {
    s.remove_prefix(1);
    if (s == "0") return false;
  }
  if (s.empty() || !std::all_of(s.begin(), s.end(), IsDigit)) return false;
  return s.size() == 1 || s.front() != '0';
}

Result<std::string> NormalizeInteger(std::string_view in) {
  std::string_view s = Trim(in);
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || !std::all_of(s.begin(), s.end(), IsDigit)) {
    return Error(ResultCode::kInvalidAttributeSyntax, "not an integer: '" + std::string(in) + "'");
  }
  while (s.size() > 1 && s.front() == '0') s.remove_prefix(1);
  if (s == "0") return std::string("0");
  return (negative ? "-" : "") + std::string(s);
}

// Compares canonical decimal integers without size limits.
int CompareCanonicalIntegers(const std::string& a, const std::string& b) {
  bool na = !a.empty() && a[0] == '-';
  bool nb = !b.empty() && b[0] == '-';
  if (na != nb) return na ? -1 : 1;
  std::string_view ma = std::string_view(a).substr(na ? 1 : 0);
  std::string_view mb = std::string_view(b).substr(nb ? 1 : 0);
  int mag = ma.size() != mb.size() ? (ma.size() < mb.size() ? -1 : 1) : ma.compare(mb);
  if (mag != 0) mag = mag < 0 ? -1 : 1;
  return na ? -mag : mag;
}

// GeneralizedTime (RFC 4517 §3.3.13) as UTC seconds since the epoch plus
// nanoseconds.
struct TimePoint {
  int64_t seconds = 0;
  int64_t nanos = 0;
  auto operator<=>(const TimePoint&) const = default;
};

bool TakeDigits(std::string_view& s, size_t n, int& out) {
  if (s.size() < n) return false;
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!IsDigit(s[i])) return false;
    out = out * 10 + (s[i] - '0');
  }
  s.remove_prefix(n);
  return true;
}

Result<TimePoint> ParseGeneralizedTime(std::string_view in) {
  Status bad(ResultCode::kInvalidAttributeSyntax, "invalid GeneralizedTime '" + std::string(in) + "'");
  std::string_view s = in;
  int year, month, day, hour, minute = 0, second = 0;
  if (!TakeDigits(s, 4, year) || !TakeDigits(s, 2, month) || !TakeDigits(s, 2, day) || !TakeDigits(s, 2, hour)) {
    return bad;
  }
  int64_t unit = 3600;  // the fraction applies to the last unit given
  if (!s.empty() && IsDigit(s.front())) {
    if (!TakeDigits(s, 2, minute)) return bad;
    unit = 60;
    if (!s.empty() && IsDigit(s.front())) {
      if (!TakeDigits(s, 2, second)) return bad;
      unit = 1;
    }
  }
  int64_t frac_nanos = 0;
  if (!s.empty() && (s.front() == '.' || s.front() == ',')) {
    s.remove_prefix(1);
    size_t n = 0;
    int64_t f = 0, scale = 1'000'000'000;
    while (n < s.size() && IsDigit(s[n])) {
      if (n < 9) {
        f = f * 10 + (s[n] - '0');
        scale /= 10;
      }
      ++n;
    }
    if (n == 0) return bad;
    s.remove_prefix(n);
    frac_nanos = f * scale * unit;  // f*scale < 1e9, times unit <= 3600
  }
  int64_t offset = 0;
  if (s == "Z") {
    s.remove_prefix(1);
  } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    int sign = s.front() == '-' ? -1 : 1;
    s.remove_prefix(1);
    int oh, om = 0;
    if (!TakeDigits(s, 2, oh)) return bad;
    if (!s.empty() && !TakeDigits(s, 2, om)) return bad;
    if (oh > 23 || om > 59) return bad;
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return bad;  // local time without a zone is ambiguous; RFC 4517 allows it but we need UTC
  }
  if (!s.empty()) return bad;
  using namespace std::chrono;
  year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                     std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 60) return bad;
  int64_t days = sys_days(ymd).time_since_epoch().count();
  TimePoint tp;
  tp.seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset + frac_nanos / 1'000'000'000;
  tp.nanos = frac_nanos % 1'000'000'000;
  return tp;
}

// Appends `value` as exactly `width` decimal digits (value < 10^width).
void AppendDigits(std::string* out, uint64_t value, int width) {
  char digits[20];
  for (int i = width - 1; i >= 0; --i, value /= 10) digits[i] = static_cast<char>('0' + value % 10);
  out->append(digits, static_cast<size_t>(width));
}

// Digits by hand, not snprintf: every added entry's timestamps are
// normalised (validation, indexes), and snprintf was 1 % of an import.
std::string FormatGeneralizedTime(const TimePoint& tp) {
  using namespace std::chrono;
  int64_t days = tp.seconds >= 0 ? tp.seconds / 86400 : -((-tp.seconds + 86399) / 86400);
  int64_t rem = tp.seconds - days * 86400;
  year_month_day ymd{sys_days{std::chrono::days{days}}};
  std::string out;
  out.reserve(24);
  const int year = static_cast<int>(ymd.year());
  if (year >= 0 && year <= 9999) {
    AppendDigits(&out, static_cast<uint64_t>(year), 4);
  } else {  // beyond four digits (an offset past year 0 or 9999): the rare case
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d", year);
    out += buf;
  }
  AppendDigits(&out, static_cast<unsigned>(ymd.month()), 2);
  AppendDigits(&out, static_cast<unsigned>(ymd.day()), 2);
  AppendDigits(&out, static_cast<uint64_t>(rem / 3600), 2);
  AppendDigits(&out, static_cast<uint64_t>(rem / 60 % 60), 2);
  AppendDigits(&out, static_cast<uint64_t>(rem % 60), 2);
  if (tp.nanos != 0) {
    out.push_back('.');
    AppendDigits(&out, static_cast<uint64_t>(tp.nanos), 9);
    while (out.back() == '0') out.pop_back();
  }
  out.push_back('Z');
  return out;
}

Result<std::string> NormalizeUuid(std::string_view in) {
  if (!IsUuid(in)) return Error(ResultCode::kInvalidAttributeSyntax, "invalid UUID '" + std::string(in) + "'");
  return ToLower(in);
}

// ---------------------------------------------------------------------------
// Definition file parser (RFC 4512 §4.1 descriptions, OpenLDAP keywords).

struct Token {
  enum Kind { kLParen, kRParen, kDollar, kQuoted, kWord } kind;
  std::string text;
  int line;
};

enum class DefKind { kAttributeType, kObjectClass, kSyntax, kMatchingRule };

struct RawDef {
  DefKind kind;
  std::string file;
  int line = 0;
  std::string oid;
  std::vector<std::string> names;
  std::string desc;
  std::vector<std::string> sup;
  std::string equality, ordering, substr, syntax, usage;
  std::vector<std::string> must, may;
  std::set<std::string> flags;  // upper-case flag keywords
  std::string definition;       // tokens re-joined in canonical spacing
};

std::string Where(const std::string& file, int line) { return file + ":" + std::to_string(line) + ": "; }

Status ParseError(const std::string& file, int line, const std::string& msg) {
  return Status(ResultCode::kOther, Where(file, line) + msg);
}

std::string QuoteQd(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "\\27";
    else if (c == '\\') out += "\\5C";
    else out.push_back(c);
  }
  return out + "'";
}

class DefinitionParser {
 public:
  DefinitionParser(std::string file, std::string_view text) : file_(std::move(file)), text_(text) {}

  Status Parse(std::vector<RawDef>& out) {
    while (true) {
      SkipBlanksAndComments();
      if (pos_ >= text_.size()) return Status::Ok();
      int line = line_;
      std::string keyword = ToLower(ReadBareWord());
      if (keyword.empty()) return ParseError(file_, line, std::string("unexpected character '") + text_[pos_] + "'");
      if (!keyword.empty() && keyword.back() == ':') keyword.pop_back();
      DefKind kind;
      if (keyword == "attributetype" || keyword == "attributetypes") kind = DefKind::kAttributeType;
      else if (keyword == "objectclass" || keyword == "objectclasses") kind = DefKind::kObjectClass;
      else if (keyword == "ldapsyntax" || keyword == "ldapsyntaxes") kind = DefKind::kSyntax;
      else if (keyword == "matchingrule" || keyword == "matchingrules") kind = DefKind::kMatchingRule;
      else return ParseError(file_, line, "unknown definition keyword '" + keyword + "'");
      std::vector<Token> tokens;
      SIMPLEAD_RETURN_IF_ERROR(ReadParenthesized(line, tokens));
      RawDef def;
      def.kind = kind;
      def.file = file_;
      def.line = line;
      SIMPLEAD_RETURN_IF_ERROR(Interpret(tokens, def));
      out.push_back(std::move(def));
    }
  }

 private:
  // '#' starts a comment only as the first non-blank character of a line.
  void SkipBlanksAndComments() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '\n') {
        ++line_;
        ++pos_;
        at_line_start_ = true;
      } else if (IsSpace(c)) {
        ++pos_;
      } else if (c == '#' && at_line_start_) {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        at_line_start_ = false;
        return;
      }
    }
  }

  std::string ReadBareWord() {
    size_t start = pos_;
    while (pos_ < text_.size() && !IsSpace(text_[pos_]) && text_[pos_] != '(' && text_[pos_] != ')' &&
           text_[pos_] != '$' && text_[pos_] != '\'') {
      ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  Status ReadParenthesized(int def_line, std::vector<Token>& tokens) {
    int depth = 0;
    while (true) {
      SkipBlanksAndComments();
      if (pos_ >= text_.size()) return ParseError(file_, def_line, "unterminated definition (missing ')')");
      char c = text_[pos_];
      int line = line_;
      if (tokens.empty() && c != '(') return ParseError(file_, line, "expected '(' to open the definition");
      if (c == '(') {
        ++depth;
        ++pos_;
        tokens.push_back({Token::kLParen, "(", line});
      } else if (c == ')') {
        ++pos_;
        tokens.push_back({Token::kRParen, ")", line});
        if (--depth == 0) return Status::Ok();
      } else if (c == '$') {
        ++pos_;
        tokens.push_back({Token::kDollar, "$", line});
      } else if (c == '\'') {
        ++pos_;
        std::string value;
        while (true) {
          if (pos_ >= text_.size() || text_[pos_] == '\n') return ParseError(file_, line, "unterminated quoted string");
          char q = text_[pos_++];
          if (q == '\'') break;
          if (q == '\\' && pos_ + 1 < text_.size()) {
            std::string hex(text_.substr(pos_, 2));
            if (EqualsIgnoreCase(hex, "27")) value.push_back('\'');
            else if (EqualsIgnoreCase(hex, "5c")) value.push_back('\\');
            else return ParseError(file_, line, "bad escape '\\" + hex + "' in quoted string");
            pos_ += 2;
            continue;
          }
          value.push_back(q);
        }
        tokens.push_back({Token::kQuoted, std::move(value), line});
      } else {
        tokens.push_back({Token::kWord, ReadBareWord(), line});
      }
    }
  }

  // Reads one value or a parenthesised '$'-separated (or space-separated) list.
  Status ReadValues(const std::vector<Token>& t, size_t& i, std::vector<std::string>& out, bool quoted) {
    auto want = quoted ? Token::kQuoted : Token::kWord;
    if (i >= t.size()) return ParseError(file_, t.back().line, "missing value");
    if (t[i].kind == Token::kLParen) {
      ++i;
      bool expect_value = true;
      while (i < t.size() && t[i].kind != Token::kRParen) {
        if (t[i].kind == Token::kDollar) {
          if (expect_value) return ParseError(file_, t[i].line, "unexpected '$'");
          expect_value = true;
        } else if (t[i].kind == want || (!quoted && t[i].kind == Token::kQuoted)) {
          out.push_back(t[i].text);
          expect_value = quoted;  // qdescrs are space separated, oids by '$'
        } else {
          return ParseError(file_, t[i].line, "unexpected '" + t[i].text + "' in list");
        }
        ++i;
      }
      if (i >= t.size()) return ParseError(file_, t.back().line, "unterminated list");
      if (out.empty()) return ParseError(file_, t[i].line, "empty list");
      ++i;
      return Status::Ok();
    }
    if (t[i].kind != want && !(!quoted && t[i].kind == Token::kQuoted)) {
      return ParseError(file_, t[i].line, "unexpected '" + t[i].text + "'");
    }
    out.push_back(t[i++].text);
    return Status::Ok();
  }

  Status ReadOne(const std::vector<Token>& t, size_t& i, std::string& out, bool quoted, const std::string& kw) {
    std::vector<std::string> values;
    SIMPLEAD_RETURN_IF_ERROR(ReadValues(t, i, values, quoted));
    if (values.size() != 1) return ParseError(file_, t[i - 1].line, kw + " takes one value");
    out = values.front();
    return Status::Ok();
  }

  Status Interpret(const std::vector<Token>& t, RawDef& def) {
    // t[0] is '(' and t.back() is ')'.
    for (size_t k = 0; k < t.size(); ++k) {
      if (k > 0) def.definition += ' ';
      def.definition += t[k].kind == Token::kQuoted ? QuoteQd(t[k].text) : t[k].text;
    }
    size_t i = 1;
    size_t end = t.size() - 1;
    if (i >= end || t[i].kind != Token::kWord) return ParseError(file_, t[0].line, "missing OID");
    def.oid = t[i++].text;
    std::vector<Token> body(t.begin(), t.begin() + static_cast<long>(end));
    while (i < end) {
      if (body[i].kind != Token::kWord) return ParseError(file_, body[i].line, "unexpected '" + body[i].text + "'");
      std::string kw = body[i].text;
      for (char& c : kw) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      int line = body[i].line;
      ++i;
      if (kw == "NAME") {
        SIMPLEAD_RETURN_IF_ERROR(ReadValues(body, i, def.names, true));
      } else if (kw == "DESC") {
        SIMPLEAD_RETURN_IF_ERROR(ReadOne(body, i, def.desc, true, kw));
      } else if (kw == "SUP") {
        SIMPLEAD_RETURN_IF_ERROR(ReadValues(body, i, def.sup, false));
      } else if (kw == "EQUALITY") {
        SIMPLEAD_RETURN_IF_ERROR(ReadOne(body, i, def.equality, false, kw));
      } else if (kw == "ORDERING") {
        SIMPLEAD_RETURN_IF_ERROR(ReadOne(body, i, def.ordering, false, kw));
      } else if (kw == "SUBSTR") {
        SIMPLEAD_RETURN_IF_ERROR(ReadOne(body, i, def.substr, false, kw));
      } else if (kw == "SYNTAX") {
        SIMPLEAD_RETURN_IF_ERROR(ReadOne(body, i, def.syntax, false, kw));
      } else if (kw == "USAGE") {
        SIMPLEAD_RETURN_IF_ERROR(ReadOne(body, i, def.usage, false, kw));
      } else if (kw == "MUST") {
        SIMPLEAD_RETURN_IF_ERROR(ReadValues(body, i, def.must, false));
      } else if (kw == "MAY") {
        SIMPLEAD_RETURN_IF_ERROR(ReadValues(body, i, def.may, false));
      } else if (kw == "SINGLE-VALUE" || kw == "COLLECTIVE" || kw == "NO-USER-MODIFICATION" || kw == "OBSOLETE" ||
                 kw == "ABSTRACT" || kw == "STRUCTURAL" || kw == "AUXILIARY") {
        def.flags.insert(kw);
      } else if (kw.rfind("X-", 0) == 0) {
        std::vector<std::string> ignored;
        SIMPLEAD_RETURN_IF_ERROR(ReadValues(body, i, ignored, true));
      } else {
        return ParseError(file_, line, "unknown keyword '" + body[i - 1].text + "'");
      }
    }
    return Status::Ok();
  }

  std::string file_;
  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  bool at_line_start_ = true;
};

std::string JoinNames(const std::vector<std::string>& names) {
  if (names.size() == 1) return " NAME " + QuoteQd(names.front());
  std::string out = " NAME (";
  for (const auto& n : names) out += " " + QuoteQd(n);
  return out + " )";
}

}  // namespace

// ---------------------------------------------------------------------------
// SchemaBuilder: turns parsed definitions into a resolved Schema.

class SchemaBuilder {
 public:
  SchemaBuilder() : schema_(std::make_shared<Schema>()) {}

  Status AddText(const std::string& file, std::string_view text) {
    return DefinitionParser(file, text).Parse(defs_);
  }

  Result<std::shared_ptr<const Schema>> Build() {
    AddBuiltins();
    // Syntaxes and matching rules from files first: attribute types refer to them.
    for (const RawDef& d : defs_) {
      if (d.kind == DefKind::kSyntax) SIMPLEAD_RETURN_IF_ERROR(AddSyntax(d));
    }
    for (const RawDef& d : defs_) {
      if (d.kind == DefKind::kMatchingRule) SIMPLEAD_RETURN_IF_ERROR(AddMatchingRule(d));
    }
    for (const RawDef& d : defs_) {
      if (d.kind == DefKind::kAttributeType) SIMPLEAD_RETURN_IF_ERROR(AddAttribute(d));
    }
    for (const RawDef& d : defs_) {
      if (d.kind == DefKind::kObjectClass) SIMPLEAD_RETURN_IF_ERROR(AddObjectClass(d));
    }
    BuildIndexes();
    for (const RawDef& d : defs_) {
      if (d.kind == DefKind::kAttributeType) SIMPLEAD_RETURN_IF_ERROR(ResolveAttribute(d, 0));
    }
    for (const RawDef& d : defs_) {
      if (d.kind == DefKind::kObjectClass) SIMPLEAD_RETURN_IF_ERROR(ResolveObjectClass(d));
    }
    BuildClassAncestors();
    return std::shared_ptr<const Schema>(std::move(schema_));
  }

 private:
  Status ClaimOid(const RawDef& d) {
    if (!IsNumericOid(d.oid)) return ParseError(d.file, d.line, "'" + d.oid + "' is not a numeric OID");
    auto [it, inserted] = oid_owner_.emplace(d.oid, Where(d.file, d.line));
    if (!inserted) return ParseError(d.file, d.line, "OID " + d.oid + " already defined at " + it->second);
    return Status::Ok();
  }

  Status ClaimNames(const RawDef& d, std::map<std::string, std::string>& index, const char* what) {
    index[d.oid] = d.oid;
    for (const auto& n : d.names) {
      if (!IsDescr(n)) return ParseError(d.file, d.line, "invalid name '" + n + "'");
      auto [it, inserted] = index.emplace(ToLower(n), d.oid);
      if (!inserted) {
        return ParseError(d.file, d.line, std::string(what) + " name '" + n + "' already used by " + it->second);
      }
    }
    return Status::Ok();
  }

  // The lookup indexes point into the definition maps, which no longer
  // gain entries once every definition is added.
  void BuildIndexes() {
    auto build = [](const auto& names, const auto& items, auto& index) {
      index.reserve(names.size());
      for (const auto& [name, oid] : names) index.emplace(name, &items.at(oid));
    };
    build(matching_rule_names_, schema_->matching_rules_, schema_->matching_rule_index_);
    build(attribute_names_, schema_->attributes_, schema_->attribute_index_);
    build(object_class_names_, schema_->object_classes_, schema_->object_class_index_);
  }

  // Each class's superclasses, found by a walk that visits each class once
  // (so SUP cycles end it).
  void BuildClassAncestors() {
    for (const auto& [oid, oc] : schema_->object_classes_) {
      std::vector<const ObjectClass*> ancestors;
      std::vector<const ObjectClass*> stack{&oc};
      while (!stack.empty()) {
        const ObjectClass* cur = stack.back();
        stack.pop_back();
        if (std::find(ancestors.begin(), ancestors.end(), cur) != ancestors.end()) continue;
        ancestors.push_back(cur);
        for (const auto& sup : cur->superiors) {
          if (const ObjectClass* s = schema_->FindObjectClass(sup)) stack.push_back(s);
        }
      }
      schema_->class_ancestors_.emplace(&oc, std::move(ancestors));
    }
  }

  void AddBuiltins() {
    for (const auto& s : kSyntaxes) {
      Syntax syn{FullSyntaxOid(s.suffix), s.description, s.human_readable};
      oid_owner_[syn.oid] = "built-in syntax";
      schema_->syntaxes_[syn.oid] = syn;
    }
    for (const auto& r : kRules) {
      MatchingRule rule{r.oid, {r.name}, FullSyntaxOid(r.syntax), r.kind};
      oid_owner_[rule.oid] = "built-in matching rule";
      matching_rule_names_[ToLower(r.name)] = rule.oid;
      matching_rule_names_[rule.oid] = rule.oid;
      schema_->matching_rules_[rule.oid] = rule;
    }
  }

  Status AddSyntax(const RawDef& d) {
    if (schema_->syntaxes_.count(d.oid)) return Status::Ok();  // a file restating a built-in
    SIMPLEAD_RETURN_IF_ERROR(ClaimOid(d));
    schema_->syntaxes_[d.oid] = Syntax{d.oid, d.desc, true};
    return Status::Ok();
  }

  Status AddMatchingRule(const RawDef& d) {
    if (schema_->matching_rules_.count(d.oid)) return Status::Ok();
    SIMPLEAD_RETURN_IF_ERROR(ClaimOid(d));
    SIMPLEAD_RETURN_IF_ERROR(ClaimNames(d, matching_rule_names_, "matching rule"));
    // Unknown to the engine: published, but filters using it are Undefined.
    schema_->matching_rules_[d.oid] = MatchingRule{d.oid, d.names, d.syntax, MatchingKind::kNone};
    return Status::Ok();
  }

  Status AddAttribute(const RawDef& d) {
    SIMPLEAD_RETURN_IF_ERROR(ClaimOid(d));
    SIMPLEAD_RETURN_IF_ERROR(ClaimNames(d, attribute_names_, "attribute type"));
    AttributeType a;
    a.oid = d.oid;
    a.names = d.names;
    a.description = d.desc;
    if (d.sup.size() > 1) return ParseError(d.file, d.line, "attribute type has more than one SUP");
    a.equality = d.equality;
    a.ordering = d.ordering;
    a.substring = d.substr;
    if (!d.syntax.empty()) {
      std::string syn = d.syntax;
      if (auto brace = syn.find('{'); brace != std::string::npos) {
        if (syn.back() != '}') return ParseError(d.file, d.line, "bad SYNTAX length in '" + syn + "'");
        size_t len = 0;
        std::string_view digits(syn.data() + brace + 1, syn.size() - brace - 2);
        auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
        if (ec != std::errc() || p != digits.data() + digits.size()) {
          return ParseError(d.file, d.line, "bad SYNTAX length in '" + syn + "'");
        }
        a.syntax_length = len;
        syn.resize(brace);
      }
      a.syntax = syn;
    }
    a.single_value = d.flags.count("SINGLE-VALUE") > 0;
    a.collective = d.flags.count("COLLECTIVE") > 0;
    a.no_user_modification = d.flags.count("NO-USER-MODIFICATION") > 0;
    a.obsolete = d.flags.count("OBSOLETE") > 0;
    std::string usage = ToLower(d.usage);
    if (usage.empty() || usage == "userapplications") a.usage = AttributeUsage::kUserApplications;
    else if (usage == "directoryoperation") a.usage = AttributeUsage::kDirectoryOperation;
    else if (usage == "distributedoperation") a.usage = AttributeUsage::kDistributedOperation;
    else if (usage == "dsaoperation") a.usage = AttributeUsage::kDsaOperation;
    else return ParseError(d.file, d.line, "unknown USAGE '" + d.usage + "'");
    if (a.no_user_modification && !a.IsOperational()) {
      return ParseError(d.file, d.line, "NO-USER-MODIFICATION requires an operational USAGE");
    }
    a.definition = d.definition;
    schema_->attributes_[a.oid] = std::move(a);
    return Status::Ok();
  }

  Status AddObjectClass(const RawDef& d) {
    SIMPLEAD_RETURN_IF_ERROR(ClaimOid(d));
    SIMPLEAD_RETURN_IF_ERROR(ClaimNames(d, object_class_names_, "object class"));
    ObjectClass oc;
    oc.oid = d.oid;
    oc.names = d.names;
    oc.description = d.desc;
    int kinds = static_cast<int>(d.flags.count("ABSTRACT") + d.flags.count("STRUCTURAL") + d.flags.count("AUXILIARY"));
    if (kinds > 1) return ParseError(d.file, d.line, "object class has more than one kind");
    if (d.flags.count("ABSTRACT")) oc.kind = ObjectClassKind::kAbstract;
    else if (d.flags.count("AUXILIARY")) oc.kind = ObjectClassKind::kAuxiliary;
    oc.obsolete = d.flags.count("OBSOLETE") > 0;
    oc.definition = d.definition;
    schema_->object_classes_[oc.oid] = std::move(oc);
    return Status::Ok();
  }

  const RawDef* FindRawAttribute(const std::string& oid) {
    for (const RawDef& d : defs_) {
      if (d.kind == DefKind::kAttributeType && d.oid == oid) return &d;
    }
    return nullptr;
  }

  Status ResolveRule(const RawDef& d, const std::string& name, const MatchingRule*& out) {
    if (name.empty()) return Status::Ok();
    out = schema_->FindMatchingRule(name);
    if (!out) return ParseError(d.file, d.line, "unknown matching rule '" + name + "'");
    return Status::Ok();
  }

  // Resolves SUP first so that inherited rules and syntax are final.
  Status ResolveAttribute(const RawDef& d, int depth) {
    if (resolved_.count(d.oid)) return Status::Ok();
    if (depth > kMaxSupDepth) return ParseError(d.file, d.line, "SUP chain too deep or cyclic");
    AttributeType& a = schema_->attributes_[d.oid];
    if (!d.sup.empty()) {
      const AttributeType* sup = schema_->FindAttribute(d.sup.front());
      if (!sup) return ParseError(d.file, d.line, "unknown SUP attribute type '" + d.sup.front() + "'");
      if (sup->oid == a.oid) return ParseError(d.file, d.line, "attribute type is its own SUP");
      SIMPLEAD_RETURN_IF_ERROR(ResolveAttribute(*FindRawAttribute(sup->oid), depth + 1));
      if (sup->usage != a.usage) return ParseError(d.file, d.line, "USAGE differs from SUP '" + sup->name() + "'");
      a.superior = sup->name();
      if (a.equality.empty()) a.equality = sup->equality;
      if (a.ordering.empty()) a.ordering = sup->ordering;
      if (a.substring.empty()) a.substring = sup->substring;
      if (a.syntax.empty()) {
        a.syntax = sup->syntax;
        if (!a.syntax_length) a.syntax_length = sup->syntax_length;
      }
    }
    if (a.syntax.empty()) return ParseError(d.file, d.line, "attribute type has neither SYNTAX nor SUP");
    if (!IsNumericOid(a.syntax)) return ParseError(d.file, d.line, "SYNTAX '" + a.syntax + "' is not a numeric OID");
    SIMPLEAD_RETURN_IF_ERROR(ResolveRule(d, a.equality, a.equality_rule));
    SIMPLEAD_RETURN_IF_ERROR(ResolveRule(d, a.ordering, a.ordering_rule));
    SIMPLEAD_RETURN_IF_ERROR(ResolveRule(d, a.substring, a.substring_rule));
    resolved_.insert(d.oid);
    return Status::Ok();
  }

  Status ResolveAttributeList(const RawDef& d, const std::vector<std::string>& in, std::vector<std::string>& out,
                              const char* what) {
    for (const auto& n : in) {
      const AttributeType* a = schema_->FindAttribute(n);
      if (!a) return ParseError(d.file, d.line, std::string("unknown ") + what + " attribute type '" + n + "'");
      out.push_back(a->name());
    }
    return Status::Ok();
  }

  Status ResolveObjectClass(const RawDef& d) {
    ObjectClass& oc = schema_->object_classes_[d.oid];
    for (const auto& s : d.sup) {
      const ObjectClass* sup = schema_->FindObjectClass(s);
      if (!sup) return ParseError(d.file, d.line, "unknown SUP object class '" + s + "'");
      if (sup->oid == oc.oid) return ParseError(d.file, d.line, "object class is its own SUP");
      oc.superiors.push_back(sup->name());
    }
    SIMPLEAD_RETURN_IF_ERROR(ResolveAttributeList(d, d.must, oc.must, "MUST"));
    SIMPLEAD_RETURN_IF_ERROR(ResolveAttributeList(d, d.may, oc.may, "MAY"));
    // Object class SUP chains are checked for cycles lazily: bounded walks.
    return Status::Ok();
  }

  std::shared_ptr<Schema> schema_;
  std::vector<RawDef> defs_;
  std::map<std::string, std::string> oid_owner_;
  std::set<std::string> resolved_;
  // Lower-case name or OID -> OID, per kind, until BuildIndexes.
  std::map<std::string, std::string> attribute_names_, object_class_names_, matching_rule_names_;
};

// ---------------------------------------------------------------------------
// Schema.

Result<std::shared_ptr<const Schema>> Schema::LoadDirectory(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".schema") files.push_back(it->path());
  }
  if (ec) return InternalError("cannot read schema directory " + dir + ": " + ec.message());
  if (files.empty()) return InternalError("no *.schema files in " + dir);
  std::sort(files.begin(), files.end());
  SchemaBuilder builder;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return InternalError("cannot open " + path.string());
    std::stringstream buf;
    buf << in.rdbuf();
    SIMPLEAD_RETURN_IF_ERROR(builder.AddText(path.filename().string(), buf.str()));
  }
  return builder.Build();
}

Result<std::shared_ptr<const Schema>> Schema::LoadText(const std::vector<std::string>& texts) {
  SchemaBuilder builder;
  for (size_t i = 0; i < texts.size(); ++i) {
    SIMPLEAD_RETURN_IF_ERROR(builder.AddText("text" + std::to_string(i), texts[i]));
  }
  return builder.Build();
}

// Both work a word at a time: names are looked up for every attribute of
// every entry written or validated, and the byte-at-a-time forms were 6 % of
// an import. OR-ing 0x20 into each byte folds ASCII letters; it also maps a
// few other bytes together ('@' and '`'...), which only makes the hash
// coarser, never wrong, as equality below compares exactly.
size_t Schema::FoldHash::operator()(std::string_view s) const {
  constexpr uint64_t kFold = 0x2020202020202020ull;
  constexpr uint64_t kMul = 0x9e3779b97f4a7c15ull;
  uint64_t h = s.size() * kMul;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, 8);
    h = std::rotl((h ^ (word | kFold)) * kMul, 31);
  }
  if (i < s.size()) {
    uint64_t word = 0;
    for (size_t k = i; k < s.size(); ++k) word = (word << 8) | static_cast<unsigned char>(s[k] | 0x20);
    h = std::rotl((h ^ word) * kMul, 31);
  }
  h ^= h >> 32;
  h *= kMul;
  return static_cast<size_t>(h ^ (h >> 29));
}

bool Schema::FoldEqual::operator()(std::string_view a, std::string_view b) const {
  if (a.size() != b.size()) return false;
  size_t i = 0;
  for (; i + 8 <= a.size(); i += 8) {
    uint64_t wa, wb;
    std::memcpy(&wa, a.data() + i, 8);
    std::memcpy(&wb, b.data() + i, 8);
    if (wa == wb) continue;  // the common case: the same spelling
    for (size_t k = i; k < i + 8; ++k) {
      if (FoldAscii(a[k]) != FoldAscii(b[k])) return false;
    }
  }
  for (; i < a.size(); ++i) {
    if (FoldAscii(a[i]) != FoldAscii(b[i])) return false;
  }
  return true;
}

const AttributeType* Schema::FindAttribute(std::string_view name_or_oid) const {
  auto it = attribute_index_.find(name_or_oid);
  return it == attribute_index_.end() ? nullptr : it->second;
}

const ObjectClass* Schema::FindObjectClass(std::string_view name_or_oid) const {
  auto it = object_class_index_.find(name_or_oid);
  return it == object_class_index_.end() ? nullptr : it->second;
}

const MatchingRule* Schema::FindMatchingRule(std::string_view name_or_oid) const {
  auto it = matching_rule_index_.find(name_or_oid);
  return it == matching_rule_index_.end() ? nullptr : it->second;
}

bool Schema::IsSubclassOf(const ObjectClass& oc, const ObjectClass& ancestor) const {
  auto it = class_ancestors_.find(&oc);
  if (it == class_ancestors_.end()) return &oc == &ancestor;
  return std::find(it->second.begin(), it->second.end(), &ancestor) != it->second.end();
}

const Syntax* Schema::FindSyntax(std::string_view oid) const {
  auto it = syntaxes_.find(std::string(oid));
  return it == syntaxes_.end() ? nullptr : &it->second;
}

std::string Schema::CanonicalAttributeName(std::string_view name) const {
  size_t semi = name.find(';');
  const AttributeType* a = FindAttribute(name.substr(0, semi));
  if (!a) return std::string(name);
  return a->name() + (semi == std::string_view::npos ? std::string() : std::string(name.substr(semi)));
}

bool Schema::IsSubtypeOf(const AttributeType& attr, const AttributeType& ancestor) const {
  const AttributeType* cur = &attr;
  for (int i = 0; cur && i < kMaxSupDepth; ++i) {
    if (cur->oid == ancestor.oid) return true;
    if (cur->superior.empty()) return false;
    cur = FindAttribute(cur->superior);
  }
  return false;
}

std::vector<std::string> Schema::ExpandObjectClasses(const std::vector<std::string>& classes) const {
  std::vector<std::string> out;
  std::vector<const ObjectClass*> seen;
  std::vector<const ObjectClass*> stack;
  for (const auto& c : classes) {
    if (const ObjectClass* oc = FindObjectClass(Trim(c))) stack.push_back(oc);
  }
  // Each class is visited once, so the walk is bounded by the class count.
  while (!stack.empty()) {
    const ObjectClass* oc = stack.back();
    stack.pop_back();
    if (std::find(seen.begin(), seen.end(), oc) != seen.end()) continue;
    seen.push_back(oc);
    out.push_back(oc->name());
    for (const auto& s : oc->superiors) {
      if (const ObjectClass* sup = FindObjectClass(s)) stack.push_back(sup);
    }
  }
  return out;
}

std::string Schema::StructuralObjectClass(const std::vector<std::string>& classes) const {
  std::vector<std::string> expanded = ExpandObjectClasses(classes);
  std::string best;
  size_t best_depth = 0;
  for (const auto& name : expanded) {
    const ObjectClass* oc = FindObjectClass(name);
    if (oc->kind != ObjectClassKind::kStructural) continue;
    auto ancestors = class_ancestors_.find(oc);
    size_t depth = ancestors == class_ancestors_.end() ? 1 : ancestors->second.size();
    if (best.empty() || depth > best_depth) {
      best = name;
      best_depth = depth;
    }
  }
  return best;
}

Status Schema::CheckSyntax(const AttributeType& attr, std::string_view value) const {
  auto bad = [&](const char* why) {
    const Syntax* syn = FindSyntax(attr.syntax);
    return Status(ResultCode::kInvalidAttributeSyntax,
                  attr.name() + ": value '" + std::string(value.substr(0, 64)) + "' invalid per syntax " +
                      (syn && !syn->description.empty() ? syn->description : attr.syntax) + " (" + why + ")");
  };
  std::string_view oid = attr.syntax;
  if (oid == "1.3.6.1.1.16.1") return IsUuid(value) ? Status::Ok() : bad("expected 8-4-4-4-12 hex digits");
  if (oid.substr(0, kSyntaxPrefix.size()) != kSyntaxPrefix) return Status::Ok();
  std::string_view n = oid.substr(kSyntaxPrefix.size());
  if (n == "15") {  // Directory String
    if (value.empty()) return bad("empty");
    return IsValidUtf8(value) ? Status::Ok() : bad("not UTF-8");
  }
  if (n == "26") {  // IA5 String
    bool ok = std::all_of(value.begin(), value.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    return ok ? Status::Ok() : bad("not IA5");
  }
  if (n == "27") return IsCanonicalInteger(value) ? Status::Ok() : bad("not an integer");
  if (n == "7") return value == "TRUE" || value == "FALSE" ? Status::Ok() : bad("expected TRUE or FALSE");
  if (n == "12") return ldap::NormalizeDn(value).ok() ? Status::Ok() : bad("not a DN");
  if (n == "34") {  // Name and Optional UID: dn [ "#" bitstring ]
    std::string_view dn = value;
    if (size_t hash = value.rfind("#'"); hash != std::string_view::npos && IsBitString(value.substr(hash + 1))) {
      dn = value.substr(0, hash);
    }
    return ldap::NormalizeDn(dn).ok() ? Status::Ok() : bad("not a DN");
  }
  if (n == "24") return ParseGeneralizedTime(value).ok() ? Status::Ok() : bad("not a GeneralizedTime");
  if (n == "36") {
    bool ok = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) { return IsDigit(c) || c == ' '; });
    return ok ? Status::Ok() : bad("expected digits and spaces");
  }
  if (n == "50" || n == "44") {
    bool ok = !value.empty() && std::all_of(value.begin(), value.end(), IsPrintableChar);
    return ok ? Status::Ok() : bad("not a PrintableString");
  }
  if (n == "38") return IsNumericOid(value) || IsDescr(value) ? Status::Ok() : bad("not an OID or name");
  if (n == "41") {  // Postal Address: lines separated by '$'
    if (value.empty()) return bad("empty");
    return IsValidUtf8(value) ? Status::Ok() : bad("not UTF-8");
  }
  if (n == "11") {
    bool ok = value.size() == 2 && IsAlpha(value[0]) && IsAlpha(value[1]);
    return ok ? Status::Ok() : bad("expected two letters");
  }
  if (n == "6") return IsBitString(value) ? Status::Ok() : bad("expected '0101'B");
  return Status::Ok();  // Octet String and syntaxes we do not check
}

Result<std::string> Schema::NormalizeWithRule(const MatchingRule& rule, std::string_view value) const {
  switch (rule.kind) {
    case MatchingKind::kCaseIgnore:
      return PrepareString(value, true);
    case MatchingKind::kCaseExact:
      return PrepareString(value, false);
    case MatchingKind::kInteger: {
      std::string_view v = value;
      if (rule.oid == "2.5.13.29" && !v.empty() && v.front() == '(') {  // integerFirstComponentMatch
        v = Trim(v.substr(1));
        v = v.substr(0, v.find(' '));
      }
      return NormalizeInteger(v);
    }
    case MatchingKind::kDistinguishedName: {
      std::string_view dn = value;
      std::string uid;
      if (rule.oid == "2.5.13.23") {  // uniqueMemberMatch: keep the optional UID
        if (size_t hash = value.rfind("#'"); hash != std::string_view::npos && IsBitString(value.substr(hash + 1))) {
          dn = value.substr(0, hash);
          uid = std::string(value.substr(hash));
        }
      }
      auto norm = ldap::NormalizeDn(dn);
      if (!norm.ok()) {
        return Error(ResultCode::kInvalidAttributeSyntax, "invalid DN '" + std::string(value) + "'");
      }
      return *norm + uid;
    }
    case MatchingKind::kOctetString:
      return std::string(value);
    case MatchingKind::kGeneralizedTime: {
      SIMPLEAD_ASSIGN_OR_RETURN(TimePoint tp, ParseGeneralizedTime(value));
      return FormatGeneralizedTime(tp);
    }
    case MatchingKind::kNumericString: {
      std::string out;
      for (char c : value) {
        if (c != ' ') out.push_back(c);
      }
      return out;
    }
    case MatchingKind::kTelephoneNumber: {
      std::string out;
      for (char c : value) {
        if (c != ' ' && c != '-') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
      }
      return out;
    }
    case MatchingKind::kBoolean: {
      std::string_view v = Trim(value);
      if (EqualsIgnoreCase(v, "TRUE")) return std::string("TRUE");
      if (EqualsIgnoreCase(v, "FALSE")) return std::string("FALSE");
      return Error(ResultCode::kInvalidAttributeSyntax, "not a boolean: '" + std::string(value) + "'");
    }
    case MatchingKind::kObjectIdentifier: {
      std::string_view v = Trim(value);
      if (!v.empty() && v.front() == '(') {  // objectIdentifierFirstComponentMatch on a description
        v = Trim(v.substr(1));
        v = v.substr(0, v.find(' '));
      }
      if (IsNumericOid(v)) return std::string(v);
      if (const AttributeType* a = FindAttribute(v)) return a->oid;
      if (const ObjectClass* oc = FindObjectClass(v)) return oc->oid;
      if (const MatchingRule* mr = FindMatchingRule(v)) return mr->oid;
      if (!IsDescr(v)) return Error(ResultCode::kInvalidAttributeSyntax, "not an OID: '" + std::string(value) + "'");
      return ToLower(v);  // unknown names still compare case-insensitively
    }
    case MatchingKind::kUuid:
      return NormalizeUuid(Trim(value));
    case MatchingKind::kNone:
      break;
  }
  return Error(ResultCode::kInappropriateMatching, "matching rule " + rule.oid + " is not implemented");
}

Result<std::string> Schema::NormalizeEquality(const AttributeType& attr, std::string_view value) const {
  if (!attr.equality_rule) {
    return Error(ResultCode::kInappropriateMatching, attr.name() + " has no equality matching rule");
  }
  return NormalizeWithRule(*attr.equality_rule, value);
}

bool Schema::MatchesNormalized(const MatchingRule& rule, std::string_view value, std::string_view normalized) const {
  if (rule.kind == MatchingKind::kCaseIgnore || rule.kind == MatchingKind::kCaseExact) {
    return PreparedEquals(value, rule.kind == MatchingKind::kCaseIgnore, normalized);
  }
  if (rule.kind == MatchingKind::kOctetString) return value == normalized;
  auto n = NormalizeWithRule(rule, value);
  return n.ok() && *n == normalized;
}

Result<std::string> Schema::NormalizeSubstring(const AttributeType& attr, std::string_view value) const {
  const MatchingRule* rule = attr.substring_rule ? attr.substring_rule : attr.equality_rule;
  if (!rule) return Error(ResultCode::kInappropriateMatching, attr.name() + " has no substring matching rule");
  switch (rule->kind) {
    case MatchingKind::kCaseIgnore:
    case MatchingKind::kCaseExact:
    case MatchingKind::kNumericString:
    case MatchingKind::kTelephoneNumber:
    case MatchingKind::kOctetString:
      return NormalizeWithRule(*rule, value);
    default:
      return Error(ResultCode::kInappropriateMatching, attr.name() + " does not support substring matching");
  }
}

Result<int> Schema::CompareOrdering(const AttributeType& attr, std::string_view a, std::string_view b) const {
  const MatchingRule* rule = attr.ordering_rule;
  if (!rule && attr.equality_rule && (attr.equality_rule->kind == MatchingKind::kInteger ||
                                      attr.equality_rule->kind == MatchingKind::kGeneralizedTime)) {
    rule = attr.equality_rule;
  }
  if (!rule || rule->kind == MatchingKind::kNone) {
    return Error(ResultCode::kInappropriateMatching, attr.name() + " has no ordering matching rule");
  }
  auto sign = [](auto x) { return x < 0 ? -1 : x > 0 ? 1 : 0; };
  if (rule->kind == MatchingKind::kGeneralizedTime) {
    SIMPLEAD_ASSIGN_OR_RETURN(TimePoint ta, ParseGeneralizedTime(Trim(a)));
    SIMPLEAD_ASSIGN_OR_RETURN(TimePoint tb, ParseGeneralizedTime(Trim(b)));
    return ta < tb ? -1 : ta > tb ? 1 : 0;
  }
  SIMPLEAD_ASSIGN_OR_RETURN(std::string na, NormalizeWithRule(*rule, a));
  SIMPLEAD_ASSIGN_OR_RETURN(std::string nb, NormalizeWithRule(*rule, b));
  if (rule->kind == MatchingKind::kInteger) return CompareCanonicalIntegers(na, nb);
  return sign(na.compare(nb));
}

// What ValidateEntry needs from an objectClass value list: it depends on the
// classes only, so it is computed once per distinct list and cached.
struct Schema::ClassSet {
  Status verdict;  // the structural-chain check
  bool extensible = false;
  std::vector<const AttributeType*> allowed;  // MUST and MAY, sorted by address
  struct Required {
    std::string lower_name;  // errors report the first missing one in this order
    const AttributeType* type;
    const ObjectClass* by;   // the first class requiring it
  };
  std::vector<Required> must;  // sorted by lower_name
};

std::shared_ptr<const Schema::ClassSet> Schema::ClassSetFor(const std::vector<std::string>& values) const {
  std::string key;
  for (const auto& v : values) {
    for (char c : Trim(v)) key.push_back(FoldAscii(c));
    key.push_back('\0');
  }
  {
    std::shared_lock lock(class_sets_mu_);
    if (auto it = class_sets_.find(key); it != class_sets_.end()) return it->second;
  }
  auto cs = std::make_shared<ClassSet>();
  std::vector<std::string> classes = ExpandObjectClasses(values);
  std::vector<const ObjectClass*> structural;
  for (const auto& name : classes) {
    const ObjectClass* oc = FindObjectClass(name);
    if (oc->oid == "1.3.6.1.4.1.1466.101.120.111") cs->extensible = true;
    if (oc->kind == ObjectClassKind::kStructural) structural.push_back(oc);
  }
  if (structural.empty()) {
    cs->verdict = Error(ResultCode::kObjectClassViolation, "entry has no structural object class");
  }
  // Leaves of the structural set: classes that are no other structural class's superclass.
  std::vector<std::string> leaves;
  for (const ObjectClass* oc : structural) {
    bool is_super = false;
    for (const ObjectClass* other : structural) {
      if (other != oc && IsSubclassOf(*other, *oc)) is_super = true;
    }
    if (!is_super) leaves.push_back(oc->name());
  }
  if (leaves.size() > 1) {
    std::string list;
    for (const auto& l : leaves) list += (list.empty() ? "" : ", ") + l;
    cs->verdict =
        Error(ResultCode::kObjectClassViolation, "entry has more than one structural object class chain: " + list);
  }
  for (const auto& name : classes) {
    const ObjectClass* oc = FindObjectClass(name);
    for (const auto& m : oc->must) {
      const AttributeType* t = FindAttribute(m);
      cs->allowed.push_back(t);
      std::string lower = ToLower(m);
      bool known = std::any_of(cs->must.begin(), cs->must.end(),
                               [&](const ClassSet::Required& r) { return r.lower_name == lower; });
      if (!known) cs->must.push_back({std::move(lower), t, oc});
    }
    for (const auto& m : oc->may) cs->allowed.push_back(FindAttribute(m));
  }
  std::sort(cs->allowed.begin(), cs->allowed.end());
  cs->allowed.erase(std::unique(cs->allowed.begin(), cs->allowed.end()), cs->allowed.end());
  std::sort(cs->must.begin(), cs->must.end(),
            [](const ClassSet::Required& a, const ClassSet::Required& b) { return a.lower_name < b.lower_name; });
  std::unique_lock lock(class_sets_mu_);
  if (class_sets_.size() >= kMaxCachedClassSets) class_sets_.clear();  // bound; directories use few lists
  return class_sets_.emplace(std::move(key), std::move(cs)).first->second;
}

namespace {

// Normalisation under these rules cannot fail, so it can wait until a
// duplicate check needs it.
bool NormalizationCannotFail(const MatchingRule& rule) {
  switch (rule.kind) {
    case MatchingKind::kCaseIgnore:
    case MatchingKind::kCaseExact:
    case MatchingKind::kOctetString:
    case MatchingKind::kNumericString:
    case MatchingKind::kTelephoneNumber:
      return true;
    default:
      return false;
  }
}

// The first value equal to an earlier one, or npos.
size_t FirstDuplicate(const std::vector<std::string_view>& values) {
  if (values.size() <= 16) {
    for (size_t j = 1; j < values.size(); ++j) {
      for (size_t i = 0; i < j; ++i) {
        if (values[i] == values[j]) return j;
      }
    }
    return std::string_view::npos;
  }
  std::unordered_set<std::string_view> seen;
  seen.reserve(values.size());
  for (size_t j = 0; j < values.size(); ++j) {
    if (!seen.insert(values[j]).second) return j;
  }
  return std::string_view::npos;
}

}  // namespace

Status Schema::ValidateEntry(const ldap::Entry& entry) const {
  // Object classes: present, known, one structural chain.
  const ldap::Attribute* oc_attr = nullptr;
  for (const auto& attr : entry.attributes()) {
    const AttributeType* t = FindAttribute(std::string_view(attr.type).substr(0, attr.type.find(';')));
    if (t && t->oid == "2.5.4.0") oc_attr = &attr;
  }
  if (!oc_attr || oc_attr->values.empty()) {
    return Error(ResultCode::kObjectClassViolation, "entry has no objectClass attribute");
  }
  for (const auto& v : oc_attr->values) {
    if (!FindObjectClass(Trim(v))) {
      return Error(ResultCode::kInvalidAttributeSyntax, "objectClass: unknown object class '" + v + "'");
    }
  }
  std::shared_ptr<const ClassSet> cs = ClassSetFor(oc_attr->values);
  if (!cs->verdict.ok()) return cs->verdict;

  // Attributes: known, allowed, well-formed; then per attribute description
  // (type and options): no duplicates, SINGLE-VALUE held.
  struct Group {
    const AttributeType* type;
    std::string_view options;  // ";lang-de", compared case-insensitively
    std::vector<const std::string*> values;
    std::vector<std::string> normalized;  // empty, or one per value
  };
  std::vector<Group> groups;
  groups.reserve(entry.attributes().size());
  for (const auto& attr : entry.attributes()) {
    size_t semi = attr.type.find(';');
    const AttributeType* t = FindAttribute(std::string_view(attr.type).substr(0, semi));
    if (!t) return Error(ResultCode::kUndefinedAttributeType, "undefined attribute type '" + attr.type + "'");
    if (!t->IsOperational() && !cs->extensible && !std::binary_search(cs->allowed.begin(), cs->allowed.end(), t)) {
      return Error(ResultCode::kObjectClassViolation,
                   "attribute '" + t->name() + "' not allowed by the entry's object classes");
    }
    if (attr.values.empty()) continue;
    std::string_view options = semi == std::string::npos ? std::string_view() : std::string_view(attr.type).substr(semi);
    auto g = std::find_if(groups.begin(), groups.end(),
                          [&](const Group& x) { return x.type == t && EqualsIgnoreCase(x.options, options); });
    if (g == groups.end()) g = groups.insert(groups.end(), Group{t, options, {}, {}});
    bool eager = t->equality_rule && !NormalizationCannotFail(*t->equality_rule);
    for (const auto& v : attr.values) {
      SIMPLEAD_RETURN_IF_ERROR(CheckSyntax(*t, v));
      if (eager) {
        auto n = NormalizeEquality(*t, v);
        if (!n.ok()) return Status(ResultCode::kInvalidAttributeSyntax, t->name() + ": " + n.status().message());
        g->normalized.push_back(std::move(*n));
      }
      g->values.push_back(&v);
    }
  }
  for (Group& g : groups) {
    if (g.values.size() < 2) continue;
    std::vector<std::string_view> keys;
    keys.reserve(g.values.size());
    if (g.type->equality_rule) {
      if (g.normalized.size() != g.values.size()) {  // the rule cannot fail: normalise now
        g.normalized.clear();
        for (const std::string* v : g.values) g.normalized.push_back(*NormalizeEquality(*g.type, *v));
      }
      for (const auto& n : g.normalized) keys.push_back(n);
    } else {
      for (const std::string* v : g.values) keys.push_back(*v);
    }
    if (size_t dup = FirstDuplicate(keys); dup != std::string_view::npos) {
      return Error(ResultCode::kAttributeOrValueExists,
                   g.type->name() + ": duplicate value '" + g.values[dup]->substr(0, 64) + "'");
    }
    if (g.type->single_value) {
      return Error(ResultCode::kConstraintViolation, g.type->name() + ": attribute is SINGLE-VALUE");
    }
  }
  for (const auto& m : cs->must) {
    bool present = std::any_of(groups.begin(), groups.end(), [&](const Group& g) { return g.type == m.type; });
    if (!present) {
      return Error(ResultCode::kObjectClassViolation,
                   "object class '" + m.by->name() + "' requires attribute '" + m.type->name() + "'");
    }
  }

  // Naming: every AVA of the RDN is a value of the entry.
  if (!entry.dn().empty()) {
    for (const ldap::Ava& ava : entry.dn().rdn()) {
      const AttributeType* t = FindAttribute(ava.type);
      if (!t) return Error(ResultCode::kUndefinedAttributeType, "undefined RDN attribute type '" + ava.type + "'");
      // Values without options of the AVA's type (they passed the checks above).
      auto g = std::find_if(groups.begin(), groups.end(),
                            [&](const Group& x) { return x.type == t && x.options.empty(); });
      bool found = g != groups.end() && std::any_of(g->values.begin(), g->values.end(),
                                                    [&](const std::string* v) { return *v == ava.value; });
      if (!found) {
        auto want = t->equality_rule ? NormalizeEquality(*t, ava.value) : Result<std::string>(ava.value);
        if (!want.ok()) {
          return Error(ResultCode::kNamingViolation, "RDN value of '" + t->name() + "' is invalid: " +
                                                         want.status().message());
        }
        found = g != groups.end() && std::any_of(g->values.begin(), g->values.end(), [&](const std::string* v) {
                  return t->equality_rule ? MatchesNormalized(*t->equality_rule, *v, *want) : *v == *want;
                });
      }
      if (!found) {
        return Error(ResultCode::kNamingViolation,
                     "naming attribute '" + t->name() + "=" + ava.value + "' is not present in the entry");
      }
    }
  }
  return Status::Ok();
}

std::vector<ldap::Attribute> Schema::SubschemaAttributes() const {
  std::vector<ldap::Attribute> out;
  out.push_back({"objectClass", {"top", "subentry", "subschema", "extensibleObject"}});
  out.push_back({"cn", {"Subschema"}});
  ldap::Attribute syntaxes{"ldapSyntaxes", {}};
  for (const auto& [oid, s] : syntaxes_) {
    std::string def = "( " + oid;
    if (!s.description.empty()) def += " DESC " + QuoteQd(s.description);
    if (!s.human_readable) def += " X-NOT-HUMAN-READABLE 'TRUE'";
    syntaxes.values.push_back(def + " )");
  }
  ldap::Attribute rules{"matchingRules", {}};
  for (const auto& [oid, r] : matching_rules_) {
    std::string def = "( " + oid;
    if (!r.names.empty()) def += JoinNames(r.names);
    if (!r.syntax.empty()) def += " SYNTAX " + r.syntax;
    rules.values.push_back(def + " )");
  }
  ldap::Attribute attrs{"attributeTypes", {}};
  for (const auto& [oid, a] : attributes_) attrs.values.push_back(a.definition);
  ldap::Attribute ocs{"objectClasses", {}};
  for (const auto& [oid, oc] : object_classes_) ocs.values.push_back(oc.definition);
  out.push_back(std::move(syntaxes));
  out.push_back(std::move(rules));
  out.push_back(std::move(attrs));
  out.push_back(std::move(ocs));
  return out;
}

}  // namespace simplead::schema
