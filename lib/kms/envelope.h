// The KMS ciphertext blob and the canonical encryption context (byte layout
// in docs/kms.md). Pure functions over bytes; safe for concurrent use.
//
// Blob (format version 1):
//   [0]      format version (0x01)
//   [1..16]  key id (UUID, 16 raw bytes)
//   [17..20] backing-key version, u32 big-endian
//   [21..32] 96-bit nonce
//   [33..]   AES-256-GCM ciphertext || 16-byte tag
// AAD = blob[0..32] || CanonicalContext(context).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "lib/base/secure_bytes.h"
#include "lib/base/status.h"
#include "lib/kms/crypto.h"

namespace simplead::kms {

// Keys sort bytewise (std::map with std::less<std::string> compares bytes).
using EncryptionContext = std::map<std::string, std::string>;

inline constexpr uint8_t kBlobFormatVersion = 1;
inline constexpr size_t kBlobHeaderSize = 1 + 16 + 4 + kGcmNonceSize;

// u32 BE pair count, then per pair sorted by key: u32 BE key length, key,
// u32 BE value length, value. Distinct contexts give distinct encodings.
std::string CanonicalContext(const EncryptionContext& context);

struct BlobHeader {
  uint8_t format_version = kBlobFormatVersion;
  UuidBytes key_id{};
  uint32_t key_version = 0;
  std::string nonce;  // 12 bytes
};

// Parses the header of a blob; fails on truncation, an unknown format
// version, or a blob too short to hold a tag.
Result<BlobHeader> ParseBlobHeader(std::string_view blob);

// Encrypts under backing key `key` with a fresh nonce.
Result<std::string> SealBlob(const SecureBytes& key, const UuidBytes& key_id, uint32_t key_version,
                             std::string_view plaintext, const EncryptionContext& context);
// Decrypts a blob whose header was parsed; fails if any byte of the blob or
// the context differs from what was sealed.
Result<SecureBytes> OpenBlob(const SecureBytes& key, std::string_view blob, const EncryptionContext& context);

// Big-endian helpers shared with other formats in this library.
void AppendU32(std::string& out, uint32_t v);
uint32_t ReadU32(std::string_view in);

}  // namespace simplead::kms
