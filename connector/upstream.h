// The upstream side of adconnector: libldap connections to the directory
// servers it fronts, a circuit breaker per upstream, a pool of
// service-account connections (name resolution) kept apart from a pool of
// bind connections (user sign-ins), as OpenLDAP's lloadd keeps them apart.
//
// Every function here that talks to an upstream BLOCKS (libldap): call it
// from a worker pool (net::Offload), never from an I/O thread.
//
// Failover: upstreams are tried in configuration order, skipping those whose
// breaker is open. Only transport failures (server down, timeout, connect
// error) move a request to the next upstream; an operation that got any LDAP
// result keeps it, so a bind that got invalidCredentials is never repeated
// elsewhere (that would double lockout counts). When no upstream answers the
// result is unavailable (52).
//
// Thread-safety: UpstreamPool and CircuitBreaker are safe for concurrent
// use. An UpstreamConnection may be used by several threads at once (libldap
// 2.5 handles are thread-safe), and is closed when its owner drops it.
#pragma once

#include <ldap.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lib/base/secure_bytes.h"
#include "lib/base/status.h"
#include "lib/ldap/message.h"

namespace simplead::connector {

enum class BreakerState { kClosed, kOpen, kHalfOpen };
// "up", "down", "half-open": the words `adconnector status` prints.
const char* BreakerStateName(BreakerState state);

// Closed -> open after `threshold` consecutive failures; open -> half-open
// once `cool_down` has passed (the next Allow()); half-open -> closed on a
// success, back to open on a failure.
class CircuitBreaker {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  CircuitBreaker(int threshold, std::chrono::milliseconds cool_down) : threshold_(threshold), cool_down_(cool_down) {}

  // Whether a request may be sent now.
  bool Allow(TimePoint now);
  void RecordSuccess();
  void RecordFailure(TimePoint now);
  BreakerState state() const;
  int consecutive_failures() const;

 private:
  const int threshold_;
  const std::chrono::milliseconds cool_down_;
  mutable std::mutex mu_;
  BreakerState state_ = BreakerState::kClosed;
  int failures_ = 0;
  TimePoint opened_at_{};
};

// libldap result codes that mean "the upstream did not answer".
bool IsTransportFailure(int ldap_rc);
// An LDAP result for a libldap return code, with the upstream named for
// transport failures (which become unavailable, 52).
ldap::LdapResult TransportResult(int ldap_rc, const std::string& url);

// RFC 4515 escaping of an assertion value: '*', '(', ')', '\\' and NUL (and
// any non-ASCII byte) as \XX.
std::string EscapeFilterValue(std::string_view value);

// Controls between our structs and libldap's arrays.
class LdapControlArray {
 public:
  explicit LdapControlArray(const std::vector<ldap::Control>& controls);
  ~LdapControlArray();
  LdapControlArray(const LdapControlArray&) = delete;
  LdapControlArray& operator=(const LdapControlArray&) = delete;
  LDAPControl** get() { return pointers_.size() > 1 ? pointers_.data() : nullptr; }

 private:
  std::vector<LDAPControl> controls_;
  std::vector<LDAPControl*> pointers_;
};
std::vector<ldap::Control> FromLdapControls(LDAPControl** controls);

struct UpstreamOptions {
  std::vector<std::string> urls;
  std::string ca_file;  // one PEM bundle of the pinned CAs; empty: system default
  bool starttls = true;
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::seconds operation_timeout{30};
  int failure_threshold = 3;
  std::chrono::milliseconds cool_down{5000};
  size_t service_pool_size = 4;
  size_t bind_pool_size = 8;
  std::string service_dn;
};

// One open libldap connection to one upstream; unbinds and closes when
// destroyed.
class UpstreamConnection {
 public:
  UpstreamConnection(LDAP* ld, size_t upstream, std::string url, std::atomic<int>* open_count)
      : ld_(ld), upstream_(upstream), url_(std::move(url)), open_count_(open_count) {}
  ~UpstreamConnection();
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  LDAP* ld() const { return ld_; }
  size_t upstream() const { return upstream_; }
  const std::string& url() const { return url_; }
  // Set once a transport failure was seen: the connection is not reused.
  void MarkBroken() { broken_ = true; }
  bool broken() const { return broken_.load(); }

