// Modify DN (RFC 4511 §4.9): rename, move, and move of whole subtrees.
#include "server/frontend/frontend.h"

namespace simplead::frontend {

boost::asio::awaitable<ldap::LdapResult> Frontend::ModifyDn(Context& ctx, ldap::ModifyDnRequest request,
                                                            const std::vector<ldap::Control>& controls) {
  ctx.target_dn = request.dn;
  auto options = WriteControls(controls, true, true, false, false);
  if (!options.ok()) co_return ToLdapResult(options.status());
  backend::Principal who = PrincipalOf(*ctx.session);
  backend::WriteOutcome outcome;
  ctx.detail = "newrdn=\"" + request.new_rdn + "\"";
  Status st = co_await RunWrite(ctx, "ModifyDN", *options, outcome,
                                [&] { return directory_.ModifyDn(who, std::move(request), *options, &outcome); });
  if (st.ok()) AddReadControls(ctx, outcome);
  co_return ToLdapResult(st);
}

}  // namespace simplead::frontend
