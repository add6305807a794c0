// Proxy: adconnector's RequestHandler. Binds are forwarded (names resolved
// through the service account, then a bind as the user on the bind pool,
// the upstream's answer returned verbatim); after a bind, searches,
// compares and WhoAmI go upstream on the session's own connection, bound as
// the user, so the upstream's access rules apply. Nothing about a bind is
// kept beyond that connection: no password, hash or "password was right".
// Writes are refused (53) unless allowed. Anonymous sessions see only the
// connector's own root DSE.
//
// Thread-safety: Handle() runs on a session's strand and offloads every
// libldap call to the worker pool; shared state is the (thread-safe)
// UpstreamPool and the audit trail.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "connector/radius.h"
#include "connector/upstream.h"
#include "lib/kms/audit.h"
#include "lib/net/session.h"

namespace simplead::connector {

struct ProxyOptions {
  std::string domain;   // corp.example.com
  std::string netbios;  // CORP
  std::string base_dn;  // where names are resolved
  std::vector<std::string> upn_attributes;
  std::vector<std::string> name_attributes;
  bool allow_writes = false;
  bool tls_available = false;
  std::string radius_separator;  // empty: no RADIUS step
  std::string vendor_version;
};

// How a bind name is looked up. kDn: pass through; otherwise the filter to
// run through the service account, and the bare account name (for RADIUS).
struct BindName {
  enum class Kind { kDn, kLookup, kForeignDomain };
  Kind kind = Kind::kDn;
  std::string filter;
  std::string account;  // the bare name (alice), or the DN for kDn
};
BindName ClassifyBindName(const std::string& name, const ProxyOptions& options);

// RADIUS: "<password><sep><code>" split at the LAST separator. False when
// the separator is missing or either side is empty.
bool SplitPasswordAndCode(const SecureBytes& combined, const std::string& separator, SecureBytes* password,
                          SecureBytes* code);

class Proxy final : public net::RequestHandler {
 public:
  // radius and audit may be null (no MFA / no audit trail); the rest must
  // outlive the proxy.
  Proxy(UpstreamPool& upstreams, boost::asio::thread_pool& pool, ProxyOptions options,
        const radius::RadiusClient* radius, kms::AuditTrail* audit, std::shared_ptr<spdlog::logger> access_log,
        std::shared_ptr<spdlog::logger> log);

  boost::asio::awaitable<void> Handle(std::shared_ptr<net::Session> session, std::shared_ptr<net::Operation> op,
                                      ldap::Request request) override;
  void OnClose(net::Session& session) override;

 private:
  struct Context;
  boost::asio::awaitable<ldap::LdapResult> Bind(Context& ctx, ldap::BindRequest request);
  boost::asio::awaitable<ldap::LdapResult> Search(Context& ctx, ldap::SearchRequest request,
                                                  std::vector<ldap::Control> controls);
  boost::asio::awaitable<ldap::LdapResult> Compare(Context& ctx, ldap::CompareRequest request,
                                                   std::vector<ldap::Control> controls);
  boost::asio::awaitable<ldap::LdapResult> Extended(Context& ctx, ldap::ExtendedRequest request,
                                                    std::vector<ldap::Control> controls);
  boost::asio::awaitable<ldap::LdapResult> Write(Context& ctx, ldap::Request request);
  // Appends one sign-in event (never a password); false when the trail
  // cannot be written (the bind then fails closed).
  bool Audit(const net::Session& session, const std::string& name, const std::string& dn,
             const ldap::LdapResult& result, const std::string& upstream, bool mfa);
  boost::asio::awaitable<bool> AuditAsync(std::shared_ptr<net::Session> session, std::string name, std::string dn,
                                          ldap::LdapResult result, std::string upstream, bool mfa);
  std::vector<ldap::Attribute> RootDse(const std::vector<std::string>& requested) const;

  UpstreamPool& upstreams_;
  boost::asio::thread_pool& pool_;
  const ProxyOptions options_;
  const radius::RadiusClient* radius_;
  kms::AuditTrail* audit_;
  std::shared_ptr<spdlog::logger> access_log_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace simplead::connector
