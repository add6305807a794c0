#include "server/frontend/frontend.h"

#include <algorithm>
#include <chrono>

#include "lib/ldap/codec.h"
#include "lib/net/await_callback.h"
#include "lib/net/offload.h"
#include "lib/net/response_tag.h"

namespace simplead::frontend {

ldap::LdapResult ToLdapResult(const Status& status) {
  return ldap::LdapResult{status.code(), status.matched_dn(), status.message(), {}};
}

Frontend::Frontend(backend::Directory& directory, boost::asio::thread_pool& pool,
                   boost::asio::thread_pool& write_pool, FrontendOptions options,
                   std::shared_ptr<spdlog::logger> access_log, kms::AuditTrail* audit, BindThrottle* bind_throttle)
    : directory_(directory),
      pool_(pool),
      write_pool_(write_pool),
      options_(std::move(options)),
      log_(std::move(access_log)),
      audit_(audit),
      bind_throttle_(bind_throttle) {}

void Frontend::Audit(const net::Session& session, std::string_view event, std::string_view target,
                     const Status& status, bool read_only) const {
  if (!audit_) return;
  net::BindState state = session.bind_state();
  kms::AuditEvent e;
  e.event_source = "ldap";
  e.event_name = std::string(event);
  e.user_identity.type = state.dn.empty() ? "Anonymous" : "SimpleADUser";
  e.user_identity.principal_id = state.dn;
  e.user_identity.user_name = state.dn;
  e.source_ip = session.peer_address();
  e.user_agent = "ldap";
  e.request_parameters = {{"dn", std::string(target)}, {"tls", session.tls_active()}};
  e.read_only = read_only;
  if (!status.ok()) {
    e.error_code = std::string(ResultCodeName(status.code()));
    e.error_message = status.message();
  }
  bool wait_durable;
  {
    std::lock_guard lock(options_mu_);
    wait_durable = options_.audit_wait_durable;
  }
  // The operation has already happened and the trail cannot undo it, so by
  // default the line need not be durable before the response: a background
  // sync makes it durable within the trail's delay instead of costing each
  // write a second fsync.
  auto written = wait_durable ? audit_->Append(e) : audit_->AppendBuffered(e);
  if (!written.ok() && log_) log_->error("audit trail: {}", written.status().ToString());
}

void Frontend::set_options(const FrontendOptions& options) {
  std::lock_guard lock(options_mu_);
  options_ = options;
}

bool Frontend::ConnectionIsSecure(const net::Session& session) const {
  std::lock_guard lock(options_mu_);
  return session.tls_active() || (session.peer_is_loopback() && !options_.loopback_is_remote);
}

backend::Principal Frontend::PrincipalOf(const net::Session& session) const {
  net::BindState state = session.bind_state();
  backend::Principal p;
  p.dn = state.dn;
  p.normalized_dn = state.normalized_dn;
  p.id = state.entry_id;
  p.is_admin = state.is_admin;
  return p;
}

boost::asio::awaitable<void> Frontend::Handle(std::shared_ptr<net::Session> session,
                                              std::shared_ptr<net::Operation> op, ldap::Request request) {
  Context ctx{session, op, {}, {}, {}};
  const char* name = ldap::OperationName(request.op);
  std::optional<std::string> response_name;
  std::optional<std::string> response_value;
  ldap::LdapResult result;
  int32_t id = request.message_id;
  auto& controls = request.controls;
  if (auto* bind = std::get_if<ldap::BindRequest>(&request.op)) {
    result = co_await Bind(ctx, std::move(*bind), controls);
  } else if (auto* search = std::get_if<ldap::SearchRequest>(&request.op)) {
    result = co_await Search(ctx, std::move(*search), controls);
  } else if (auto* add = std::get_if<ldap::AddRequest>(&request.op)) {
    result = co_await Add(ctx, std::move(*add), controls);
  } else if (auto* del = std::get_if<ldap::DeleteRequest>(&request.op)) {
    result = co_await Delete(ctx, std::move(*del), controls);
  } else if (auto* mod = std::get_if<ldap::ModifyRequest>(&request.op)) {
    result = co_await Modify(ctx, std::move(*mod), controls);
  } else if (auto* moddn = std::get_if<ldap::ModifyDnRequest>(&request.op)) {
    result = co_await ModifyDn(ctx, std::move(*moddn), controls);
  } else if (auto* cmp = std::get_if<ldap::CompareRequest>(&request.op)) {
    result = co_await Compare(ctx, std::move(*cmp), controls);
  } else if (auto* ext = std::get_if<ldap::ExtendedRequest>(&request.op)) {
    result = co_await Extended(ctx, std::move(*ext), &response_name, &response_value);
  } else {
    co_return;
  }
  if (op->abandoned.load() || session->IsClosed()) {
    co_return;  // RFC 4511 §4.11: no response to an abandoned operation
  }
  AddPasswordPolicyControl(ctx, request, result);
  if (std::holds_alternative<ldap::BindRequest>(request.op)) {
    session->Send(ldap::EncodeBindResponse(id, result, std::nullopt, ctx.response_controls));
  } else if (std::holds_alternative<ldap::ExtendedRequest>(request.op)) {
    session->Send(ldap::EncodeExtendedResponse(id, result, response_name, response_value, ctx.response_controls));
  } else {
    session->Send(ldap::EncodeResult(id, *net::ResponseTagFor(request.op), result, ctx.response_controls));
  }
  auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - op->started).count();
  if (log_) {
    log_->info("conn={} op={} {} dn=\"{}\" result={} ({}) elapsed_ms={:.3f}{}{}", session->id(), id, name,
               ctx.target_dn, static_cast<int>(result.code), ResultCodeName(result.code), elapsed,
               ctx.detail.empty() ? "" : " ", ctx.detail);
  }
}

