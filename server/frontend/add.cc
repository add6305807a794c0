// Add (RFC 4511 §4.7).
#include "server/frontend/frontend.h"

namespace simplead::frontend {

boost::asio::awaitable<ldap::LdapResult> Frontend::Add(Context& ctx, ldap::AddRequest request,
                                                       const std::vector<ldap::Control>& controls) {
  ctx.target_dn = request.dn;
  auto options = WriteControls(controls, false, true, false, false);
  if (!options.ok()) co_return ToLdapResult(options.status());
  for (const auto& a : request.attributes) {
    if (ldap::EqualsIgnoreCase(a.type, "unicodePwd") && !ConnectionIsSecure(*ctx.session)) {
      co_return ldap::LdapResult{ResultCode::kConfidentialityRequired, "", "setting unicodePwd requires TLS", {}};
    }
  }
  backend::Principal who = PrincipalOf(*ctx.session);
  backend::WriteOutcome outcome;
  Status st = co_await RunWrite(ctx, "Add", *options, outcome,
                                [&] { return directory_.Add(who, std::move(request), *options, &outcome); });
  if (st.ok()) AddReadControls(ctx, outcome);
  co_return ToLdapResult(st);
}

}  // namespace simplead::frontend
