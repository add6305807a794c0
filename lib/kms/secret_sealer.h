// SecretSealer: envelope encryption of the directory's secret attribute
// values on the KMS, with a bounded cache of data keys (by count and age,
// like the AWS Encryption SDK's caching materials manager) so binds do not
// call the KMS each time.
//
// Sealed value, format 2 (what Seal and Rewrap write):
//   [0]     format version 0x02
//   [1..2]  u16 BE length N of the encrypted data key
//   [3..]   the encrypted data key: a KMS ciphertext blob (envelope.h) made
//           by GenerateDataKey(AES_256) under the sealer's CMK with the
//           *data-key context*: the value context's `data_key_context_keys`
//           (the directory) plus {"simplead:purpose": "sealed-values"}
//   next 16 salt, random per value
//   next 12 nonce
//   then    AES-256-GCM ciphertext || tag of the value under the per-value
//           key HKDF-SHA256(data key, salt, "simplead sealed value v2" 0x00
//           || CanonicalContext(context)); AAD = all bytes before the
//           ciphertext || CanonicalContext(context).
// One data key serves many values (up to max_messages_per_data_key seals),
// so a warm cache opens every verifier of the directory without the KMS; the
// full context (entry, attribute) still binds each value through both the
// derived key and the AAD, so a value copied to another entry does not open.
// Such a failure happens locally and is audited through
// Kms::AuditRejectedCall ("Decrypt", InvalidCiphertextException).
//
// Format 1 (read, and rewritten as format 2 by Rewrap): as above without the
// salt; the data key is wrapped with the value's full context and the value
// is sealed under it directly (one data key, one KMS call, per value).
//
// Cache entries are keyed by data-key context (encrypt) and by encrypted data
// key plus its context (decrypt); a hit is honoured only while the CMK is
// Enabled (disabling the key fails closed at once), and a sealing key only
// while it is on the CMK's newest version (after a rotation new values move
// to the new version at once).
// SecretSealer is safe for concurrent use.
#pragma once

#include <array>
#include <type_traits>
#include <chrono>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/kms/crypto.h"
#include "lib/kms/kms.h"

namespace simplead::kms {

struct DataKeyCacheOptions {
  size_t max_entries = 1024;                      // per cache
  std::chrono::seconds max_age{300};
  uint64_t max_messages_per_data_key = 1000;      // Seal reuse bound
  // Opened values kept (by sealed bytes and context), so a repeated Open of
  // the same value skips the per-value key derivation and decryption. A hit
  // is honoured under the same rules as the data key that opened it: while
  // that key's cache entry would still be fresh and the CMK is Enabled.
  size_t max_opened_values = 8192;
  // Keys of a value's context that also bind its (shared) data key.
  std::vector<std::string> data_key_context_keys = {"directory"};
};

struct SealedKeyVersion {
  std::string key_id;  // UUID of the CMK
  uint32_t key_version = 0;
};

// Which CMK and backing-key version wrap a sealed value's data key.
Result<SealedKeyVersion> SealedValueKeyVersion(std::string_view sealed);

// The format version byte of a sealed value (1 or 2), or an error.
Result<uint8_t> SealedValueFormat(std::string_view sealed);

class SecretSealer {
 public:
  // `key_id` may be an alias (e.g. "alias/simplead/directory"). kms and
  // clock must outlive the sealer.
  SecretSealer(Kms& kms, Caller caller, std::string key_id, const Clock& clock, DataKeyCacheOptions options = {});

  Result<std::string> Seal(std::string_view plaintext, const EncryptionContext& context);
  Result<SecureBytes> Open(std::string_view sealed, const EncryptionContext& context);
  // Open() for callers on I/O threads: the plaintext when the value opens
  // with a fresh cached data key (its CMK still enabled), making no KMS call
  // and no audit write; nullopt when it would need either (key not cached,
  // malformed or tampered input: Open() on a thread that may block then
  // makes the call and audits the failure).
  std::optional<SecureBytes> OpenFromCache(std::string_view sealed, const EncryptionContext& context);
  // Moves the value onto the CMK's newest version (and onto format 2): opens
  // it and seals it again under a data key of the newest version.
  Result<std::string> Rewrap(std::string_view sealed, const EncryptionContext& context);

