#include "lib/kms/crypto.h"

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

namespace simplead::kms {
namespace {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

const EVP_CIPHER* GcmCipher(size_t key_size) {
  switch (key_size) {
    case 16: return EVP_aes_128_gcm();
    case 24: return EVP_aes_192_gcm();
    case 32: return EVP_aes_256_gcm();
    default: return nullptr;
  }
}

const unsigned char* U(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// AES-GCM with a given cipher (the free functions pass the built-in one,
// CryptoKit the one it fetched once): ciphertext followed by the 16-byte tag.
Result<std::string> GcmSealWith(const EVP_CIPHER* cipher, const SecureBytes& key, std::string_view nonce,
                                std::string_view plaintext, std::string_view aad) {
  if (cipher == nullptr) return InternalError("AES-GCM: bad key size");
  if (nonce.size() != kGcmNonceSize) return InternalError("AES-GCM: nonce must be 96 bits");
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return InternalError("AES-GCM: out of memory");
  std::string out(plaintext.size() + kGcmTagSize, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  if (EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, key.data(), U(nonce)) != 1 ||
      (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1) ||
      (!plaintext.empty() &&
       EVP_EncryptUpdate(ctx.get(), o, &len, U(plaintext), static_cast<int>(plaintext.size())) != 1) ||
      EVP_EncryptFinal_ex(ctx.get(), o + plaintext.size(), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagSize, o + plaintext.size()) != 1) {
    return InternalError("AES-GCM: encryption failed");
  }
  return out;
}

Result<SecureBytes> GcmOpenWith(const EVP_CIPHER* cipher, const SecureBytes& key, std::string_view nonce,
                                std::string_view ciphertext_and_tag, std::string_view aad) {
  if (cipher == nullptr) return InternalError("AES-GCM: bad key size");
  if (nonce.size() != kGcmNonceSize) return InternalError("AES-GCM: nonce must be 96 bits");
  if (ciphertext_and_tag.size() < kGcmTagSize) return InternalError("AES-GCM: ciphertext too short");
  size_t ct_len = ciphertext_and_tag.size() - kGcmTagSize;
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return InternalError("AES-GCM: out of memory");
  SecureBytes out(ct_len);
  int len = 0;
  unsigned char tag[kGcmTagSize];
  std::memcpy(tag, ciphertext_and_tag.data() + ct_len, kGcmTagSize);
  if (EVP_DecryptInit_ex(ctx.get(), cipher, nullptr, key.data(), U(nonce)) != 1 ||
      (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1) ||
      (ct_len > 0 &&
       EVP_DecryptUpdate(ctx.get(), out.data(), &len, U(ciphertext_and_tag), static_cast<int>(ct_len)) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagSize, tag) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), out.data() + ct_len, &len) != 1) {
    return InternalError("AES-GCM: authentication failed");
  }
  return out;
}

}  // namespace

Result<std::string> AesGcmSeal(const SecureBytes& key, std::string_view nonce, std::string_view plaintext,
                               std::string_view aad) {
  return GcmSealWith(GcmCipher(key.size()), key, nonce, plaintext, aad);
}

Result<SecureBytes> HkdfSha256(const SecureBytes& key, std::string_view salt, std::string_view info,
                               size_t length) {
  struct PkeyCtxDeleter {
    void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
  };
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
  if (!ctx || length == 0 || length > 255 * 32) return InternalError("HKDF: bad arguments");
  SecureBytes out(length);
  size_t out_len = length;
  if (EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), U(salt), static_cast<int>(salt.size())) != 1 ||
      EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), key.data(), static_cast<int>(key.size())) != 1 ||
      EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), U(info), static_cast<int>(info.size())) != 1 ||
      EVP_PKEY_derive(ctx.get(), out.data(), &out_len) != 1 || out_len != length) {
    return InternalError("HKDF: derivation failed");
  }
  return out;
}

Result<SecureBytes> AesGcmOpen(const SecureBytes& key, std::string_view nonce,
                               std::string_view ciphertext_and_tag, std::string_view aad) {
  return GcmOpenWith(GcmCipher(key.size()), key, nonce, ciphertext_and_tag, aad);
}

Result<std::unique_ptr<AesGcmAead>> AesGcmAead::Create(SecureBytes key) {
  if (key.size() != 16 && key.size() != 32) return InternalError("AES-GCM: key must be 128 or 256 bits");
  return std::unique_ptr<AesGcmAead>(new AesGcmAead(std::move(key)));
}

