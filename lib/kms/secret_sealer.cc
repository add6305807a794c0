#include "lib/kms/secret_sealer.h"

namespace simplead::kms {
namespace {

constexpr uint8_t kSealedFormatVersion = 1;

struct SealedParts {
  std::string_view encrypted_data_key;
  std::string_view header;  // everything authenticated before the ciphertext
  std::string_view nonce;
  std::string_view ciphertext;
};

Result<SealedParts> Split(std::string_view sealed) {
  auto bad = [] { return KmsStatus(KmsError::kInvalidCiphertext, "sealed value is truncated or not sealed"); };
  if (sealed.size() < 3 || static_cast<uint8_t>(sealed[0]) != kSealedFormatVersion) return bad();
  size_t n = static_cast<size_t>(static_cast<unsigned char>(sealed[1])) << 8 | static_cast<unsigned char>(sealed[2]);
  if (sealed.size() < 3 + n + kGcmNonceSize + kGcmTagSize) return bad();
  SealedParts p;
  p.encrypted_data_key = sealed.substr(3, n);
  p.nonce = sealed.substr(3 + n, kGcmNonceSize);
  p.header = sealed.substr(0, 3 + n + kGcmNonceSize);
  p.ciphertext = sealed.substr(3 + n + kGcmNonceSize);
  return p;
}

}  // namespace

Result<SealedKeyVersion> SealedValueKeyVersion(std::string_view sealed) {
  SIMPLEAD_ASSIGN_OR_RETURN(SealedParts p, Split(sealed));
  auto h = ParseBlobHeader(p.encrypted_data_key);
  if (!h.ok()) return KmsStatus(KmsError::kInvalidCiphertext, h.status().message());
  return SealedKeyVersion{FormatUuid(h->key_id), h->key_version};
}

SecretSealer::SecretSealer(Kms& kms, Caller caller, std::string key_id, const Clock& clock,
                           DataKeyCacheOptions options)
    : kms_(kms), caller_(std::move(caller)), key_id_(std::move(key_id)), clock_(clock), options_(options),
      encrypt_cache_(options.max_entries), decrypt_cache_(options.max_entries) {}

SecretSealer::Entry* SecretSealer::Cache::Find(const std::string& key) {
  auto it = map_.find(key);
  if (it == map_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.second);
  return &it->second.first;
}

void SecretSealer::Cache::Put(const std::string& key, Entry entry) {
  Erase(key);
  if (max_entries_ == 0) return;
  while (map_.size() >= max_entries_) {
    map_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(key);
  map_.emplace(key, std::make_pair(std::move(entry), lru_.begin()));
}

void SecretSealer::Cache::Erase(const std::string& key) {
  auto it = map_.find(key);
  if (it == map_.end()) return;
  lru_.erase(it->second.second);
  map_.erase(it);
}

void SecretSealer::Cache::Clear() {
  map_.clear();
  lru_.clear();
}

void SecretSealer::ClearCache() {
  std::lock_guard lock(mu_);
  encrypt_cache_.Clear();
  decrypt_cache_.Clear();
}

bool SecretSealer::Fresh(const Entry& e) const { return clock_.Now() - e.created < options_.max_age; }

bool SecretSealer::KeyEnabled() {
  auto state = kms_.KeyStateOf(key_id_);
  return state.ok() && *state == KeyState::kEnabled;
}

Result<std::string> SecretSealer::Seal(std::string_view plaintext, const EncryptionContext& context) {
  std::string ctx = CanonicalContext(context);
  std::lock_guard lock(mu_);
  Entry* e = encrypt_cache_.Find(ctx);
  if (e != nullptr && (!Fresh(*e) || e->uses >= options_.max_messages_per_data_key || !KeyEnabled())) {
    encrypt_cache_.Erase(ctx);
    e = nullptr;
  }
  if (e == nullptr) {
    SIMPLEAD_ASSIGN_OR_RETURN(DataKeyResult dk,
                              kms_.GenerateDataKey(caller_, key_id_, DataKeySpec{"AES_256", std::nullopt}, context));
    if (dk.ciphertext_blob.size() > 0xffff) return InternalError("encrypted data key too large");
    encrypt_cache_.Put(ctx, Entry{std::move(dk.plaintext), dk.ciphertext_blob, clock_.Now(), 0});
    e = encrypt_cache_.Find(ctx);
  }
  ++e->uses;
  SIMPLEAD_ASSIGN_OR_RETURN(std::string nonce, RandomString(kGcmNonceSize));
  std::string out;
  out.push_back(static_cast<char>(kSealedFormatVersion));
  out.push_back(static_cast<char>(e->encrypted_data_key.size() >> 8));
  out.push_back(static_cast<char>(e->encrypted_data_key.size() & 0xff));
  out += e->encrypted_data_key;
  out += nonce;
  SIMPLEAD_ASSIGN_OR_RETURN(std::string ct, AesGcmSeal(e->data_key, nonce, plaintext, out + ctx));
  return out + ct;
}

Result<SecureBytes*> SecretSealer::DataKeyFor(std::string_view encrypted_data_key, const EncryptionContext& context,
                                               const std::string& canonical_context) {
  std::string cache_key(encrypted_data_key);
  AppendU32(cache_key, static_cast<uint32_t>(canonical_context.size()));
  cache_key += canonical_context;
  Entry* e = decrypt_cache_.Find(cache_key);
  if (e != nullptr && (!Fresh(*e) || !KeyEnabled())) {
    decrypt_cache_.Erase(cache_key);
    e = nullptr;
  }
  if (e == nullptr) {
    SIMPLEAD_ASSIGN_OR_RETURN(DecryptResult d, kms_.Decrypt(caller_, encrypted_data_key, context));
    decrypt_cache_.Put(cache_key, Entry{std::move(d.plaintext), std::string(encrypted_data_key), clock_.Now(), 0});
    e = decrypt_cache_.Find(cache_key);
  }
  return &e->data_key;
}

Result<SecureBytes> SecretSealer::Open(std::string_view sealed, const EncryptionContext& context) {
  SIMPLEAD_ASSIGN_OR_RETURN(SealedParts p, Split(sealed));
  std::string ctx = CanonicalContext(context);
  std::lock_guard lock(mu_);
  SIMPLEAD_ASSIGN_OR_RETURN(SecureBytes * data_key, DataKeyFor(p.encrypted_data_key, context, ctx));
  auto plaintext = AesGcmOpen(*data_key, p.nonce, p.ciphertext, std::string(p.header) + ctx);
  if (!plaintext.ok()) {
    return KmsStatus(KmsError::kInvalidCiphertext, "sealed value does not match its encryption context");
  }
  return plaintext;
}

Result<std::string> SecretSealer::Rewrap(std::string_view sealed, const EncryptionContext& context) {
  SIMPLEAD_ASSIGN_OR_RETURN(SealedParts p, Split(sealed));
  std::string ctx = CanonicalContext(context);
  std::lock_guard lock(mu_);
  SIMPLEAD_ASSIGN_OR_RETURN(SecureBytes * cached_key, DataKeyFor(p.encrypted_data_key, context, ctx));
  SecureBytes data_key = *cached_key;
  auto plaintext = AesGcmOpen(data_key, p.nonce, p.ciphertext, std::string(p.header) + ctx);
  if (!plaintext.ok()) {
    return KmsStatus(KmsError::kInvalidCiphertext, "sealed value does not match its encryption context");
  }
  SIMPLEAD_ASSIGN_OR_RETURN(ReEncryptResult r, kms_.ReEncrypt(caller_, p.encrypted_data_key, context, key_id_, context));
  if (r.ciphertext_blob.size() > 0xffff) return InternalError("encrypted data key too large");
  SIMPLEAD_ASSIGN_OR_RETURN(std::string nonce, RandomString(kGcmNonceSize));
  std::string out;
  out.push_back(static_cast<char>(kSealedFormatVersion));
  out.push_back(static_cast<char>(r.ciphertext_blob.size() >> 8));
  out.push_back(static_cast<char>(r.ciphertext_blob.size() & 0xff));
  out += r.ciphertext_blob;
  out += nonce;
  SIMPLEAD_ASSIGN_OR_RETURN(std::string ct, AesGcmSeal(data_key, nonce, plaintext->view(), out + ctx));
  return out + ct;
}

}  // namespace simplead::kms
