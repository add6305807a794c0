#include "connector/proxy.h"

#include <sys/time.h>

#include <boost/asio/post.hpp>
#include <chrono>

#include "lib/base/secure_bytes.h"
#include "lib/ldap/codec.h"
#include "lib/ldap/controls.h"
#include "lib/ldap/dn.h"
#include "lib/net/offload.h"
#include "lib/net/response_tag.h"

namespace simplead::connector {

namespace asio = boost::asio;
using ldap::LdapResult;

namespace {

constexpr char kVendorName[] = "SimpleAD AD Connector";

// The session's upstream connection, bound as the user. It is the only
// trace of a successful bind, and it goes with the session.
struct SessionUpstream {
  std::unique_ptr<UpstreamConnection> connection;
  std::string dn;
};

std::shared_ptr<SessionUpstream> UpstreamOf(const net::Session& session) {
  return std::static_pointer_cast<SessionUpstream>(session.bind_state().extra);
}

LdapResult BindFirst() {
  return {ResultCode::kOperationsError, "",
          "000004DC: a successful bind must be completed on the connection for this operation", {}};
}

bool IEquals(std::string_view a, std::string_view b) { return ldap::EqualsIgnoreCase(a, b); }

void OrFilter(const std::vector<std::string>& attributes, const std::string& value,
              std::vector<std::string>* parts) {
  for (const auto& a : attributes) parts->push_back("(" + a + "=" + EscapeFilterValue(value) + ")");
}

timeval Seconds(int s) {
  timeval tv{};
  tv.tv_sec = s;
  return tv;
}

// Maps a libldap call's return code on a session connection: transport
// failures become 52 and mark the upstream; other local errors pass as-is.
LdapResult LocalFailure(UpstreamPool& pool, UpstreamConnection& conn, int rc) {
  if (IsTransportFailure(rc)) {
    conn.MarkBroken();
    pool.RecordTransportFailure(conn.upstream(), std::string("session: ") + ldap_err2string(rc));
    return TransportResult(rc, conn.url());
  }
  if (rc < 0) return {ResultCode::kOther, "", std::string("upstream call failed: ") + ldap_err2string(rc), {}};
  return {static_cast<ResultCode>(rc), "", ldap_err2string(rc), {}};
}

// Dispose of an upstream connection off the I/O thread (unbind writes).
void DisposeLater(asio::thread_pool& pool, std::shared_ptr<void> state) {
  if (state) asio::post(pool, [s = std::move(state)]() mutable { s.reset(); });
}

struct ModsHolder {
  std::vector<LDAPMod> mods;
  std::vector<LDAPMod*> pointers;
  std::vector<std::vector<berval>> values;
  std::vector<std::vector<berval*>> value_pointers;
  void Add(int op, const ldap::Attribute& a) {
    LDAPMod m{};
    m.mod_op = op | LDAP_MOD_BVALUES;
    m.mod_type = const_cast<char*>(a.type.c_str());
    mods.push_back(m);
    values.emplace_back();
    for (const auto& v : a.values) values.back().push_back(berval{v.size(), const_cast<char*>(v.data())});
  }
  LDAPMod** Finish() {
    value_pointers.resize(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      for (auto& b : values[i]) value_pointers[i].push_back(&b);
      value_pointers[i].push_back(nullptr);
      mods[i].mod_bvalues = value_pointers[i].data();
    }
    for (auto& m : mods) pointers.push_back(&m);
    pointers.push_back(nullptr);
    return pointers.data();
  }
};

}  // namespace

struct Proxy::Context {
  std::shared_ptr<net::Session> session;
  std::shared_ptr<net::Operation> op;
  std::vector<ldap::Control> response_controls;
  std::optional<std::string> response_name;
  std::optional<std::string> response_value;
  std::string target_dn;
  std::string upstream;
};

BindName ClassifyBindName(const std::string& name, const ProxyOptions& options) {
  BindName out;
  std::vector<std::string> parts;
  if (name.find('=') != std::string::npos) {
    out.kind = BindName::Kind::kDn;
    out.account = name;
    return out;
  }
  out.kind = BindName::Kind::kLookup;
  if (size_t slash = name.find('\\'); slash != std::string::npos) {
    std::string domain = name.substr(0, slash);
    out.account = name.substr(slash + 1);
    if (out.account.empty() || !(IEquals(domain, options.netbios) || IEquals(domain, options.domain))) {
      out.kind = BindName::Kind::kForeignDomain;
      return out;
    }
    OrFilter(options.name_attributes, out.account, &parts);
  } else if (size_t at = name.rfind('@'); at != std::string::npos) {
    std::string local = name.substr(0, at);
    std::string realm = name.substr(at + 1);
    if (local.empty() || realm.empty()) {
      out.kind = BindName::Kind::kForeignDomain;
      return out;
    }
    out.account = local;
    OrFilter(options.upn_attributes, name, &parts);
    if (IEquals(realm, options.domain)) OrFilter(options.name_attributes, local, &parts);
  } else {
    out.account = name;
    OrFilter(options.name_attributes, name, &parts);
  }
  if (parts.empty()) {
    out.kind = BindName::Kind::kForeignDomain;
  } else if (parts.size() == 1) {
    out.filter = parts.front();
  } else {
    out.filter = "(|";
    for (const auto& p : parts) out.filter += p;
    out.filter += ")";
  }
  return out;
}

bool SplitPasswordAndCode(const SecureBytes& combined, const std::string& separator, SecureBytes* password,
                          SecureBytes* code) {
  std::string_view all = combined.view();
  size_t pos = all.rfind(separator);
  if (separator.empty() || pos == std::string_view::npos || pos == 0 || pos + separator.size() >= all.size()) {
    return false;
  }
  *password = SecureBytes(all.substr(0, pos));
  *code = SecureBytes(all.substr(pos + separator.size()));
  return true;
}

Proxy::Proxy(UpstreamPool& upstreams, asio::thread_pool& pool, ProxyOptions options,
             const radius::RadiusClient* radius, kms::AuditTrail* audit, std::shared_ptr<spdlog::logger> access_log,
             std::shared_ptr<spdlog::logger> log)
    : upstreams_(upstreams),
      pool_(pool),
      options_(std::move(options)),
      radius_(radius),
      audit_(audit),
      access_log_(std::move(access_log)),
      log_(std::move(log)) {}

void Proxy::OnClose(net::Session& session) {
  net::BindState state = session.bind_state();
  session.set_bind_state({});
  DisposeLater(pool_, std::move(state.extra));
}

asio::awaitable<void> Proxy::Handle(std::shared_ptr<net::Session> session, std::shared_ptr<net::Operation> op,
                                    ldap::Request request) {
  Context ctx{session, op, {}, {}, {}, {}, {}};
  const char* name = ldap::OperationName(request.op);
  int32_t id = request.message_id;
  LdapResult result;
  if (auto* bind = std::get_if<ldap::BindRequest>(&request.op)) {
    result = co_await Bind(ctx, std::move(*bind));
  } else if (auto* search = std::get_if<ldap::SearchRequest>(&request.op)) {
    result = co_await Search(ctx, std::move(*search), std::move(request.controls));
  } else if (auto* cmp = std::get_if<ldap::CompareRequest>(&request.op)) {
    result = co_await Compare(ctx, std::move(*cmp), std::move(request.controls));
  } else if (auto* ext = std::get_if<ldap::ExtendedRequest>(&request.op)) {
    result = co_await Extended(ctx, std::move(*ext), std::move(request.controls));
  } else if (std::holds_alternative<ldap::AddRequest>(request.op) ||
             std::holds_alternative<ldap::DeleteRequest>(request.op) ||
             std::holds_alternative<ldap::ModifyRequest>(request.op) ||
             std::holds_alternative<ldap::ModifyDnRequest>(request.op)) {
    result = co_await Write(ctx, request);
  } else {
    co_return;  // unbind, abandon: no response
  }
  if (!op->abandoned.load() && !session->IsClosed()) {
    if (std::holds_alternative<ldap::BindRequest>(request.op)) {
      session->Send(ldap::EncodeBindResponse(id, result, std::nullopt, ctx.response_controls));
    } else if (std::holds_alternative<ldap::ExtendedRequest>(request.op)) {
      session->Send(ldap::EncodeExtendedResponse(id, result, ctx.response_name, ctx.response_value,
                                                 ctx.response_controls));
    } else {
      session->Send(ldap::EncodeResult(id, *net::ResponseTagFor(request.op), result, ctx.response_controls));
    }
  }
  if (access_log_) {
    auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - op->started).count();
    access_log_->info("conn={} msgid={} op={} dn=\"{}\" result={} ({}) elapsed_ms={:.3f} upstream={}", session->id(),
                      id, name, ctx.target_dn, static_cast<int>(result.code), ResultCodeName(result.code), elapsed,
                      ctx.upstream.empty() ? "-" : ctx.upstream);
  }
}

