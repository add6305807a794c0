#include "lib/auth/password_hash.h"

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>

namespace simplead::auth {
namespace {

// Cheap costs keep the suite fast; DefaultParamsHashAndVerify covers the defaults.
HashParams CheapArgon2() {
  HashParams p;
  p.scheme = HashScheme::kArgon2id;
  p.argon2_memory_kib = 1024;
  p.argon2_iterations = 1;
  return p;
}
HashParams CheapPbkdf2() {
  HashParams p;
  p.scheme = HashScheme::kPbkdf2Sha512;
  p.pbkdf2_iterations = 1000;
  return p;
}

bool Verifies(std::string_view password, std::string_view stored) {
  auto r = VerifyPassword(password, stored);
  EXPECT_TRUE(r.ok()) << stored << ": " << r.status().ToString();
  return r.ok() && *r;
}

// ---- Known vectors, produced by independent tools ------------------------

// `slappasswd -h {SSHA} -s secret` (OpenLDAP 2.5).
constexpr const char* kSshaSecret = "{SSHA}bz8yLRk5nv0vjigeVRpVGM1AbzHEo0dE";
// `slappasswd -o module-load=pw-sha2.la -h {SSHA512} -s secret`.
constexpr const char* kSsha512Secret =
    "{SSHA512}+jdPIdIOfctn+GFoFrP3As5NbnlMVhfKAW/Vemgs9tEtnmVXG2LG55n0Myr2KF6mxOlyLEVYnP8WDvC5H7X2FuQfP598xOM5";
// `openssl passwd -6 -salt saltsalt secret` (OpenSSL 3.0).
constexpr const char* kCrypt6Secret =
    "{CRYPT}$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";
// Python's crypt.crypt('secret', '$y$j9T$F5Jx5fExrKuPp53xLKQ..1$') (yescrypt via the system libxcrypt).
constexpr const char* kCryptYSecret =
    "{CRYPT}$y$j9T$F5Jx5fExrKuPp53xLKQ..1$GmcwIgvdUC9qLWcKCi6gklUa1dM3ziD43YxYNURLKy0";
// `slappasswd -o module-load=argon2.la -h {ARGON2} -s secret` (OpenLDAP's argon2 module; it defaults to argon2i).
constexpr const char* kOpenLdapArgon2iSecret =
    "{ARGON2}$argon2i$v=19$m=4096,t=3,p=1$xlvaYl7S4cm7j1IrtRrKgw$r2+/AzZFfJ4j+Qqv2ZJIXe54gIHK8yDmkcU8+kZyPZM";
// Python hashlib.pbkdf2_hmac('sha512', b'secret', bytes(range(16)), 1000, 64), standard base64.
constexpr const char* kPbkdf2StdSecret =
    "{PBKDF2-SHA512}1000$AAECAwQFBgcICQoLDA0ODw==$8ltlLe5cI6KNrWOmMFkTi2iE7fEXJKJJR9lhjd/"
    "xSn68+xOqzv2h20C4IDv/enqlx8f6AaRHE+6XnvHKXKhAjA==";
// Same tool, salt b'\xfb\xef\xbe'*5 + b'\xfa', in OpenLDAP pw-pbkdf2's adapted base64 ('.' for '+', no padding).
constexpr const char* kPbkdf2AdaptedSecret =
    "{PBKDF2-SHA512}1000$.....................g$O0ihNlabVfgxsnkmujDQ2Eg6XUmfVo0ZZssu5snKIaJW7iEAXZBxzngSNRV7jt6pGXTPJx."
    "OB.qvRYZ1A8djLA";
// Same, pbkdf2_hmac('sha256', ..., 32), adapted base64.
constexpr const char* kPbkdf2Sha256AdaptedSecret =
    "{PBKDF2-SHA256}1000$.....................g$EiCXtzwDgCPYmb8nUQIjk7NeNeC8.T8N47CjX8Qzb7Y";

TEST(PasswordHashTest, SshaVectorVerifies) {
  EXPECT_TRUE(Verifies("secret", kSshaSecret));
  EXPECT_FALSE(Verifies("Secret", kSshaSecret));
}

TEST(PasswordHashTest, Ssha512VectorVerifies) {
  EXPECT_TRUE(Verifies("secret", kSsha512Secret));
  EXPECT_FALSE(Verifies("secret ", kSsha512Secret));
}

TEST(PasswordHashTest, CryptSha512VectorVerifies) {
  EXPECT_TRUE(Verifies("secret", kCrypt6Secret));
  EXPECT_FALSE(Verifies("wrong", kCrypt6Secret));
}

TEST(PasswordHashTest, CryptYescryptVectorVerifies) {
  EXPECT_TRUE(Verifies("secret", kCryptYSecret));
  EXPECT_FALSE(Verifies("wrong", kCryptYSecret));
}

TEST(PasswordHashTest, OpenLdapArgon2ModuleValueVerifies) {
  EXPECT_TRUE(Verifies("secret", kOpenLdapArgon2iSecret));
  EXPECT_FALSE(Verifies("wrong", kOpenLdapArgon2iSecret));
}

TEST(PasswordHashTest, Pbkdf2StandardBase64VectorVerifies) {
  EXPECT_TRUE(Verifies("secret", kPbkdf2StdSecret));
  EXPECT_FALSE(Verifies("wrong", kPbkdf2StdSecret));
}

TEST(PasswordHashTest, Pbkdf2OpenLdapAdaptedBase64VectorVerifies) {
  EXPECT_TRUE(Verifies("secret", kPbkdf2AdaptedSecret));
  EXPECT_FALSE(Verifies("wrong", kPbkdf2AdaptedSecret));
  EXPECT_TRUE(Verifies("secret", kPbkdf2Sha256AdaptedSecret));
}

TEST(PasswordHashTest, SchemeNamesAreCaseInsensitive) {
  std::string lower = "{ssha}" + std::string(kSshaSecret).substr(6);
  EXPECT_TRUE(Verifies("secret", lower));
  std::string mixed = "{Crypt}" + std::string(kCrypt6Secret).substr(7);
  EXPECT_TRUE(Verifies("secret", mixed));
  EXPECT_TRUE(IsHashedValue("{pbkdf2-sha512}1$AA$AA"));
}

// ---- Hash then verify -----------------------------------------------------

TEST(PasswordHashTest, Argon2idRoundTrips) {
  auto stored = HashPassword("correct horse", CheapArgon2());
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(stored->rfind("{ARGON2}$argon2id$v=19$m=1024,t=1,p=1$", 0), 0u) << *stored;
  EXPECT_TRUE(Verifies("correct horse", *stored));
  EXPECT_FALSE(Verifies("correct horsE", *stored));
}

TEST(PasswordHashTest, Pbkdf2RoundTrips) {
  auto stored = HashPassword("correct horse", CheapPbkdf2());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->rfind("{PBKDF2-SHA512}1000$", 0), 0u) << *stored;
  EXPECT_TRUE(Verifies("correct horse", *stored));
  EXPECT_FALSE(Verifies("", *stored));
}

TEST(PasswordHashTest, SshaRoundTrips) {
  HashParams p;
  p.scheme = HashScheme::kSsha;
  auto stored = HashPassword("pässwörd", p);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->rfind("{SSHA}", 0), 0u);
  EXPECT_TRUE(Verifies("pässwörd", *stored));
  EXPECT_FALSE(Verifies("passwort", *stored));
}

