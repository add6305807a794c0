#include "connector/upstream.h"

#include <sys/time.h>

#include <algorithm>

namespace simplead::connector {

namespace {

using Clock = std::chrono::steady_clock;

timeval ToTimeval(std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

std::string Diagnostic(LDAP* ld) {
  char* msg = nullptr;
  std::string out;
  if (ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg) == LDAP_OPT_SUCCESS && msg) {
    out = msg;
    ldap_memfree(msg);
  }
  return out;
}

int SessionError(LDAP* ld) {
  int err = LDAP_OTHER;
  ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &err);
  return err;
}

}  // namespace

const char* BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return "up";
    case BreakerState::kOpen:
      return "down";
    case BreakerState::kHalfOpen:
      return "half-open";
  }
  return "?";
}

bool CircuitBreaker::Allow(TimePoint now) {
  std::lock_guard lock(mu_);
  if (state_ == BreakerState::kOpen && now - opened_at_ >= cool_down_) state_ = BreakerState::kHalfOpen;
  return state_ != BreakerState::kOpen;
}

void CircuitBreaker::RecordSuccess() {
  std::lock_guard lock(mu_);
  state_ = BreakerState::kClosed;
  failures_ = 0;
}

void CircuitBreaker::RecordFailure(TimePoint now) {
  std::lock_guard lock(mu_);
  ++failures_;
  if (state_ == BreakerState::kHalfOpen || (state_ == BreakerState::kClosed && failures_ >= threshold_)) {
    state_ = BreakerState::kOpen;
    opened_at_ = now;
  }
}

BreakerState CircuitBreaker::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

int CircuitBreaker::consecutive_failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

bool IsTransportFailure(int rc) {
  return rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT || rc == LDAP_CONNECT_ERROR;
}

ldap::LdapResult TransportResult(int rc, const std::string& url) {
  return ldap::LdapResult{ResultCode::kUnavailable, "", "upstream " + url + " unavailable: " + ldap_err2string(rc), {}};
}

