#include "lib/ldap/controls.h"

#include "lib/ldap/ber.h"

namespace simplead::ldap {

using ber::Ctx;
using ber::CtxCons;
using ber::Malformed;
using ber::Reader;
using ber::Writer;

namespace {

// Runs `body` over a Reader of the whole value and requires it consumed all
// bytes. The copy is NUL-terminated, which liblber's look-ahead relies on.
template <typename T, typename Body>
Result<T> DecodeValue(std::string_view value, std::string_view what, Body&& body) {
  const std::string buffer(value);
  SIMPLEAD_ASSIGN_OR_RETURN(Reader top, Reader::Open(buffer));
  Result<T> result = body(top);
  if (!result.ok()) return result;
  SIMPLEAD_RETURN_IF_ERROR(top.ExpectEnd(what));
  return result;
}

}  // namespace

Result<PagedResults> DecodePagedResults(std::string_view value) {
  return DecodeValue<PagedResults>(value, "paged results control", [](Reader& top) -> Result<PagedResults> {
    SIMPLEAD_ASSIGN_OR_RETURN(Reader seq, top.Enter(ber::kSequence, "paged results control"));
    PagedResults paged;
    SIMPLEAD_ASSIGN_OR_RETURN(paged.size, seq.Int(ber::kInteger, "page size"));
    if (paged.size < 0) return Malformed("negative page size");
    SIMPLEAD_ASSIGN_OR_RETURN(paged.cookie, seq.String(ber::kOctetString, "paged results cookie"));
    SIMPLEAD_RETURN_IF_ERROR(seq.ExpectEnd("paged results control"));
    return paged;
  });
}

std::string EncodePagedResults(const PagedResults& paged) {
  Writer w;
  w.BeginSequence();
  w.Int(paged.size);
  w.String(paged.cookie);
  w.EndSequence();
  return w.Finish();
}

Result<std::vector<SortKey>> DecodeSortRequest(std::string_view value) {
  return DecodeValue<std::vector<SortKey>>(value, "sort control", [](Reader& top) -> Result<std::vector<SortKey>> {
    SIMPLEAD_ASSIGN_OR_RETURN(Reader list, top.Enter(ber::kSequence, "sort key list"));
    std::vector<SortKey> keys;
    while (!list.AtEnd()) {
      SIMPLEAD_ASSIGN_OR_RETURN(Reader item, list.Enter(ber::kSequence, "sort key"));
      SortKey key;
      SIMPLEAD_ASSIGN_OR_RETURN(key.attribute, item.String(ber::kOctetString, "sort attribute"));
      if (key.attribute.empty()) return Malformed("empty sort attribute");
      if (item.PeekTag() == Ctx(0)) {
        SIMPLEAD_ASSIGN_OR_RETURN(key.ordering_rule, item.String(Ctx(0), "orderingRule"));
      }
      if (item.PeekTag() == Ctx(1)) {
        SIMPLEAD_ASSIGN_OR_RETURN(key.reverse, item.Bool(Ctx(1), "reverseOrder"));
      }
      SIMPLEAD_RETURN_IF_ERROR(item.ExpectEnd("sort key"));
      keys.push_back(std::move(key));
    }
    if (keys.empty()) return Malformed("sort control without keys");
    return keys;
  });
}

std::string EncodeSortRequest(const std::vector<SortKey>& keys) {
  Writer w;
  w.BeginSequence();
  for (const SortKey& key : keys) {
    w.BeginSequence();
    w.String(key.attribute);
    if (!key.ordering_rule.empty()) w.String(key.ordering_rule, Ctx(0));
    if (key.reverse) w.Bool(true, Ctx(1));
    w.EndSequence();
  }
  w.EndSequence();
  return w.Finish();
}

std::string EncodeSortResponse(ResultCode code, std::string_view attribute) {
  Writer w;
  w.BeginSequence();
  w.Enum(static_cast<int32_t>(code));
  if (!attribute.empty()) w.String(attribute, Ctx(0));
  w.EndSequence();
  return w.Finish();
}

Result<Filter> DecodeAssertion(std::string_view value, int max_depth) {
  return DecodeValue<Filter>(value, "assertion control",
                             [&](Reader& top) { return ber::ReadFilter(top, max_depth); });
}

std::string EncodeFilter(const Filter& filter) {
  Writer w;
  ber::WriteFilter(w, filter);
  return w.Finish();
}

Result<std::vector<std::string>> DecodeReadEntryRequest(std::string_view value) {
  return DecodeValue<std::vector<std::string>>(
      value, "read entry control", [](Reader& top) -> Result<std::vector<std::string>> {
        SIMPLEAD_ASSIGN_OR_RETURN(Reader list, top.Enter(ber::kSequence, "attribute selection"));
        std::vector<std::string> attributes;
        while (!list.AtEnd()) {
          SIMPLEAD_ASSIGN_OR_RETURN(std::string attribute, list.String(ber::kOctetString, "attribute selector"));
          attributes.push_back(std::move(attribute));
        }
        return attributes;
      });
}

std::string EncodeReadEntryRequest(const std::vector<std::string>& attributes) {
  Writer w;
  w.BeginSequence();
  for (const std::string& attribute : attributes) w.String(attribute);
  w.EndSequence();
  return w.Finish();
}

std::string EncodeReadEntryResponse(std::string_view dn, const std::vector<Attribute>& attributes) {
  Writer w;
  w.BeginSequence(ber::AppCons(4));  // SearchResultEntry
  w.String(dn);
  w.BeginSequence();
  for (const Attribute& attribute : attributes) {
    w.BeginSequence();
    w.String(attribute.type);
    w.BeginSet();
    for (const std::string& v : attribute.values) w.String(v);
    w.EndSet();
    w.EndSequence();
  }
  w.EndSequence();
  w.EndSequence();
  return w.Finish();
}

Result<PasswordModifyRequest> DecodePasswordModifyRequest(std::string_view value) {
  if (value.empty()) return PasswordModifyRequest{};
  return DecodeValue<PasswordModifyRequest>(
      value, "password modify request", [](Reader& top) -> Result<PasswordModifyRequest> {
        SIMPLEAD_ASSIGN_OR_RETURN(Reader seq, top.Enter(ber::kSequence, "password modify request"));
        PasswordModifyRequest request;
        if (seq.PeekTag() == Ctx(0)) {
          SIMPLEAD_ASSIGN_OR_RETURN(request.user_identity, seq.String(Ctx(0), "userIdentity"));
        }
        if (seq.PeekTag() == Ctx(1)) {
          SIMPLEAD_ASSIGN_OR_RETURN(request.old_password, seq.String(Ctx(1), "oldPasswd"));
        }
        if (seq.PeekTag() == Ctx(2)) {
          SIMPLEAD_ASSIGN_OR_RETURN(request.new_password, seq.String(Ctx(2), "newPasswd"));
        }
        SIMPLEAD_RETURN_IF_ERROR(seq.ExpectEnd("password modify request"));
        return request;
      });
}

std::string EncodePasswordModifyRequest(const PasswordModifyRequest& request) {
  Writer w;
  w.BeginSequence();
  if (request.user_identity) w.String(*request.user_identity, Ctx(0));
  if (request.old_password) w.String(*request.old_password, Ctx(1));
  if (request.new_password) w.String(*request.new_password, Ctx(2));
  w.EndSequence();
  return w.Finish();
}

std::string EncodePasswordModifyResponse(const std::optional<std::string>& generated_password) {
  Writer w;
  w.BeginSequence();
  if (generated_password) w.String(*generated_password, Ctx(0));
  w.EndSequence();
  return w.Finish();
}

// warning [0] is a CHOICE, hence explicitly tagged (constructed); error [1]
// is an implicitly tagged ENUMERATED.
std::string EncodePasswordPolicyResponse(const PasswordPolicyResponse& response) {
  Writer w;
  w.BeginSequence();
  if (response.time_before_expiration || response.grace_authns_remaining) {
    w.BeginSequence(CtxCons(0));
    if (response.time_before_expiration) {
      w.Int(*response.time_before_expiration, Ctx(0));
    } else {
      w.Int(*response.grace_authns_remaining, Ctx(1));
    }
    w.EndSequence();
  }
  if (response.error) w.Enum(*response.error, Ctx(1));
  w.EndSequence();
  return w.Finish();
}

Result<PasswordPolicyResponse> DecodePasswordPolicyResponse(std::string_view value) {
  return DecodeValue<PasswordPolicyResponse>(
      value, "password policy response", [](Reader& top) -> Result<PasswordPolicyResponse> {
        SIMPLEAD_ASSIGN_OR_RETURN(Reader seq, top.Enter(ber::kSequence, "password policy response"));
        PasswordPolicyResponse response;
        if (seq.PeekTag() == CtxCons(0)) {
          SIMPLEAD_ASSIGN_OR_RETURN(Reader warning, seq.Enter(CtxCons(0), "ppolicy warning"));
          if (warning.PeekTag() == Ctx(0)) {
            SIMPLEAD_ASSIGN_OR_RETURN(response.time_before_expiration, warning.Int(Ctx(0), "timeBeforeExpiration"));
          } else {
            SIMPLEAD_ASSIGN_OR_RETURN(response.grace_authns_remaining, warning.Int(Ctx(1), "graceAuthNsRemaining"));
          }
          SIMPLEAD_RETURN_IF_ERROR(warning.ExpectEnd("ppolicy warning"));
        }
        if (seq.PeekTag() == Ctx(1)) {
          SIMPLEAD_ASSIGN_OR_RETURN(response.error, seq.Int(Ctx(1), "ppolicy error"));
        }
        SIMPLEAD_RETURN_IF_ERROR(seq.ExpectEnd("password policy response"));
        return response;
      });
}

Result<int32_t> DecodeCancelRequest(std::string_view value) {
  return DecodeValue<int32_t>(value, "cancel request", [](Reader& top) -> Result<int32_t> {
    SIMPLEAD_ASSIGN_OR_RETURN(Reader seq, top.Enter(ber::kSequence, "cancel request"));
    SIMPLEAD_ASSIGN_OR_RETURN(int32_t id, seq.Int(ber::kInteger, "cancelID"));
    SIMPLEAD_RETURN_IF_ERROR(seq.ExpectEnd("cancel request"));
    if (id < 0) return Malformed("negative cancelID");
    return id;
  });
}

}  // namespace simplead::ldap
