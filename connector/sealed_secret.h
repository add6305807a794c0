// SealedSecretFile: the connector's own secrets (the service-account
// password) at rest, envelope-encrypted with lib/kms: a fresh AES-256 data
// key per seal encrypts the secret (AES-256-GCM, AAD = the secret's name and
// context), and the data key is wrapped by a FileKeyStore whose root key sits
// in <data-dir>/connector.key (created mode 0600 at first use). The sealed
// file is JSON of base64 fields; nothing in it is secret without the key
// file. Safe for concurrent use (no mutable state after Open).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "lib/base/secure_bytes.h"
#include "lib/base/status.h"
#include "lib/kms/key_store.h"

namespace simplead::connector {

class SealedSecretFile {
 public:
  // Opens <data_dir>/connector.key, creating it (and data_dir, mode 0700)
  // when missing.
  static Result<std::unique_ptr<SealedSecretFile>> Open(const std::string& data_dir);

  // Seals `secret` to <data_dir>/<name>.sealed (atomically, mode 0600).
  // `context` (e.g. the service DN) is authenticated: Read with another fails.
  Status Write(std::string_view name, const SecureBytes& secret, std::string_view context) const;
  Result<SecureBytes> Read(std::string_view name, std::string_view context) const;
  bool Exists(std::string_view name) const;
  std::string PathOf(std::string_view name) const;

 private:
  SealedSecretFile(std::string data_dir, std::unique_ptr<kms::KeyStore> key_store)
      : data_dir_(std::move(data_dir)), key_store_(std::move(key_store)) {}
  std::string data_dir_;
  std::unique_ptr<kms::KeyStore> key_store_;
};

inline constexpr char kServiceAccountSecret[] = "service-account";

}  // namespace simplead::connector
