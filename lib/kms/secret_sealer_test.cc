#include "lib/kms/secret_sealer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "lib/kms/kms_test_util.h"

namespace simplead::kms {
namespace {

class SecretSealerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto h = testing::MakeHarness(testing::StoreKind::kFile);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    h_ = std::move(*h);
    Caller svc = h_->kms->ServiceCaller();
    auto key = h_->kms->CreateKey(svc, {.description = "directory secrets"});
    ASSERT_TRUE(key.ok());
    ASSERT_TRUE(h_->kms->CreateAlias(svc, "alias/simplead/directory", key->key_id).ok());
    key_id_ = key->key_id;
    sealer_ = std::make_unique<SecretSealer>(*h_->kms, svc, "alias/simplead/directory", h_->clock);
  }
  EncryptionContext Ctx(const std::string& entry) {
    return {{"directory", "example.test"}, {"entry", entry}, {"attribute", "userPassword"}};
  }
  std::unique_ptr<testing::KmsHarness> h_;
  std::string key_id_;
  std::unique_ptr<SecretSealer> sealer_;
};

TEST_F(SecretSealerTest, SealedValueOpensWithItsContext) {
  auto sealed = sealer_->Seal("{SSHA}verifier", Ctx("alice"));
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(sealed->find("SSHA"), std::string::npos);
  auto opened = sealer_->Open(*sealed, Ctx("alice"));
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->view(), "{SSHA}verifier");
}

TEST_F(SecretSealerTest, ValueCopiedToAnotherEntryFailsAndIsAudited) {
  auto sealed = sealer_->Seal("verifier", Ctx("alice"));
  ASSERT_TRUE(sealer_->Open(*sealed, Ctx("alice")).ok());  // warm the cache
  auto r = sealer_->Open(*sealed, Ctx("bob"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(KmsErrorName(r.status()), "InvalidCiphertextException");
  EXPECT_EQ(h_->AuditLines().back()["errorCode"], "InvalidCiphertextException");
}

TEST_F(SecretSealerTest, CacheSavesKmsCalls) {
  auto sealed = sealer_->Seal("verifier", Ctx("alice"));
  size_t before = h_->AuditLines().size();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(sealer_->Open(*sealed, Ctx("alice")).ok());
  EXPECT_EQ(h_->AuditLines().size(), before + 1);
  h_->clock.Advance(std::chrono::minutes(6));  // past max_age
  ASSERT_TRUE(sealer_->Open(*sealed, Ctx("alice")).ok());
  EXPECT_EQ(h_->AuditLines().size(), before + 2);
}

TEST_F(SecretSealerTest, OpensFromCacheOnlyWhileTheDataKeyIsCachedAndFresh) {
  auto sealed = sealer_->Seal("verifier", Ctx("alice"));
  ASSERT_TRUE(sealed.ok());
  SecretSealer cold(*h_->kms, h_->kms->ServiceCaller(), "alias/simplead/directory", h_->clock);
  size_t before = h_->AuditLines().size();
  EXPECT_FALSE(cold.OpenFromCache(*sealed, Ctx("alice")));
  EXPECT_EQ(h_->AuditLines().size(), before);  // asking makes no KMS call
  ASSERT_TRUE(cold.Open(*sealed, Ctx("alice")).ok());
  auto opened = cold.OpenFromCache(*sealed, Ctx("alice"));
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->view(), "verifier");
  // Another value under the same (cached) data key opens from the cache too.
  auto other = sealer_->Seal("other verifier", Ctx("bob"));
  ASSERT_TRUE(other.ok());
  opened = cold.OpenFromCache(*other, Ctx("bob"));
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->view(), "other verifier");
  h_->clock.Advance(std::chrono::minutes(6));  // past max_age
  EXPECT_FALSE(cold.OpenFromCache(*sealed, Ctx("alice")));
  EXPECT_FALSE(cold.OpenFromCache("not a sealed value", Ctx("alice")));
}

TEST_F(SecretSealerTest, OpenFromCacheLeavesFailuresToOpenWithoutAuditing) {
  auto sealed = sealer_->Seal("verifier", Ctx("alice"));
  ASSERT_TRUE(sealed.ok());
  ASSERT_TRUE(sealer_->Open(*sealed, Ctx("alice")).ok());
  size_t before = h_->AuditLines().size();
  // The wrong context and a flipped ciphertext byte: nullopt, and no audit
  // write (which would block an I/O thread); Open() reports and audits them.
  EXPECT_FALSE(sealer_->OpenFromCache(*sealed, Ctx("mallory")));
  std::string tampered = *sealed;
  tampered.back() = static_cast<char>(tampered.back() ^ 1);
  EXPECT_FALSE(sealer_->OpenFromCache(tampered, Ctx("alice")));
  EXPECT_EQ(h_->AuditLines().size(), before);
  EXPECT_FALSE(sealer_->Open(tampered, Ctx("alice")).ok());
  EXPECT_GT(h_->AuditLines().size(), before);
}