TEST(PasswordHashTest, SaltsDifferBetweenHashes) {
  auto a = HashPassword("same", CheapArgon2());
  auto b = HashPassword("same", CheapArgon2());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

TEST(PasswordHashTest, EmptyAndNulPasswordsWork) {
  auto stored = HashPassword(std::string("a\0b", 3), CheapPbkdf2());
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(Verifies(std::string("a\0b", 3), *stored));
  EXPECT_FALSE(Verifies("a", *stored));
  EXPECT_FALSE(Verifies(std::string("a\0b", 3), kCrypt6Secret));  // crypt(3) cannot see past the NUL
}

TEST(PasswordHashTest, DefaultParamsHashAndVerify) {
  auto stored = HashPassword("default cost");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->rfind("{ARGON2}$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << *stored;
  EXPECT_TRUE(Verifies("default cost", *stored));
  EXPECT_FALSE(NeedsRehash(*stored));
}

// ---- Malformed values -----------------------------------------------------

TEST(PasswordHashTest, MalformedValuesAreErrorsNotCrashes) {
  const char* bad[] = {
      "",
      "secret",
      "{",
      "{}",
      "{SSHA",
      "{UNKNOWN}abc",
      "{SSHA}",
      "{SSHA}!!!!",
      "{SSHA}AAAA",
      "{SSHA512}"
      "AAAA",
      "{SHA}AAAA",
      "{CRYPT}",
      "{CRYPT}$6$rounds=999999999$salt$hash",
      "{ARGON2}",
      "{ARGON2}$argon2id$",
      "{ARGON2}$argon2id$v=19$m=1024,t=1$c2FsdHNhbHQ$aGFzaA",
      "{ARGON2}$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
      "{ARGON2}$argon2x$v=19$m=8,t=1,p=1$a$b",
      "{ARGON2}$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$",
      "{PBKDF2-SHA512}",
      "{PBKDF2-SHA512}abc$AA$AA",
      "{PBKDF2-SHA512}0$AAAA$AAAA",
      "{PBKDF2-SHA512}1000$AAAA",
      "{PBKDF2-SHA512}1000$AAAA$AAAA$AAAA",
      "{PBKDF2-SHA512}99999999999$AAAA$AAAA",
      "{PBKDF2-SHA512}1000$A$AAAA",
      "{PBKDF2-SHA512}1000$****$AAAA",
  };
  for (const char* stored : bad) {
    auto r = VerifyPassword("secret", stored);
    EXPECT_FALSE(r.ok()) << "accepted: " << stored;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), ResultCode::kOther) << stored;
    }
  }
}

