#include "connector/sealed_secret.h"

#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "lib/kms/crypto.h"

namespace simplead::connector {

namespace {
constexpr int kFormat = 1;
std::string Aad(std::string_view name, std::string_view context) {
  // Length-prefixed so (name, context) pairs cannot collide.
  return "adconnector-sealed-v1:" + std::to_string(name.size()) + ":" + std::string(name) + ":" +
         std::string(context);
}
}  // namespace

Result<std::unique_ptr<SealedSecretFile>> SealedSecretFile::Open(const std::string& data_dir) {
  SIMPLEAD_RETURN_IF_ERROR(kms::EnsureDirectory(data_dir));
  ::chmod(data_dir.c_str(), 0700);
  std::string key_path = data_dir + "/connector.key";
  std::unique_ptr<kms::KeyStore> store;
  if (std::filesystem::exists(key_path)) {
    SIMPLEAD_ASSIGN_OR_RETURN(store, kms::FileKeyStore::Open(key_path));
  } else {
    SIMPLEAD_ASSIGN_OR_RETURN(store, kms::FileKeyStore::Init(key_path));
  }
  return std::unique_ptr<SealedSecretFile>(new SealedSecretFile(data_dir, std::move(store)));
}

std::string SealedSecretFile::PathOf(std::string_view name) const {
  return data_dir_ + "/" + std::string(name) + ".sealed";
}

bool SealedSecretFile::Exists(std::string_view name) const { return std::filesystem::exists(PathOf(name)); }

Status SealedSecretFile::Write(std::string_view name, const SecureBytes& secret, std::string_view context) const {
  SIMPLEAD_ASSIGN_OR_RETURN(SecureBytes data_key, kms::RandomSecureBytes(32));
  SIMPLEAD_ASSIGN_OR_RETURN(std::string nonce, kms::RandomString(kms::kGcmNonceSize));
  std::string aad = Aad(name, context);
  SIMPLEAD_ASSIGN_OR_RETURN(std::string wrapped, key_store_->Wrap(data_key, aad));
  SIMPLEAD_ASSIGN_OR_RETURN(std::string ciphertext, kms::AesGcmSeal(data_key, nonce, secret.view(), aad));
  nlohmann::json doc = {{"format", kFormat},
                        {"keyStore", key_store_->Kind()},
                        {"encryptedDataKey", kms::Base64Encode(wrapped)},
                        {"nonce", kms::Base64Encode(nonce)},
                        {"ciphertext", kms::Base64Encode(ciphertext)}};
  return kms::WriteFileAtomically(PathOf(name), doc.dump() + "\n", 0600);
}

Result<SecureBytes> SealedSecretFile::Read(std::string_view name, std::string_view context) const {
  SIMPLEAD_ASSIGN_OR_RETURN(std::string text, kms::ReadWholeFile(PathOf(name)));
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || doc.value("format", 0) != kFormat || !doc.contains("encryptedDataKey") ||
      !doc.contains("nonce") || !doc.contains("ciphertext")) {
    return InternalError(PathOf(name) + " is not a sealed secret of format 1");
  }
  SIMPLEAD_ASSIGN_OR_RETURN(std::string wrapped, kms::Base64Decode(doc["encryptedDataKey"].get<std::string>()));
  SIMPLEAD_ASSIGN_OR_RETURN(std::string nonce, kms::Base64Decode(doc["nonce"].get<std::string>()));
  SIMPLEAD_ASSIGN_OR_RETURN(std::string ciphertext, kms::Base64Decode(doc["ciphertext"].get<std::string>()));
  std::string aad = Aad(name, context);
  SIMPLEAD_ASSIGN_OR_RETURN(SecureBytes data_key, key_store_->Unwrap(wrapped, aad));
  return kms::AesGcmOpen(data_key, nonce, ciphertext, aad);
}

}  // namespace simplead::connector