TEST_F(SecretSealerTest, DisabledKeyFailsClosedEvenWhenCached) {
  auto sealed = sealer_->Seal("verifier", Ctx("alice"));
  ASSERT_TRUE(sealer_->Open(*sealed, Ctx("alice")).ok());
  ASSERT_TRUE(h_->kms->DisableKey(h_->kms->ServiceCaller(), key_id_).ok());
  auto r = sealer_->Open(*sealed, Ctx("alice"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ResultCode::kUnavailable);
  EXPECT_EQ(KmsErrorName(r.status()), "DisabledException");
  ASSERT_TRUE(h_->kms->EnableKey(h_->kms->ServiceCaller(), key_id_).ok());
  EXPECT_TRUE(sealer_->Open(*sealed, Ctx("alice")).ok());
}

TEST_F(SecretSealerTest, RewrapMovesValueToTheNewestVersion) {
  auto sealed = sealer_->Seal("verifier", Ctx("alice"));
  EXPECT_EQ(SealedValueKeyVersion(*sealed)->key_version, 1u);
  EXPECT_EQ(SealedValueKeyVersion(*sealed)->key_id, key_id_);
  ASSERT_TRUE(h_->kms->RotateKeyOnDemand(h_->kms->ServiceCaller(), key_id_).ok());
  auto rewrapped = sealer_->Rewrap(*sealed, Ctx("alice"));
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status().ToString();
  EXPECT_EQ(SealedValueKeyVersion(*rewrapped)->key_version, 2u);
  EXPECT_EQ(sealer_->Open(*rewrapped, Ctx("alice"))->view(), "verifier");
  EXPECT_EQ(sealer_->Open(*sealed, Ctx("alice"))->view(), "verifier");
}

// A value as the format-1 sealer wrote it: one data key per value, wrapped
// with the value's full context.
std::string SealFormat1(Kms& kms, const Caller& caller, const std::string& key_id, std::string_view plaintext,
                        const EncryptionContext& context) {
  auto dk = kms.GenerateDataKey(caller, key_id, DataKeySpec{"AES_256", std::nullopt}, context);
  EXPECT_TRUE(dk.ok());
  std::string out;
  out.push_back('\x01');
  out.push_back(static_cast<char>(dk->ciphertext_blob.size() >> 8));
  out.push_back(static_cast<char>(dk->ciphertext_blob.size() & 0xff));
  out += dk->ciphertext_blob;
  std::string nonce = *RandomString(kGcmNonceSize);
  out += nonce;
  return out + *AesGcmSeal(dk->plaintext, nonce, plaintext, out + CanonicalContext(context));
}

// A format-2 value as the sealer wrote it before CryptoKit: the value key
// derived by the EVP_PKEY_HKDF path (HkdfSha256), separate salt and nonce
// draws, AES-GCM through EVP_aes_256_gcm().
std::string SealFormat2OldPath(Kms& kms, const Caller& caller, const std::string& key_id, std::string_view plaintext,
                               const EncryptionContext& context) {
  EncryptionContext key_context{{"simplead:purpose", "sealed-values"}, {"directory", context.at("directory")}};
  auto dk = kms.GenerateDataKey(caller, key_id, DataKeySpec{"AES_256", std::nullopt}, key_context);
  EXPECT_TRUE(dk.ok());
  std::string salt = *RandomString(16);
  std::string nonce = *RandomString(kGcmNonceSize);
  std::string ctx = CanonicalContext(context);
  auto value_key = HkdfSha256(dk->plaintext, salt, std::string("simplead sealed value v2\0", 25) + ctx, 32);
  EXPECT_TRUE(value_key.ok());
  std::string out;
  out.push_back('\x02');
  out.push_back(static_cast<char>(dk->ciphertext_blob.size() >> 8));
  out.push_back(static_cast<char>(dk->ciphertext_blob.size() & 0xff));
  out += dk->ciphertext_blob + salt + nonce;
  return out + *AesGcmSeal(*value_key, nonce, plaintext, out + ctx);
}

TEST_F(SecretSealerTest, Format2ValuesFromTheOldCodePathStillOpen) {
  std::string v2 = SealFormat2OldPath(*h_->kms, h_->kms->ServiceCaller(), key_id_, "old verifier", Ctx("alice"));
  EXPECT_EQ(*SealedValueFormat(v2), 2);
  auto opened = sealer_->Open(v2, Ctx("alice"));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->view(), "old verifier");
  EXPECT_FALSE(sealer_->Open(v2, Ctx("bob")).ok());
}

