#include "lib/auth/password_hash.h"

#include <argon2.h>
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

namespace simplead::auth {
namespace {

// Limits on costs read from stored values: a corrupt or hostile verifier must
// not make one bind allocate gigabytes or spin for minutes.
constexpr uint32_t kMaxArgon2MemoryKib = 1024 * 1024;  // 1 GiB
constexpr uint32_t kMaxArgon2Iterations = 64;
constexpr uint32_t kMaxArgon2Parallelism = 64;
constexpr uint64_t kMaxPbkdf2Iterations = 10'000'000;
constexpr uint64_t kMaxCryptRounds = 5'000'000;  // $5$/$6$ rounds=

constexpr size_t kSaltBytes = 16;
constexpr size_t kArgon2HashBytes = 32;
constexpr size_t kPbkdf2HashBytes = 64;
constexpr size_t kSshaSaltBytes = 8;

Status Malformed(std::string_view what) { return InternalError("malformed password verifier: " + std::string(what)); }

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// "{SCHEME}rest" -> ("SCHEME" upper-cased, "rest").
bool SplitScheme(std::string_view stored, std::string* scheme, std::string_view* rest) {
  if (stored.size() < 3 || stored[0] != '{') return false;
  size_t close = stored.find('}');
  if (close == std::string_view::npos || close == 1) return false;
  *scheme = Upper(stored.substr(1, close - 1));
  *rest = stored.substr(close + 1);
  return true;
}

bool RandomBytes(uint8_t* out, size_t n) { return RAND_bytes(out, static_cast<int>(n)) == 1; }

std::string Base64Encode(const uint8_t* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

// Decodes standard base64 with or without padding, and the "adapted" base64
// of OpenLDAP's pw-pbkdf2 and passlib ('.' for '+', no padding).
std::optional<std::vector<uint8_t>> Base64Decode(std::string_view in) {
  std::string text(in);
  for (char& c : text) {
    if (c == '.') c = '+';
  }
  while (!text.empty() && text.back() == '=') text.pop_back();
  if (text.size() % 4 == 1) return std::nullopt;
  size_t pad = (4 - text.size() % 4) % 4;
  text.append(pad, '=');
  if (text.empty()) return std::vector<uint8_t>();
  std::vector<uint8_t> out(text.size() / 4 * 3);
  int len =
      EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (len < 0 || static_cast<size_t>(len) < pad) return std::nullopt;
  out.resize(static_cast<size_t>(len) - pad);
  return out;
}

std::optional<uint64_t> ParseUint(std::string_view s) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

bool ConstantTimeEquals(const uint8_t* a, const uint8_t* b, size_t n) { return CRYPTO_memcmp(a, b, n) == 0; }

// ---- Argon2 ---------------------------------------------------------------

struct Argon2Params {
  argon2_type type;
  uint32_t memory_kib = 0, iterations = 0, parallelism = 0;
};

// Parses "$argon2id$v=19$m=..,t=..,p=..$salt$hash" (v= optional, as in the
// reference format before 1.3).
std::optional<Argon2Params> ParseArgon2(std::string_view encoded) {
  Argon2Params p;
  if (StartsWith(encoded, "$argon2id$")) {
    p.type = Argon2_id;
  } else if (StartsWith(encoded, "$argon2i$")) {
    p.type = Argon2_i;
  } else if (StartsWith(encoded, "$argon2d$")) {
    p.type = Argon2_d;
  } else {
    return std::nullopt;
  }
  std::vector<std::string_view> parts;
  size_t start = 1;
  while (start <= encoded.size()) {
    size_t dollar = encoded.find('$', start);
    if (dollar == std::string_view::npos) dollar = encoded.size();
    parts.push_back(encoded.substr(start, dollar - start));
    start = dollar + 1;
  }
  size_t i = 1;
  if (i < parts.size() && StartsWith(parts[i], "v=")) ++i;
  if (parts.size() != i + 3) return std::nullopt;
  std::string_view cost = parts[i];
  bool have_m = false, have_t = false, have_p = false;
  while (!cost.empty()) {
    size_t comma = cost.find(',');
    std::string_view kv = cost.substr(0, comma);
    cost = comma == std::string_view::npos ? std::string_view() : cost.substr(comma + 1);
    if (kv.size() < 3 || kv[1] != '=') return std::nullopt;
    auto v = ParseUint(kv.substr(2));
    if (!v || *v > UINT32_MAX) return std::nullopt;
    switch (kv[0]) {
      case 'm':
        p.memory_kib = static_cast<uint32_t>(*v);
        have_m = true;
        break;
      case 't':
        p.iterations = static_cast<uint32_t>(*v);
        have_t = true;
        break;
      case 'p':
        p.parallelism = static_cast<uint32_t>(*v);
        have_p = true;
        break;
      default:
        return std::nullopt;
    }
  }
  if (!have_m || !have_t || !have_p) return std::nullopt;
  return p;
}

Result<std::string> HashArgon2(std::string_view password, const HashParams& params) {
  uint8_t salt[kSaltBytes];
  if (!RandomBytes(salt, sizeof salt)) return InternalError("RAND_bytes failed");
  size_t len = argon2_encodedlen(params.argon2_iterations, params.argon2_memory_kib, params.argon2_parallelism,
                                 kSaltBytes, kArgon2HashBytes, Argon2_id);
  std::string encoded(len, '\0');
  int rc = argon2id_hash_encoded(params.argon2_iterations, params.argon2_memory_kib, params.argon2_parallelism,
                                 password.data(), password.size(), salt, sizeof salt, kArgon2HashBytes, encoded.data(),
                                 encoded.size());
  if (rc != ARGON2_OK) return InternalError(std::string("argon2id: ") + argon2_error_message(rc));
  encoded.resize(std::strlen(encoded.c_str()));
  return "{ARGON2}" + encoded;
}

Result<bool> VerifyArgon2(std::string_view password, std::string_view encoded) {
  auto p = ParseArgon2(encoded);
  if (!p) return Malformed("bad {ARGON2} value");
  if (p->memory_kib > kMaxArgon2MemoryKib || p->iterations > kMaxArgon2Iterations ||
      p->parallelism > kMaxArgon2Parallelism) {
    return Malformed("{ARGON2} cost beyond the accepted limits");
  }
  std::string nul_terminated(encoded);
  int rc = argon2_verify(nul_terminated.c_str(), password.data(), password.size(), p->type);
  if (rc == ARGON2_OK) return true;
  if (rc == ARGON2_VERIFY_MISMATCH) return false;
  return Malformed(std::string("{ARGON2}: ") + argon2_error_message(rc));
}

// ---- PBKDF2 ---------------------------------------------------------------

const EVP_MD* Pbkdf2Digest(std::string_view scheme) {
  if (scheme == "PBKDF2-SHA512") return EVP_sha512();
  if (scheme == "PBKDF2-SHA256") return EVP_sha256();
  if (scheme == "PBKDF2" || scheme == "PBKDF2-SHA1") return EVP_sha1();
  return nullptr;
}

struct Pbkdf2Value {
  uint64_t iterations = 0;
  std::vector<uint8_t> salt, hash;
};

std::optional<Pbkdf2Value> ParsePbkdf2(std::string_view rest) {
  size_t d1 = rest.find('$');
  if (d1 == std::string_view::npos) return std::nullopt;
  size_t d2 = rest.find('$', d1 + 1);
  if (d2 == std::string_view::npos || rest.find('$', d2 + 1) != std::string_view::npos) return std::nullopt;
  auto iterations = ParseUint(rest.substr(0, d1));
  auto salt = Base64Decode(rest.substr(d1 + 1, d2 - d1 - 1));
  auto hash = Base64Decode(rest.substr(d2 + 1));
  if (!iterations || *iterations == 0 || !salt || !hash || salt->empty() || hash->empty() || hash->size() > 128) {
    return std::nullopt;
  }
  return Pbkdf2Value{*iterations, std::move(*salt), std::move(*hash)};
}

bool DerivePbkdf2(std::string_view password, const uint8_t* salt, size_t salt_len, uint64_t iterations,
                  const EVP_MD* md, uint8_t* out, size_t out_len) {
  return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt, static_cast<int>(salt_len),
                           static_cast<int>(iterations), md, static_cast<int>(out_len), out) == 1;
}

Result<std::string> HashPbkdf2(std::string_view password, const HashParams& params) {
  if (params.pbkdf2_iterations == 0) return InternalError("pbkdf2: iterations must be positive");
  uint8_t salt[kSaltBytes];
  if (!RandomBytes(salt, sizeof salt)) return InternalError("RAND_bytes failed");
  SecureBytes hash(kPbkdf2HashBytes);
  if (!DerivePbkdf2(password, salt, sizeof salt, params.pbkdf2_iterations, EVP_sha512(), hash.data(), hash.size())) {
    return InternalError("PKCS5_PBKDF2_HMAC failed");
  }
  return "{PBKDF2-SHA512}" + std::to_string(params.pbkdf2_iterations) + "$" + Base64Encode(salt, sizeof salt) + "$" +
         Base64Encode(hash.data(), hash.size());
}

Result<bool> VerifyPbkdf2(std::string_view password, std::string_view scheme, std::string_view rest) {
  auto v = ParsePbkdf2(rest);
  if (!v) return Malformed("bad {" + std::string(scheme) + "} value");
  if (v->iterations > kMaxPbkdf2Iterations) return Malformed("pbkdf2 iterations beyond the accepted limit");
  // The derived key is one digest long (as OpenLDAP's pw-pbkdf2 and passlib
  // write it); a shorter stored hash would be a weaker, truncated verifier.
  const EVP_MD* md = Pbkdf2Digest(scheme);
  if (v->hash.size() != static_cast<size_t>(EVP_MD_get_size(md))) return Malformed("pbkdf2 hash length");
  SecureBytes derived(v->hash.size());
  if (!DerivePbkdf2(password, v->salt.data(), v->salt.size(), v->iterations, md, derived.data(), derived.size())) {
    return InternalError("PKCS5_PBKDF2_HMAC failed");
  }
  return ConstantTimeEquals(derived.data(), v->hash.data(), derived.size());
}

// ---- Salted SHA (RFC 3112-era LDAP schemes) --------------------------------

// A SHA digest fetched once per process: with the legacy EVP_sha1() every
// EVP_DigestInit_ex fetches the implementation again (OpenSSL 3), which was
// half the cost of checking an {SSHA} verifier. Immutable once fetched; never
// freed, as OpenSSL's own exit-time cleanup may run first.
template <const EVP_MD* (*Legacy)()>
const EVP_MD* Fetched() {
  static const EVP_MD* const md = EVP_MD_fetch(nullptr, EVP_MD_get0_name(Legacy()), nullptr);
  return md != nullptr ? md : Legacy();
}
constexpr auto Sha1 = Fetched<EVP_sha1>;

struct ShaScheme {
  const char* name;
  const EVP_MD* (*md)();
  bool salted;
};
constexpr ShaScheme kShaSchemes[] = {
    {"SSHA", Fetched<EVP_sha1>, true},  {"SSHA256", Fetched<EVP_sha256>, true}, {"SSHA512", Fetched<EVP_sha512>, true},
    {"SHA", Fetched<EVP_sha1>, false},  {"SHA256", Fetched<EVP_sha256>, false}, {"SHA512", Fetched<EVP_sha512>, false},
};

const ShaScheme* FindShaScheme(std::string_view scheme) {
  for (const ShaScheme& s : kShaSchemes) {
    if (scheme == s.name) return &s;
  }
  return nullptr;
}

bool Digest(const EVP_MD* md, std::string_view password, const uint8_t* salt, size_t salt_len, uint8_t* out) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned int len = 0;
  return ctx && EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1 &&
         EVP_DigestUpdate(ctx.get(), password.data(), password.size()) == 1 &&
         EVP_DigestUpdate(ctx.get(), salt, salt_len) == 1 && EVP_DigestFinal_ex(ctx.get(), out, &len) == 1;
}

Result<std::string> HashSsha(std::string_view password) {
  const EVP_MD* md = Sha1();
  const size_t digest_len = static_cast<size_t>(EVP_MD_get_size(md));
  SecureBytes buf(digest_len + kSshaSaltBytes);
  uint8_t* salt = buf.data() + digest_len;
  if (!RandomBytes(salt, kSshaSaltBytes)) return InternalError("RAND_bytes failed");
  if (!Digest(md, password, salt, kSshaSaltBytes, buf.data())) return InternalError("SHA-1 failed");
  return "{SSHA}" + Base64Encode(buf.data(), buf.size());
}

Result<bool> VerifySha(std::string_view password, const ShaScheme& scheme, std::string_view rest) {
  const EVP_MD* md = scheme.md();
  const size_t digest_len = static_cast<size_t>(EVP_MD_get_size(md));
  auto raw = Base64Decode(rest);
  if (!raw || raw->size() < digest_len || (scheme.salted && raw->size() == digest_len) ||
      (!scheme.salted && raw->size() != digest_len)) {
    return Malformed("bad {" + std::string(scheme.name) + "} value");
  }
  SecureBytes computed(digest_len);
  if (!Digest(md, password, raw->data() + digest_len, raw->size() - digest_len, computed.data())) {
    return InternalError("digest failed");
  }
  return ConstantTimeEquals(computed.data(), raw->data(), digest_len);
}

// ---- crypt(3) -------------------------------------------------------------

Result<bool> VerifyCrypt(std::string_view password, std::string_view setting) {
  if (setting.empty() || setting.size() >= CRYPT_OUTPUT_SIZE || setting.find('\0') != std::string_view::npos) {
    return Malformed("bad {CRYPT} value");
  }
  if (StartsWith(setting, "$5$rounds=") || StartsWith(setting, "$6$rounds=")) {
    std::string_view r = setting.substr(10);
    auto rounds = ParseUint(r.substr(0, r.find('$')));
    if (!rounds || *rounds > kMaxCryptRounds) return Malformed("{CRYPT} rounds beyond the accepted limit");
  }
  // crypt(3) takes C strings: a password with an embedded NUL cannot match.
  if (password.find('\0') != std::string_view::npos) return false;
  SecureBytes pw(password.size() + 1);
  std::memcpy(pw.data(), password.data(), password.size());
  std::string setting_z(setting);
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const char* out = crypt_rn(reinterpret_cast<const char*>(pw.data()), setting_z.c_str(), data.get(),
                             static_cast<int>(sizeof(crypt_data)));
  Result<bool> result = Malformed("{CRYPT} method not supported by libcrypt");
  if (out != nullptr && out[0] != '*') {
    size_t len = std::strlen(out);
    result = len == setting.size() && ConstantTimeEquals(reinterpret_cast<const uint8_t*>(out),
                                                         reinterpret_cast<const uint8_t*>(setting.data()), len);
  }
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return result;
}

bool IsKnownScheme(std::string_view scheme) {
  return scheme == "ARGON2" || scheme == "CRYPT" || Pbkdf2Digest(scheme) != nullptr || FindShaScheme(scheme) != nullptr;
}

uint32_t RandomBelow(uint32_t n) {
  // Rejection sampling keeps the distribution uniform.
  const uint32_t limit = UINT32_MAX - UINT32_MAX % n;
  for (;;) {
    uint32_t r = 0;
    if (!RandomBytes(reinterpret_cast<uint8_t*>(&r), sizeof r)) std::abort();  // no safe fallback for a CSPRNG
    if (r < limit) return r % n;
  }
}

}  // namespace

