// Bind (RFC 4511 §4.2, RFC 4513 §5): simple binds by DN, UPN or down-level
// name; anonymous binds; unauthenticated binds refused; failed binds
// rate-limited per source address (busy, 51).
#include "lib/base/secure_bytes.h"
#include "lib/net/offload.h"
#include "server/frontend/frontend.h"

namespace simplead::frontend {

boost::asio::awaitable<ldap::LdapResult> Frontend::Bind(Context& ctx, ldap::BindRequest request,
                                                        const std::vector<ldap::Control>& controls) {
  ctx.target_dn = request.name;
  for (const auto& c : controls) {
    if (c.critical && c.oid != ldap::oid::kManageDsaIt && c.oid != ldap::oid::kPasswordPolicy) {
      WipeString(request.password);
      co_return ldap::LdapResult{ResultCode::kUnavailableCriticalExtension, "",
                                 "critical control " + c.oid + " is not supported for bind", {}};
    }
  }
  // A failed or new bind leaves the connection anonymous until it succeeds.
  ctx.session->set_bind_state({});
  if (request.version != 3) {
    WipeString(request.password);
    co_return ldap::LdapResult{ResultCode::kProtocolError, "", "only LDAP version 3 is supported", {}};
  }
  if (request.sasl) {
    co_return ldap::LdapResult{ResultCode::kAuthMethodNotSupported, "",
                               "SASL mechanism " + request.sasl_mechanism + " is not supported", {}};
  }
  if (request.name.empty()) {
    if (!request.password.empty()) {
      WipeString(request.password);
      co_return ldap::LdapResult{ResultCode::kUnwillingToPerform, "", "a password was given without a bind name", {}};
    }
    co_return ldap::LdapResult{};  // anonymous
  }
  if (request.password.empty()) {
    // RFC 4513 §5.1.2: a name without a password is an unauthenticated bind.
    co_return ldap::LdapResult{ResultCode::kUnwillingToPerform, "",
                               "unauthenticated bind (DN with no password) is not allowed", {}};
  }
  bool require_strong;
  {
    std::lock_guard lock(options_mu_);
    require_strong = options_.require_strong_auth;
  }
  if (require_strong && !ConnectionIsSecure(*ctx.session)) {
    WipeString(request.password);
    co_return ldap::LdapResult{ResultCode::kStrongerAuthRequired, "",
                               "simple bind with a password requires TLS (use StartTLS or ldaps)", {}};
  }
  if (bind_throttle_) {
    if (auto wait = bind_throttle_->RetryAfter(ctx.session->peer_address())) {
      // Refused before the password is looked at, so the answer reveals nothing.
      WipeString(request.password);
      const auto& limits = bind_throttle_->options();
      Status refused = Error(ResultCode::kBusy,
                             "too many failed binds from " + ctx.session->peer_address() + " (limit " +
                                 std::to_string(limits.limit) + " within " + std::to_string(limits.window.count()) +
                                 " s); retry in " + std::to_string(wait->count()) + " s");
      co_await net::Offload(pool_, [&] { Audit(*ctx.session, "Bind", request.name, refused, true); });
      ctx.detail = "throttled=failed-bind-limit";
      co_return ToLdapResult(refused);
    }
  }
  // Lambdas passed to co_await capture by reference only: GCC 12 destroys
  // owning captures of a temporary inside a co_await expression twice.
  bool audit_success;
  {
    std::lock_guard lock(options_mu_);
    audit_success = options_.audit_successful_binds;
  }
  // A successful bind that needs no blocking work (an imported {SSHA}
  // verifier whose key is in memory, nothing to write or audit) completes
  // here: the hop to the worker pool would cost more than the check. Every
  // other bind, failed ones included, runs on the pool.
  std::optional<Result<backend::Principal>> outcome;
  if (!audit_success) outcome = directory_.AuthenticateIfCheap(request.name, request.password);
  if (!outcome) outcome = co_await net::Offload(pool_, [&] {
    auto who = directory_.Authenticate(request.name, request.password);
    if (!who.ok() && who.status().code() == ResultCode::kInvalidCredentials && bind_throttle_) {
      bind_throttle_->RecordFailure(ctx.session->peer_address());
    }
    if (!who.ok() || audit_success) Audit(*ctx.session, "Bind", request.name, who.status(), true);
    return who;
  });
  WipeString(request.password);
  Result<backend::Principal>& principal = *outcome;
  if (!principal.ok()) co_return ToLdapResult(principal.status());
  net::BindState state;
  state.dn = principal->dn;
  state.normalized_dn = principal->normalized_dn;
  state.entry_id = principal->id;
  state.is_admin = principal->is_admin;
  ctx.session->set_bind_state(std::move(state));
  if (log_) ctx.detail = "as=\"" + principal->dn + "\"";
  co_return ldap::LdapResult{};
}

}  // namespace simplead::frontend