TEST_F(SecretSealerTest, SealedValueOpensWithTheOldCodePath) {
  auto sealed = sealer_->Seal("new verifier", Ctx("alice"));
  ASSERT_TRUE(sealed.ok());
  // Take it apart as docs/kms.md describes and open it with the free functions.
  size_t n = static_cast<size_t>(static_cast<unsigned char>((*sealed)[1])) << 8 |
             static_cast<unsigned char>((*sealed)[2]);
  std::string_view v(*sealed);
  std::string_view edk = v.substr(3, n), salt = v.substr(3 + n, 16), nonce = v.substr(3 + n + 16, kGcmNonceSize);
  std::string_view header = v.substr(0, 3 + n + 16 + kGcmNonceSize);
  EncryptionContext key_context{{"simplead:purpose", "sealed-values"}, {"directory", "example.test"}};
  auto dk = h_->kms->Decrypt(h_->kms->ServiceCaller(), edk, key_context);
  ASSERT_TRUE(dk.ok()) << dk.status().ToString();
  std::string ctx = CanonicalContext(Ctx("alice"));
  auto value_key = HkdfSha256(dk->plaintext, salt, std::string("simplead sealed value v2\0", 25) + ctx, 32);
  ASSERT_TRUE(value_key.ok());
  auto opened = AesGcmOpen(*value_key, nonce, v.substr(header.size()), std::string(header) + ctx);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->view(), "new verifier");
}

TEST_F(SecretSealerTest, SealWritesFormat2) {
  auto sealed = sealer_->Seal("verifier", Ctx("alice"));
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(*SealedValueFormat(*sealed), 2);
}

TEST_F(SecretSealerTest, Format1ValuesStillOpen) {
  std::string v1 = SealFormat1(*h_->kms, h_->kms->ServiceCaller(), key_id_, "old verifier", Ctx("alice"));
  EXPECT_EQ(*SealedValueFormat(v1), 1);
  auto opened = sealer_->Open(v1, Ctx("alice"));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->view(), "old verifier");
  EXPECT_FALSE(sealer_->Open(v1, Ctx("bob")).ok());
}

TEST_F(SecretSealerTest, RewrapTurnsFormat1IntoFormat2) {
  std::string v1 = SealFormat1(*h_->kms, h_->kms->ServiceCaller(), key_id_, "old verifier", Ctx("alice"));
  auto rewrapped = sealer_->Rewrap(v1, Ctx("alice"));
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status().ToString();
  EXPECT_EQ(*SealedValueFormat(*rewrapped), 2);
  EXPECT_EQ(sealer_->Open(*rewrapped, Ctx("alice"))->view(), "old verifier");
}

TEST_F(SecretSealerTest, OneCachedDataKeyOpensEveryEntrysValue) {
  std::vector<std::string> sealed;
  for (int i = 0; i < 50; ++i) sealed.push_back(*sealer_->Seal("v" + std::to_string(i), Ctx("u" + std::to_string(i))));
  sealer_->ClearCache();
  size_t before = h_->AuditLines().size();
  for (int i = 0; i < 50; ++i) {
    auto opened = sealer_->Open(sealed[i], Ctx("u" + std::to_string(i)));
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(opened->view(), "v" + std::to_string(i));
  }
  EXPECT_EQ(h_->AuditLines().size(), before + 1);  // one Decrypt of the shared data key
}

TEST_F(SecretSealerTest, ValueUnderAnotherAttributeDoesNotOpen) {
  auto sealed = sealer_->Seal("verifier", Ctx("alice"));
  EncryptionContext other = Ctx("alice");
  other["attribute"] = "unicodePwd";
  EXPECT_EQ(KmsErrorName(sealer_->Open(*sealed, other).status()), "InvalidCiphertextException");
}

TEST_F(SecretSealerTest, FlippedCiphertextByteDoesNotOpen) {
  auto sealed = sealer_->Seal("verifier", Ctx("alice"));
  std::string bad = *sealed;
  bad.back() ^= 1;
  EXPECT_FALSE(sealer_->Open(bad, Ctx("alice")).ok());
  bad = *sealed;
  bad[bad.size() - 30] ^= 1;  // inside the salt/nonce/ciphertext
  EXPECT_FALSE(sealer_->Open(bad, Ctx("alice")).ok());
}