Result<std::string> HashPassword(std::string_view password, const HashParams& params) {
  switch (params.scheme) {
    case HashScheme::kArgon2id:
      return HashArgon2(password, params);
    case HashScheme::kPbkdf2Sha512:
      return HashPbkdf2(password, params);
    case HashScheme::kSsha:
      return HashSsha(password);
  }
  return InternalError("unknown hash scheme");
}

Result<bool> VerifyPassword(std::string_view password, std::string_view stored) {
  std::string scheme;
  std::string_view rest;
  if (!SplitScheme(stored, &scheme, &rest)) return Malformed("no {SCHEME} prefix");
  if (scheme == "ARGON2") return VerifyArgon2(password, rest);
  if (scheme == "CRYPT") return VerifyCrypt(password, rest);
  if (Pbkdf2Digest(scheme) != nullptr) return VerifyPbkdf2(password, scheme, rest);
  if (const ShaScheme* sha = FindShaScheme(scheme)) return VerifySha(password, *sha, rest);
  return InternalError("unsupported password scheme {" + scheme + "}");
}

bool NeedsRehash(std::string_view stored, const HashParams& params) {
  std::string scheme;
  std::string_view rest;
  if (!SplitScheme(stored, &scheme, &rest)) return true;
  switch (params.scheme) {
    case HashScheme::kArgon2id: {
      if (scheme != "ARGON2") return true;
      auto p = ParseArgon2(rest);
      return !p || p->type != Argon2_id || p->memory_kib < params.argon2_memory_kib ||
             p->iterations < params.argon2_iterations || p->parallelism < params.argon2_parallelism;
    }
    case HashScheme::kPbkdf2Sha512: {
      if (scheme != "PBKDF2-SHA512") return true;
      auto v = ParsePbkdf2(rest);
      return !v || v->iterations < params.pbkdf2_iterations || v->salt.size() < kSaltBytes ||
             v->hash.size() < kPbkdf2HashBytes;
    }
    case HashScheme::kSsha:
      return scheme != "SSHA";
  }
  return true;
}

