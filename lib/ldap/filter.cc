#include "lib/ldap/filter.h"

#include <utility>

namespace simplead::ldap {

Filter Filter::Present(std::string attribute) {
  Filter f;
  f.type = Type::kPresent;
  f.attribute = std::move(attribute);
  return f;
}

Filter Filter::Equality(std::string attribute, std::string value) {
  Filter f;
  f.type = Type::kEquality;
  f.attribute = std::move(attribute);
  f.value = std::move(value);
  return f;
}

Filter Filter::And(std::vector<Filter> children) {
  Filter f;
  f.type = Type::kAnd;
  f.children = std::move(children);
  return f;
}

Filter Filter::Or(std::vector<Filter> children) {
  Filter f;
  f.type = Type::kOr;
  f.children = std::move(children);
  return f;
}

Filter Filter::Not(Filter child) {
  Filter f;
  f.type = Type::kNot;
  f.children.push_back(std::move(child));
  return f;
}

namespace {

bool IsAttrChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == ';' || c == '_';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Recursive-descent RFC 4515 parser. Depth is checked on entry to Parse(), so
// the native stack never grows past max_depth frames.
class FilterParser {
 public:
  FilterParser(std::string_view text, int max_depth) : text_(text), max_depth_(max_depth) {}

  Result<Filter> ParseAll() {
    SIMPLEAD_ASSIGN_OR_RETURN(Filter filter, Parse(1));
    if (pos_ != text_.size()) return Fail("unexpected trailing characters");
    return filter;
  }

 private:
  Status Fail(std::string_view what) const {
    return Error(ResultCode::kProtocolError,
                 "malformed filter at position " + std::to_string(pos_) + ": " + std::string(what));
  }
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }

  Result<Filter> Parse(int depth) {
    if (depth > max_depth_) {
      return Error(ResultCode::kAdminLimitExceeded, "filter nesting exceeds " + std::to_string(max_depth_));
    }
    if (Peek() != '(') return Fail("expected '('");
    ++pos_;
    Filter filter;
    char c = Peek();
    if (c == '&' || c == '|') {
      ++pos_;
      filter.type = c == '&' ? Filter::Type::kAnd : Filter::Type::kOr;
      while (Peek() == '(') {
        SIMPLEAD_ASSIGN_OR_RETURN(Filter child, Parse(depth + 1));
        filter.children.push_back(std::move(child));
      }
    } else if (c == '!') {
      ++pos_;
      filter.type = Filter::Type::kNot;
      SIMPLEAD_ASSIGN_OR_RETURN(Filter child, Parse(depth + 1));
      filter.children.push_back(std::move(child));
    } else {
      SIMPLEAD_ASSIGN_OR_RETURN(filter, ParseItem());
    }
    if (Peek() != ')') return Fail("expected ')'");
    ++pos_;
    return filter;
  }

