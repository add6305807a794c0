#include "server/config.h"

#include "server/kms_setup.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

namespace simplead::server {

namespace {

// CLI11 converts "-5" into an unsigned option by wrapping it to a huge
// value: counts, sizes and durations refuse a minus sign first.
CLI::Validator NotNegative() {
  return CLI::Validator(
      [](std::string& value) { return value.starts_with('-') ? std::string("must not be negative") : std::string(); },
      "", "not negative");
}

// An option's callback that records it was given (on the command line or in
// --config), so that a size which otherwise grows is kept as given.
std::function<void(const std::string&)> MarkSet(bool& set) {
  return [&set](const std::string&) { set = true; };
}

}  // namespace

void AddServerOptions(CLI::App& app, ServerConfig& c) {
  app.set_config("--config", "", "TOML file with any of these options as keys (e.g. data-dir = \"/var/lib/simplead\")");
  app.add_option("--data-dir", c.data_dir, "Directory holding the database, TLS material and the control socket")
      ->capture_default_str();
  app.add_option("--listen", c.listen, "LDAP (with StartTLS) listen address HOST:PORT")->capture_default_str();
  app.add_option("--ldaps-listen", c.ldaps_listen, "LDAPS listen address HOST:PORT; empty disables it")
      ->capture_default_str();
  app.add_option("--domain", c.domain, "AD mode: the DNS domain name, e.g. corp.example.com");
  app.add_option("--netbios", c.netbios, "AD mode: the NetBIOS domain name (default: first label, upper-case)");
  app.add_option("--suffix", c.suffix, "Plain LDAP mode: the naming context, e.g. dc=example,dc=com");
  app.add_option("--admin-dn", c.admin_dn, "Plain LDAP mode: the administrator DN (default cn=admin,<suffix>)");
  app.add_option("--admin-password-file", c.admin_password_file,
                 "File holding the administrator password used at first start (else $SIMPLEAD_ADMIN_PASSWORD, else "
                 "one is generated and printed once)");
  app.add_option("--schema-dir", c.schema_dir, "Directory of *.schema files")->default_str(DefaultSchemaDir());
  app.add_option("--tls-cert", c.tls_cert_file, "PEM certificate chain (default: generated under <data-dir>/tls)");
  app.add_option("--tls-key", c.tls_key_file, "PEM private key for --tls-cert");
  app.add_option("--require-strong-auth", c.require_strong_auth,
                 "Refuse password binds over cleartext from non-loopback clients (strongerAuthRequired)")
      ->capture_default_str();
  app.add_option("--loopback-is-remote", c.loopback_is_remote,
                 "Apply the cleartext rules to loopback clients too")
      ->capture_default_str();
  app.add_option("--threads", c.threads, "I/O threads (0: one per core)")->capture_default_str();
  app.add_option("--workers", c.workers, "Worker threads for storage and password hashing (0: automatic)")
      ->capture_default_str();
  app.add_option("--write-workers", c.write_workers,
                 "Worker threads that apply updates; updates in flight share one WAL fsync (group commit)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--size-limit", c.size_limit, "Server size limit on unpaged searches and page size (as AD's MaxPageSize)")
      ->capture_default_str();
  app.add_option("--time-limit", c.time_limit, "Server time limit on searches, seconds")->capture_default_str();
  app.add_option("--sync-writes", c.sync_writes, "Sync the write-ahead log on every commit")->capture_default_str();
  app.add_option("--block-cache-mb", c.block_cache_mb,
                 "RocksDB block cache size, MiB (the memtables, 32 MiB, are charged to it)")
      ->capture_default_str();
  app.add_option("--entry-cache", c.entry_cache,
                 "Decoded entries kept in memory (with --entry-cache-mb, whichever bound is reached first; 0 "
                 "disables the cache)")
      ->capture_default_str()
      ->each(MarkSet(c.entry_cache_set));
  app.add_option("--entry-cache-mb", c.entry_cache_mb,
                 "Estimated heap size of the decoded entries kept in memory, MiB (with --entry-cache, whichever "
                 "bound is reached first; 0 disables the cache). Unless this, --entry-cache or --record-cache-mb "
                 "is set, gives the record cache what it lacks to hold every entry, down to " +
                     std::to_string(kEntryCacheFloorMiB) + " MiB")
      ->capture_default_str()
      ->each(MarkSet(c.entry_cache_set));
  // Each marks itself as set, so that the value given is kept, not grown.
  app.add_option("--record-cache-mb", c.record_cache_mb,
                 "Estimated heap size of the entries kept in memory as stored, behind the decoded ones, MiB (about "
                 "a third of their decoded size; a hit costs a decode instead of a RocksDB read; 0 disables it). "
                 "Unless set, grows to " + std::to_string(kRecordCacheBytesPerEntry) +
                     " bytes per entry in larger directories (--cache-growth-limit-mb)")
      ->capture_default_str()
      ->each(MarkSet(c.record_cache_mb_set));
  app.add_option("--dn-cache-mb", c.dn_cache_mb,
                 "Estimated heap size of the DN-to-entry lookups kept in memory, MiB (about 200 bytes a DN; 0 "
                 "disables the cache). Unless set, grows to " +
                     std::to_string(kDnCacheBytesPerEntry) + " bytes per entry in larger directories")
      ->capture_default_str()
      ->each(MarkSet(c.dn_cache_mb_set));
  app.add_option("--index-cache-mb", c.index_cache_mb,
                 "Estimated heap size of the small index look-ups (equality keys of unique values) kept in memory, "
                 "MiB (0 disables the cache). Unless set, grows to 160 bytes per entry in larger directories")
      ->capture_default_str()
      ->each(MarkSet(c.index_cache_mb_set));
  app.add_option("--cache-growth-limit-mb", c.cache_growth_limit_mb,
                 "The record, DN and index caches not set explicitly are sized at start for the entries then "
                 "stored (above: floors for about 100,000 users, more per entry beyond); together with the opened "
                 "verifiers (--kms-opened-values, an eighth of it) they stay within this many MiB. Default: a "
                 "quarter of the machine's memory, or of its cgroup's limit; 0: no growth")
      ->default_str("a quarter of memory")
      ->each(MarkSet(c.cache_growth_limit_mb_set));
  app.add_option("--password-scheme", c.password_scheme,
                 "Hash for new passwords: argon2id or pbkdf2-sha512 (ssha: salted SHA-1, for benchmarks against "
                 "{SSHA} directories and migrations only; never for production)")
      ->check(CLI::IsMember({"argon2id", "pbkdf2-sha512", "ssha"}))
      ->capture_default_str();
  app.add_option("--argon2-memory-kib", c.argon2_memory_kib, "Argon2id memory cost, KiB")->capture_default_str();
  app.add_option("--argon2-iterations", c.argon2_iterations, "Argon2id time cost")->capture_default_str();
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_option("--access-log", c.access_log, "Per-operation log: - for stderr, empty for none, else a file")
      ->capture_default_str();
  app.add_option("--kms-listen", c.kms_listen, "KMS HTTP API (AWS KMS JSON 1.1) on HOST:PORT; empty disables it")
      ->capture_default_str();
  app.add_option("--kms-tls", c.kms_tls, "Serve the KMS API over TLS with the LDAP certificate")->capture_default_str();
  AddKmsOptions(app, c);
  app.add_option("--audit-successful-binds", c.audit_successful_binds,
                 "Record successful binds in the audit trail (failures, password changes and writes always are)")
      ->capture_default_str();
  app.add_option("--audit-wait-durable", c.audit_wait_durable,
                 "Answer a write, failed bind or password change only once its audit line is fsynced (a second "
                 "fsync per write); by default the line is written before the answer and fsynced within 50 ms. "
                 "KMS calls always wait")
      ->capture_default_str();
  app.add_option("--access-rule", c.access_rules,
                 "Access rule added to the built-in ones (repeatable; syntax in docs/security.md), e.g. "
                 "'allow all on \"OU=Sales,DC=corp,DC=example,DC=com\" by group=\"CN=Sales Admins,...\"'");
  app.add_option("--default-access-rules", c.default_access_rules,
                 "Keep the built-in rules (authenticated users read all but confidential attributes, "
                 "self-service, read-only Service Accounts); false leaves only configured and stored rules")
      ->capture_default_str();
  app.add_option("--self-writable-attributes", c.self_writable_attributes,
                 "Attributes users may change on their own entry (passwords always)")
      ->delimiter(',')
      ->capture_default_str();
  auto& s = c.session_limits;
  auto& l = c.listener_limits;
  app.add_option("--max-connections", l.max_connections, "Connections in total")->capture_default_str();
  app.add_option("--max-connections-per-address", l.max_connections_per_address, "Connections per client address")
      ->capture_default_str();
  app.add_option("--max-pdu-anonymous", s.max_pdu_bytes_anonymous, "Largest request before a successful bind, bytes")
      ->capture_default_str();
  app.add_option("--max-pdu", s.max_pdu_bytes_bound, "Largest request after bind, bytes")->capture_default_str();
  app.add_option("--max-outstanding", s.max_outstanding_operations, "Outstanding operations per connection")
      ->capture_default_str();
  app.add_option("--max-filter-depth", s.max_filter_depth, "Deepest filter nesting accepted")->capture_default_str();
  app.add_option("--idle-timeout", s.idle_timeout, "Seconds an idle connection is kept")->capture_default_str();
  app.add_option("--pdu-timeout", s.pdu_timeout, "Seconds a started request may take to arrive")
      ->capture_default_str();
  app.add_option("--write-timeout", s.write_timeout, "Seconds a client may stop reading responses")
      ->capture_default_str();
  auto& t = c.bind_throttle;
  app.add_option("--failed-bind-limit", t.limit,
                 "Failed binds from one client address within --failed-bind-window before that address is refused "
                 "(busy) for a whole window; 0 disables")
      ->capture_default_str();
  app.add_option("--failed-bind-window", t.window, "Seconds of the failed-bind rate limit window and block")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  // Counts, sizes and durations.
  for (const char* name :
       {"--threads", "--workers", "--size-limit", "--time-limit", "--block-cache-mb", "--entry-cache",
        "--entry-cache-mb", "--record-cache-mb", "--dn-cache-mb", "--index-cache-mb", "--cache-growth-limit-mb",
        "--argon2-memory-kib", "--argon2-iterations", "--max-connections", "--max-connections-per-address",
        "--max-pdu-anonymous", "--max-pdu", "--max-outstanding", "--max-filter-depth", "--idle-timeout",
        "--pdu-timeout", "--write-timeout", "--failed-bind-limit"}) {
    app.get_option(name)->check(NotNegative());
  }
}

void AddKmsOptions(CLI::App& app, ServerConfig& c) {
  app.add_option("--kms-key-store", c.kms_key_store,
                 "Root of the KMS: file (sealed key file), passphrase (Argon2id) or pkcs11 (HSM token)")
      ->check(CLI::IsMember({"file", "passphrase", "pkcs11"}))
      ->capture_default_str();
  app.add_option("--kms-passphrase-file", c.kms_passphrase_file, "File with the KMS passphrase (passphrase store)");
  app.add_option("--kms-pkcs11-module", c.kms_pkcs11_module, "PKCS#11 module (pkcs11 store)")->capture_default_str();
  app.add_option("--kms-pkcs11-token", c.kms_pkcs11_token, "PKCS#11 token label (pkcs11 store)");
  app.add_option("--kms-pkcs11-pin-file", c.kms_pkcs11_pin_file, "File with the token's user PIN (pkcs11 store)");
  app.add_option("--kms-cache-entries", c.kms_cache_entries, "Data keys cached for secret attributes")
      ->check(NotNegative())
      ->capture_default_str();
  app.add_option("--kms-opened-values", c.kms_opened_values,
                 "Opened password verifiers kept in memory (about 190 bytes each) so that a repeated bind skips "
                 "the per-value key derivation and decryption; 0 disables. Unless set, grows to one per entry in "
                 "larger directories, within an eighth of --cache-growth-limit-mb")
      ->check(NotNegative())
      ->capture_default_str()
      ->each(MarkSet(c.kms_opened_values_set));
}

KmsSettings KmsSettingsFrom(const ServerConfig& c) {
  KmsSettings k;
  k.data_dir = c.data_dir;
  k.domain = c.domain.empty() ? c.suffix : c.domain;
  k.key_store = c.kms_key_store;
  k.passphrase_file = c.kms_passphrase_file;
  k.pkcs11_module = c.kms_pkcs11_module;
  k.pkcs11_token = c.kms_pkcs11_token;
  k.pkcs11_pin_file = c.kms_pkcs11_pin_file;
  k.data_key_cache_entries = c.kms_cache_entries;
  k.opened_values = c.kms_opened_values;
  return k;
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

Status Finalize(ServerConfig& c) {
  if (!c.domain.empty() && !c.suffix.empty()) {
    return Error(ResultCode::kOther, "give either --domain (AD mode) or --suffix (plain LDAP mode), not both");
  }
  if (c.domain.empty() && c.suffix.empty()) {
    return Error(ResultCode::kOther, "give --domain FQDN (AD mode) or --suffix DN (plain LDAP mode)");
  }
  if (!c.domain.empty()) {
    for (char ch : c.domain) {
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-')) {
        return Error(ResultCode::kOther, "--domain '" + c.domain + "' is not a DNS name");
      }
    }
    if (c.domain.find('.') == std::string::npos || c.domain.front() == '.' || c.domain.back() == '.') {
      return Error(ResultCode::kOther, "--domain '" + c.domain + "' needs at least two labels, e.g. corp.example.com");
    }
    if (c.netbios.empty()) {
      c.netbios = c.domain.substr(0, c.domain.find('.'));
      for (char& ch : c.netbios) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
    if (c.netbios.size() > 15) return Error(ResultCode::kOther, "--netbios must be at most 15 characters");
  }
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    return Error(ResultCode::kOther, "--tls-cert and --tls-key go together");
  }
  SIMPLEAD_RETURN_IF_ERROR(net::ParseHostPort(c.listen).status());
  if (!c.ldaps_listen.empty()) SIMPLEAD_RETURN_IF_ERROR(net::ParseHostPort(c.ldaps_listen).status());
  if (!c.kms_listen.empty()) SIMPLEAD_RETURN_IF_ERROR(net::ParseHostPort(c.kms_listen).status());
  if (c.schema_dir.empty()) c.schema_dir = DefaultSchemaDir();
  if (!c.cache_growth_limit_mb_set) c.cache_growth_limit_mb = UsableMemoryBytes() / 4 / (1024 * 1024);
  return Status::Ok();
}

size_t OpenedValueReserveBytes(const ServerConfig& c) {
  if (c.kms_opened_values_set || c.kms_opened_values == 0) return 0;
  return c.cache_growth_limit_mb * 1024 * 1024 / 8;
}

size_t OpenedValuesFor(const ServerConfig& c, uint64_t entries) {
  const size_t most = OpenedValueReserveBytes(c) / kOpenedValueBytes;
  const size_t grown = static_cast<size_t>(std::min<uint64_t>(entries, most));
  return std::max(c.kms_opened_values, grown);
}

backend::DirectoryOptions DirectoryOptionsFrom(const ServerConfig& c) {
  backend::DirectoryOptions o;
  o.store.path = c.data_dir + "/db";
  o.store.sync_writes = c.sync_writes;
  o.store.block_cache_bytes = c.block_cache_mb * 1024 * 1024;
  o.store.entry_cache_entries = c.entry_cache;
  o.store.entry_cache_bytes = c.entry_cache_mb * 1024 * 1024;
  o.store.record_cache_bytes = c.record_cache_mb * 1024 * 1024;
  o.store.dn_cache_bytes = c.dn_cache_mb * 1024 * 1024;
  o.store.posting_cache_bytes = c.index_cache_mb * 1024 * 1024;
  o.store.cache_growth.record_bytes_per_entry = c.record_cache_mb_set ? 0 : kRecordCacheBytesPerEntry;
  o.store.cache_growth.dn_bytes_per_entry = c.dn_cache_mb_set ? 0 : kDnCacheBytesPerEntry;
  o.store.cache_growth.posting_bytes_per_entry = c.index_cache_mb_set ? 0 : kIndexCacheBytesPerEntry;
  o.store.cache_growth.limit_bytes = c.cache_growth_limit_mb * 1024 * 1024 - OpenedValueReserveBytes(c);
  o.store.entry_cache_floor_bytes =
      c.entry_cache_set || c.record_cache_mb_set ? 0 : kEntryCacheFloorMiB * 1024 * 1024;
  o.ad_mode = !c.domain.empty();
  o.suffix = o.ad_mode ? DomainToSuffix(c.domain) : c.suffix;
  o.domain_fqdn = c.domain;
  o.netbios = c.netbios;
  o.server_size_limit = c.size_limit;
  o.server_time_limit = std::chrono::seconds(c.time_limit);
  o.hash_params.scheme =
      c.password_scheme == "pbkdf2-sha512" ? auth::HashScheme::kPbkdf2Sha512
      : c.password_scheme == "ssha"        ? auth::HashScheme::kSsha
                                           : auth::HashScheme::kArgon2id;
  o.hash_params.argon2_memory_kib = c.argon2_memory_kib;
  o.hash_params.argon2_iterations = c.argon2_iterations;
  o.access_rules = c.access_rules;
  o.default_access_rules = c.default_access_rules;
  o.self_writable_attributes = c.self_writable_attributes;
  return o;
}

Result<std::string> ReadAdminPassword(const ServerConfig& c) {
  if (!c.admin_password_file.empty()) {
    std::ifstream in(c.admin_password_file);
    if (!in) return Error(ResultCode::kOther, "cannot read --admin-password-file " + c.admin_password_file);
    std::string password;
    std::getline(in, password);
    if (password.empty()) return Error(ResultCode::kOther, c.admin_password_file + " is empty");
    return password;
  }
  if (const char* env = std::getenv("SIMPLEAD_ADMIN_PASSWORD"); env && *env) return std::string(env);
  return std::string();
}

namespace {

// The first line of a file, or empty.
std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (in) std::getline(in, line);
  return line;
}

// cgroup v2: the limit of the group this process runs in ("max": none).
size_t CgroupMemoryMax() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) != 0) continue;
    std::string limit = FirstLine("/sys/fs/cgroup" + line.substr(3) + "/memory.max");
    if (limit.empty() || limit == "max") return 0;
    try {
      return static_cast<size_t>(std::stoull(limit));
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

}  // namespace

size_t UsableMemoryBytes() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page_size = sysconf(_SC_PAGESIZE);
  size_t physical = pages > 0 && page_size > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page_size) : 0;
  size_t cgroup = CgroupMemoryMax();
  if (physical == 0) return cgroup;
  return cgroup == 0 ? physical : std::min(physical, cgroup);
}

std::string DefaultSchemaDir() {
  // The build records where the shipped schema files are.
#ifdef SIMPLEAD_SCHEMA_DIR
  return SIMPLEAD_SCHEMA_DIR;
#else
  return "/usr/share/simplead/schema";
#endif
}

}  // namespace simplead::server
