#include "lib/kms/kms_test_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace simplead::kms::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "simplead-kms-XXXXXX").string();
  char* p = ::mkdtemp(tmpl.data());
  if (p == nullptr) std::abort();
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string StoreKindName(StoreKind kind) {
  switch (kind) {
    case StoreKind::kFile: return "File";
    case StoreKind::kPassphrase: return "Passphrase";
    case StoreKind::kPkcs11: return "SoftHsm2";
  }
  return "Unknown";
}

bool EnsureSoftHsmToken() {
  static const bool ready = [] {
    if (::access("/usr/bin/softhsm2-util", X_OK) != 0 || ::access("/usr/lib/softhsm/libsofthsm2.so", R_OK) != 0) {
      return false;
    }
    static TempDir token_dir;  // lives until the process exits
    std::string tokens = token_dir.path() + "/tokens";
    std::filesystem::create_directories(tokens);
    std::string conf = token_dir.path() + "/softhsm2.conf";
    std::ofstream(conf) << "directories.tokendir = " << tokens << "\nobjectstore.backend = file\nlog.level = ERROR\n";
    ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
    std::string cmd =
        "softhsm2-util --init-token --free --label simplead-test --pin 1234 --so-pin 5678 >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
  }();
  return ready;
}

Result<std::unique_ptr<KeyStore>> MakeKeyStore(StoreKind kind, const std::string& dir) {
  switch (kind) {
    case StoreKind::kFile: {
      SIMPLEAD_ASSIGN_OR_RETURN(auto s, FileKeyStore::Init(dir + "/root.key"));
      return std::unique_ptr<KeyStore>(std::move(s));
    }
    case StoreKind::kPassphrase: {
      Argon2Params cheap{1, 1024, 1};  // tests: keep Argon2id fast
      SIMPLEAD_ASSIGN_OR_RETURN(auto s, PassphraseKeyStore::OpenOrCreate(dir + "/kms-passphrase.json",
                                                                         SecureBytes("correct horse"), cheap));
      return std::unique_ptr<KeyStore>(std::move(s));
    }
    case StoreKind::kPkcs11: {
      if (!EnsureSoftHsmToken()) return InternalError("SoftHSM2 is not available");
      Pkcs11Options o;
      o.token_label = "simplead-test";
      o.pin = SecureBytes("1234");
      o.key_label = "root-" + NewUuid();
      SIMPLEAD_ASSIGN_OR_RETURN(auto s, Pkcs11KeyStore::Open(o));
      return std::unique_ptr<KeyStore>(std::move(s));
    }
  }
  return InternalError("unknown store kind");
}

Result<std::unique_ptr<KmsHarness>> MakeHarness(StoreKind kind, KmsOptions options) {
  auto h = std::make_unique<KmsHarness>();
  h->admin.principal_id = "admin-guid";
  h->admin.arn = "arn:simplead:iam::example.test:user/admin";
  h->admin.user_name = "admin";
  h->admin.source_ip = "127.0.0.1";
  h->admin.user_agent = "kms-test";
  h->other = h->admin;
  h->other.principal_id = "mallory-guid";
  h->other.arn = "arn:simplead:iam::example.test:user/mallory";
  h->other.user_name = "mallory";
  options.domain = "example.test";
  SIMPLEAD_ASSIGN_OR_RETURN(h->audit, AuditTrail::Open(h->audit_path(), h->clock));
  SIMPLEAD_ASSIGN_OR_RETURN(auto store, MakeKeyStore(kind, h->dir.path()));
  SIMPLEAD_ASSIGN_OR_RETURN(auto meta, FileMetadataStore::Open(h->dir.path() + "/kms"));
  SIMPLEAD_ASSIGN_OR_RETURN(h->kms, Kms::Open(options, std::move(store), std::move(meta), *h->audit, h->clock));
  return h;
}

std::vector<nlohmann::json> KmsHarness::AuditLines() const {
  std::vector<nlohmann::json> out;
  std::ifstream in(audit_path());
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::string VectorsDir() {
  const char* env = std::getenv("SIMPLEAD_KMS_VECTORS");
  return env != nullptr ? env : "tests/vectors/kms";
}

}  // namespace simplead::kms::testing
