// Frontend: the LDAP protocol in front of the Directory. One file per
// operation (bind.cc, search.cc, ...), as slapd's frontend: each decodes
// controls, enforces connection-level policy (TLS for secrets, strong auth),
// offloads the Directory call to the worker pool and sends the response.
// Thread-safety: Handle() runs on a session's strand; shared state is const
// or internally synchronised.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "lib/ldap/controls.h"
#include "lib/net/session.h"
#include "lib/kms/audit.h"
#include "server/backend/directory.h"
#include "server/frontend/bind_throttle.h"

namespace simplead::frontend {

struct FrontendOptions {
  // Refuse simple binds with a password over cleartext from non-loopback
  // peers (strongerAuthRequired), as Samba's "ldap server require strong auth".
  bool require_strong_auth = true;
  // Treat loopback peers as remote for the rule above (tests, paranoid setups).
  bool loopback_is_remote = false;
  bool tls_available = false;
  std::string vendor_version;
  // Successful binds in the audit trail too (failures always are): off by
  // default, a busy directory binds far more often than anything else.
  bool audit_successful_binds = false;
  // Answer a directory event only once its audit line is fsynced (a second
  // fsync per write); by default the line is written before the answer and
  // fsynced in the background within the trail's delay (50 ms).
  bool audit_wait_durable = false;
};

// One place from a library Status to the wire.
ldap::LdapResult ToLdapResult(const Status& status);

class Frontend final : public net::RequestHandler {
 public:
  // `audit` (optional, borrowed) receives the security events: failed binds,
  // password changes and writes, with eventSource "ldap" and never a secret.
  // `bind_throttle` (optional, borrowed) rate-limits failed binds per address.
  // Updates run on `write_pool`, everything else that blocks on `pool`:
  // updates spend most of their time waiting for a shared WAL fsync, and
  // must not starve reads and binds of workers meanwhile.
  Frontend(backend::Directory& directory, boost::asio::thread_pool& pool, boost::asio::thread_pool& write_pool,
           FrontendOptions options,
           std::shared_ptr<spdlog::logger> access_log, kms::AuditTrail* audit = nullptr,
           BindThrottle* bind_throttle = nullptr);

  boost::asio::awaitable<void> Handle(std::shared_ptr<net::Session> session, std::shared_ptr<net::Operation> op,
                                      ldap::Request request) override;

  void set_options(const FrontendOptions& options);

 private:
  using Awaitable = boost::asio::awaitable<ldap::LdapResult>;
  struct Context {
    std::shared_ptr<net::Session> session;
    std::shared_ptr<net::Operation> op;
    std::vector<ldap::Control> response_controls;
    std::string target_dn;   // for the access log
    std::string detail;      // extra log fields
  };

  Awaitable Bind(Context& ctx, ldap::BindRequest request, const std::vector<ldap::Control>& controls);
  Awaitable Search(Context& ctx, ldap::SearchRequest request, const std::vector<ldap::Control>& controls);
  Awaitable Add(Context& ctx, ldap::AddRequest request, const std::vector<ldap::Control>& controls);
  Awaitable Delete(Context& ctx, ldap::DeleteRequest request, const std::vector<ldap::Control>& controls);
  Awaitable Modify(Context& ctx, ldap::ModifyRequest request, const std::vector<ldap::Control>& controls);
  Awaitable ModifyDn(Context& ctx, ldap::ModifyDnRequest request, const std::vector<ldap::Control>& controls);
  Awaitable Compare(Context& ctx, ldap::CompareRequest request, const std::vector<ldap::Control>& controls);
  Awaitable Extended(Context& ctx, ldap::ExtendedRequest request, std::optional<std::string>* response_name,
                     std::optional<std::string>* response_value);

  ldap::Entry RootDse() const;
  ldap::Entry Subschema() const;
  bool ConnectionIsSecure(const net::Session& session) const;
  backend::Principal PrincipalOf(const net::Session& session) const;
  // Write-operation controls shared by add/delete/modify/modDN; sets *error
  // for an unsupported critical control or a malformed value.
  Result<backend::WriteOptions> WriteControls(const std::vector<ldap::Control>& controls, bool allow_pre_read,
                                              bool allow_post_read, bool allow_subtree_delete,
                                              bool allow_permissive) const;
  void AddReadControls(Context& ctx, const backend::WriteOutcome& outcome) const;
  // One directory write (add, delete, modify, modDN): sets
  // options.defer_durability, runs `write` on the write pool and audits it as
  // `event` there, then completes once the write is durable. No thread waits
  // for the WAL sync: the store's syncer resumes this coroutine, so a worker
  // is free for the next write as soon as this one is applied.
  boost::asio::awaitable<Status> RunWrite(Context& ctx, std::string_view event, backend::WriteOptions& options,
                                          const backend::WriteOutcome& outcome, const std::function<Status()>& write);
  // draft-behera: a client that sent the password-policy request control
  // gets the response control naming the policy error of a refused bind or
  // password change (accountLocked, passwordTooShort, passwordInHistory...).
  void AddPasswordPolicyControl(Context& ctx, const ldap::Request& request, const ldap::LdapResult& result) const;
  // Appends one "ldap" event; blocks (fsync), so call it from a worker. A
  // failure to write is logged: the LDAP answer is already decided.
  void Audit(const net::Session& session, std::string_view event, std::string_view target, const Status& status,
             bool read_only = false) const;

  backend::Directory& directory_;
  boost::asio::thread_pool& pool_;
  boost::asio::thread_pool& write_pool_;
  mutable std::mutex options_mu_;
  FrontendOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  kms::AuditTrail* audit_;
  BindThrottle* bind_throttle_;
};

}  // namespace simplead::frontend