 private:
  LDAP* ld_;
  size_t upstream_;
  std::string url_;
  std::atomic<int>* open_count_;
  std::atomic<bool> broken_{false};
};

struct UpstreamStatus {
  std::string url;
  BreakerState state = BreakerState::kClosed;
  double rtt_ms = -1;  // of the last health check that answered; -1: none yet
  std::string last_error;
  int open_connections = 0;
  int consecutive_failures = 0;
};

// The outcome of a user bind: the upstream's LDAP result (verbatim), and on
// success the connection, now bound as the user.
struct BindOutcome {
  ldap::LdapResult result;
  std::vector<ldap::Control> controls;
  std::unique_ptr<UpstreamConnection> connection;
  std::string url;  // which upstream answered (empty: none)
};

// A name resolved through the service account.
struct ResolvedName {
  ldap::LdapResult result;  // success, or why not (49 for "no such user", 52 for no upstream)
  std::string dn;
  size_t upstream = 0;
};

class UpstreamPool {
 public:
  explicit UpstreamPool(UpstreamOptions options);
  ~UpstreamPool();

  size_t size() const { return upstreams_.size(); }
  const std::string& url(size_t i) const { return upstreams_[i]->url; }

  // Replaces the service-account password; pooled service connections are
  // dropped so the next use binds with the new one.
  void SetServicePassword(SecureBytes password);

  // A new connection (TCP, TLS or StartTLS done), anonymous. Transport
  // failures come back as the libldap code in *rc.
  std::unique_ptr<UpstreamConnection> Connect(size_t upstream, int* rc, std::string* error);

  // One subtree search through the service account for exactly one entry
  // matching `filter` under `base`, with failover.
  ResolvedName ResolveName(const std::string& base, const std::string& filter);

  // A simple bind as `dn` on the bind pool, `preferred` upstream first.
  BindOutcome BindUser(const std::string& dn, const SecureBytes& password, size_t preferred);

  // Breaker bookkeeping for operations on session connections.
  void RecordTransportFailure(size_t upstream, const std::string& error);
  void RecordSuccess(size_t upstream);

  // Probes every upstream once (connect + rootDSE read), updating breakers,
  // RTT and last error. Blocking; the daemon calls it every interval.
  void HealthCheck();
  std::vector<UpstreamStatus> Status() const;

  const UpstreamOptions& options() const { return options_; }

 private:
  struct Upstream {
    Upstream(std::string u, int threshold, std::chrono::milliseconds cool_down)
        : url(std::move(u)), breaker(threshold, cool_down) {}
    std::string url;
    CircuitBreaker breaker;
    std::atomic<int> open_connections{0};
    mutable std::mutex mu;  // guards the fields below
    std::vector<std::unique_ptr<UpstreamConnection>> idle_service;
    std::vector<std::unique_ptr<UpstreamConnection>> idle_bind;
    double rtt_ms = -1;
    std::string last_error;
  };

  // Upstream indices to try, `preferred` first, skipping open breakers.
  std::vector<size_t> Order(size_t preferred);
  // A pooled (reused = true) or new service connection bound as the service account.
  std::unique_ptr<UpstreamConnection> AcquireService(size_t i, bool allow_reuse, bool* reused, ldap::LdapResult* failure);
  void ReleaseService(std::unique_ptr<UpstreamConnection> conn);
  std::unique_ptr<UpstreamConnection> AcquireBind(size_t i, bool allow_reuse, bool* reused, int* rc, std::string* error);
  void ReleaseBind(std::unique_ptr<UpstreamConnection> conn);
  void NoteError(size_t i, const std::string& error);

  const UpstreamOptions options_;
  std::vector<std::unique_ptr<Upstream>> upstreams_;
  mutable std::mutex service_mu_;
  SecureBytes service_password_;
};

// Simple bind on `ld` and wait for the result (operation timeout). Returns
// the libldap code (negative: transport) and fills *result/*controls.
int SimpleBind(LDAP* ld, const std::string& dn, const SecureBytes& password, std::chrono::seconds timeout,
               ldap::LdapResult* result, std::vector<ldap::Control>* controls);
// Waits for the final result of `msgid`; fills *result and *controls from it.
int WaitForResult(LDAP* ld, int msgid, std::chrono::seconds timeout, ldap::LdapResult* result,
                  std::vector<ldap::Control>* controls, LDAPMessage** keep = nullptr);
// An entry message as a DN and attributes.
void ParseEntry(LDAP* ld, LDAPMessage* entry, std::string* dn, std::vector<ldap::Attribute>* attributes);

}  // namespace simplead::connector
