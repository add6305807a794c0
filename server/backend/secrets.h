// SecretSealer: how secret attribute values (password verifiers, later trust
// secrets) are kept at rest. The directory seals a value with an encryption
// context {directory, entry, attribute} before it reaches the store, and
// opens it to verify a bind. PlainSealer is the identity, for tests and until
// the KMS is wired in; the KMS-backed sealer envelope-encrypts.
// Implementations are thread-safe.
#pragma once

#include <map>
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
  // True when Open(sealed) would need no call to a key service (its key is
  // in memory), so a caller on an I/O thread may open it without blocking.
  // Conservative: false when unsure.
  virtual bool OpensWithoutKeyService(std::string_view sealed, const SecretContext& context) {
    (void)sealed;
    (void)context;
    return false;
  }
};

class PlainSealer final : public SecretSealer {
 public:
  Result<std::string> Seal(std::string_view plaintext, const SecretContext&) override { return std::string(plaintext); }
  Result<SecureBytes> Open(std::string_view sealed, const SecretContext&) override { return SecureBytes(sealed); }
  bool OpensWithoutKeyService(std::string_view, const SecretContext&) override { return true; }
};

}  // namespace simplead::backend
