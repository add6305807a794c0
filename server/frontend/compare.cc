// Compare (RFC 4511 §4.10).
#include "lib/net/offload.h"
#include "schema/filter_eval.h"
#include "server/frontend/frontend.h"

namespace simplead::frontend {

boost::asio::awaitable<ldap::LdapResult> Frontend::Compare(Context& ctx, ldap::CompareRequest request,
                                                           const std::vector<ldap::Control>& controls) {
  ctx.target_dn = request.dn;
  std::optional<ldap::Filter> assertion;
  for (const auto& c : controls) {
    if (c.oid == ldap::oid::kAssertion) {
      auto f = ldap::DecodeAssertion(c.value.value_or(""));
      if (!f.ok()) co_return ToLdapResult(f.status());
      assertion = *f;
    } else if (c.critical && c.oid != ldap::oid::kManageDsaIt) {
      co_return ldap::LdapResult{ResultCode::kUnavailableCriticalExtension, "",
                                 "critical control " + c.oid + " is not supported for compare", {}};
    }
  }
  backend::Principal who = PrincipalOf(*ctx.session);
  auto code = co_await net::Offload(pool_, [&]() -> Result<ResultCode> {
    if (assertion) {
      auto entry = directory_.Read(who, request.dn, {"*", "+"});
      if (entry.ok() && entry->has_value() && !schema::Matches(*assertion, **entry, directory_.schema())) {
        return Error(ResultCode::kAssertionFailed, "the assertion control's filter does not match");
      }
    }
    return directory_.Compare(who, request.dn, request.attribute, request.value);
  });
  if (!code.ok()) co_return ToLdapResult(code.status());
  co_return ldap::LdapResult{*code, "", "", {}};
}

}  // namespace simplead::frontend
