// Extended operations: WhoAmI (RFC 4532) and Password Modify (RFC 3062).
// StartTLS is handled by the session itself, before any handler runs.
#include "lib/net/offload.h"
#include "server/frontend/frontend.h"

namespace simplead::frontend {

boost::asio::awaitable<ldap::LdapResult> Frontend::Extended(Context& ctx, ldap::ExtendedRequest request,
                                                            std::optional<std::string>* response_name,
                                                            std::optional<std::string>* response_value) {
  ctx.target_dn = request.oid;
  if (request.oid == ldap::oid::kWhoAmI) {
    auto state = ctx.session->bind_state();
    *response_value = state.dn.empty() ? std::string() : "dn:" + state.dn;
    co_return ldap::LdapResult{};
  }
  if (request.oid == ldap::oid::kPasswordModify) {
    if (!ConnectionIsSecure(*ctx.session)) {
      co_return ldap::LdapResult{ResultCode::kConfidentialityRequired, "", "password modify requires TLS", {}};
    }
    auto parsed = ldap::DecodePasswordModifyRequest(request.value.value_or(""));
    if (!parsed.ok()) co_return ToLdapResult(parsed.status());
    backend::Principal who = PrincipalOf(*ctx.session);
    auto generated = co_await net::Offload(pool_, [&] {
      auto result = directory_.ModifyPassword(who, parsed->user_identity.value_or(""), parsed->old_password,
                                              parsed->new_password);
      Audit(*ctx.session, "PasswordModify", parsed->user_identity.value_or(who.dn), result.status());
      return result;
    });
    if (parsed->old_password) WipeString(*parsed->old_password);
    if (parsed->new_password) WipeString(*parsed->new_password);
    if (!generated.ok()) co_return ToLdapResult(generated.status());
    if (generated->has_value()) *response_value = ldap::EncodePasswordModifyResponse(**generated);
    co_return ldap::LdapResult{};
  }
  *response_name = std::nullopt;
  co_return ldap::LdapResult{ResultCode::kProtocolError, "", "extended operation " + request.oid + " is not supported",
                             {}};
}

}  // namespace simplead::frontend