asio::awaitable<LdapResult> Proxy::Bind(Context& ctx, ldap::BindRequest request) {
  SecureBytes secret(request.password);
  WipeString(request.password);
  ctx.target_dn = request.name;
  // Any bind first returns the session to anonymous (RFC 4513 §4).
  {
    net::BindState old = ctx.session->bind_state();
    ctx.session->set_bind_state({});
    DisposeLater(pool_, std::move(old.extra));
  }
  if (request.sasl) co_return LdapResult{ResultCode::kAuthMethodNotSupported, "", "only simple binds are forwarded", {}};
  if (request.version != 3) co_return LdapResult{ResultCode::kProtocolError, "", "LDAPv3 only", {}};
  if (request.name.empty() && secret.empty()) co_return LdapResult{};  // anonymous
  if (secret.empty()) {
    // RFC 4513 §5.1.2: an unauthenticated bind would "succeed" upstream.
    co_return LdapResult{ResultCode::kUnwillingToPerform, "", "unauthenticated bind (a name without a password) refused",
                         {}};
  }
  bool mfa = radius_ != nullptr && !options_.radius_separator.empty();
  SecureBytes password;
  SecureBytes code;
  if (mfa) {
    if (!SplitPasswordAndCode(secret, options_.radius_separator, &password, &code)) {
      LdapResult r{ResultCode::kInvalidCredentials, "", "a one-time code must follow the password", {}};
      co_await AuditAsync(ctx.session, request.name, "", r, "", mfa);
      co_return r;
    }
    secret.Wipe();
  } else {
    password = std::move(secret);
  }

  BindName name = ClassifyBindName(request.name, options_);
  std::string dn = request.name;
  size_t preferred = 0;
  if (name.kind == BindName::Kind::kForeignDomain) {
    LdapResult r{ResultCode::kInvalidCredentials, "", "the name is not in domain " + options_.domain, {}};
    co_await AuditAsync(ctx.session, request.name, "", r, "", mfa);
    co_return r;
  }
  if (name.kind == BindName::Kind::kLookup) {
    std::string base = options_.base_dn;
    std::string filter = name.filter;
    ResolvedName resolved = co_await net::Offload(pool_, [&] { return upstreams_.ResolveName(base, filter); });
    if (resolved.result.code != ResultCode::kSuccess) {
      if (resolved.result.code != ResultCode::kUnavailable) ctx.upstream = upstreams_.url(resolved.upstream);
      co_await AuditAsync(ctx.session, request.name, "", resolved.result, ctx.upstream, mfa);
      co_return resolved.result;
    }
    dn = resolved.dn;
    preferred = resolved.upstream;
  }
  BindOutcome outcome = co_await net::Offload(pool_, [&] { return upstreams_.BindUser(dn, password, preferred); });
  password.Wipe();
  ctx.upstream = outcome.url;
  ctx.response_controls = outcome.controls;
  LdapResult result = outcome.result;
  if (result.code == ResultCode::kSuccess && mfa) {
    std::string detail;
    std::string account = name.account;
    radius::Verdict verdict =
        co_await net::Offload(pool_, [&] { return radius_->Authenticate(account, code, &detail); });
    code.Wipe();
    if (verdict != radius::Verdict::kAccept) {
      DisposeLater(pool_, std::shared_ptr<UpstreamConnection>(std::move(outcome.connection)));
      result = verdict == radius::Verdict::kReject
                   ? LdapResult{ResultCode::kInvalidCredentials, "", "multi-factor authentication failed", {}}
                   : LdapResult{ResultCode::kUnavailable, "", "the RADIUS server did not answer", {}};
      if (log_) log_->warn("RADIUS for {}: {}", request.name, detail);
    }
  }
  if (result.code == ResultCode::kSuccess && outcome.connection) {
    if (!co_await AuditAsync(ctx.session, request.name, dn, result, ctx.upstream, mfa)) {
      DisposeLater(pool_, std::shared_ptr<UpstreamConnection>(std::move(outcome.connection)));
      co_return LdapResult{ResultCode::kOther, "", "the audit trail cannot be written", {}};
    }
    auto state = std::make_shared<SessionUpstream>();
    state->connection = std::move(outcome.connection);
    state->dn = dn;
    net::BindState bind;
    bind.dn = dn;
    auto parsed = ldap::Dn::Parse(dn);
    bind.normalized_dn = parsed.ok() ? parsed->Normalized() : ldap::ToLower(dn);
    bind.extra = std::move(state);
    ctx.session->set_bind_state(std::move(bind));
    co_return result;
  }
  co_await AuditAsync(ctx.session, request.name, dn, result, ctx.upstream, mfa);
  co_return result;
}

