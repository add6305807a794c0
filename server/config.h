// ServerConfig: every setting of simplead, settable by a command-line flag and
// by the same key in the TOML file given with --config (the flag wins).
// AddServerOptions() is the one list of them, so --help, the TOML keys and
// docs/configuration.md cannot drift apart.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "lib/base/status.h"
#include "lib/net/host_port.h"
#include "lib/net/session_limits.h"
#include "server/backend/directory.h"
#include "server/frontend/frontend.h"

namespace simplead::server {

struct ServerConfig {
  std::string data_dir = "var/data";
  std::string listen = "127.0.0.1:3389";
  std::string ldaps_listen = "127.0.0.1:3636";  // empty: no ldaps listener
  std::string domain;                           // AD mode
  std::string netbios;                          // AD mode, default: first label of the domain, upper-case
  std::string suffix;                           // plain LDAP mode
  std::string admin_dn;                         // plain mode admin; default cn=admin,<suffix>
  std::string admin_password_file;              // else SIMPLEAD_ADMIN_PASSWORD, else generated at first start
  std::string schema_dir;                       // default: the schema files shipped with the build
  std::string tls_cert_file;                    // PEM; empty: a self-signed CA and certificate under <data-dir>/tls
  std::string tls_key_file;
  bool require_strong_auth = true;
  bool loopback_is_remote = false;
  int threads = 0;                              // I/O threads; 0: one per core
  int workers = 0;                              // blocking-work pool; 0: 2 per core, at least 4
  int write_workers = 16;                       // updates: they mostly wait for fsyncs, which they share
  size_t size_limit = 1000;
  int time_limit = 120;
  bool sync_writes = true;
  size_t block_cache_mb = 44;                   // memtables (32 MiB) included
  size_t entry_cache = 50000;
  size_t entry_cache_mb = 36;                   // ≈ 3.3 KiB a typical user: a 10,000-user directory fits
  bool entry_cache_set = false;                 // --entry-cache or --entry-cache-mb given: no shift to records
  // The record, DN and index caches: floors sized for 100,000 users that,
  // unless set explicitly, grow with the entries found at start (per entry
  // below) within cache_growth_limit_mb.
  size_t record_cache_mb = 80;                  // ≈ 0.95 KiB a typical user: most of a 100,000-user directory
  size_t dn_cache_mb = 16;
  size_t index_cache_mb = 16;
  bool record_cache_mb_set = false;             // given on the command line or in --config: kept as given
  bool dn_cache_mb_set = false;
  bool index_cache_mb_set = false;
  size_t cache_growth_limit_mb = 0;             // Finalize: a quarter of the memory unless set
  bool cache_growth_limit_mb_set = false;
  std::string password_scheme = "argon2id";     // argon2id | pbkdf2-sha512 | ssha (benchmarks, migrations)
  uint32_t argon2_memory_kib = 19 * 1024;
  uint32_t argon2_iterations = 2;
  std::string log_level = "info";
  std::string access_log = "-";
  bool audit_successful_binds = false;          // failed binds, password changes and writes always are
  bool audit_wait_durable = false;              // directory events: fsync before the answer, not within 50 ms
  // Access control (docs/security.md): extra rules, the built-in ones on or off,
  // and what users may change on their own entry.
  std::vector<std::string> access_rules;
  bool default_access_rules = true;
  std::vector<std::string> self_writable_attributes = backend::DefaultSelfWritableAttributes();
  net::SessionLimits session_limits;
  net::ListenerLimits listener_limits;
  frontend::BindThrottleOptions bind_throttle;  // failed binds per source address
  std::string config_file;
  // KMS (docs/kms.md)
  std::string kms_listen;                      // HTTP JSON API (AWS KMS JSON 1.1), e.g. 127.0.0.1:3390; empty: off
  bool kms_tls = false;                        // serve the KMS API over TLS with the LDAP certificate
  std::string kms_key_store = "file";          // file | passphrase | pkcs11
  std::string kms_passphrase_file;
  std::string kms_pkcs11_module = "/usr/lib/softhsm/libsofthsm2.so";
  std::string kms_pkcs11_token;
  std::string kms_pkcs11_pin_file;
  size_t kms_cache_entries = 100000;
  size_t kms_opened_values = 49152;            // a floor that grows to one per entry, unless set
  bool kms_opened_values_set = false;
};

// Registers every option on `app`, bound to `config`.
void AddServerOptions(CLI::App& app, ServerConfig& config);
// Checks combinations and fills derived defaults (netbios, suffix from domain).
Status Finalize(ServerConfig& config);

backend::DirectoryOptions DirectoryOptionsFrom(const ServerConfig& config);
struct KmsSettings;
KmsSettings KmsSettingsFrom(const ServerConfig& config);
// KMS options, shared by simplead and the offline commands of simplead-admin.
void AddKmsOptions(CLI::App& app, ServerConfig& config);
// "corp.example.com" -> "DC=corp,DC=example,DC=com".
std::string DomainToSuffix(const std::string& domain);
// The administrator password from the file or the environment; empty if neither.
Result<std::string> ReadAdminPassword(const ServerConfig& config);
std::string DefaultSchemaDir();
// Per entry, what the record, DN and index caches grow to when not set explicitly.
inline constexpr size_t kRecordCacheBytesPerEntry = 512;  // about half the records of a typical user
inline constexpr size_t kDnCacheBytesPerEntry = 240;      // every DN: one of 41-56 bytes is charged 200-216,
                                                          // plus room for shards that hash more than their share
inline constexpr size_t kIndexCacheBytesPerEntry = 160;   // about one unique-value key per entry
// Unless either cache is set explicitly, the decoded-entry cache gives the
// record cache what it lacks to hold every record, down to this floor
// (store::ShiftEntryCacheToRecords).
inline constexpr size_t kEntryCacheFloorMiB = 8;
// An opened password verifier's heap (its cache key, plaintext and nodes).
inline constexpr size_t kOpenedValueBytes = 192;
// Unless --kms-opened-values is set (or 0), opened verifiers grow to one per
// entry: a bind whose verifier is not kept pays a key derivation and an
// AES-GCM open. They may take an eighth of --cache-growth-limit-mb, which the
// store's caches then do not use (OpenedValueReserveBytes).
size_t OpenedValueReserveBytes(const ServerConfig& c);
size_t OpenedValuesFor(const ServerConfig& c, uint64_t entries);
// The memory this process may use: physical memory, or its cgroup's
// memory.max if lower; 0 if neither can be read.
size_t UsableMemoryBytes();

}  // namespace simplead::server
