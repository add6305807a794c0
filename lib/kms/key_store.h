// KeyStore: the root of trust. Backing keys (the versions of each CMK) are
// persisted only wrapped under a root key held by a KeyStore; plaintext
// backing keys exist only in SecureBytes buffers for the length of one call.
//
// Three implementations:
//   FileKeyStore       - 32 random bytes in a 0600 file created at init.
//   PassphraseKeyStore - root key derived with Argon2id from a passphrase;
//                        salt and cost parameters stored beside the data.
//   Pkcs11KeyStore     - an AES-256 key inside a PKCS#11 token (SoftHSM2,
//                        CloudHSM); wrapping happens inside the token and the
//                        root key never leaves it.
// All implementations are safe for concurrent use.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "lib/base/secure_bytes.h"
#include "lib/base/status.h"

namespace simplead::kms {

class KeyStore {
 public:
  virtual ~KeyStore() = default;
  // "file", "passphrase" or "pkcs11": recorded in docs and DescribeKey's
  // CustomKeyStoreId-free origin, never anything secret.
  virtual std::string Kind() const = 0;
  // Wraps key material; `aad` binds the wrapped bytes to their owner (key id
  // and version) so wrapped versions cannot be swapped between keys.
  virtual Result<std::string> Wrap(const SecureBytes& material, std::string_view aad) = 0;
  virtual Result<SecureBytes> Unwrap(std::string_view wrapped, std::string_view aad) = 0;
};

// Root key in a file. Init creates the file (mode 0600, fails if it exists);
// Open refuses a file readable or writable by group or others.
class FileKeyStore final : public KeyStore {
 public:
  static Result<std::unique_ptr<FileKeyStore>> Init(const std::string& path);
  static Result<std::unique_ptr<FileKeyStore>> Open(const std::string& path);
  std::string Kind() const override { return "file"; }
  Result<std::string> Wrap(const SecureBytes& material, std::string_view aad) override;
  Result<SecureBytes> Unwrap(std::string_view wrapped, std::string_view aad) override;

 private:
  explicit FileKeyStore(SecureBytes root) : root_(std::move(root)) {}
  SecureBytes root_;
};

// Argon2id cost parameters (RFC 9106's second recommended option by default).
struct Argon2Params {
  uint32_t t_cost = 3;
  uint32_t m_cost_kib = 64 * 1024;
  uint32_t parallelism = 1;
};

// Root key from a passphrase. The parameters file (JSON: salt, costs and a
// check value that tells a wrong passphrase apart) is created on first use
// with `params` and read afterwards (the stored costs win).
class PassphraseKeyStore final : public KeyStore {
 public:
  static Result<std::unique_ptr<PassphraseKeyStore>> OpenOrCreate(const std::string& params_path,
                                                                  const SecureBytes& passphrase,
                                                                  const Argon2Params& params = {});
  std::string Kind() const override { return "passphrase"; }
  Result<std::string> Wrap(const SecureBytes& material, std::string_view aad) override;
  Result<SecureBytes> Unwrap(std::string_view wrapped, std::string_view aad) override;

 private:
  explicit PassphraseKeyStore(SecureBytes root) : root_(std::move(root)) {}
  SecureBytes root_;
};

struct Pkcs11Options {
  std::string module_path = "/usr/lib/softhsm/libsofthsm2.so";
  std::string token_label;
  SecureBytes pin;
  std::string key_label = "simplead-kms-root";
  bool create_key_if_missing = true;
};

// Root key in a PKCS#11 token, used with CKM_AES_GCM through C_Encrypt /
// C_Decrypt in one logged-in session guarded by a mutex. The module is
// initialised once per process and left initialised (PKCS#11 allows one
// C_Initialize per process; another store in the same process shares it).
class Pkcs11KeyStore final : public KeyStore {
 public:
  static Result<std::unique_ptr<Pkcs11KeyStore>> Open(const Pkcs11Options& options);
  ~Pkcs11KeyStore() override;
  std::string Kind() const override { return "pkcs11"; }
  Result<std::string> Wrap(const SecureBytes& material, std::string_view aad) override;
  Result<SecureBytes> Unwrap(std::string_view wrapped, std::string_view aad) override;

  struct Impl;

 private:
  explicit Pkcs11KeyStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Creates a directory (mode 0700) if missing; writes `data` to `path`
// atomically (temp file, fsync, rename, fsync of the directory).
Status EnsureDirectory(const std::string& path);
Status WriteFileAtomically(const std::string& path, std::string_view data, unsigned mode = 0600);
Result<std::string> ReadWholeFile(const std::string& path);

}  // namespace simplead::kms
