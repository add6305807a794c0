#include "connector/config.h"

#include <cctype>
#include <fstream>

namespace simplead::connector {

void AddConnectorOptions(CLI::App& app, ConnectorConfig& c) {
  app.set_config("--config", "", "TOML file with any of these options as keys (e.g. upstream = [\"ldaps://dc1:636\"])");
  app.add_option("--data-dir", c.data_dir, "Directory holding the sealed service-account password, its key file, "
                                           "TLS material, the audit trail and the control socket")
      ->capture_default_str();
  app.add_option("--listen", c.listen, "LDAP (with StartTLS) listen address HOST:PORT")->capture_default_str();
  app.add_option("--ldaps-listen", c.ldaps_listen, "LDAPS listen address HOST:PORT; empty disables it")
      ->capture_default_str();
  app.add_option("--tls-cert", c.tls_cert_file, "PEM certificate chain (default: generated under <data-dir>/tls)");
  app.add_option("--tls-key", c.tls_key_file, "PEM private key for --tls-cert");
  app.add_option("--domain", c.domain, "DNS name of the served domain, e.g. corp.example.com");
  app.add_option("--netbios", c.netbios, "NetBIOS name of the domain (default: first label, upper-case)");
  app.add_option("--base-dn", c.base_dn, "Where bind names are looked up (default: DC=... of --domain)");
  app.add_option("--upstream", c.upstreams,
                 "Upstream directory URL, ldap://HOST:PORT or ldaps://HOST:PORT; give 2 to 5, in failover order");
  app.add_option("--upstream-ca", c.upstream_ca, "Pinned CA certificate file (PEM) for the upstreams; repeatable");
  app.add_option("--upstream-starttls", c.upstream_starttls, "Use StartTLS on ldap:// upstreams")
      ->capture_default_str();
  app.add_option("--connect-timeout-ms", c.connect_timeout_ms, "Upstream connect timeout")->capture_default_str();
  app.add_option("--operation-timeout", c.operation_timeout_seconds, "Upstream operation timeout, seconds")
      ->capture_default_str();
  app.add_option("--health-interval-ms", c.health_interval_ms, "Time between upstream health checks")
      ->capture_default_str();
  app.add_option("--failure-threshold", c.failure_threshold,
                 "Consecutive transport failures that take an upstream out")
      ->capture_default_str();
  app.add_option("--cool-down-ms", c.cool_down_ms, "Time an upstream stays out before it is tried again")
      ->capture_default_str();
  app.add_option("--service-pool-size", c.service_pool_size, "Idle service-account connections per upstream")
      ->capture_default_str();
  app.add_option("--bind-pool-size", c.bind_pool_size, "Idle bind connections per upstream")->capture_default_str();
  app.add_option("--service-dn", c.service_dn, "DN of the service account that resolves bind names");
  app.add_option("--service-password-file", c.service_password_file,
                 "File with the service-account password, read at the first start and sealed into the data dir "
                 "(delete it afterwards; rotate with 'adconnector rotate-service-account')");
  app.add_option("--upn-attributes", c.upn_attributes, "Attributes a UPN is matched against whole")
      ->capture_default_str();
  app.add_option("--name-attributes", c.name_attributes, "Attributes a bare account name is matched against")
      ->capture_default_str();
  app.add_option("--allow-writes", c.allow_writes, "Forward add/delete/modify/modDN/password modify upstream")
      ->capture_default_str();
  auto& r = c.radius;
  app.add_option("--radius-server", r.server, "RADIUS server HOST:PORT for multi-factor binds; empty: off");
  app.add_option("--radius-secret-file", r.secret_file, "File with the RADIUS shared secret");
  app.add_option("--radius-timeout", r.timeout_seconds, "RADIUS timeout per attempt, seconds (1-50)")
      ->capture_default_str();
  app.add_option("--radius-retries", r.retries, "RADIUS retries (0-10)")->capture_default_str();
  app.add_option("--radius-separator", r.separator,
                 "Separator between password and one-time code in the bind password")
      ->capture_default_str();
  app.add_option("--radius-nas-identifier", r.nas_identifier, "NAS-Identifier sent to RADIUS")->capture_default_str();
  app.add_option("--threads", c.threads, "I/O threads (0: one per core)")->capture_default_str();
  app.add_option("--workers", c.workers, "Worker threads for upstream calls (0: automatic)")->capture_default_str();
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_option("--access-log", c.access_log, "Per-request log: - for stderr, empty for none, else a file")
      ->capture_default_str();
  app.add_option("--audit-log", c.audit_log, "CloudTrail-shaped audit trail of sign-ins (default <data-dir>/audit.log)");
  auto& s = c.session_limits;
  auto& l = c.listener_limits;
  app.add_option("--max-connections", l.max_connections, "Connections in total")->capture_default_str();
  app.add_option("--max-connections-per-address", l.max_connections_per_address, "Connections per client address")
      ->capture_default_str();
  app.add_option("--max-outstanding", s.max_outstanding_operations, "Outstanding operations per connection")
      ->capture_default_str();
  app.add_option("--idle-timeout", s.idle_timeout, "Seconds an idle connection is kept")->capture_default_str();
}

std::string DomainToSuffix(const std::string& domain) {
  std::string out;
  size_t start = 0;
  while (start <= domain.size()) {
    size_t dot = domain.find('.', start);
    if (dot == std::string::npos) dot = domain.size();
    if (!out.empty()) out += ",";
    out += "DC=" + domain.substr(start, dot - start);
    start = dot + 1;
  }
  return out;
}

Status ValidateUpstreamUrl(const std::string& url) {
  std::string rest;
  if (url.rfind("ldap://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("ldaps://", 0) == 0) {
    rest = url.substr(8);
  } else {
    return Error(ResultCode::kOther, "upstream '" + url + "' must start with ldap:// or ldaps://");
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos || rest.find('?') != std::string::npos) {
    return Error(ResultCode::kOther, "upstream '" + url + "' must be scheme://HOST[:PORT] with nothing after");
  }
  if (rest.find(':') != std::string::npos) SIMPLEAD_RETURN_IF_ERROR(net::ParseHostPort(rest).status());
  return Status::Ok();
}

Status ValidateRadius(const RadiusConfig& r) {
  if (!r.enabled()) return Status::Ok();
  SIMPLEAD_RETURN_IF_ERROR(net::ParseHostPort(r.server).status());
  if (r.secret_file.empty()) return Error(ResultCode::kOther, "--radius-server needs --radius-secret-file");
  if (r.timeout_seconds < 1 || r.timeout_seconds > 50) {
    return Error(ResultCode::kOther, "--radius-timeout must be 1 to 50 seconds");
  }
  if (r.retries < 0 || r.retries > 10) return Error(ResultCode::kOther, "--radius-retries must be 0 to 10");
  if (r.separator.empty()) return Error(ResultCode::kOther, "--radius-separator must not be empty");
  return Status::Ok();
}

Status Finalize(ConnectorConfig& c) {
  if (c.domain.empty()) return Error(ResultCode::kOther, "give --domain, the DNS name of the served domain");
  for (char ch : c.domain) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-')) {
      return Error(ResultCode::kOther, "--domain '" + c.domain + "' is not a DNS name");
    }
  }
  if (c.domain.find('.') == std::string::npos || c.domain.front() == '.' || c.domain.back() == '.') {
    return Error(ResultCode::kOther, "--domain '" + c.domain + "' needs at least two labels");
  }
  if (c.netbios.empty()) {
    c.netbios = c.domain.substr(0, c.domain.find('.'));
    for (char& ch : c.netbios) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  if (c.netbios.size() > 15) return Error(ResultCode::kOther, "--netbios must be at most 15 characters");
  if (c.base_dn.empty()) c.base_dn = DomainToSuffix(c.domain);
  if (c.upstreams.size() < 2 || c.upstreams.size() > 5) {
    return Error(ResultCode::kOther, "give 2 to 5 --upstream URLs (got " + std::to_string(c.upstreams.size()) + ")");
  }
  for (const auto& u : c.upstreams) SIMPLEAD_RETURN_IF_ERROR(ValidateUpstreamUrl(u));
  if (c.service_dn.empty()) return Error(ResultCode::kOther, "give --service-dn");
  if (c.connect_timeout_ms < 100 || c.connect_timeout_ms > 60000) {
    return Error(ResultCode::kOther, "--connect-timeout-ms must be 100 to 60000");
  }
  if (c.operation_timeout_seconds < 1 || c.operation_timeout_seconds > 3600) {
    return Error(ResultCode::kOther, "--operation-timeout must be 1 to 3600 seconds");
  }
  if (c.health_interval_ms < 100) return Error(ResultCode::kOther, "--health-interval-ms must be at least 100");
  if (c.failure_threshold < 1) return Error(ResultCode::kOther, "--failure-threshold must be at least 1");
  if (c.cool_down_ms < 0) return Error(ResultCode::kOther, "--cool-down-ms must not be negative");
  if (c.upn_attributes.empty() && c.name_attributes.empty()) {
    return Error(ResultCode::kOther, "give at least one of --upn-attributes, --name-attributes");
  }
  for (const auto* list : {&c.upn_attributes, &c.name_attributes}) {
    for (const auto& a : *list) {
      if (a.empty()) return Error(ResultCode::kOther, "empty attribute name");
      for (char ch : a) {
        if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' || ch == ';')) {
          return Error(ResultCode::kOther, "'" + a + "' is not an attribute name");
        }
      }
    }
  }
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    return Error(ResultCode::kOther, "--tls-cert and --tls-key go together");
  }
  SIMPLEAD_RETURN_IF_ERROR(net::ParseHostPort(c.listen).status());
  if (!c.ldaps_listen.empty()) SIMPLEAD_RETURN_IF_ERROR(net::ParseHostPort(c.ldaps_listen).status());
  SIMPLEAD_RETURN_IF_ERROR(ValidateRadius(c.radius));
  if (c.audit_log.empty()) c.audit_log = c.data_dir + "/audit.log";
  return Status::Ok();
}

Result<std::string> ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error(ResultCode::kOther, "cannot read " + path);
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return Error(ResultCode::kOther, path + " is empty");
  return line;
}

}  // namespace simplead::connector