TEST(PasswordHashTest, TruncatedVectorsNeverVerify) {
  for (std::string_view v : {kSshaSecret, kSsha512Secret, kCrypt6Secret, kOpenLdapArgon2iSecret, kPbkdf2StdSecret}) {
    while (v.back() == '=') v.remove_suffix(1);  // dropping only padding is not a truncation
    for (size_t n = 0; n < v.size(); ++n) {
      auto r = VerifyPassword("secret", v.substr(0, n));
      EXPECT_FALSE(r.ok() && *r) << v.substr(0, n);
    }
  }
}

// ---- Rehash policy and helpers --------------------------------------------

TEST(PasswordHashTest, NeedsRehashForOtherSchemesAndWeakerCosts) {
  HashParams argon = CheapArgon2();
  auto stored = HashPassword("x", argon);
  ASSERT_TRUE(stored.ok());
  EXPECT_FALSE(NeedsRehash(*stored, argon));
  HashParams stronger = argon;
  stronger.argon2_memory_kib = 2048;
  EXPECT_TRUE(NeedsRehash(*stored, stronger));
  EXPECT_TRUE(NeedsRehash(*stored, CheapPbkdf2()));
  EXPECT_TRUE(NeedsRehash(kSshaSecret, argon));
  EXPECT_TRUE(NeedsRehash(kCrypt6Secret, argon));
  EXPECT_TRUE(NeedsRehash(kOpenLdapArgon2iSecret, argon));  // argon2i, not argon2id
  EXPECT_TRUE(NeedsRehash("garbage", argon));

  HashParams pbkdf2 = CheapPbkdf2();
  EXPECT_FALSE(NeedsRehash(kPbkdf2StdSecret, pbkdf2));
  pbkdf2.pbkdf2_iterations = 2000;
  EXPECT_TRUE(NeedsRehash(kPbkdf2StdSecret, pbkdf2));
}

TEST(PasswordHashTest, IsHashedValueRecognisesKnownSchemesOnly) {
  EXPECT_TRUE(IsHashedValue(kSshaSecret));
  EXPECT_TRUE(IsHashedValue(kCrypt6Secret));
  EXPECT_TRUE(IsHashedValue(kOpenLdapArgon2iSecret));
  EXPECT_FALSE(IsHashedValue("secret"));
  EXPECT_FALSE(IsHashedValue("{NOPE}abc"));
  EXPECT_FALSE(IsHashedValue("{curly} password"));
}

TEST(PasswordHashTest, GeneratedPasswordsMeetComplexity) {
  for (int i = 0; i < 200; ++i) {
    std::string pw = GeneratePassword(i % 2 == 0 ? 16 : 4);
    ASSERT_EQ(pw.size(), i % 2 == 0 ? 16u : 4u);
    bool upper = false, lower = false, digit = false, symbol = false;
    for (unsigned char c : pw) {
      upper |= std::isupper(c) != 0;
      lower |= std::islower(c) != 0;
      digit |= std::isdigit(c) != 0;
      symbol |= std::ispunct(c) != 0;
    }
    EXPECT_TRUE(upper && lower && digit && symbol) << pw;
  }
  EXPECT_NE(GeneratePassword(), GeneratePassword());
  EXPECT_EQ(GeneratePassword(1).size(), 4u);  // raised to the minimum
}

TEST(PasswordHashTest, SimulateVerifyTakesComparableTime) {
  HashParams p = CheapPbkdf2();
  p.pbkdf2_iterations = 20000;
  auto stored = HashPassword("x", p);
  ASSERT_TRUE(stored.ok());
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  ASSERT_TRUE(VerifyPassword("x", *stored).ok());
  auto verify = Clock::now() - t0;
  t0 = Clock::now();
  SimulateVerify(p);
  auto simulate = Clock::now() - t0;
  // Loose bounds: the same work, on a shared machine.
  EXPECT_GT(simulate * 4, verify);
  EXPECT_LT(simulate, verify * 4);
}

TEST(PasswordHashTest, OnlyDigestSchemesAreCheapToVerify) {
  EXPECT_TRUE(IsCheapToVerify(kSshaSecret));
  EXPECT_TRUE(IsCheapToVerify("{ssha512}AAAA"));
  EXPECT_TRUE(IsCheapToVerify("{SHA}AAAA"));
  auto argon = HashPassword("secret", HashParams{HashScheme::kArgon2id, 8, 1, 1, 1000});
  ASSERT_TRUE(argon.ok());
  EXPECT_FALSE(IsCheapToVerify(*argon));
  EXPECT_FALSE(IsCheapToVerify("{PBKDF2-SHA512}1$AA$AA"));
  EXPECT_FALSE(IsCheapToVerify("{CRYPT}$6$salt$hash"));
  EXPECT_FALSE(IsCheapToVerify("plaintext"));
  EXPECT_FALSE(IsCheapToVerify("{NOSUCH}AAAA"));
}

}  // namespace
}  // namespace simplead::auth