Result<std::string> AesGcmAead::Encrypt(std::string_view plaintext, std::string_view aad) const {
  SIMPLEAD_ASSIGN_OR_RETURN(std::string nonce, RandomString(kGcmNonceSize));
  SIMPLEAD_ASSIGN_OR_RETURN(std::string sealed, AesGcmSeal(key_, nonce, plaintext, aad));
  return nonce + sealed;
}

Result<SecureBytes> AesGcmAead::Decrypt(std::string_view ciphertext, std::string_view aad) const {
  if (ciphertext.size() < kGcmNonceSize + kGcmTagSize) return InternalError("AES-GCM: ciphertext too short");
  return AesGcmOpen(key_, ciphertext.substr(0, kGcmNonceSize), ciphertext.substr(kGcmNonceSize), aad);
}

// ---------------------------------------------------------------------------
// CryptoKit

struct CryptoKit::Algorithms {
  struct MacDeleter {
    void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
  };
  struct MacCtxDeleter {
    void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
  };
  struct CipherDeleter {
    void operator()(EVP_CIPHER* c) const { EVP_CIPHER_free(c); }
  };
  std::unique_ptr<EVP_MAC, MacDeleter> hmac;
  // HMAC-SHA256 with the digest already resolved; copied, then re-keyed, per call.
  std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> hmac_sha256;
  std::unique_ptr<EVP_CIPHER, CipherDeleter> aes128_gcm, aes192_gcm, aes256_gcm;
  struct MdDeleter {
    void operator()(EVP_MD* m) const { EVP_MD_free(m); }
  };
  std::unique_ptr<EVP_MD, MdDeleter> sha256;

  const EVP_CIPHER* Gcm(size_t key_size) const {
    switch (key_size) {
      case 16: return aes128_gcm.get();
      case 24: return aes192_gcm.get();
      case 32: return aes256_gcm.get();
      default: return nullptr;
    }
  }
};