std::string EscapeFilterValue(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(value.size());
  for (unsigned char ch : value) {
    if (ch == '*' || ch == '(' || ch == ')' || ch == '\\' || ch == 0 || ch >= 0x80) {
      out += '\\';
      out += kHex[ch >> 4];
      out += kHex[ch & 0xf];
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out;
}

LdapControlArray::LdapControlArray(const std::vector<ldap::Control>& controls) {
  controls_.reserve(controls.size());
  for (const auto& c : controls) {
    LDAPControl lc{};
    lc.ldctl_oid = const_cast<char*>(c.oid.c_str());
    if (c.value) {
      lc.ldctl_value.bv_len = c.value->size();
      lc.ldctl_value.bv_val = const_cast<char*>(c.value->data());
    }
    lc.ldctl_iscritical = c.critical ? 1 : 0;
    controls_.push_back(lc);
  }
  for (auto& c : controls_) pointers_.push_back(&c);
  pointers_.push_back(nullptr);
}

LdapControlArray::~LdapControlArray() = default;

std::vector<ldap::Control> FromLdapControls(LDAPControl** controls) {
  std::vector<ldap::Control> out;
  for (LDAPControl** c = controls; c && *c; ++c) {
    ldap::Control control;
    control.oid = (*c)->ldctl_oid ? (*c)->ldctl_oid : "";
    control.critical = (*c)->ldctl_iscritical != 0;
    if ((*c)->ldctl_value.bv_val) control.value = std::string((*c)->ldctl_value.bv_val, (*c)->ldctl_value.bv_len);
    out.push_back(std::move(control));
  }
  return out;
}

UpstreamConnection::~UpstreamConnection() {
  if (ld_) ldap_unbind_ext(ld_, nullptr, nullptr);
  if (open_count_) open_count_->fetch_sub(1);
}

int WaitForResult(LDAP* ld, int msgid, std::chrono::seconds timeout, ldap::LdapResult* result,
                  std::vector<ldap::Control>* controls, LDAPMessage** keep) {
  timeval tv = ToTimeval(timeout);
  LDAPMessage* msg = nullptr;
  int rc = ldap_result(ld, msgid, LDAP_MSG_ALL, &tv, &msg);
  if (rc == 0) {
    ldap_abandon_ext(ld, msgid, nullptr, nullptr);
    return LDAP_TIMEOUT;
  }
  if (rc < 0) return SessionError(ld);
  int code = LDAP_OTHER;
  char* matched = nullptr;
  char* diag = nullptr;
  char** referrals = nullptr;
  LDAPControl** ctrls = nullptr;
  int prc = ldap_parse_result(ld, msg, &code, &matched, &diag, &referrals, &ctrls, 0);
  if (prc != LDAP_SUCCESS) {
    ldap_msgfree(msg);
    return prc;
  }
  result->code = static_cast<ResultCode>(code);
  result->matched_dn = matched ? matched : "";
  result->diagnostic = diag ? diag : "";
  result->referrals.clear();
  for (char** r = referrals; r && *r; ++r) result->referrals.emplace_back(*r);
  if (controls) *controls = FromLdapControls(ctrls);
  ldap_memfree(matched);
  ldap_memfree(diag);
  ldap_memvfree(reinterpret_cast<void**>(referrals));
  ldap_controls_free(ctrls);
  if (keep) {
    *keep = msg;
  } else {
    ldap_msgfree(msg);
  }
  return LDAP_SUCCESS;
}

int SimpleBind(LDAP* ld, const std::string& dn, const SecureBytes& password, std::chrono::seconds timeout,
               ldap::LdapResult* result, std::vector<ldap::Control>* controls) {
  berval cred{};
  cred.bv_len = password.size();
  cred.bv_val = const_cast<char*>(reinterpret_cast<const char*>(password.data()));
  int msgid = -1;
  int rc = ldap_sasl_bind(ld, dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, &msgid);
  if (rc != LDAP_SUCCESS) return rc;
  return WaitForResult(ld, msgid, timeout, result, controls);
}

void ParseEntry(LDAP* ld, LDAPMessage* entry, std::string* dn, std::vector<ldap::Attribute>* attributes) {
  char* raw_dn = ldap_get_dn(ld, entry);
  *dn = raw_dn ? raw_dn : "";
  ldap_memfree(raw_dn);
  attributes->clear();
  BerElement* ber = nullptr;
  for (char* a = ldap_first_attribute(ld, entry, &ber); a; a = ldap_next_attribute(ld, entry, ber)) {
    ldap::Attribute attribute;
    attribute.type = a;
    berval** values = ldap_get_values_len(ld, entry, a);
    for (berval** v = values; v && *v; ++v) attribute.values.emplace_back((*v)->bv_val, (*v)->bv_len);
    ldap_value_free_len(values);
    ldap_memfree(a);
    attributes->push_back(std::move(attribute));
  }
  if (ber) ber_free(ber, 0);
}

UpstreamPool::UpstreamPool(UpstreamOptions options) : options_(std::move(options)) {
  for (const auto& url : options_.urls) {
    upstreams_.push_back(std::make_unique<Upstream>(url, options_.failure_threshold, options_.cool_down));
  }
}

UpstreamPool::~UpstreamPool() = default;

void UpstreamPool::SetServicePassword(SecureBytes password) {
  {
    std::lock_guard lock(service_mu_);
    service_password_ = std::move(password);
  }
  for (auto& u : upstreams_) {
    std::vector<std::unique_ptr<UpstreamConnection>> drop;
    std::lock_guard lock(u->mu);
    drop.swap(u->idle_service);
  }
}

std::unique_ptr<UpstreamConnection> UpstreamPool::Connect(size_t i, int* rc, std::string* error) {
  Upstream& u = *upstreams_[i];
  LDAP* ld = nullptr;
  *rc = ldap_initialize(&ld, u.url.c_str());
  if (*rc != LDAP_SUCCESS) {
    *error = std::string("ldap_initialize: ") + ldap_err2string(*rc);
    return nullptr;
  }
  int version = LDAP_VERSION3;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
  ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  timeval connect = ToTimeval(options_.connect_timeout);
  ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &connect);
  timeval op = ToTimeval(std::chrono::duration_cast<std::chrono::milliseconds>(options_.operation_timeout));
  ldap_set_option(ld, LDAP_OPT_TIMEOUT, &op);
  bool ldaps = u.url.rfind("ldaps://", 0) == 0;
  if (ldaps || options_.starttls) {
    if (!options_.ca_file.empty()) ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, options_.ca_file.c_str());
    int demand = LDAP_OPT_X_TLS_DEMAND;
    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
    int min = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
    ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &min);
    int server = 0;
    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &server);  // a private context with the options above
  }
  *rc = (!ldaps && options_.starttls) ? ldap_start_tls_s(ld, nullptr, nullptr) : ldap_connect(ld);
  if (*rc != LDAP_SUCCESS) {
    std::string diag = Diagnostic(ld);
    *error = std::string(ldap_err2string(*rc)) + (diag.empty() ? "" : " (" + diag + ")");
    if (!IsTransportFailure(*rc)) *rc = LDAP_CONNECT_ERROR;  // e.g. a StartTLS refusal: this upstream is unusable
    ldap_unbind_ext(ld, nullptr, nullptr);
    return nullptr;
  }
  u.open_connections.fetch_add(1);
  return std::make_unique<UpstreamConnection>(ld, i, u.url, &u.open_connections);
}