bool IsHashedValue(std::string_view value) {
  std::string scheme;
  std::string_view rest;
  return SplitScheme(value, &scheme, &rest) && IsKnownScheme(scheme);
}

bool IsCheapToVerify(std::string_view stored) {
  std::string scheme;
  std::string_view rest;
  return SplitScheme(stored, &scheme, &rest) && FindShaScheme(scheme) != nullptr;
}

std::string GeneratePassword(size_t length) {
  static constexpr std::string_view kClasses[] = {"ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz",
                                                  "0123456789", "!#%&*+-.:=?@^_~"};
  std::string all;
  for (std::string_view c : kClasses) all += c;
  if (length < std::size(kClasses)) length = std::size(kClasses);
  std::string out;
  out.reserve(length);
  for (std::string_view c : kClasses) out.push_back(c[RandomBelow(static_cast<uint32_t>(c.size()))]);
  while (out.size() < length) out.push_back(all[RandomBelow(static_cast<uint32_t>(all.size()))]);
  for (size_t i = out.size() - 1; i > 0; --i) {  // Fisher-Yates, so the class order is not fixed
    std::swap(out[i], out[RandomBelow(static_cast<uint32_t>(i + 1))]);
  }
  return out;
}

void SimulateVerify(const HashParams& params) {
  // Hash a throwaway password at the current cost; the result is discarded.
  uint8_t salt[kSaltBytes] = {};
  (void)RandomBytes(salt, sizeof salt);
  static constexpr std::string_view kDummy = "simulated-password";
  switch (params.scheme) {
    case HashScheme::kArgon2id: {
      uint8_t out[kArgon2HashBytes];
      (void)argon2id_hash_raw(params.argon2_iterations, params.argon2_memory_kib, params.argon2_parallelism,
                              kDummy.data(), kDummy.size(), salt, sizeof salt, out, sizeof out);
      OPENSSL_cleanse(out, sizeof out);
      break;
    }
    case HashScheme::kPbkdf2Sha512: {
      uint8_t out[kPbkdf2HashBytes];
      (void)DerivePbkdf2(kDummy, salt, sizeof salt, params.pbkdf2_iterations, EVP_sha512(), out, sizeof out);
      OPENSSL_cleanse(out, sizeof out);
      break;
    }
    case HashScheme::kSsha: {
      uint8_t out[EVP_MAX_MD_SIZE];
      (void)Digest(Sha1(), kDummy, salt, kSshaSaltBytes, out);
      break;
    }
  }
}

}  // namespace simplead::auth