Result<std::unique_ptr<CryptoKit>> CryptoKit::Create() {
  auto a = std::make_unique<Algorithms>();
  a->hmac.reset(EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr));
  if (a->hmac) a->hmac_sha256.reset(EVP_MAC_CTX_new(a->hmac.get()));
  if (!a->hmac_sha256) return InternalError("HMAC-SHA256 is not available");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_END};
  // A throw-away key completes the template, so copies only need re-keying.
  static constexpr unsigned char kTemplateKey[32] = {};
  if (EVP_MAC_init(a->hmac_sha256.get(), kTemplateKey, sizeof kTemplateKey, params) != 1) {
    return InternalError("HMAC-SHA256 is not available");
  }
  a->aes128_gcm.reset(EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr));
  a->aes192_gcm.reset(EVP_CIPHER_fetch(nullptr, "AES-192-GCM", nullptr));
  a->aes256_gcm.reset(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
  if (!a->aes128_gcm || !a->aes192_gcm || !a->aes256_gcm) return InternalError("AES-GCM is not available");
  a->sha256.reset(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  if (!a->sha256) return InternalError("SHA-256 is not available");
  return std::unique_ptr<CryptoKit>(new CryptoKit(std::move(a)));
}

CryptoKit::CryptoKit(std::unique_ptr<Algorithms> algorithms) : algorithms_(std::move(algorithms)) {}
CryptoKit::~CryptoKit() = default;

Status CryptoKit::HmacSha256(std::string_view key, std::initializer_list<std::string_view> data, uint8_t* out) const {
  std::unique_ptr<EVP_MAC_CTX, Algorithms::MacCtxDeleter> ctx(EVP_MAC_CTX_dup(algorithms_->hmac_sha256.get()));
  if (!ctx || EVP_MAC_init(ctx.get(), U(key), key.size(), nullptr) != 1) return InternalError("HMAC: init failed");
  for (std::string_view d : data) {
    if (!d.empty() && EVP_MAC_update(ctx.get(), U(d), d.size()) != 1) return InternalError("HMAC: update failed");
  }
  size_t n = 0;
  if (EVP_MAC_final(ctx.get(), out, &n, SHA256_DIGEST_LENGTH) != 1 || n != SHA256_DIGEST_LENGTH) {
    return InternalError("HMAC: final failed");
  }
  return Status::Ok();
}

Result<std::string> CryptoKit::Sha256(std::initializer_list<std::string_view> data) const {
  struct MdCtxDeleter {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex2(ctx.get(), algorithms_->sha256.get(), nullptr) != 1) {
    return InternalError("SHA-256: init failed");
  }
  for (std::string_view d : data) {
    if (!d.empty() && EVP_DigestUpdate(ctx.get(), d.data(), d.size()) != 1) {
      return InternalError("SHA-256: update failed");
    }
  }
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  unsigned int n = 0;
  auto* digest = reinterpret_cast<unsigned char*>(out.data());
  if (EVP_DigestFinal_ex(ctx.get(), digest, &n) != 1 || n != SHA256_DIGEST_LENGTH) {
    return InternalError("SHA-256: final failed");
  }
  return out;
}

// RFC 5869 §2.2-2.3: PRK = HMAC(salt, IKM); T(i) = HMAC(PRK, T(i-1) | info | i).
Result<SecureBytes> CryptoKit::HkdfSha256(const SecureBytes& key, std::string_view salt, std::string_view info,
                                          size_t length) const {
  if (length == 0 || length > 255 * SHA256_DIGEST_LENGTH) return InternalError("HKDF: bad arguments");
  // An absent salt is HashLen zero bytes (§2.2).
  static constexpr char kZeroSalt[SHA256_DIGEST_LENGTH] = {};
  if (salt.empty()) salt = std::string_view(kZeroSalt, sizeof kZeroSalt);
  SecureBytes prk(SHA256_DIGEST_LENGTH);
  SIMPLEAD_RETURN_IF_ERROR(HmacSha256(salt, {key.view()}, prk.data()));
  SecureBytes block(SHA256_DIGEST_LENGTH);
  SecureBytes out(length);
  size_t done = 0;
  for (unsigned i = 1; done < length; ++i) {
    const char counter = static_cast<char>(i);
    std::string_view previous = i == 1 ? std::string_view() : block.view();
    SIMPLEAD_RETURN_IF_ERROR(HmacSha256(prk.view(), {previous, info, std::string_view(&counter, 1)}, block.data()));
    size_t n = std::min<size_t>(SHA256_DIGEST_LENGTH, length - done);
    std::memcpy(out.data() + done, block.data(), n);
    done += n;
  }
  return out;
}

Result<std::string> CryptoKit::AesGcmSeal(const SecureBytes& key, std::string_view nonce, std::string_view plaintext,
                                          std::string_view aad) const {
  return GcmSealWith(algorithms_->Gcm(key.size()), key, nonce, plaintext, aad);
}

Result<SecureBytes> CryptoKit::AesGcmOpen(const SecureBytes& key, std::string_view nonce,
                                          std::string_view ciphertext_and_tag, std::string_view aad) const {
  return GcmOpenWith(algorithms_->Gcm(key.size()), key, nonce, ciphertext_and_tag, aad);
}

// ---------------------------------------------------------------------------

Result<SecureBytes> RandomSecureBytes(size_t n) {
  SecureBytes out(n);
  if (n > 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1) return InternalError("RAND_bytes failed");
  return out;
}

Result<std::string> RandomString(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return InternalError("RAND_bytes failed");
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(U(data), data.size(), digest);
  return HexEncode({reinterpret_cast<const char*>(digest), sizeof digest});
}

std::string HexEncode(std::string_view data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (unsigned char c : data) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

Result<std::string> HexDecode(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return InternalError("hex: odd length");
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return InternalError("hex: bad digit");
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

std::string Base64Encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), U(data), static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return Error(ResultCode::kInvalidAttributeSyntax, "base64: length is not a multiple of 4");
  for (char c : text) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
              c == '=';
    if (!ok) return Error(ResultCode::kInvalidAttributeSyntax, "base64: invalid character");
  }
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), U(text), static_cast<int>(text.size()));
  if (n < 0) return Error(ResultCode::kInvalidAttributeSyntax, "base64: malformed");
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

namespace {

// RFC 9562 §5.4: 122 random bits, version 4, variant 10.
std::string FormatRandomUuid(UuidBytes b) {
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  return FormatUuid(b);
}

}  // namespace

std::string NewUuid() {
  UuidBytes b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) std::abort();  // DRBG failure is not recoverable
  return FormatRandomUuid(b);
}

std::string UuidSource::Next() {
  UuidBytes b{};
  random_.Fill(b.data(), b.size());
  return FormatRandomUuid(b);
}

std::string FormatUuid(const UuidBytes& b) {
  std::string hex = HexEncode({reinterpret_cast<const char*>(b.data()), b.size()});
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20);
}

Result<UuidBytes> ParseUuid(std::string_view text) {
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-') {
    return Error(ResultCode::kInvalidAttributeSyntax, "not a UUID");
  }
  std::string hex;
  for (char c : text) {
    if (c != '-') hex.push_back(c);
  }
  auto raw = HexDecode(hex);
  if (!raw.ok()) return Error(ResultCode::kInvalidAttributeSyntax, "not a UUID");
  UuidBytes b{};
  std::memcpy(b.data(), raw->data(), b.size());
  return b;
}

}  // namespace simplead::kms
