// simplead-admin: the administration CLI (init, import, export, backup,
// restore, verify). Offline commands open the data dir themselves; backup of
// a running server goes through its control socket.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "lib/auth/password_hash.h"
#include "lib/ldap/ldif.h"
#include "server/backend/directory.h"
#include "server/config.h"
#include "server/backup.h"
#include "server/kms_setup.h"
#include "server/version.h"
#include "lib/kms/kms_cli.h"
#include "lib/kms/metadata_store.h"
#include "lib/kms/secret_sealer.h"

namespace {

using namespace simplead;

int Fail(const std::string& what) {
  std::cerr << "simplead-admin: " << what << "\n";
  return 1;
}

struct Common {
  server::ServerConfig config;
};

void AddCommon(CLI::App* cmd, server::ServerConfig& c) {
  cmd->add_option("--data-dir", c.data_dir, "Data directory")->capture_default_str();
  cmd->add_option("--domain", c.domain, "AD mode domain (default: as recorded in the data dir)");
  cmd->add_option("--netbios", c.netbios, "AD mode NetBIOS name");
  cmd->add_option("--suffix", c.suffix, "Plain LDAP mode suffix (default: as recorded in the data dir)");
  cmd->add_option("--schema-dir", c.schema_dir, "Directory of *.schema files")->default_str(server::DefaultSchemaDir());
}

// Fills domain/suffix from the data dir when not given, so offline commands
// need only --data-dir.
Status FillIdentity(server::ServerConfig& c) {
  if (c.domain.empty() && c.suffix.empty()) {
    store::StoreOptions so;
    so.path = c.data_dir + "/db";
    so.read_only = true;
    so.create_if_missing = false;
    auto store = store::Store::Open(so);
    if (!store.ok()) {
      return Error(ResultCode::kOther, "no directory in " + c.data_dir + " (" + store.status().message() +
                                           "); give --domain or --suffix");
    }
    auto mode = (*store)->GetMeta("mode");
    auto suffix = (*store)->GetMeta("suffix");
    auto domain = (*store)->GetMeta("domain");
    auto netbios = (*store)->GetMeta("netbios");
    if (!mode.ok() || !mode->has_value() || !suffix.ok() || !suffix->has_value()) {
      return Error(ResultCode::kOther, c.data_dir + " holds no directory yet; give --domain or --suffix");
    }
    if (**mode == "ad") {
      c.domain = domain.ok() && domain->has_value() ? **domain : "";
      if (netbios.ok() && netbios->has_value()) c.netbios = **netbios;
      if (c.domain.empty()) return Error(ResultCode::kOther, "the data dir does not record its domain; give --domain");
    } else {
      c.suffix = **suffix;
    }
  }
  return server::Finalize(c);
}

// Asks a running server over its control socket; nullopt when none answers.
std::optional<std::string> AskServer(const std::string& data_dir, const std::string& command) {
  std::string socket_path = data_dir + "/control.sock";
  if (!std::filesystem::exists(socket_path)) return std::nullopt;
  boost::asio::io_context io;
  boost::asio::local::stream_protocol::socket socket(io);
  boost::system::error_code ec;
  socket.connect(boost::asio::local::stream_protocol::endpoint(socket_path), ec);
  if (ec) return std::nullopt;
  std::string request = command + "\n";
  boost::asio::write(socket, boost::asio::buffer(request), ec);
  boost::asio::streambuf buf;
  boost::asio::read_until(socket, buf, '\n', ec);
  if (ec) return std::nullopt;
  std::string reply(boost::asio::buffers_begin(buf.data()), boost::asio::buffers_end(buf.data()));
  while (!reply.empty() && reply.back() == '\n') reply.pop_back();
  return reply;
}

// The directory with its KMS (the KMS first: the directory's sealer borrows it).
struct OpenedDirectory {
  std::unique_ptr<server::DirectoryKms> kms;
  std::unique_ptr<backend::Directory> directory;
  backend::Directory* operator->() { return directory.get(); }
};

// `with_kms` false: secrets are never opened (verify), so no KMS is needed
// and the command may run beside a live server on a read-only store.
// `bulk_load`: the store's offline bulk-load mode (import only; durable only
// once Import's final Flush has returned).
Result<OpenedDirectory> OpenDirectory(server::ServerConfig& c, const Clock& clock, bool read_only, bool sync,
                                      bool with_kms = true, bool bulk_load = false) {
  SIMPLEAD_RETURN_IF_ERROR(FillIdentity(c));
  if (with_kms && AskServer(c.data_dir, "status")) {
    // Two writers of one hash-chained audit trail would break the chain.
    return Error(ResultCode::kBusy, "a simplead is running on " + c.data_dir +
                                        "; stop it first (backup and 'kms rewrap' work while it runs)");
  }
  SIMPLEAD_ASSIGN_OR_RETURN(auto schema, schema::Schema::LoadDirectory(c.schema_dir));
  auto options = server::DirectoryOptionsFrom(c);
  options.store.read_only = read_only;
  options.store.create_if_missing = !read_only;
  options.store.sync_writes = sync;
  options.store.bulk_load = bulk_load;
  options.store.cache_growth = {};  // the offline commands read each entry about once
  OpenedDirectory opened;
  std::unique_ptr<backend::SecretSealer> sealer;
  if (with_kms) {
    SIMPLEAD_ASSIGN_OR_RETURN(opened.kms, server::DirectoryKms::Open(server::KmsSettingsFrom(c), clock));
    sealer = opened.kms->MakeSealer();
  }
  auto dir = backend::Directory::Open(options, schema, clock, std::move(sealer));
  if (!dir.ok() && dir.status().message().find("lock") != std::string::npos) {
    return Error(ResultCode::kBusy, "the data dir " + c.data_dir + " is in use by a running simplead; stop it first");
  }
  if (!dir.ok()) return dir.status();
  opened.directory = std::move(*dir);
  return opened;
}

}  // namespace

