// ConnectorConfig: every setting of adconnector, settable by a command-line
// flag and by the same key in the TOML file given with --config (the flag
// wins). AddConnectorOptions() is the one list of them, so --help, the TOML
// keys and docs/connector.md cannot drift apart. Plain value types.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <utility>
#include <vector>

#include "lib/base/status.h"
#include "lib/net/host_port.h"
#include "lib/net/session_limits.h"

namespace simplead::connector {

struct RadiusConfig {
  std::string server;         // HOST:PORT; empty: no RADIUS step
  std::string secret_file;    // shared secret, first line
  int timeout_seconds = 5;    // per attempt, 1..50
  int retries = 2;            // extra attempts, 0..10
  std::string separator = ",";  // password = <password><separator><code>, split at the last one
  std::string nas_identifier = "adconnector";
  bool enabled() const { return !server.empty(); }
};

struct ConnectorConfig {
  std::string config_file;
  std::string data_dir = "var/connector";
  std::string listen = "127.0.0.1:3389";
  std::string ldaps_listen;  // empty: no ldaps listener
  std::string tls_cert_file;  // PEM; empty: self-signed under <data-dir>/tls
  std::string tls_key_file;
  std::string domain;   // DNS name the connector serves, e.g. corp.example.com
  std::string netbios;  // default: first label of the domain, upper-case
  std::string base_dn;  // where users are looked up; default: DC=... of the domain

  std::vector<std::string> upstreams;    // ldap:// or ldaps:// URLs, 2..5, in failover order
  std::vector<std::string> upstream_ca;  // pinned CA certificate files (PEM) for the upstreams
  bool upstream_starttls = true;         // StartTLS on ldap:// upstreams
  int connect_timeout_ms = 3000;
  int operation_timeout_seconds = 30;
  int health_interval_ms = 2000;
  int failure_threshold = 3;  // consecutive transport failures that open a breaker
  int cool_down_ms = 5000;    // open -> half-open
  size_t service_pool_size = 4;  // idle service-account connections kept per upstream
  size_t bind_pool_size = 8;     // idle bind connections kept per upstream

  std::string service_dn;
  std::string service_password_file;  // read at the first start (or init), then sealed in data-dir

  // Attributes a UPN (alice@corp.example.com) is matched against as a whole,
  // and attributes the bare account name (alice, from CORP\alice, from a UPN
  // of the served domain, or given alone) is matched against.
  std::vector<std::string> upn_attributes{"userPrincipalName"};
  std::vector<std::string> name_attributes{"sAMAccountName", "uid"};

  bool allow_writes = false;
  RadiusConfig radius;

  int threads = 0;  // I/O threads; 0: one per core
  int workers = 0;  // libldap worker pool; 0: 4 per core, at least 8
  std::string log_level = "info";
  std::string access_log = "-";  // "-": stderr; "": off; else a file
  std::string audit_log;         // default <data-dir>/audit.log
  net::SessionLimits session_limits;
  net::ListenerLimits listener_limits;
};

// Registers every daemon option on `app`, bound to `config`.
void AddConnectorOptions(CLI::App& app, ConnectorConfig& config);
// Checks values and combinations, fills derived defaults.
Status Finalize(ConnectorConfig& config);
// Same checks, for commands that only need the data dir (status, rotate).
Status ValidateRadius(const RadiusConfig& radius);
Status ValidateUpstreamUrl(const std::string& url);

// "corp.example.com" -> "DC=corp,DC=example,DC=com".
std::string DomainToSuffix(const std::string& domain);
// First line of a file (a password or a shared secret), without the newline.
Result<std::string> ReadFirstLine(const std::string& path);

}  // namespace simplead::connector
