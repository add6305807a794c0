// SecretSealer: envelope encryption of the directory's secret attribute
// values on the KMS, with a bounded cache of data keys (by count and age,
// like the AWS Encryption SDK's caching materials manager) so binds do not
// call the KMS each time.
//
// Sealed value (format 1):
//   [0]     format version 0x01
//   [1..2]  u16 BE length N of the encrypted data key
//   [3..]   the encrypted data key: a KMS ciphertext blob (envelope.h)
//           made by GenerateDataKey(AES_256) under the sealer's CMK with the
//           value's encryption context
//   next 12 nonce, then AES-256-GCM ciphertext || tag of the value under
//           the data key; AAD = all bytes before the ciphertext ||
//           CanonicalContext(context).
// The data key is wrapped with the full context, so a value copied to
// another entry fails in the KMS (InvalidCiphertextException, audited).
// Cache entries are keyed by context (encrypt) and by encrypted data key
// plus context (decrypt); a cache hit is honoured only while the CMK is
// Enabled, so disabling the key fails closed at once.
// SecretSealer is safe for concurrent use.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "lib/kms/kms.h"

namespace simplead::kms {

struct DataKeyCacheOptions {
  size_t max_entries = 1024;                      // per cache
  std::chrono::seconds max_age{300};
  uint64_t max_messages_per_data_key = 1000;      // Seal reuse bound
};

struct SealedKeyVersion {
  std::string key_id;  // UUID of the CMK
  uint32_t key_version = 0;
};

// Which CMK and backing-key version wrap a sealed value's data key.
Result<SealedKeyVersion> SealedValueKeyVersion(std::string_view sealed);

class SecretSealer {
 public:
  // `key_id` may be an alias (e.g. "alias/simplead/directory"). kms and
  // clock must outlive the sealer.
  SecretSealer(Kms& kms, Caller caller, std::string key_id, const Clock& clock, DataKeyCacheOptions options = {});

  Result<std::string> Seal(std::string_view plaintext, const EncryptionContext& context);
  Result<SecureBytes> Open(std::string_view sealed, const EncryptionContext& context);
  // Moves the value onto the CMK's newest version: its data key is
  // re-wrapped by ReEncrypt (the key material itself stays) and the value is
  // re-sealed under a fresh nonce, since the header it authenticates changed.
  Result<std::string> Rewrap(std::string_view sealed, const EncryptionContext& context);

  void ClearCache();

 private:
  struct Entry {
    SecureBytes data_key;
    std::string encrypted_data_key;
    Clock::TimePoint created;
    uint64_t uses = 0;
  };
  // A small LRU map bounded in size; entries also expire by age.
  class Cache {
   public:
    explicit Cache(size_t max_entries) : max_entries_(max_entries) {}
    Entry* Find(const std::string& key);
    void Put(const std::string& key, Entry entry);
    void Erase(const std::string& key);
    void Clear();

   private:
    size_t max_entries_;
    std::list<std::string> lru_;  // most recent first
    std::map<std::string, std::pair<Entry, std::list<std::string>::iterator>> map_;
  };

  bool Fresh(const Entry& e) const;
  // Requires mu_. The cached (or newly decrypted) data key of a value.
  Result<SecureBytes*> DataKeyFor(std::string_view encrypted_data_key, const EncryptionContext& context,
                                  const std::string& canonical_context);
  bool KeyEnabled();

  Kms& kms_;
  const Caller caller_;
  const std::string key_id_;
  const Clock& clock_;
  const DataKeyCacheOptions options_;
  std::mutex mu_;
  Cache encrypt_cache_;
  Cache decrypt_cache_;
};

}  // namespace simplead::kms