bool Proxy::Audit(const net::Session& session, const std::string& name, const std::string& dn,
                  const LdapResult& result, const std::string& upstream, bool mfa) {
  if (!audit_) return true;
  kms::AuditEvent event;
  event.event_source = "adconnector";
  event.event_name = "Bind";
  event.user_identity.type = "DirectoryUser";
  event.user_identity.principal_id = dn;
  event.user_identity.user_name = name;
  event.source_ip = session.peer_address();
  event.user_agent = "ldap";
  event.request_parameters = {{"name", name}, {"mfa", mfa}};
  if (!upstream.empty()) event.additional_event_data = {{"upstream", upstream}};
  if (result.code == ResultCode::kSuccess) {
    event.response_elements = {{"dn", dn}};
  } else {
    event.error_code = std::string(ResultCodeName(result.code));
    event.error_message = result.diagnostic;
  }
  auto appended = audit_->Append(event);
  if (!appended.ok()) {
    if (log_) log_->error("audit trail: {}", appended.status().ToString());
    return false;
  }
  return true;
}

asio::awaitable<bool> Proxy::AuditAsync(std::shared_ptr<net::Session> session, std::string name, std::string dn,
                                        LdapResult result, std::string upstream, bool mfa) {
  co_return co_await net::Offload(pool_, [&] { return Audit(*session, name, dn, result, upstream, mfa); });
}

