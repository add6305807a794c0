#include "lib/net/response_tag.h"

namespace simplead::net {

std::optional<ldap::ResponseTag> ResponseTagFor(const ldap::RequestOp& op) {
  using T = ldap::ResponseTag;
  struct Visitor {
    std::optional<T> operator()(const ldap::BindRequest&) const { return T::kBind; }
    std::optional<T> operator()(const ldap::UnbindRequest&) const { return std::nullopt; }
    std::optional<T> operator()(const ldap::SearchRequest&) const { return T::kSearchDone; }
    std::optional<T> operator()(const ldap::AddRequest&) const { return T::kAdd; }
    std::optional<T> operator()(const ldap::DeleteRequest&) const { return T::kDelete; }
    std::optional<T> operator()(const ldap::ModifyRequest&) const { return T::kModify; }
    std::optional<T> operator()(const ldap::ModifyDnRequest&) const { return T::kModifyDn; }
    std::optional<T> operator()(const ldap::CompareRequest&) const { return T::kCompare; }
    std::optional<T> operator()(const ldap::AbandonRequest&) const { return std::nullopt; }
    std::optional<T> operator()(const ldap::ExtendedRequest&) const { return T::kExtended; }
  };
  return std::visit(Visitor{}, op);
}

std::string EncodeErrorResponse(const ldap::Request& request, const ldap::LdapResult& result) {
  auto tag = ResponseTagFor(request.op);
  if (!tag) return {};
  switch (*tag) {
    case ldap::ResponseTag::kBind:
      return ldap::EncodeBindResponse(request.message_id, result);
    case ldap::ResponseTag::kExtended:
      return ldap::EncodeExtendedResponse(request.message_id, result);
    default:
      return ldap::EncodeResult(request.message_id, *tag, result);
  }
}

}  // namespace simplead::net