int main(int argc, char** argv) {
  // The KMS client and the audit verifier have their own option sets.
  if (argc >= 2 && std::string(argv[1]) == "kms" && !(argc >= 3 && std::string(argv[2]) == "rewrap")) {
    return kms::RunKmsCli(argc - 1, argv + 1);
  }
  if (argc >= 2 && std::string(argv[1]) == "audit") return kms::RunAuditCli(argc - 1, argv + 1);
  CLI::App app{"simplead-admin: administer a SimpleAD directory.\n"
               "Also: 'simplead-admin kms <Operation> --help' (the KMS API client) and\n"
               "'simplead-admin audit verify FILE' (check the audit trail's hash chain).",
               "simplead-admin"};
  app.set_version_flag("--version", std::string(server::kVersion));
  app.require_subcommand(1);
  SystemClock clock;

  // init
  server::ServerConfig init_cfg;
  auto* init = app.add_subcommand("init", "Create a directory: the domain skeleton (AD) or the suffix and admin (plain)");
  AddCommon(init, init_cfg);
  init->add_option("--admin-dn", init_cfg.admin_dn, "Plain mode administrator DN");
  init->add_option("--admin-password-file", init_cfg.admin_password_file,
                   "File with the administrator password (else $SIMPLEAD_ADMIN_PASSWORD, else generated and printed)");

  // import
  server::ServerConfig import_cfg;
  std::string import_file;
  bool import_quiet = false;
  auto* import = app.add_subcommand("import", "Bulk-load entries from LDIF into a stopped server's data dir");
  AddCommon(import, import_cfg);
  import->add_option("file", import_file,
                     "LDIF file, read twice (- for standard input; standard input and pipes are read once, "
                     "and members then get memberOf at the end, which is slower)")
      ->required();
  import->add_flag("--quiet", import_quiet, "No progress bar");

  // export
  server::ServerConfig export_cfg;
  std::string export_file = "-";
  auto* exp = app.add_subcommand("export", "Write every entry as LDIF (works on a running server's data dir)");
  AddCommon(exp, export_cfg);
  exp->add_option("file", export_file, "Output file (default: standard output)");

  // backup
  server::ServerConfig backup_cfg;
  std::string backup_dir;
  auto* backup = app.add_subcommand("backup", "Consistent copy (RocksDB checkpoint) of a running or stopped server");
  AddCommon(backup, backup_cfg);
  backup->add_option("dir", backup_dir, "Backup directory to create (must not exist)")->required();

  // restore
  std::string restore_from, restore_to;
  auto* restore = app.add_subcommand("restore", "Restore a backup into a new data dir (server stopped)");
  restore->add_option("backup", restore_from, "Backup directory made by 'backup'")->required();
  restore->add_option("--data-dir", restore_to, "Data directory to create (must not exist)")->required();
  std::string restore_root_key;
  restore->add_option("--kms-root-key", restore_root_key,
                      "The original data dir's kms/root.key (backups never contain it)");

  // verify
  server::ServerConfig verify_cfg;
  auto* verify = app.add_subcommand("verify", "Check that indexes, the tree and memberOf back-links match the entries");
  AddCommon(verify, verify_cfg);

  // hash (for migrations and tests)
  std::string hash_scheme = "argon2id";
  auto* hash = app.add_subcommand("hash-password", "Print a verifier for a password read from standard input");
  hash->add_option("--scheme", hash_scheme, "argon2id or pbkdf2-sha512")->check(CLI::IsMember({"argon2id", "pbkdf2-sha512"}));

  // kms rewrap: re-seal every stored secret onto the directory key's newest version.
  std::string rewrap_dir = "var/data";
  auto* kms_cmd = app.add_subcommand("kms", "KMS client (run 'simplead-admin kms --help'); 'kms rewrap' re-seals secrets");
  auto* rewrap = kms_cmd->add_subcommand("rewrap", "Move every stored secret onto the directory key's newest version");
  rewrap->add_option("--data-dir", rewrap_dir, "Data directory of the running server")->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  if (*init) {
    auto dir = OpenDirectory(init_cfg, clock, false, true);
    if (!dir.ok()) return Fail(dir.status().message());
    if ((*dir)->IsProvisioned()) return Fail("a directory already exists in " + init_cfg.data_dir);
    auto password = server::ReadAdminPassword(init_cfg);
    if (!password.ok()) return Fail(password.status().message());
    bool generated = password->empty();
    if (generated) *password = auth::GeneratePassword(20);
    Status st = (*dir)->Provision({*password, init_cfg.admin_dn});
    if (!st.ok()) return Fail(st.ToString());
    std::cout << "created " << (*dir)->options().suffix << " in " << init_cfg.data_dir << "\n";
    if (generated) std::cout << "administrator password (shown once): " << *password << "\n";
    return 0;
  }
  if (*import) {
    // Bulk load: no WAL, no sync, no compaction until the end; the flush
    // that ends Import makes everything durable at once.
    auto dir = OpenDirectory(import_cfg, clock, false, false, true, /*bulk_load=*/true);
    if (!dir.ok()) return Fail(dir.status().message());
    std::ifstream file;
    std::istream* in = &std::cin;
    if (import_file != "-") {
      file.open(import_file);
      if (!file) return Fail("cannot read " + import_file);
      in = &file;
    }
    auto started = std::chrono::steady_clock::now();
    // A regular file is read twice: first for the groups' members, so that
    // each member is written once with its memberOf. A stream (standard
    // input, a pipe such as <(zcat ...)) can be read only once: its members
    // are rewritten at the end.
    std::optional<backend::Directory::MemberOfPlan> plan;
    std::error_code not_regular;
    if (import_file != "-" && std::filesystem::is_regular_file(import_file, not_regular)) {
      std::ifstream first_pass(import_file);
      if (!first_pass) return Fail("cannot read " + import_file);
      ldap::LdifReader plan_reader(first_pass);
      auto planned = backend::Directory::PlanMemberOf(plan_reader);
      if (!planned.ok()) return Fail("import failed before writing anything: " + planned.status().message());
      plan = std::move(*planned);
    }
    ldap::LdifReader reader(*in);
    bool tty = !import_quiet && isatty(STDERR_FILENO);
    size_t imported = 0;
    Status st = (*dir)->Import(
        reader,
        [&](size_t n) {
          if (!tty) return;
          double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
          std::cerr << "\r  imported " << n << " entries (" << static_cast<long>(n / std::max(secs, 0.001))
                    << "/s)   " << std::flush;
        },
        &imported, plan ? &*plan : nullptr);
    if (tty) std::cerr << "\n";
    if (!st.ok()) {
      // Earlier batches may or may not have reached the disk: the data dir
      // holds an unknown part of this import.
      return Fail("import failed after " + std::to_string(imported) + " entries: " + st.message() +
                  "\nsimplead-admin: the import is incomplete and " + import_cfg.data_dir +
                  " now holds an unknown part of it; restore the data dir from a backup (or remove it and run"
                  " init) before importing again");
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << "imported " << imported << " entries in " << secs << " s\n";
    return 0;
  }
  if (*exp) {
    auto dir = OpenDirectory(export_cfg, clock, true, false);
    if (!dir.ok()) return Fail(dir.status().message());
    std::ofstream file;
    std::ostream* out = &std::cout;
    if (export_file != "-") {
      file.open(export_file);
      if (!file) return Fail("cannot write " + export_file);
      out = &file;
    }
    Status st = (*dir)->Export(*out);
    if (!st.ok()) return Fail(st.message());
    return 0;
  }
  if (*backup) {
    std::string absolute = std::filesystem::absolute(backup_dir).string();
    if (auto reply = AskServer(backup_cfg.data_dir, "backup " + absolute)) {
      // A running server makes the checkpoint itself.
      if (reply->rfind("ok", 0) != 0) return Fail("server refused the backup: " + *reply);
      std::cout << "backup written to " << absolute << "\n";
      return 0;
    }
    auto dir = OpenDirectory(backup_cfg, clock, false, true);
    if (!dir.ok()) return Fail(dir.status().message());
    Status st = server::WriteBackup(*dir.value().directory, backup_cfg.data_dir, absolute);
    if (!st.ok()) return Fail(st.message());
    std::cout << "backup written to " << absolute << "\n";
    return 0;
  }
  if (*restore) {
    Status st = server::RestoreBackup(restore_from, restore_to, restore_root_key);
    if (!st.ok()) return Fail(st.message());
    std::cout << "restored into " << restore_to << "\n";
    return 0;
  }
  if (*verify) {
    auto dir = OpenDirectory(verify_cfg, clock, true, false, /*with_kms=*/false);
    if (!dir.ok()) return Fail(dir.status().message());
    backend::VerifyReport report;
    Status st = (*dir)->Verify(&report);
    if (!st.ok()) return Fail(st.message());
    // Every secret on its key's newest version (after rotation, run 'kms rewrap').
    std::map<std::string, uint32_t> newest;
    if (auto metadata = kms::FileMetadataStore::Open(verify_cfg.data_dir + "/kms"); metadata.ok()) {
      if (auto keys = (*metadata)->LoadKeys(); keys.ok()) {
        for (const auto& k : *keys) {
          if (!k.versions.empty()) newest[k.key_id] = k.versions.back().version;
        }
      }
    }
    size_t secrets = 0, stale = 0, unreadable = 0;
    (void)(*dir)->ForEachSecret([&](const ldap::Entry&, std::string_view sealed) {
      ++secrets;
      auto version = kms::SealedValueKeyVersion(sealed);
      if (!version.ok()) {
        ++unreadable;
        return;
      }
      auto it = newest.find(version->key_id);
      if (it == newest.end() || version->key_version < it->second) ++stale;
    });
    if (stale > 0) {
      report.problems.push_back(std::to_string(stale) +
                                " secret values are on an older key version (run simplead-admin kms rewrap)");
    }
    if (unreadable > 0) report.problems.push_back(std::to_string(unreadable) + " secret values are not sealed");
    std::cout << secrets << " secret values, " << stale << " on an older key version\n";
    for (const auto& p : report.problems) std::cout << "problem: " << p << "\n";
    std::cout << report.entries << " entries, " << report.problems.size() << " problems\n";
    return report.problems.empty() ? 0 : 3;
  }
  if (*rewrap) {
    auto reply = AskServer(rewrap_dir, "rewrap");
    if (!reply) return Fail("no simplead answers on " + rewrap_dir + "/control.sock");
    if (reply->rfind("ok", 0) != 0) return Fail(*reply);
    std::cout << *reply << "\n";
    return 0;
  }
  if (*hash) {
    std::string password;
    std::getline(std::cin, password);
    auth::HashParams params;
    params.scheme = hash_scheme == "pbkdf2-sha512" ? auth::HashScheme::kPbkdf2Sha512 : auth::HashScheme::kArgon2id;
    auto h = auth::HashPassword(password, params);
    WipeString(password);
    if (!h.ok()) return Fail(h.status().message());
    std::cout << *h << "\n";
    return 0;
  }
  return 0;
}
