// The directory's KMS: opens (creating on first use) the key store, key
// metadata and audit trail under <data-dir>, makes sure the directory's own
// CMK (alias/simplead/directory) exists, and adapts the KMS's SecretSealer to
// the backend's SecretSealer seam. Used by simplead and by the offline
// commands of simplead-admin, which must see the same keys.
#pragma once

#include <memory>
#include <string>

#include "lib/base/clock.h"
#include "lib/kms/audit.h"
#include "lib/kms/kms.h"
#include "lib/kms/secret_sealer.h"
#include "server/backend/secrets.h"

namespace simplead::server {

inline constexpr const char* kDirectoryKeyAlias = "alias/simplead/directory";

struct KmsSettings {
  std::string data_dir;
  std::string domain = "local";           // for ARNs
  std::string key_store = "file";         // file | passphrase | pkcs11
  std::string passphrase_file;            // key_store = passphrase
  std::string pkcs11_module = "/usr/lib/softhsm/libsofthsm2.so";
  std::string pkcs11_token;               // token label
  std::string pkcs11_pin_file;
  size_t data_key_cache_entries = 100000;
  std::chrono::seconds data_key_cache_age{3600};
  // Opened verifiers kept, so a repeated bind skips the per-value key
  // derivation and decryption. KmsSettingsFrom sets --kms-opened-values;
  // unset, the library's default.
  size_t opened_values = kms::DataKeyCacheOptions{}.max_opened_values;
};

class DirectoryKms {
 public:
  static Result<std::unique_ptr<DirectoryKms>> Open(const KmsSettings& settings, const Clock& clock);

  kms::Kms& kms() { return *kms_; }
  kms::AuditTrail& audit() { return *audit_; }
  // A backend::SecretSealer over the directory CMK; the DirectoryKms must outlive it.
  std::unique_ptr<backend::SecretSealer> MakeSealer();
  // The directory CMK's current backing-key version (for rewrap/verify).
  Result<uint32_t> CurrentKeyVersion();
  const std::string& directory_key_id() const { return key_id_; }
  kms::SecretSealer& sealer() { return *sealer_; }
  // Break-glass credential for local administration of the KMS (user
  // "kms-admin"): a random token in <data-dir>/kms/admin.token (0600), so that
  // re-enabling a disabled directory key does not need a directory bind.
  bool IsAdminToken(std::string_view user, const SecureBytes& password) const;

 private:
  DirectoryKms() = default;
  std::unique_ptr<kms::AuditTrail> audit_;
  std::unique_ptr<kms::Kms> kms_;
  std::unique_ptr<kms::SecretSealer> sealer_;
  std::string key_id_;
  const Clock* clock_ = nullptr;
  SecureBytes admin_token_;
};

}  // namespace simplead::server
