#include "server/kms_setup.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "lib/kms/key_store.h"
#include "lib/kms/metadata_store.h"

namespace simplead::server {

namespace {

class KmsSealer final : public backend::SecretSealer {
 public:
  explicit KmsSealer(kms::SecretSealer& sealer) : sealer_(sealer) {}
  Result<std::string> Seal(std::string_view plaintext, const backend::SecretContext& context) override {
    return sealer_.Seal(plaintext, context);
  }
  Result<SecureBytes> Open(std::string_view sealed, const backend::SecretContext& context) override {
    return sealer_.Open(sealed, context);
  }
  std::optional<SecureBytes> OpenWithoutKeyService(std::string_view sealed,
                                                   const backend::SecretContext& context) override {
    return sealer_.OpenFromCache(sealed, context);
  }

 private:
  kms::SecretSealer& sealer_;
};

Result<std::string> ReadFirstLine(const std::string& path, const char* what) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line.empty()) {
    return Error(ResultCode::kOther, std::string("cannot read the ") + what + " from " + path);
  }
  return line;
}

}  // namespace

Result<std::unique_ptr<DirectoryKms>> DirectoryKms::Open(const KmsSettings& settings, const Clock& clock) {
  std::string dir = settings.data_dir + "/kms";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return InternalError("cannot create " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);

  std::unique_ptr<kms::KeyStore> key_store;
  if (settings.key_store == "file") {
    std::string path = dir + "/root.key";
    if (std::filesystem::exists(path, ec)) {
      SIMPLEAD_ASSIGN_OR_RETURN(key_store, kms::FileKeyStore::Open(path));
    } else {
      SIMPLEAD_ASSIGN_OR_RETURN(key_store, kms::FileKeyStore::Init(path));
    }
  } else if (settings.key_store == "passphrase") {
    SIMPLEAD_ASSIGN_OR_RETURN(auto passphrase, ReadFirstLine(settings.passphrase_file, "KMS passphrase"));
    SecureBytes secret(passphrase);
    WipeString(passphrase);
    SIMPLEAD_ASSIGN_OR_RETURN(key_store, kms::PassphraseKeyStore::OpenOrCreate(dir + "/passphrase.params", secret));
  } else if (settings.key_store == "pkcs11") {
    SIMPLEAD_ASSIGN_OR_RETURN(auto pin, ReadFirstLine(settings.pkcs11_pin_file, "PKCS#11 PIN"));
    kms::Pkcs11Options options;
    options.module_path = settings.pkcs11_module;
    options.token_label = settings.pkcs11_token;
    options.pin = SecureBytes(pin);
    WipeString(pin);
    SIMPLEAD_ASSIGN_OR_RETURN(key_store, kms::Pkcs11KeyStore::Open(options));
  } else {
    return Error(ResultCode::kOther, "unknown KMS key store '" + settings.key_store + "' (file, passphrase, pkcs11)");
  }
  SIMPLEAD_ASSIGN_OR_RETURN(auto metadata, kms::FileMetadataStore::Open(dir));
  std::string token_path = dir + "/admin.token";
  if (!std::filesystem::exists(token_path, ec)) {
    unsigned char random[32];
    if (RAND_bytes(random, sizeof random) != 1) return InternalError("no randomness for the KMS admin token");
    std::string hex;
    for (unsigned char b : random) {
      static const char* kHex = "0123456789abcdef";
      hex += kHex[b >> 4];
      hex += kHex[b & 15];
    }
    OPENSSL_cleanse(random, sizeof random);
    int fd = ::open(token_path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) return InternalError("cannot create " + token_path);
    hex += "\n";
    bool written = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size());
    ::close(fd);
    WipeString(hex);
    if (!written) return InternalError("cannot write " + token_path);
  }
  SIMPLEAD_ASSIGN_OR_RETURN(auto token, ReadFirstLine(token_path, "KMS admin token"));
  auto self = std::unique_ptr<DirectoryKms>(new DirectoryKms());
  self->clock_ = &clock;
  self->admin_token_ = SecureBytes(token);
  WipeString(token);
  SIMPLEAD_ASSIGN_OR_RETURN(self->audit_, kms::AuditTrail::Open(settings.data_dir + "/audit.log", clock));
  kms::KmsOptions options;
  options.domain = settings.domain;
  // Directory admins (HTTP callers of the KMS API) administer every key by default.
  options.admin_arns.push_back("arn:simplead:iam::" + settings.domain + ":role/DirectoryAdmins");
  SIMPLEAD_ASSIGN_OR_RETURN(self->kms_,
                            kms::Kms::Open(options, std::move(key_store), std::move(metadata), *self->audit_, clock));
  kms::Caller service = self->kms_->ServiceCaller();
  auto existing = self->kms_->DescribeKey(service, kDirectoryKeyAlias);
  if (existing.ok()) {
    self->key_id_ = existing->key_id;
  } else {
    kms::CreateKeyRequest request;
    request.description = "SimpleAD directory secrets (password verifiers, trust secrets)";
    SIMPLEAD_ASSIGN_OR_RETURN(auto created, self->kms_->CreateKey(service, request));
    SIMPLEAD_RETURN_IF_ERROR(self->kms_->CreateAlias(service, kDirectoryKeyAlias, created.key_id));
    self->key_id_ = created.key_id;
  }
  kms::DataKeyCacheOptions cache;
  cache.max_entries = settings.data_key_cache_entries;
  cache.max_age = settings.data_key_cache_age;
  cache.max_opened_values = settings.opened_values;
  self->sealer_ = std::make_unique<kms::SecretSealer>(*self->kms_, service, self->key_id_, clock, cache);
  return self;
}

bool DirectoryKms::IsAdminToken(std::string_view user, const SecureBytes& password) const {
  return user == "kms-admin" && !admin_token_.empty() && password == admin_token_;
}

std::unique_ptr<backend::SecretSealer> DirectoryKms::MakeSealer() { return std::make_unique<KmsSealer>(*sealer_); }

Result<uint32_t> DirectoryKms::CurrentKeyVersion() {
  SIMPLEAD_ASSIGN_OR_RETURN(auto meta, kms_->DescribeKey(kms_->ServiceCaller(), key_id_));
  return meta.current_key_version;
}

}  // namespace simplead::server
