// Modify (RFC 4511 §4.6, RFC 4525 increment), with permissive modify.
#include "server/frontend/frontend.h"

namespace simplead::frontend {

boost::asio::awaitable<ldap::LdapResult> Frontend::Modify(Context& ctx, ldap::ModifyRequest request,
                                                          const std::vector<ldap::Control>& controls) {
  ctx.target_dn = request.dn;
  auto options = WriteControls(controls, true, true, false, true);
  if (!options.ok()) co_return ToLdapResult(options.status());
  for (const auto& change : request.changes) {
    if (ldap::EqualsIgnoreCase(change.attribute.type, "unicodePwd") && !ConnectionIsSecure(*ctx.session)) {
      co_return ldap::LdapResult{ResultCode::kConfidentialityRequired, "", "changing unicodePwd requires TLS", {}};
    }
  }
  backend::Principal who = PrincipalOf(*ctx.session);
  backend::WriteOutcome outcome;
  Status st = co_await RunWrite(ctx, "Modify", *options, outcome,
                                [&] { return directory_.Modify(who, std::move(request), *options, &outcome); });
  if (st.ok()) AddReadControls(ctx, outcome);
  co_return ToLdapResult(st);
}

}  // namespace simplead::frontend