std::vector<ldap::Attribute> Proxy::RootDse(const std::vector<std::string>& requested) const {
  std::vector<std::string> extensions{ldap::oid::kWhoAmI};
  if (options_.tls_available) extensions.push_back(ldap::oid::kStartTls);
  std::vector<ldap::Attribute> all{
      {"objectClass", {"top"}},
      {"namingContexts", {options_.base_dn}},
      {"defaultNamingContext", {options_.base_dn}},
      {"supportedLDAPVersion", {"3"}},
      {"supportedControl", {ldap::oid::kPagedResults}},
      {"supportedExtension", extensions},
      {"vendorName", {kVendorName}},
      {"vendorVersion", {options_.vendor_version}},
  };
  bool everything = requested.empty();
  for (const auto& r : requested) everything = everything || r == "*" || r == "+";
  if (everything) return all;
  std::vector<ldap::Attribute> out;
  for (auto& a : all) {
    for (const auto& r : requested) {
      if (IEquals(a.type, r)) {
        out.push_back(a);
        break;
      }
    }
  }
  return out;
}

asio::awaitable<LdapResult> Proxy::Search(Context& ctx, ldap::SearchRequest request,
                                          std::vector<ldap::Control> controls) {
  ctx.target_dn = request.base;
  int32_t id = ctx.op->message_id;
  if (request.base.empty() && request.scope == ldap::SearchScope::kBase) {
    // The connector's own root DSE, bound or not.
    ctx.session->Send(ldap::EncodeSearchEntry(id, "", RootDse(request.attributes), request.types_only));
    co_return LdapResult{};
  }
  auto upstream = UpstreamOf(*ctx.session);
  if (!upstream) co_return BindFirst();
  ctx.upstream = upstream->connection->url();
  std::string filter = ldap::FilterToString(request.filter);
  auto session = ctx.session;
  auto op = ctx.op;
  auto timeout = upstreams_.options().operation_timeout;
  // Blocking loop on a worker: entries are sent as libldap hands them over.
  co_return co_await net::Offload(pool_, [&]() -> LdapResult {
    UpstreamConnection& conn = *upstream->connection;
    LDAP* ld = conn.ld();
    LdapControlArray server_controls(controls);
    std::vector<char*> attrs;
    for (auto& a : request.attributes) attrs.push_back(a.data());
    attrs.push_back(nullptr);
    timeval limit = Seconds(request.time_limit);
    int msgid = -1;
    int rc = ldap_search_ext(ld, request.base.c_str(), static_cast<int>(request.scope), filter.c_str(),
                             request.attributes.empty() ? nullptr : attrs.data(), request.types_only ? 1 : 0,
                             server_controls.get(), nullptr, request.time_limit > 0 ? &limit : nullptr,
                             request.size_limit, &msgid);
    if (rc != LDAP_SUCCESS) return LocalFailure(upstreams_, conn, rc);
    auto last_progress = std::chrono::steady_clock::now();
    for (;;) {
      timeval poll{0, 200 * 1000};
      LDAPMessage* msg = nullptr;
      int type = ldap_result(ld, msgid, LDAP_MSG_ONE, &poll, &msg);
      auto now = std::chrono::steady_clock::now();
      if (type == 0) {
        if (op->abandoned.load() || session->IsClosed()) {
          ldap_abandon_ext(ld, msgid, nullptr, nullptr);
          return LdapResult{ResultCode::kCancelled, "", "abandoned", {}};
        }
        if (now - last_progress > timeout) {
          ldap_abandon_ext(ld, msgid, nullptr, nullptr);
          return LocalFailure(upstreams_, conn, LDAP_TIMEOUT);
        }
        continue;
      }
      if (type < 0) {
        int err = LDAP_SERVER_DOWN;
        ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &err);
        return LocalFailure(upstreams_, conn, err);
      }
      last_progress = now;
      if (type == LDAP_RES_SEARCH_ENTRY) {
        std::string dn;
        std::vector<ldap::Attribute> attributes;
        ParseEntry(ld, msg, &dn, &attributes);
        ldap_msgfree(msg);
        session->Send(ldap::EncodeSearchEntry(id, dn, attributes, request.types_only));
        if (!session->WaitForRoom(now + std::chrono::seconds(60))) {
          ldap_abandon_ext(ld, msgid, nullptr, nullptr);
          return LdapResult{ResultCode::kCancelled, "", "the client stopped reading", {}};
        }
      } else if (type == LDAP_RES_SEARCH_REFERENCE) {
        char** refs = nullptr;
        ldap_parse_reference(ld, msg, &refs, nullptr, 0);
        std::vector<std::string> uris;
        for (char** r = refs; r && *r; ++r) uris.emplace_back(*r);
        ldap_memvfree(reinterpret_cast<void**>(refs));
        ldap_msgfree(msg);
        session->Send(ldap::EncodeSearchReference(id, uris));
      } else if (type == LDAP_RES_SEARCH_RESULT) {
        int code = LDAP_OTHER;
        char* matched = nullptr;
        char* diag = nullptr;
        char** referrals = nullptr;
        LDAPControl** ctrls = nullptr;
        int prc = ldap_parse_result(ld, msg, &code, &matched, &diag, &referrals, &ctrls, 1);
        if (prc != LDAP_SUCCESS) return LocalFailure(upstreams_, conn, prc);
        LdapResult result{static_cast<ResultCode>(code), matched ? matched : "", diag ? diag : "", {}};
        for (char** r = referrals; r && *r; ++r) result.referrals.emplace_back(*r);
        ctx.response_controls = FromLdapControls(ctrls);
        ldap_memfree(matched);
        ldap_memfree(diag);
        ldap_memvfree(reinterpret_cast<void**>(referrals));
        ldap_controls_free(ctrls);
        upstreams_.RecordSuccess(conn.upstream());
        return result;
      } else {
        ldap_msgfree(msg);  // intermediate responses are not forwarded
      }
    }
  });
}