Result<backend::WriteOptions> Frontend::WriteControls(const std::vector<ldap::Control>& controls, bool allow_pre_read,
                                                      bool allow_post_read, bool allow_subtree_delete,
                                                      bool allow_permissive) const {
  backend::WriteOptions options;
  for (const auto& c : controls) {
    if (c.oid == ldap::oid::kAssertion) {
      SIMPLEAD_ASSIGN_OR_RETURN(auto filter, ldap::DecodeAssertion(c.value.value_or("")));
      options.assertion = std::move(filter);
    } else if (c.oid == ldap::oid::kPreRead && allow_pre_read) {
      SIMPLEAD_ASSIGN_OR_RETURN(auto attrs, ldap::DecodeReadEntryRequest(c.value.value_or("")));
      options.pre_read = std::move(attrs);
    } else if (c.oid == ldap::oid::kPostRead && allow_post_read) {
      SIMPLEAD_ASSIGN_OR_RETURN(auto attrs, ldap::DecodeReadEntryRequest(c.value.value_or("")));
      options.post_read = std::move(attrs);
    } else if (c.oid == ldap::oid::kSubtreeDelete && allow_subtree_delete) {
      options.subtree_delete = true;
    } else if (c.oid == ldap::oid::kPermissiveModify && allow_permissive) {
      options.permissive_modify = true;
    } else if (c.oid == ldap::oid::kManageDsaIt || c.oid == ldap::oid::kPasswordPolicy) {
      // No referral objects are stored, so there is nothing to manage differently;
      // the password-policy response is added by Handle().
    } else if (c.critical) {
      return Error(ResultCode::kUnavailableCriticalExtension,
                   "critical control " + c.oid + " is not supported for this operation");
    }
  }
  return options;
}

void Frontend::AddPasswordPolicyControl(Context& ctx, const ldap::Request& request,
                                        const ldap::LdapResult& result) const {
  bool asked = std::any_of(request.controls.begin(), request.controls.end(),
                           [](const ldap::Control& c) { return c.oid == ldap::oid::kPasswordPolicy; });
  if (!asked || result.code == ResultCode::kSuccess) return;
  bool applies = std::holds_alternative<ldap::BindRequest>(request.op) ||
                 std::holds_alternative<ldap::ModifyRequest>(request.op) ||
                 std::holds_alternative<ldap::AddRequest>(request.op) ||
                 std::holds_alternative<ldap::ExtendedRequest>(request.op);
  if (!applies) return;
  auto error = backend::PasswordPolicyErrorOf(Status(result.code, result.diagnostic));
  if (!error) return;
  ldap::PasswordPolicyResponse response;
  response.error = *error;
  ctx.response_controls.push_back({ldap::oid::kPasswordPolicy, false, ldap::EncodePasswordPolicyResponse(response)});
}

boost::asio::awaitable<Status> Frontend::RunWrite(Context& ctx, std::string_view event, backend::WriteOptions& options,
                                                  const backend::WriteOutcome& outcome,
                                                  const std::function<Status()>& write) {
  options.defer_durability = true;
  // Audited once applied: readers already see the write. A WAL sync that
  // then fails is logged below (the store refuses writes from then on).
  Status st = co_await net::Offload(write_pool_, [&] {
    Status st = write();
    Audit(*ctx.session, event, ctx.target_dn, st);
    return st;
  });
  if (!st.ok()) co_return st;
  const store::CommitTicket ticket = outcome.durable;
  st = co_await net::AwaitCallback<Status>(
      [this, ticket](auto deliver) { directory_.WhenDurable(ticket, std::move(deliver)); });
  if (!st.ok() && log_) log_->error("{} of {} applied but not made durable: {}", event, ctx.target_dn, st.ToString());
  co_return st;
}

void Frontend::AddReadControls(Context& ctx, const backend::WriteOutcome& outcome) const {
  if (outcome.pre_read) {
    ctx.response_controls.push_back(
        {ldap::oid::kPreRead, false,
         ldap::EncodeReadEntryResponse(outcome.pre_read->dn().ToString(), outcome.pre_read->attributes())});
  }
  if (outcome.post_read) {
    ctx.response_controls.push_back(
        {ldap::oid::kPostRead, false,
         ldap::EncodeReadEntryResponse(outcome.post_read->dn().ToString(), outcome.post_read->attributes())});
  }
}

}  // namespace simplead::frontend
