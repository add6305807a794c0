#include "lib/ldap/ber.h"

#include <new>
#include <utility>
#include <vector>

namespace simplead::ldap::ber {

Status Malformed(std::string_view what) {
  return Error(ResultCode::kProtocolError, "malformed BER: " + std::string(what));
}

Result<Reader> Reader::Open(std::string_view data) {
  std::unique_ptr<BerElement, BerFreeNoBuf> ber(ber_alloc_t(0));
  if (!ber) throw std::bad_alloc();
  // liblber never writes to the buffer when reading with LBER_BV_NOTERM.
  berval bv{data.size(), const_cast<char*>(data.data())};
  ber_init2(ber.get(), &bv, 0);
  return Reader(data, std::move(ber));
}

bool Reader::AtEnd() const {
  ber_len_t remaining = 0;
  ber_get_option(ber_.get(), LBER_OPT_BER_REMAINING_BYTES, &remaining);
  return remaining == 0;
}

std::optional<ber_tag_t> Reader::PeekTag() const {
  ber_len_t len = 0;
  ber_tag_t tag = ber_peek_tag(ber_.get(), &len);
  if (tag == LBER_DEFAULT) return std::nullopt;
  return tag;
}

Result<std::string_view> Reader::Take(ber_tag_t tag, std::string_view what) {
  ber_len_t len = 0;
  ber_tag_t actual = ber_peek_tag(ber_.get(), &len);
  if (actual == LBER_DEFAULT) {
    return Malformed(AtEnd() ? "missing " + std::string(what) : "truncated " + std::string(what));
  }
  if (actual != tag) return Malformed("unexpected tag for " + std::string(what));
  berval bv{};
  if (ber_get_stringbv(ber_.get(), &bv, LBER_BV_NOTERM) == LBER_DEFAULT) {
    return Malformed("truncated " + std::string(what));
  }
  if (bv.bv_len == 0) return std::string_view();
  return std::string_view(bv.bv_val, bv.bv_len);
}

Result<std::string> Reader::String(ber_tag_t tag, std::string_view what) {
  SIMPLEAD_ASSIGN_OR_RETURN(std::string_view content, Take(tag, what));
  return std::string(content);
}

Result<int32_t> Reader::Int(ber_tag_t tag, std::string_view what) {
  SIMPLEAD_ASSIGN_OR_RETURN(std::string_view content, Take(tag, what));
  if (content.empty() || content.size() > 4) return Malformed("bad integer length for " + std::string(what));
  // Two's complement, big-endian; sign-extend from the first byte.
  int64_t value = static_cast<signed char>(content[0]);
  for (size_t i = 1; i < content.size(); ++i) value = value * 256 + static_cast<unsigned char>(content[i]);
  return static_cast<int32_t>(value);
}

Result<bool> Reader::Bool(ber_tag_t tag, std::string_view what) {
  SIMPLEAD_ASSIGN_OR_RETURN(std::string_view content, Take(tag, what));
  if (content.size() != 1) return Malformed("bad boolean length for " + std::string(what));
  return content[0] != 0;
}

Result<Reader> Reader::Enter(ber_tag_t tag, std::string_view what) {
  SIMPLEAD_ASSIGN_OR_RETURN(std::string_view content, Take(tag, what));
  return Open(content.empty() ? std::string_view(data_.data(), 0) : content);
}

Status Reader::ExpectEnd(std::string_view what) const {
  if (!AtEnd()) return Malformed("unexpected trailing data in " + std::string(what));
  return Status::Ok();
}

Writer::Writer() : ber_(ber_alloc_t(LBER_USE_DER)) {
  if (!ber_) throw std::bad_alloc();
}

namespace {
void Check(int rc) {
  if (rc == -1) throw std::bad_alloc();  // liblber fails only on allocation
}
}  // namespace

void Writer::BeginSequence(ber_tag_t tag) { Check(ber_printf(ber_.get(), "t{", tag)); }
void Writer::EndSequence() { Check(ber_printf(ber_.get(), "}")); }
void Writer::BeginSet(ber_tag_t tag) { Check(ber_printf(ber_.get(), "t[", tag)); }
void Writer::EndSet() { Check(ber_printf(ber_.get(), "]")); }

void Writer::String(std::string_view value, ber_tag_t tag) {
  Check(ber_printf(ber_.get(), "to", tag, value.empty() ? "" : value.data(), static_cast<ber_len_t>(value.size())));
}
void Writer::Int(int32_t value, ber_tag_t tag) {
  Check(ber_printf(ber_.get(), "ti", tag, static_cast<ber_int_t>(value)));
}
void Writer::Enum(int32_t value, ber_tag_t tag) {
  Check(ber_printf(ber_.get(), "te", tag, static_cast<ber_int_t>(value)));
}
void Writer::Bool(bool value, ber_tag_t tag) {
  Check(ber_printf(ber_.get(), "tb", tag, static_cast<ber_int_t>(value ? 1 : 0)));
}
void Writer::Null(ber_tag_t tag) { Check(ber_printf(ber_.get(), "tn", tag)); }

std::string Writer::Finish() {
  berval bv{};
  Check(ber_flatten2(ber_.get(), &bv, 0));
  return std::string(bv.bv_val ? bv.bv_val : "", bv.bv_len);
}

// ---- Filter ----------------------------------------------------------------

namespace {

constexpr ber_tag_t kAnd = CtxCons(0), kOr = CtxCons(1), kNot = CtxCons(2), kEquality = CtxCons(3),
                    kSubstrings = CtxCons(4), kGreater = CtxCons(5), kLess = CtxCons(6), kPresent = Ctx(7),
                    kApprox = CtxCons(8), kExtensible = CtxCons(9);

void WriteAva(Writer& w, ber_tag_t tag, const Filter& f) {
  w.BeginSequence(tag);
  w.String(f.attribute);
  w.String(f.value);
  w.EndSequence();
}

Result<Filter> ReadAva(Reader& r, ber_tag_t tag, Filter::Type type) {
  SIMPLEAD_ASSIGN_OR_RETURN(Reader ava, r.Enter(tag, "attribute value assertion"));
  Filter f;
  f.type = type;
  SIMPLEAD_ASSIGN_OR_RETURN(f.attribute, ava.String(kOctetString, "assertion attribute"));
  SIMPLEAD_ASSIGN_OR_RETURN(f.value, ava.String(kOctetString, "assertion value"));
  SIMPLEAD_RETURN_IF_ERROR(ava.ExpectEnd("attribute value assertion"));
  if (f.attribute.empty()) return Malformed("empty attribute in filter");
  return f;
}

Result<Filter> ReadFilterAt(Reader& r, int depth, int max_depth) {
  if (depth > max_depth) {
    return Error(ResultCode::kAdminLimitExceeded, "filter nesting exceeds " + std::to_string(max_depth));
  }
  std::optional<ber_tag_t> tag = r.PeekTag();
  if (!tag) return Malformed(r.AtEnd() ? "missing filter" : "truncated filter");
  Filter f;
  switch (*tag) {
    case kAnd:
    case kOr: {
      f.type = *tag == kAnd ? Filter::Type::kAnd : Filter::Type::kOr;
      SIMPLEAD_ASSIGN_OR_RETURN(Reader set, r.Enter(*tag, "filter set"));
      while (!set.AtEnd()) {
        SIMPLEAD_ASSIGN_OR_RETURN(Filter child, ReadFilterAt(set, depth + 1, max_depth));
        f.children.push_back(std::move(child));
      }
      return f;
    }
    case kNot: {
      f.type = Filter::Type::kNot;
      SIMPLEAD_ASSIGN_OR_RETURN(Reader inner, r.Enter(kNot, "not filter"));
      SIMPLEAD_ASSIGN_OR_RETURN(Filter child, ReadFilterAt(inner, depth + 1, max_depth));
      SIMPLEAD_RETURN_IF_ERROR(inner.ExpectEnd("not filter"));
      f.children.push_back(std::move(child));
      return f;
    }
    case kEquality:
      return ReadAva(r, kEquality, Filter::Type::kEquality);
    case kGreater:
      return ReadAva(r, kGreater, Filter::Type::kGreaterOrEqual);
    case kLess:
      return ReadAva(r, kLess, Filter::Type::kLessOrEqual);
    case kApprox:
      return ReadAva(r, kApprox, Filter::Type::kApprox);
    case kPresent: {
      f.type = Filter::Type::kPresent;
      SIMPLEAD_ASSIGN_OR_RETURN(f.attribute, r.String(kPresent, "present filter"));
      if (f.attribute.empty()) return Malformed("empty attribute in present filter");
      return f;
    }
    case kSubstrings: {
      f.type = Filter::Type::kSubstrings;
      SIMPLEAD_ASSIGN_OR_RETURN(Reader sub, r.Enter(kSubstrings, "substrings filter"));
      SIMPLEAD_ASSIGN_OR_RETURN(f.attribute, sub.String(kOctetString, "substrings type"));
      if (f.attribute.empty()) return Malformed("empty attribute in substrings filter");
      SIMPLEAD_ASSIGN_OR_RETURN(Reader pieces, sub.Enter(kSequence, "substrings"));
      SIMPLEAD_RETURN_IF_ERROR(sub.ExpectEnd("substrings filter"));
      bool first = true;
      while (!pieces.AtEnd()) {
        std::optional<ber_tag_t> piece_tag = pieces.PeekTag();
        if (!piece_tag) return Malformed("truncated substring");
        if (f.final) return Malformed("substring after final");
        SIMPLEAD_ASSIGN_OR_RETURN(std::string piece, pieces.String(*piece_tag, "substring"));
        if (*piece_tag == Ctx(0)) {
          if (!first) return Malformed("initial substring not first");
          f.initial = std::move(piece);
        } else if (*piece_tag == Ctx(1)) {
          f.any.push_back(std::move(piece));
        } else if (*piece_tag == Ctx(2)) {
          f.final = std::move(piece);
        } else {
          return Malformed("unknown substring choice");
        }
        first = false;
      }
      if (first) return Malformed("substrings filter without substrings");
      return f;
    }
    case kExtensible: {
      f.type = Filter::Type::kExtensible;
      SIMPLEAD_ASSIGN_OR_RETURN(Reader mra, r.Enter(kExtensible, "extensible match"));
      if (mra.PeekTag() == Ctx(1)) {
        SIMPLEAD_ASSIGN_OR_RETURN(f.matching_rule, mra.String(Ctx(1), "matching rule"));
      }
      if (mra.PeekTag() == Ctx(2)) {
        SIMPLEAD_ASSIGN_OR_RETURN(f.attribute, mra.String(Ctx(2), "extensible type"));
      }
      SIMPLEAD_ASSIGN_OR_RETURN(f.value, mra.String(Ctx(3), "match value"));
      if (mra.PeekTag() == Ctx(4)) {
        SIMPLEAD_ASSIGN_OR_RETURN(f.dn_attributes, mra.Bool(Ctx(4), "dnAttributes"));
      }
      SIMPLEAD_RETURN_IF_ERROR(mra.ExpectEnd("extensible match"));
      if (f.matching_rule.empty() && f.attribute.empty()) {
        return Malformed("extensible match without type or matching rule");
      }
      return f;
    }
    default:
      return Malformed("unknown filter choice");
  }
}

}  // namespace

void WriteFilter(Writer& w, const Filter& f) {
  switch (f.type) {
    case Filter::Type::kAnd:
    case Filter::Type::kOr:
      w.BeginSet(f.type == Filter::Type::kAnd ? kAnd : kOr);
      for (const Filter& child : f.children) WriteFilter(w, child);
      w.EndSet();
      return;
    case Filter::Type::kNot:
      w.BeginSequence(kNot);
      if (!f.children.empty()) WriteFilter(w, f.children.front());
      w.EndSequence();
      return;
    case Filter::Type::kEquality:
      return WriteAva(w, kEquality, f);
    case Filter::Type::kGreaterOrEqual:
      return WriteAva(w, kGreater, f);
    case Filter::Type::kLessOrEqual:
      return WriteAva(w, kLess, f);
    case Filter::Type::kApprox:
      return WriteAva(w, kApprox, f);
    case Filter::Type::kPresent:
      w.String(f.attribute, kPresent);
      return;
    case Filter::Type::kSubstrings:
      w.BeginSequence(kSubstrings);
      w.String(f.attribute);
      w.BeginSequence();
      if (f.initial) w.String(*f.initial, Ctx(0));
      for (const std::string& any : f.any) w.String(any, Ctx(1));
      if (f.final) w.String(*f.final, Ctx(2));
      w.EndSequence();
      w.EndSequence();
      return;
    case Filter::Type::kExtensible:
      w.BeginSequence(kExtensible);
      if (!f.matching_rule.empty()) w.String(f.matching_rule, Ctx(1));
      if (!f.attribute.empty()) w.String(f.attribute, Ctx(2));
      w.String(f.value, Ctx(3));
      if (f.dn_attributes) w.Bool(true, Ctx(4));
      w.EndSequence();
      return;
  }
}

Result<Filter> ReadFilter(Reader& reader, int max_depth) { return ReadFilterAt(reader, 1, max_depth); }

}  // namespace simplead::ldap::ber
