// Delete (RFC 4511 §4.8), with AD's subtree delete control.
#include "server/frontend/frontend.h"

namespace simplead::frontend {

boost::asio::awaitable<ldap::LdapResult> Frontend::Delete(Context& ctx, ldap::DeleteRequest request,
                                                          const std::vector<ldap::Control>& controls) {
  ctx.target_dn = request.dn;
  auto options = WriteControls(controls, true, false, true, false);
  if (!options.ok()) co_return ToLdapResult(options.status());
  backend::Principal who = PrincipalOf(*ctx.session);
  backend::WriteOutcome outcome;
  Status st = co_await RunWrite(ctx, "Delete", *options, outcome,
                                [&] { return directory_.Delete(who, request.dn, *options, &outcome); });
  if (st.ok()) AddReadControls(ctx, outcome);
  co_return ToLdapResult(st);
}

}  // namespace simplead::frontend