// Opened values are cached by their whole sealed bytes: a tampered copy of a
// value that just opened is still refused.
TEST_F(SecretSealerTest, TamperedCopyOfAnOpenedValueDoesNotOpen) {
  auto sealed = sealer_->Seal("verifier", Ctx("alice"));
  ASSERT_TRUE(sealer_->Open(*sealed, Ctx("alice")).ok());
  std::string bad = *sealed;
  bad.back() ^= 1;
  auto r = sealer_->Open(bad, Ctx("alice"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(KmsErrorName(r.status()), "InvalidCiphertextException");
  EXPECT_EQ(sealer_->Open(*sealed, Ctx("alice"))->view(), "verifier");
}

TEST_F(SecretSealerTest, OpenedValueBoundCanBeRaisedAndLowered) {
  DataKeyCacheOptions options;
  options.max_opened_values = 4;
  SecretSealer sealer(*h_->kms, h_->kms->ServiceCaller(), "alias/simplead/directory", h_->clock, options);
  std::vector<std::string> sealed;
  for (int i = 0; i < 8; ++i) sealed.push_back(*sealer.Seal("v" + std::to_string(i), Ctx("u" + std::to_string(i))));
  auto open_all = [&] {
    for (int i = 0; i < 8; ++i) ASSERT_EQ(sealer.Open(sealed[i], Ctx("u" + std::to_string(i)))->view(), "v" + std::to_string(i));
  };
  open_all();
  EXPECT_EQ(sealer.OpenedValuesCached(), 4u);
  sealer.SetMaxOpenedValues(8);
  open_all();
  EXPECT_EQ(sealer.OpenedValuesCached(), 8u);
  sealer.SetMaxOpenedValues(2);  // the least recently opened go at once
  EXPECT_EQ(sealer.OpenedValuesCached(), 2u);
  EXPECT_EQ(sealer.Open(sealed[7], Ctx("u7"))->view(), "v7");  // the kept ones still answer
  sealer.SetMaxOpenedValues(0);
  EXPECT_EQ(sealer.OpenedValuesCached(), 0u);
  EXPECT_EQ(sealer.Open(sealed[0], Ctx("u0"))->view(), "v0");
  EXPECT_EQ(sealer.OpenedValuesCached(), 0u);
}

TEST_F(SecretSealerTest, WithoutAnOpenedValueCacheValuesStillOpen) {
  DataKeyCacheOptions options;
  options.max_opened_values = 0;
  SecretSealer sealer(*h_->kms, h_->kms->ServiceCaller(), "alias/simplead/directory", h_->clock, options);
  auto sealed = sealer.Seal("verifier", Ctx("alice"));
  ASSERT_TRUE(sealed.ok());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(sealer.Open(*sealed, Ctx("alice"))->view(), "verifier");
  ASSERT_TRUE(h_->kms->DisableKey(h_->kms->ServiceCaller(), key_id_).ok());
  EXPECT_FALSE(sealer.Open(*sealed, Ctx("alice")).ok());
}

TEST_F(SecretSealerTest, SealAfterRotationUsesTheNewestVersion) {
  ASSERT_TRUE(sealer_->Seal("verifier", Ctx("alice")).ok());  // caches a version-1 data key
  ASSERT_TRUE(h_->kms->RotateKeyOnDemand(h_->kms->ServiceCaller(), key_id_).ok());
  auto sealed = sealer_->Seal("verifier", Ctx("bob"));
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(SealedValueKeyVersion(*sealed)->key_version, 2u);
}

TEST_F(SecretSealerTest, GarbageIsInvalidCiphertext) {
  EXPECT_EQ(KmsErrorName(sealer_->Open("junk", Ctx("alice")).status()), "InvalidCiphertextException");
  EXPECT_FALSE(SealedValueKeyVersion("").ok());
}


// --- Timing (run by hand: --gtest_also_run_disabled_tests) -----------------

TEST_F(SecretSealerTest, DISABLED_SealOpenNanoseconds) {
  constexpr int kValues = 20000;  // bounded
  std::vector<EncryptionContext> contexts;
  for (int i = 0; i < kValues; ++i) contexts.push_back(Ctx("uid=user" + std::to_string(i) + ",ou=people"));
  std::vector<std::string> sealed;
  sealed.reserve(kValues);
  ASSERT_TRUE(sealer_->Seal("warm", contexts[0]).ok());
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kValues; ++i) {
    auto s = sealer_->Seal("{SSHA}c2VjcmV0c2FsdHNhbHQ=", contexts[i]);
    ASSERT_TRUE(s.ok());
    sealed.push_back(std::move(*s));
  }
  auto mid = std::chrono::steady_clock::now();
  for (int i = 0; i < kValues; ++i) ASSERT_TRUE(sealer_->Open(sealed[i], contexts[i]).ok());
  auto end = std::chrono::steady_clock::now();
  auto ns = [](auto d) { return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(); };
  std::printf("Seal: %.0f ns per value (KMS data key calls included, 1 per %llu values)\n",
              static_cast<double>(ns(mid - start)) / kValues,
              static_cast<unsigned long long>(DataKeyCacheOptions{}.max_messages_per_data_key));
  std::printf("Open: %.0f ns per value\n", static_cast<double>(ns(end - mid)) / kValues);
}

}  // namespace
}  // namespace simplead::kms
