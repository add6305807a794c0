// Password verifiers: hashing new passwords with the current scheme and
// verifying stored ones in any supported scheme. CPU-heavy: call it off the
// I/O threads. Stateless and thread-safe.
//
// Stored form is the RFC 3112-style "{SCHEME}..." string:
//   {ARGON2}$argon2id$v=19$m=...,t=...,p=...$salt$hash   (current default)
//   {PBKDF2-SHA512}iterations$b64salt$b64hash            (also accepted as current)
//   {SSHA} {SSHA512}  base64(digest || salt)             (import only)
//   {CRYPT}$6$... and {CRYPT}$y$...                      (import only, via libcrypt)
#pragma once

#include <string>
#include <string_view>

#include "lib/base/secure_bytes.h"
#include "lib/base/status.h"

namespace simplead::auth {

enum class HashScheme { kArgon2id, kPbkdf2Sha512, kSsha };

struct HashParams {
  HashScheme scheme = HashScheme::kArgon2id;
  uint32_t argon2_memory_kib = 19 * 1024;  // OWASP 2023 minimum for Argon2id
  uint32_t argon2_iterations = 2;
  uint32_t argon2_parallelism = 1;
  uint32_t pbkdf2_iterations = 210000;     // OWASP 2023 for PBKDF2-SHA512
};

// A fresh salted hash of `password`.
Result<std::string> HashPassword(std::string_view password, const HashParams& params = {});

// True if `password` matches `stored`. kInvalidCredentials is never returned:
// mismatch is `false`; an unknown or malformed scheme is kOther.
Result<bool> VerifyPassword(std::string_view password, std::string_view stored);

// True when `stored` is not in the scheme and cost of `params`, so the next
// successful bind should re-hash.
bool NeedsRehash(std::string_view stored, const HashParams& params = {});

// True if `value` looks like a stored verifier ("{SCHEME}..." with a known scheme).
bool IsHashedValue(std::string_view value);

// True when verifying against `stored` costs about one digest (the {SHA} and
// {SSHA} families, kept from imports), so that a bind may verify it without
// leaving the I/O thread. False for the deliberately slow schemes and for
// anything unknown or malformed.
bool IsCheapToVerify(std::string_view stored);

// A random password of `length` characters meeting AD complexity (upper,
// lower, digit, symbol), for Password Modify without a new password.
std::string GeneratePassword(size_t length = 16);

// Constant-time burn of roughly one verification's cost, so binds for
// unknown users take about as long as binds for known ones.
void SimulateVerify(const HashParams& params = {});

}  // namespace simplead::auth
