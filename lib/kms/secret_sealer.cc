#include "lib/kms/secret_sealer.h"

#include <openssl/sha.h>

#include <cstring>

namespace simplead::kms {
namespace {

constexpr uint8_t kFormatPerValueKey = 1;  // read only
constexpr uint8_t kFormatDerivedKey = 2;
constexpr size_t kSaltSize = 16;
constexpr std::string_view kDerivationLabel{"simplead sealed value v2\0", 25};
constexpr char kPurposeKey[] = "simplead:purpose";
constexpr char kPurpose[] = "sealed-values";

struct SealedParts {
  uint8_t format = 0;
  std::string_view encrypted_data_key;
  std::string_view header;  // everything authenticated before the ciphertext
  std::string_view salt;    // format 2 only
  std::string_view nonce;
  std::string_view ciphertext;
};

Result<SealedParts> Split(std::string_view sealed) {
  auto bad = [] { return KmsStatus(KmsError::kInvalidCiphertext, "sealed value is truncated or not sealed"); };
  if (sealed.size() < 3) return bad();
  SealedParts p;
  p.format = static_cast<uint8_t>(sealed[0]);
  if (p.format != kFormatPerValueKey && p.format != kFormatDerivedKey) return bad();
  size_t n = static_cast<size_t>(static_cast<unsigned char>(sealed[1])) << 8 | static_cast<unsigned char>(sealed[2]);
  size_t salt = p.format == kFormatDerivedKey ? kSaltSize : 0;
  if (sealed.size() < 3 + n + salt + kGcmNonceSize + kGcmTagSize) return bad();
  p.encrypted_data_key = sealed.substr(3, n);
  p.salt = sealed.substr(3 + n, salt);
  p.nonce = sealed.substr(3 + n + salt, kGcmNonceSize);
  p.header = sealed.substr(0, 3 + n + salt + kGcmNonceSize);
  p.ciphertext = sealed.substr(p.header.size());
  return p;
}

std::unique_ptr<const CryptoKit> MakeCryptoKit() {
  auto kit = CryptoKit::Create();
  return kit.ok() ? std::move(*kit) : nullptr;
}

}  // namespace

Result<SealedKeyVersion> SealedValueKeyVersion(std::string_view sealed) {
  SIMPLEAD_ASSIGN_OR_RETURN(SealedParts p, Split(sealed));
  auto h = ParseBlobHeader(p.encrypted_data_key);
  if (!h.ok()) return KmsStatus(KmsError::kInvalidCiphertext, h.status().message());
  return SealedKeyVersion{FormatUuid(h->key_id), h->key_version};
}

Result<uint8_t> SealedValueFormat(std::string_view sealed) {
  SIMPLEAD_ASSIGN_OR_RETURN(SealedParts p, Split(sealed));
  return p.format;
}

SecretSealer::SecretSealer(Kms& kms, Caller caller, std::string key_id, const Clock& clock,
                           DataKeyCacheOptions options)
    : kms_(kms), crypto_(MakeCryptoKit()), caller_(std::move(caller)), key_id_(std::move(key_id)), clock_(clock),
      options_(options), encrypt_cache_(options.max_entries), decrypt_cache_(options.max_entries),
      opened_cache_(options.max_opened_values) {}

Result<SecureBytes> SecretSealer::ValueKey(const SecureBytes& data_key, std::string_view salt,
                                           std::string_view canonical_context) const {
  std::string info;
  info.reserve(kDerivationLabel.size() + canonical_context.size());
  info += kDerivationLabel;
  info += canonical_context;
  if (crypto_) return crypto_->HkdfSha256(data_key, salt, info, 32);
  return HkdfSha256(data_key, salt, info, 32);
}

Result<std::string> SecretSealer::GcmSeal(const SecureBytes& key, std::string_view nonce, std::string_view plaintext,
                                          std::string_view aad) const {
  if (crypto_) return crypto_->AesGcmSeal(key, nonce, plaintext, aad);
  return AesGcmSeal(key, nonce, plaintext, aad);
}

Result<SecureBytes> SecretSealer::GcmOpen(const SecureBytes& key, std::string_view nonce, std::string_view ciphertext,
                                          std::string_view aad) const {
  if (crypto_) return crypto_->AesGcmOpen(key, nonce, ciphertext, aad);
  return AesGcmOpen(key, nonce, ciphertext, aad);
}

SecretSealer::DigestKey::DigestKey(std::string_view digest) {
  bytes.fill(0);
  std::memcpy(bytes.data(), digest.data(), std::min(digest.size(), bytes.size()));
}

size_t SecretSealer::DigestPrefixHash::operator()(std::string_view digest) const {
  if (digest.size() < sizeof(size_t)) return std::hash<std::string_view>()(digest);
  size_t h;
  std::memcpy(&h, digest.data(), sizeof h);
  return h;
}

template <typename Value, typename Key>
Value* SecretSealer::Cache<Value, Key>::Find(const std::string& key) {
  auto it = map_.find(key);
  if (it == map_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return &it->second->second;
}

template <typename Value, typename Key>
void SecretSealer::Cache<Value, Key>::Put(const std::string& key, Value entry) {
  Erase(key);
  if (max_entries_ == 0) return;
  while (map_.size() >= max_entries_) {
    map_.erase(lru_.back().first);
    lru_.pop_back();
  }
  lru_.emplace_front(key, std::move(entry));
  map_.emplace(lru_.front().first, lru_.begin());
}

template <typename Value, typename Key>
void SecretSealer::Cache<Value, Key>::Erase(const std::string& key) {
  auto it = map_.find(key);
  if (it == map_.end()) return;
  auto node = it->second;
  map_.erase(it);
  lru_.erase(node);
}

template <typename Value, typename Key>
void SecretSealer::Cache<Value, Key>::Clear() {
  map_.clear();
  lru_.clear();
}

template <typename Value, typename Key>
void SecretSealer::Cache<Value, Key>::SetMaxEntries(size_t max_entries) {
  max_entries_ = max_entries;
  while (map_.size() > max_entries_) {
    map_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

void SecretSealer::ClearCache() {
  std::lock_guard lock(mu_);
  encrypt_cache_.Clear();
  decrypt_cache_.Clear();
  opened_cache_.Clear();
}

void SecretSealer::SetMaxOpenedValues(size_t max_values) {
  std::lock_guard lock(mu_);
  opened_cache_.SetMaxEntries(max_values);
}

size_t SecretSealer::OpenedValuesCached() {
  std::lock_guard lock(mu_);
  return opened_cache_.Size();
}

bool SecretSealer::Fresh(Clock::TimePoint created) const { return clock_.Now() - created < options_.max_age; }

bool SecretSealer::KeyEnabled() {
  auto state = kms_.KeyStateOf(key_id_);
  return state.ok() && *state == KeyState::kEnabled;
}

EncryptionContext SecretSealer::DataKeyContext(const EncryptionContext& context) const {
  EncryptionContext out{{kPurposeKey, kPurpose}};
  for (const auto& k : options_.data_key_context_keys) {
    if (auto it = context.find(k); it != context.end()) out.emplace(k, it->second);
  }
  return out;
}

Result<std::string> SecretSealer::Seal(std::string_view plaintext, const EncryptionContext& context) {
  EncryptionContext key_context = DataKeyContext(context);
  std::string cache_key = CanonicalContext(key_context);
  SecureBytes data_key;
  std::string encrypted_data_key;
  std::string salt_and_nonce;
  {
    std::lock_guard lock(mu_);
    Entry* e = encrypt_cache_.Find(cache_key);
    if (e != nullptr) {
      auto current = kms_.CurrentKeyVersionOf(key_id_);
      if (!Fresh(e->created) || e->uses >= options_.max_messages_per_data_key || !KeyEnabled() || !current.ok() ||
          e->key_version < *current) {
        encrypt_cache_.Erase(cache_key);
        e = nullptr;
      }
    }
    if (e == nullptr) {
      SIMPLEAD_ASSIGN_OR_RETURN(
          DataKeyResult dk, kms_.GenerateDataKey(caller_, key_id_, DataKeySpec{"AES_256", std::nullopt}, key_context));
      if (dk.ciphertext_blob.size() > 0xffff) return InternalError("encrypted data key too large");
      encrypt_cache_.Put(cache_key,
                         Entry{std::move(dk.plaintext), dk.ciphertext_blob, clock_.Now(), 0, dk.key_version});
      e = encrypt_cache_.Find(cache_key);
    }
    ++e->uses;
    data_key = e->data_key;
    encrypted_data_key = e->encrypted_data_key;
    // From the pool: a DRBG call per value was 1.5 % of an import.
    salt_and_nonce = random_.String(kSaltSize + kGcmNonceSize);
  }
  std::string_view salt = std::string_view(salt_and_nonce).substr(0, kSaltSize);
  std::string_view nonce = std::string_view(salt_and_nonce).substr(kSaltSize);
  std::string ctx = CanonicalContext(context);
  SIMPLEAD_ASSIGN_OR_RETURN(SecureBytes value_key, ValueKey(data_key, salt, ctx));
  std::string out;
  out.reserve(3 + encrypted_data_key.size() + salt_and_nonce.size() + ctx.size() + plaintext.size() + kGcmTagSize);
  out.push_back(static_cast<char>(kFormatDerivedKey));
  out.push_back(static_cast<char>(encrypted_data_key.size() >> 8));
  out.push_back(static_cast<char>(encrypted_data_key.size() & 0xff));
  out += encrypted_data_key;
  out += salt_and_nonce;
  size_t header_size = out.size();
  out += ctx;  // AAD = header || context; the context is then replaced by the ciphertext
  SIMPLEAD_ASSIGN_OR_RETURN(std::string ct, GcmSeal(value_key, nonce, plaintext, out));
  out.resize(header_size);
  out += ct;
  return out;
}

namespace {
std::string DecryptCacheKey(std::string_view encrypted_data_key, const std::string& canonical_context) {
  std::string cache_key(encrypted_data_key);
  AppendU32(cache_key, static_cast<uint32_t>(canonical_context.size()));
  cache_key += canonical_context;
  return cache_key;
}

}  // namespace

// The whole sealed value and its context, each length-prefixed, as their
// SHA-256: a 32-byte key (held inline, DigestKey) instead of some 400
// bytes, so that an opened value costs about 190 bytes of memory. Without the
// kit (or should it fail), OpenSSL's one-shot SHA256().
std::string SecretSealer::OpenedCacheKey(std::string_view sealed, const std::string& canonical_context) const {
  // Each part carries its length, so that no two (value, context) pairs
  // hash the same bytes.
  std::string sealed_size, context_size;
  AppendU32(sealed_size, static_cast<uint32_t>(sealed.size()));
  AppendU32(context_size, static_cast<uint32_t>(canonical_context.size()));
  if (crypto_) {
    auto digest = crypto_->Sha256({sealed_size, sealed, context_size, canonical_context});
    if (digest.ok()) return std::move(*digest);
  }
  std::string key = sealed_size;
  key += sealed;
  key += context_size;
  key += canonical_context;
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), reinterpret_cast<unsigned char*>(digest.data()));
  return digest;
}

SecretSealer::Entry* SecretSealer::UsableCachedKey(const std::string& cache_key) {
  Entry* e = decrypt_cache_.Find(cache_key);
  if (e != nullptr && (!Fresh(e->created) || !KeyEnabled())) {
    decrypt_cache_.Erase(cache_key);
    e = nullptr;
  }
  return e;
}

Result<SecureBytes> SecretSealer::DataKeyFor(std::string_view encrypted_data_key, const EncryptionContext& context,
                                             const std::string& canonical_context, Clock::TimePoint* cached_at) {
  std::string cache_key = DecryptCacheKey(encrypted_data_key, canonical_context);
  Entry* e = UsableCachedKey(cache_key);
  if (e == nullptr) {
    SIMPLEAD_ASSIGN_OR_RETURN(DecryptResult d, kms_.Decrypt(caller_, encrypted_data_key, context));
    decrypt_cache_.Put(cache_key, Entry{std::move(d.plaintext), std::string(encrypted_data_key), clock_.Now(), 0,
                                        d.key_version});
    e = decrypt_cache_.Find(cache_key);
  }
  *cached_at = e->created;
  return e->data_key;
}

Status SecretSealer::AuditedMismatch() {
  Status mismatch = KmsStatus(KmsError::kInvalidCiphertext, "sealed value does not match its encryption context");
  Status audited = kms_.AuditRejectedCall(caller_, "Decrypt", mismatch);
  return audited.ok() ? mismatch : audited;
}

Result<SecureBytes> SecretSealer::Open(std::string_view sealed, const EncryptionContext& context) {
  return *OpenImpl(sealed, context, /*cached_only=*/false);
}

std::optional<SecureBytes> SecretSealer::OpenFromCache(std::string_view sealed, const EncryptionContext& context) {
  auto opened = OpenImpl(sealed, context, /*cached_only=*/true);
  if (!opened || !opened->ok()) return std::nullopt;
  return std::move(**opened);
}

std::optional<Result<SecureBytes>> SecretSealer::OpenImpl(std::string_view sealed, const EncryptionContext& context,
                                                          bool cached_only) {
  // In cached-only mode every failure is left to Open(), which reports it
  // (and audits a mismatch) on a thread that may block.
  auto fail = [&](Status status) -> std::optional<Result<SecureBytes>> {
    if (cached_only) return std::nullopt;
    return Result<SecureBytes>(std::move(status));
  };
  auto p = Split(sealed);
  if (!p.ok()) return fail(p.status());
  std::string ctx = CanonicalContext(context);
  std::string opened_key = OpenedCacheKey(sealed, ctx);
  bool derived = p->format == kFormatDerivedKey;
  SecureBytes data_key;
  Clock::TimePoint key_cached_at;
  {
    std::lock_guard lock(mu_);
    // The same checks a cached data key passes (fresh, CMK enabled), so a
    // disabled key fails closed here too.
    if (OpenedValue* hit = opened_cache_.Find(opened_key)) {
      if (Fresh(hit->created) && KeyEnabled()) return Result<SecureBytes>(hit->plaintext);
      opened_cache_.Erase(opened_key);
    }
    EncryptionContext key_context = derived ? DataKeyContext(context) : context;
    std::string key_ctx = derived ? CanonicalContext(key_context) : ctx;
    if (cached_only) {
      Entry* e = UsableCachedKey(DecryptCacheKey(p->encrypted_data_key, key_ctx));
      if (e == nullptr) return std::nullopt;
      data_key = e->data_key;
      key_cached_at = e->created;
    } else {
      auto found = DataKeyFor(p->encrypted_data_key, key_context, key_ctx, &key_cached_at);
      if (!found.ok()) return fail(found.status());
      data_key = std::move(*found);
    }
  }
  std::string aad;
  aad.reserve(p->header.size() + ctx.size());
  aad += p->header;
  aad += ctx;
  Result<SecureBytes> plaintext = SecureBytes();
  if (derived) {
    auto value_key = ValueKey(data_key, p->salt, ctx);
    if (!value_key.ok()) return fail(value_key.status());
    plaintext = GcmOpen(*value_key, p->nonce, p->ciphertext, aad);
    if (!plaintext.ok()) return cached_only ? std::nullopt : fail(AuditedMismatch());  // no audit write inline
  } else {
    plaintext = GcmOpen(data_key, p->nonce, p->ciphertext, aad);
    if (!plaintext.ok()) {
      return fail(KmsStatus(KmsError::kInvalidCiphertext, "sealed value does not match its encryption context"));
    }
  }
  std::lock_guard lock(mu_);
  opened_cache_.Put(opened_key, OpenedValue{*plaintext, key_cached_at});
  return plaintext;
}

Result<std::string> SecretSealer::Rewrap(std::string_view sealed, const EncryptionContext& context) {
  SIMPLEAD_ASSIGN_OR_RETURN(SecureBytes plaintext, Open(sealed, context));
  return Seal(plaintext.view(), context);
}

}  // namespace simplead::kms