asio::awaitable<LdapResult> Proxy::Compare(Context& ctx, ldap::CompareRequest request,
                                           std::vector<ldap::Control> controls) {
  ctx.target_dn = request.dn;
  auto upstream = UpstreamOf(*ctx.session);
  if (!upstream) co_return BindFirst();
  ctx.upstream = upstream->connection->url();
  auto timeout = upstreams_.options().operation_timeout;
  co_return co_await net::Offload(pool_, [&]() -> LdapResult {
    UpstreamConnection& conn = *upstream->connection;
    LdapControlArray server_controls(controls);
    berval value{request.value.size(), request.value.data()};
    int msgid = -1;
    int rc = ldap_compare_ext(conn.ld(), request.dn.c_str(), request.attribute.c_str(), &value, server_controls.get(),
                              nullptr, &msgid);
    if (rc != LDAP_SUCCESS) return LocalFailure(upstreams_, conn, rc);
    LdapResult result;
    rc = WaitForResult(conn.ld(), msgid, timeout, &result, &ctx.response_controls);
    if (rc != LDAP_SUCCESS) return LocalFailure(upstreams_, conn, rc);
    return result;
  });
}

asio::awaitable<LdapResult> Proxy::Extended(Context& ctx, ldap::ExtendedRequest request,
                                            std::vector<ldap::Control> controls) {
  ctx.target_dn = request.oid;
  auto upstream = UpstreamOf(*ctx.session);
  if (request.oid == ldap::oid::kWhoAmI && !upstream) {
    ctx.response_value = std::string();  // anonymous (RFC 4532 §2.2: empty authzId)
    co_return LdapResult{};
  }
  if (request.oid == ldap::oid::kPasswordModify && !options_.allow_writes) {
    co_return LdapResult{ResultCode::kUnwillingToPerform, "", "adconnector is read-only (allow-writes = false)", {}};
  }
  if (!upstream) co_return BindFirst();
  ctx.upstream = upstream->connection->url();
  auto timeout = upstreams_.options().operation_timeout;
  co_return co_await net::Offload(pool_, [&]() -> LdapResult {
    UpstreamConnection& conn = *upstream->connection;
    LdapControlArray server_controls(controls);
    berval value{};
    if (request.value) value = berval{request.value->size(), request.value->data()};
    int msgid = -1;
    int rc = ldap_extended_operation(conn.ld(), request.oid.c_str(), request.value ? &value : nullptr,
                                     server_controls.get(), nullptr, &msgid);
    if (rc != LDAP_SUCCESS) return LocalFailure(upstreams_, conn, rc);
    LdapResult result;
    LDAPMessage* msg = nullptr;
    rc = WaitForResult(conn.ld(), msgid, timeout, &result, &ctx.response_controls, &msg);
    if (rc != LDAP_SUCCESS) return LocalFailure(upstreams_, conn, rc);
    char* oid = nullptr;
    berval* data = nullptr;
    if (ldap_parse_extended_result(conn.ld(), msg, &oid, &data, 1) == LDAP_SUCCESS) {
      if (oid) ctx.response_name = std::string(oid);
      if (data) ctx.response_value = std::string(data->bv_val, data->bv_len);
    }
    ldap_memfree(oid);
    if (data) ber_bvfree(data);
    return result;
  });
}