std::vector<size_t> UpstreamPool::Order(size_t preferred) {
  auto now = Clock::now();
  std::vector<size_t> order;
  if (preferred < upstreams_.size() && upstreams_[preferred]->breaker.Allow(now)) order.push_back(preferred);
  for (size_t i = 0; i < upstreams_.size(); ++i) {
    if (i != preferred && upstreams_[i]->breaker.Allow(now)) order.push_back(i);
  }
  return order;
}

void UpstreamPool::NoteError(size_t i, const std::string& error) {
  std::lock_guard lock(upstreams_[i]->mu);
  upstreams_[i]->last_error = error;
}

void UpstreamPool::RecordTransportFailure(size_t i, const std::string& error) {
  upstreams_[i]->breaker.RecordFailure(Clock::now());
  NoteError(i, error);
  // Pooled connections to a failed upstream are likely dead too.
  std::vector<std::unique_ptr<UpstreamConnection>> drop_service, drop_bind;
  std::lock_guard lock(upstreams_[i]->mu);
  drop_service.swap(upstreams_[i]->idle_service);
  drop_bind.swap(upstreams_[i]->idle_bind);
}

void UpstreamPool::RecordSuccess(size_t i) { upstreams_[i]->breaker.RecordSuccess(); }

std::unique_ptr<UpstreamConnection> UpstreamPool::AcquireService(size_t i, bool allow_reuse, bool* reused,
                                                                 ldap::LdapResult* failure) {
  Upstream& u = *upstreams_[i];
  *reused = false;
  if (allow_reuse) {
    std::lock_guard lock(u.mu);
    if (!u.idle_service.empty()) {
      auto conn = std::move(u.idle_service.back());
      u.idle_service.pop_back();
      *reused = true;
      return conn;
    }
  }
  int rc = 0;
  std::string error;
  auto conn = Connect(i, &rc, &error);
  if (!conn) {
    RecordTransportFailure(i, error);
    *failure = TransportResult(rc, u.url);
    return nullptr;
  }
  SecureBytes password;
  {
    std::lock_guard lock(service_mu_);
    password = service_password_;
  }
  if (password.empty()) {
    *failure = {ResultCode::kUnavailable, "", "the connector has no service-account password", {}};
    return nullptr;
  }
  ldap::LdapResult bind;
  rc = SimpleBind(conn->ld(), options_.service_dn, password, options_.operation_timeout, &bind, nullptr);
  if (rc != LDAP_SUCCESS) {
    RecordTransportFailure(i, std::string("service bind: ") + ldap_err2string(rc));
    *failure = TransportResult(rc, u.url);
    return nullptr;
  }
  if (bind.code != ResultCode::kSuccess) {
    // The upstream answered: no failover (the service account would be
    // locked out everywhere), but the operator must see it.
    NoteError(i, "service account bind: " + std::string(ResultCodeName(bind.code)) + " " + bind.diagnostic);
    *failure = {ResultCode::kUnavailable, "", "the connector's service account cannot sign in upstream", {}};
    return nullptr;
  }
  return conn;
}

void UpstreamPool::ReleaseService(std::unique_ptr<UpstreamConnection> conn) {
  if (!conn || conn->broken()) return;
  Upstream& u = *upstreams_[conn->upstream()];
  std::lock_guard lock(u.mu);
  if (u.idle_service.size() < options_.service_pool_size) u.idle_service.push_back(std::move(conn));
}

std::unique_ptr<UpstreamConnection> UpstreamPool::AcquireBind(size_t i, bool allow_reuse, bool* reused, int* rc,
                                                              std::string* error) {
  Upstream& u = *upstreams_[i];
  *reused = false;
  if (allow_reuse) {
    std::lock_guard lock(u.mu);
    if (!u.idle_bind.empty()) {
      auto conn = std::move(u.idle_bind.back());
      u.idle_bind.pop_back();
      *reused = true;
      return conn;
    }
  }
  return Connect(i, rc, error);
}

void UpstreamPool::ReleaseBind(std::unique_ptr<UpstreamConnection> conn) {
  if (!conn || conn->broken()) return;
  Upstream& u = *upstreams_[conn->upstream()];
  std::lock_guard lock(u.mu);
  if (u.idle_bind.size() < options_.bind_pool_size) u.idle_bind.push_back(std::move(conn));
}