  std::string_view TakeAttr() {
    size_t start = pos_;
    while (!AtEnd() && IsAttrChar(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  // Reads an assertion value up to ')' and unescapes it. With
  // allow_star, unescaped '*' split it into substring pieces.
  Result<std::vector<std::string>> TakeValue(bool allow_star) {
    std::vector<std::string> pieces(1);
    while (!AtEnd() && text_[pos_] != ')') {
      char c = text_[pos_];
      if (c == '(' || c == '\0') return Fail("unescaped character in value");
      if (c == '*') {
        if (!allow_star) return Fail("unescaped '*' in value");
        pieces.emplace_back();
        ++pos_;
      } else if (c == '\\') {
        if (pos_ + 2 >= text_.size()) return Fail("truncated escape");
        int hi = HexValue(text_[pos_ + 1]);
        int lo = HexValue(text_[pos_ + 2]);
        if (hi < 0 || lo < 0) return Fail("bad escape, expected two hex digits");
        pieces.back() += static_cast<char>(hi * 16 + lo);
        pos_ += 3;
      } else {
        pieces.back() += c;
        ++pos_;
      }
    }
    return pieces;
  }

  Result<Filter> ParseItem() {
    Filter filter;
    filter.attribute = std::string(TakeAttr());
    char c = Peek();
    if (c == ':') return ParseExtensible(std::move(filter));
    if (filter.attribute.empty()) return Fail("expected attribute description");
    if (c == '~' || c == '>' || c == '<') {
      ++pos_;
      if (Peek() != '=') return Fail("expected '='");
      ++pos_;
      filter.type = c == '~'   ? Filter::Type::kApprox
                    : c == '>' ? Filter::Type::kGreaterOrEqual
                               : Filter::Type::kLessOrEqual;
      SIMPLEAD_ASSIGN_OR_RETURN(auto pieces, TakeValue(false));
      filter.value = std::move(pieces[0]);
      return filter;
    }
    if (c != '=') return Fail("expected filter type");
    ++pos_;
    SIMPLEAD_ASSIGN_OR_RETURN(auto pieces, TakeValue(true));
    if (pieces.size() == 1) {
      filter.type = Filter::Type::kEquality;
      filter.value = std::move(pieces[0]);
      return filter;
    }
    if (pieces.size() == 2 && pieces[0].empty() && pieces[1].empty()) {
      filter.type = Filter::Type::kPresent;
      return filter;
    }
    filter.type = Filter::Type::kSubstrings;
    for (size_t i = 1; i + 1 < pieces.size(); ++i) {
      if (pieces[i].empty()) return Fail("empty substring between '*'");
      filter.any.push_back(std::move(pieces[i]));
    }
    if (!pieces.front().empty()) filter.initial = std::move(pieces.front());
    if (!pieces.back().empty()) filter.final = std::move(pieces.back());
    return filter;
  }

  // attr [":dn"] [":" rule] ":=" value, or [":dn"] ":" rule ":=" value.
  Result<Filter> ParseExtensible(Filter filter) {
    filter.type = Filter::Type::kExtensible;
    auto starts_with_ci = [&](std::string_view word) {
      if (text_.size() - pos_ < word.size()) return false;
      for (size_t i = 0; i < word.size(); ++i) {
        char a = text_[pos_ + i];
        if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
        if (a != word[i]) return false;
      }
      return true;
    };
    if (starts_with_ci(":dn:")) {
      filter.dn_attributes = true;
      pos_ += 3;
    }
    if (Peek() != ':') return Fail("expected ':'");
    ++pos_;
    if (Peek() != '=') {
      filter.matching_rule = std::string(TakeAttr());
      if (filter.matching_rule.empty()) return Fail("expected matching rule");
      if (Peek() != ':') return Fail("expected ':='");
      ++pos_;
      if (Peek() != '=') return Fail("expected ':='");
    }
    ++pos_;
    if (filter.attribute.empty() && filter.matching_rule.empty()) {
      return Fail("extensible match needs a type or a matching rule");
    }
    SIMPLEAD_ASSIGN_OR_RETURN(auto pieces, TakeValue(false));
    filter.value = std::move(pieces[0]);
    return filter;
  }

  std::string_view text_;
  int max_depth_;
  size_t pos_ = 0;
};

void AppendEscaped(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char ch : value) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 || c == 0x7f) {
      out += '\\';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
}

void AppendFilter(std::string& out, const Filter& f) {
  out += '(';
  switch (f.type) {
    case Filter::Type::kAnd:
    case Filter::Type::kOr:
      out += f.type == Filter::Type::kAnd ? '&' : '|';
      for (const Filter& child : f.children) AppendFilter(out, child);
      break;
    case Filter::Type::kNot:
      out += '!';
      if (!f.children.empty()) AppendFilter(out, f.children.front());
      break;
    case Filter::Type::kEquality:
    case Filter::Type::kGreaterOrEqual:
    case Filter::Type::kLessOrEqual:
    case Filter::Type::kApprox:
      out += f.attribute;
      out += f.type == Filter::Type::kEquality         ? "="
             : f.type == Filter::Type::kGreaterOrEqual ? ">="
             : f.type == Filter::Type::kLessOrEqual    ? "<="
                                                       : "~=";
      AppendEscaped(out, f.value);
      break;
    case Filter::Type::kPresent:
      out += f.attribute;
      out += "=*";
      break;
    case Filter::Type::kSubstrings:
      out += f.attribute;
      out += '=';
      if (f.initial) AppendEscaped(out, *f.initial);
      out += '*';
      for (const std::string& any : f.any) {
        AppendEscaped(out, any);
        out += '*';
      }
      if (f.final) AppendEscaped(out, *f.final);
      break;
    case Filter::Type::kExtensible:
      out += f.attribute;
      if (f.dn_attributes) out += ":dn";
      if (!f.matching_rule.empty()) {
        out += ':';
        out += f.matching_rule;
      }
      out += ":=";
      AppendEscaped(out, f.value);
      break;
  }
  out += ')';
}

}  // namespace

Result<Filter> ParseFilter(std::string_view text, int max_depth) {
  // Tolerate surrounding spaces and a bare item without parentheses, as
  // command-line tools do.
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return Error(ResultCode::kProtocolError, "malformed filter at position 0: empty filter");
  if (text.front() != '(') {
    std::string wrapped;
    wrapped.reserve(text.size() + 2);
    wrapped.push_back('(');
    wrapped.append(text);
    wrapped.push_back(')');
    return FilterParser(wrapped, max_depth).ParseAll();
  }
  return FilterParser(text, max_depth).ParseAll();
}

std::string FilterToString(const Filter& filter) {
  std::string out;
  AppendFilter(out, filter);
  return out;
}

int FilterDepth(const Filter& filter) {
  // Iterative so that a hand-built deep tree cannot exhaust the stack.
  int max_depth = 0;
  std::vector<std::pair<const Filter*, int>> stack{{&filter, 1}};
  while (!stack.empty()) {
    auto [f, depth] = stack.back();
    stack.pop_back();
    if (depth > max_depth) max_depth = depth;
    for (const Filter& child : f->children) stack.emplace_back(&child, depth + 1);
  }
  return max_depth;
}

size_t FilterSize(const Filter& filter) {
  size_t count = 0;
  std::vector<const Filter*> stack{&filter};
  while (!stack.empty()) {
    const Filter* f = stack.back();
    stack.pop_back();
    ++count;
    for (const Filter& child : f->children) stack.push_back(&child);
  }
  return count;
}

}  // namespace simplead::ldap