asio::awaitable<LdapResult> Proxy::Write(Context& ctx, ldap::Request request) {
  if (auto* add = std::get_if<ldap::AddRequest>(&request.op)) ctx.target_dn = add->dn;
  if (auto* del = std::get_if<ldap::DeleteRequest>(&request.op)) ctx.target_dn = del->dn;
  if (auto* mod = std::get_if<ldap::ModifyRequest>(&request.op)) ctx.target_dn = mod->dn;
  if (auto* mdn = std::get_if<ldap::ModifyDnRequest>(&request.op)) ctx.target_dn = mdn->dn;
  if (!options_.allow_writes) {
    co_return LdapResult{ResultCode::kUnwillingToPerform, "", "adconnector is read-only (allow-writes = false)", {}};
  }
  auto upstream = UpstreamOf(*ctx.session);
  if (!upstream) co_return BindFirst();
  ctx.upstream = upstream->connection->url();
  auto timeout = upstreams_.options().operation_timeout;
  co_return co_await net::Offload(pool_, [&]() -> LdapResult {
    UpstreamConnection& conn = *upstream->connection;
    LDAP* ld = conn.ld();
    LdapControlArray server_controls(request.controls);
    int msgid = -1;
    int rc = LDAP_OTHER;
    ModsHolder mods;
    if (auto* add = std::get_if<ldap::AddRequest>(&request.op)) {
      for (const auto& a : add->attributes) mods.Add(LDAP_MOD_ADD, a);
      rc = ldap_add_ext(ld, add->dn.c_str(), mods.Finish(), server_controls.get(), nullptr, &msgid);
    } else if (auto* del = std::get_if<ldap::DeleteRequest>(&request.op)) {
      rc = ldap_delete_ext(ld, del->dn.c_str(), server_controls.get(), nullptr, &msgid);
    } else if (auto* mod = std::get_if<ldap::ModifyRequest>(&request.op)) {
      for (const auto& m : mod->changes) {
        int op = m.op == ldap::Modification::Op::kAdd       ? LDAP_MOD_ADD
                 : m.op == ldap::Modification::Op::kDelete  ? LDAP_MOD_DELETE
                 : m.op == ldap::Modification::Op::kReplace ? LDAP_MOD_REPLACE
                                                            : LDAP_MOD_INCREMENT;
        mods.Add(op, m.attribute);
      }
      rc = ldap_modify_ext(ld, mod->dn.c_str(), mods.Finish(), server_controls.get(), nullptr, &msgid);
    } else if (auto* mdn = std::get_if<ldap::ModifyDnRequest>(&request.op)) {
      rc = ldap_rename(ld, mdn->dn.c_str(), mdn->new_rdn.c_str(),
                       mdn->new_superior ? mdn->new_superior->c_str() : nullptr, mdn->delete_old_rdn ? 1 : 0,
                       server_controls.get(), nullptr, &msgid);
    }
    if (rc != LDAP_SUCCESS) return LocalFailure(upstreams_, conn, rc);
    LdapResult result;
    rc = WaitForResult(ld, msgid, timeout, &result, &ctx.response_controls);
    if (rc != LDAP_SUCCESS) return LocalFailure(upstreams_, conn, rc);
    return result;
  });
}

}  // namespace simplead::connector
