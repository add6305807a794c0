// SecretSealer: how secret attribute values (password verifiers, later trust
// secrets) are kept at rest. The directory seals a value with an encryption
// context {directory, entry, attribute} before it reaches the store, and
// opens it to verify a bind. PlainSealer is the identity, for tests and until
// the KMS is wired in; the KMS-backed sealer envelope-encrypts.
// Implementations are thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "lib/base/secure_bytes.h"
#include "lib/base/status.h"

namespace simplead::backend {

using SecretContext = std::map<std::string, std::string>;

class SecretSealer {
 public:
  virtual ~SecretSealer() = default;
  virtual Result<std::string> Seal(std::string_view plaintext, const SecretContext& context) = 0;
  // kUnavailable when the key is disabled; kInvalidCredentials-free: any
  // tampering is kOther with a diagnostic.
  virtual Result<SecureBytes> Open(std::string_view sealed, const SecretContext& context) = 0;
  // Open() for a caller on an I/O thread: the plaintext when opening needs no
  // call to a key service and no audit write (its key is in memory), so it
  // cannot block; nullopt otherwise, and for any failure (Open() on a thread
  // that may block then reports it). Conservative: nullopt when unsure.
  virtual std::optional<SecureBytes> OpenWithoutKeyService(std::string_view sealed, const SecretContext& context) {
    (void)sealed;
    (void)context;
    return std::nullopt;
  }
};

class PlainSealer final : public SecretSealer {
 public:
  Result<std::string> Seal(std::string_view plaintext, const SecretContext&) override { return std::string(plaintext); }
  Result<SecureBytes> Open(std::string_view sealed, const SecretContext&) override { return SecureBytes(sealed); }
  std::optional<SecureBytes> OpenWithoutKeyService(std::string_view sealed, const SecretContext&) override {
    return SecureBytes(sealed);
  }
};

}  // namespace simplead::backend