ResolvedName UpstreamPool::ResolveName(const std::string& base, const std::string& filter) {
  ResolvedName out;
  out.result = {ResultCode::kUnavailable, "", "no upstream directory answered", {}};
  for (size_t i : Order(0)) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool reused = false;
      ldap::LdapResult failure;
      auto conn = AcquireService(i, attempt == 0, &reused, &failure);
      if (!conn) {
        out.result = failure;
        if (failure.diagnostic.rfind("upstream ", 0) == 0) break;  // transport: next upstream
        return out;
      }
      char one_one[] = "1.1";
      char* attrs[] = {one_one, nullptr};
      timeval tv = ToTimeval(std::chrono::duration_cast<std::chrono::milliseconds>(options_.operation_timeout));
      LDAPMessage* res = nullptr;
      int rc = ldap_search_ext_s(conn->ld(), base.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(), attrs, 0, nullptr,
                                 nullptr, &tv, 2, &res);
      if (IsTransportFailure(rc)) {
        if (res) ldap_msgfree(res);
        conn->MarkBroken();
        if (reused && attempt == 0) continue;  // a stale pooled connection: try a fresh one
        RecordTransportFailure(i, std::string("search: ") + ldap_err2string(rc));
        out.result = TransportResult(rc, url(i));
        break;
      }
      std::vector<std::string> dns;
      for (LDAPMessage* e = res ? ldap_first_entry(conn->ld(), res) : nullptr; e; e = ldap_next_entry(conn->ld(), e)) {
        char* dn = ldap_get_dn(conn->ld(), e);
        if (dn) dns.emplace_back(dn);
        ldap_memfree(dn);
      }
      if (res) ldap_msgfree(res);
      RecordSuccess(i);
      ReleaseService(std::move(conn));
      out.upstream = i;
      if (dns.size() == 1 && (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED)) {
        out.dn = dns.front();
        out.result = {};
      } else {
        // The same answer for "no such user" and "ambiguous": a bind must
        // not tell which names exist.
        out.result = {ResultCode::kInvalidCredentials, "",
                      dns.empty() ? "no unique account for the name" : "the name matches more than one account", {}};
      }
      return out;
    }
  }
  return out;
}

BindOutcome UpstreamPool::BindUser(const std::string& dn, const SecureBytes& password, size_t preferred) {
  BindOutcome out;
  out.result = {ResultCode::kUnavailable, "", "no upstream directory answered", {}};
  for (size_t i : Order(preferred)) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool reused = false;
      int rc = 0;
      std::string error;
      auto conn = AcquireBind(i, attempt == 0, &reused, &rc, &error);
      if (!conn) {
        RecordTransportFailure(i, error);
        out.result = TransportResult(rc, url(i));
        break;
      }
      out.controls.clear();
      rc = SimpleBind(conn->ld(), dn, password, options_.operation_timeout, &out.result, &out.controls);
      if (rc != LDAP_SUCCESS) {
        conn->MarkBroken();
        conn.reset();
        if (reused && attempt == 0) continue;  // a stale pooled connection: try a fresh one
        RecordTransportFailure(i, std::string("bind: ") + ldap_err2string(rc));
        out.result = TransportResult(rc, url(i));
        break;
      }
      // An LDAP answer, whatever it says, is final: never retried elsewhere.
      RecordSuccess(i);
      out.url = url(i);
      if (out.result.code == ResultCode::kSuccess) {
        out.connection = std::move(conn);
      } else {
        ReleaseBind(std::move(conn));
      }
      return out;
    }
  }
  return out;
}

void UpstreamPool::HealthCheck() {
  for (size_t i = 0; i < upstreams_.size(); ++i) {
    auto start = Clock::now();
    int rc = 0;
    std::string error;
    auto conn = Connect(i, &rc, &error);
    if (conn) {
      char nc[] = "namingContexts";
      char* attrs[] = {nc, nullptr};
      timeval tv = ToTimeval(std::chrono::duration_cast<std::chrono::milliseconds>(options_.operation_timeout));
      LDAPMessage* res = nullptr;
      rc = ldap_search_ext_s(conn->ld(), "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, nullptr, nullptr, &tv, 1,
                             &res);
      if (res) ldap_msgfree(res);
      if (IsTransportFailure(rc)) error = std::string("health check: ") + ldap_err2string(rc);
    }
    if (!conn || IsTransportFailure(rc)) {
      if (conn) conn->MarkBroken();
      RecordTransportFailure(i, error);
      continue;
    }
    double rtt = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    RecordSuccess(i);
    std::lock_guard lock(upstreams_[i]->mu);
    upstreams_[i]->rtt_ms = rtt;
  }
}

std::vector<UpstreamStatus> UpstreamPool::Status() const {
  std::vector<UpstreamStatus> out;
  for (const auto& u : upstreams_) {
    UpstreamStatus s;
    s.url = u->url;
    s.state = u->breaker.state();
    s.open_connections = u->open_connections.load();
    s.consecutive_failures = u->breaker.consecutive_failures();
    std::lock_guard lock(u->mu);
    s.rtt_ms = u->rtt_ms;
    s.last_error = u->last_error;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace simplead::connector