  void ClearCache();
  // Re-bounds the opened-value cache, dropping the least recently used
  // beyond the new bound: the server sizes it once it knows how many
  // entries the directory holds.
  void SetMaxOpenedValues(size_t max_values);
  size_t OpenedValuesCached();

 private:
  struct Entry {
    SecureBytes data_key;
    std::string encrypted_data_key;
    Clock::TimePoint created;
    uint64_t uses = 0;
    uint32_t key_version = 0;
  };
  // An opened value and when the data key that opened it was cached (the
  // value is not kept longer than that key would be).
  struct OpenedValue {
    SecureBytes plaintext;
    Clock::TimePoint created;
  };
  // An opened value's cache key, the SHA-256 of its sealed bytes and
  // context, held inline: a std::string key would add a heap block (about
  // 50 bytes) to each of the directory's opened verifiers.
  struct DigestKey {
    explicit DigestKey(std::string_view digest);  // 32 bytes
    operator std::string_view() const { return {bytes.data(), bytes.size()}; }
    std::array<char, 32> bytes;
  };
  // A digest is already uniform: its first eight bytes are its hash, so a
  // lookup does not hash the 32 bytes again.
  struct DigestPrefixHash {
    size_t operator()(std::string_view digest) const;
  };
  template <typename Key>
  using CacheHash = std::conditional_t<std::is_same_v<Key, DigestKey>, DigestPrefixHash, std::hash<std::string_view>>;
  // A small LRU map bounded in size; entries also expire by age.
  template <typename Value, typename Key = std::string>
  class Cache {
   public:
    explicit Cache(size_t max_entries) : max_entries_(max_entries) {}
    Value* Find(const std::string& key);
    void Put(const std::string& key, Value entry);
    void Erase(const std::string& key);
    void Clear();
    void SetMaxEntries(size_t max_entries);
    size_t Size() const { return map_.size(); }

   private:
    size_t max_entries_;
    // Most recent first; each key is held once, in its list node, and the
    // hash map points at it (keys are long: a sealed value and a context).
    using Lru = std::list<std::pair<Key, Value>>;
    Lru lru_;
    std::unordered_map<std::string_view, typename Lru::iterator, CacheHash<Key>> map_;
  };

  EncryptionContext DataKeyContext(const EncryptionContext& context) const;
  std::string OpenedCacheKey(std::string_view sealed, const std::string& canonical_context) const;
  bool Fresh(Clock::TimePoint created) const;
  // Open(), or with `cached_only` OpenFromCache() (nullopt for "would need
  // the KMS or an audit write").
  std::optional<Result<SecureBytes>> OpenImpl(std::string_view sealed, const EncryptionContext& context,
                                              bool cached_only);
  // Requires mu_. The cached data key under `cache_key` if it is still fresh
  // and its CMK enabled; otherwise drops it and returns null.
  Entry* UsableCachedKey(const std::string& cache_key);
  // Require mu_. The cached (or newly decrypted) data key of a value, and
  // when it entered the cache.
  Result<SecureBytes> DataKeyFor(std::string_view encrypted_data_key, const EncryptionContext& context,
                                 const std::string& canonical_context, Clock::TimePoint* cached_at);
  bool KeyEnabled();
  // Audits a value that failed to open under a good data key (format 2).
  Status AuditedMismatch();

  // The per-value cryptography (no Kms, no mu_), through crypto_ when it
  // exists, else the free functions of crypto.h (same bytes, slower).
  Result<SecureBytes> ValueKey(const SecureBytes& data_key, std::string_view salt,
                               std::string_view canonical_context) const;
  Result<std::string> GcmSeal(const SecureBytes& key, std::string_view nonce, std::string_view plaintext,
                              std::string_view aad) const;
  Result<SecureBytes> GcmOpen(const SecureBytes& key, std::string_view nonce, std::string_view ciphertext,
                              std::string_view aad) const;

  Kms& kms_;
  // Null only if OpenSSL lacks HMAC or AES-GCM; then each call reports it.
  const std::unique_ptr<const CryptoKit> crypto_;
  const Caller caller_;
  const std::string key_id_;
  const Clock& clock_;
  const DataKeyCacheOptions options_;
  std::mutex mu_;
  Cache<Entry> encrypt_cache_;
  Cache<Entry> decrypt_cache_;
  Cache<OpenedValue, DigestKey> opened_cache_;
  RandomPool random_;  // salts and nonces; guarded by mu_
};

}  // namespace simplead::kms
