// Cryptographic primitives for the KMS: the Aead interface (Tink's two
// methods) with its AES-GCM implementation over OpenSSL EVP, raw AES-GCM with
// a caller-chosen nonce (for the envelope, whose header carries the nonce),
// randomness, SHA-256, base64 and UUIDs.
// Everything here is stateless or immutable after construction, so it is safe
// for concurrent use.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "lib/base/random_pool.h"
#include "lib/base/secure_bytes.h"
#include "lib/base/status.h"

namespace simplead::kms {

inline constexpr size_t kGcmNonceSize = 12;
inline constexpr size_t kGcmTagSize = 16;

// Authenticated encryption with associated data.
class Aead {
 public:
  virtual ~Aead() = default;
  // Returns nonce || ciphertext || tag; a fresh random nonce per call.
  virtual Result<std::string> Encrypt(std::string_view plaintext, std::string_view aad) const = 0;
  // Fails (ValidationException-free, plain kOther) when the tag does not verify.
  virtual Result<SecureBytes> Decrypt(std::string_view ciphertext, std::string_view aad) const = 0;
};

// AES-GCM with a 128- or 256-bit key and 96-bit random nonces.
class AesGcmAead final : public Aead {
 public:
  static Result<std::unique_ptr<AesGcmAead>> Create(SecureBytes key);
  Result<std::string> Encrypt(std::string_view plaintext, std::string_view aad) const override;
  Result<SecureBytes> Decrypt(std::string_view ciphertext, std::string_view aad) const override;

 private:
  explicit AesGcmAead(SecureBytes key) : key_(std::move(key)) {}
  SecureBytes key_;
};

// One-shot AES-GCM with an explicit 12-byte nonce. Seal returns ciphertext||tag.
Result<std::string> AesGcmSeal(const SecureBytes& key, std::string_view nonce, std::string_view plaintext,
                               std::string_view aad);
Result<SecureBytes> AesGcmOpen(const SecureBytes& key, std::string_view nonce,
                               std::string_view ciphertext_and_tag, std::string_view aad);

// HKDF-SHA256 (RFC 5869): extract with `salt`, expand with `info` to
// `length` bytes (1..8160).
Result<SecureBytes> HkdfSha256(const SecureBytes& key, std::string_view salt, std::string_view info, size_t length);

// The OpenSSL algorithms of the per-value hot paths (HMAC-SHA256 for HKDF,
// AES-GCM), fetched once. The free functions above let OpenSSL 3 look each
// algorithm up in its provider store on every call (an EVP_PKEY_HKDF context,
// the KDF, HMAC and SHA-256 behind it, the cipher behind EVP_aes_*_gcm()),
// which costs more than the cryptography on short values. Outputs are
// byte-identical to the free functions.
// Immutable after Create; safe for concurrent use (each call works on its own
// short-lived OpenSSL contexts).
class CryptoKit {
 public:
  static Result<std::unique_ptr<CryptoKit>> Create();
  ~CryptoKit();
  CryptoKit(const CryptoKit&) = delete;
  CryptoKit& operator=(const CryptoKit&) = delete;

  // As HkdfSha256 above: RFC 5869 with HMAC-SHA256, `length` 1..8160.
  Result<SecureBytes> HkdfSha256(const SecureBytes& key, std::string_view salt, std::string_view info,
                                 size_t length) const;
  // As AesGcmSeal/AesGcmOpen above.
  Result<std::string> AesGcmSeal(const SecureBytes& key, std::string_view nonce, std::string_view plaintext,
                                 std::string_view aad) const;
  Result<SecureBytes> AesGcmOpen(const SecureBytes& key, std::string_view nonce,
                                 std::string_view ciphertext_and_tag, std::string_view aad) const;
  // SHA-256 of the concatenation of `data`, 32 raw bytes.
  Result<std::string> Sha256(std::initializer_list<std::string_view> data) const;

 private:
  struct Algorithms;
  explicit CryptoKit(std::unique_ptr<Algorithms> algorithms);
  // HMAC-SHA256(key, data...) into out[32], on a context copied from the template.
  Status HmacSha256(std::string_view key, std::initializer_list<std::string_view> data, uint8_t* out) const;
  std::unique_ptr<Algorithms> algorithms_;
};

// Cryptographically secure random bytes (OpenSSL's DRBG).
Result<SecureBytes> RandomSecureBytes(size_t n);
Result<std::string> RandomString(size_t n);

// Lower-case hex SHA-256 of data.
std::string Sha256Hex(std::string_view data);
std::string HexEncode(std::string_view data);
Result<std::string> HexDecode(std::string_view hex);

// Standard base64 with padding (as AWS's JSON blobs).
std::string Base64Encode(std::string_view data);
Result<std::string> Base64Decode(std::string_view text);

// Random (version 4) UUIDs in canonical text form, and their 16-byte form.
using UuidBytes = std::array<uint8_t, 16>;
std::string NewUuid();
Result<UuidBytes> ParseUuid(std::string_view text);
std::string FormatUuid(const UuidBytes& bytes);

// Version 4 UUIDs for a caller that makes many (one per audit line), from a
// RandomPool: one RAND_bytes per 256 UUIDs instead of one each.
// Thread-compatible: guard it with the caller's lock.
class UuidSource {
 public:
  std::string Next();

 private:
  RandomPool random_;
};

}  // namespace simplead::kms
