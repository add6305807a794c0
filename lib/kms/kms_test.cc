// The KMS suite, run over each key store: file, passphrase and SoftHSM2.
#include "lib/kms/kms.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "lib/kms/kms_test_util.h"

namespace simplead::kms {
namespace {

using testing::KmsHarness;
using testing::StoreKind;
using std::chrono::hours;

class KmsTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    if (GetParam() == StoreKind::kPkcs11 && !testing::EnsureSoftHsmToken()) {
      GTEST_SKIP() << "softhsm2-util is not installed";
    }
    KmsOptions o;
    o.max_keys = 5;
    auto h = testing::MakeHarness(GetParam(), o);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    h_ = std::move(*h);
    auto key = kms().CreateKey(admin(), {.description = "test key"});
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    key_id_ = key->key_id;
  }
  Kms& kms() { return *h_->kms; }
  const Caller& admin() { return h_->admin; }
  std::string Encrypt(std::string_view text, const EncryptionContext& ctx = {}) {
    auto r = kms().Encrypt(admin(), key_id_, SecureBytes(text), ctx);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->ciphertext_blob : "";
  }
  std::unique_ptr<KmsHarness> h_;
  std::string key_id_;
};

TEST_P(KmsTest, DecryptNeedsNoKeyId) {
  std::string blob = Encrypt("hello", {{"dept", "eng"}});
  auto d = kms().Decrypt(admin(), blob, {{"dept", "eng"}});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->plaintext.view(), "hello");
  EXPECT_EQ(d->key_arn, "arn:simplead:kms:example.test:key/" + key_id_);
}

TEST_P(KmsTest, EncryptAcceptsUpTo4096Bytes) {
  EXPECT_TRUE(kms().Encrypt(admin(), key_id_, SecureBytes(std::string(4096, 'x')), {}).ok());
  auto r = kms().Encrypt(admin(), key_id_, SecureBytes(std::string(4097, 'x')), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(KmsErrorName(r.status()), "ValidationException");
  EXPECT_EQ(KmsErrorName(kms().Encrypt(admin(), key_id_, SecureBytes(), {}).status()), "ValidationException");
}

TEST_P(KmsTest, DecryptFailsWhenContextDiffers) {
  std::string blob = Encrypt("hello", {{"dept", "eng"}});
  auto r = kms().Decrypt(admin(), blob, {{"dept", "Eng"}});
  EXPECT_EQ(KmsErrorName(r.status()), "InvalidCiphertextException");
  std::string blob2 = Encrypt("hello", {{"ab", "c"}});
  EXPECT_EQ(KmsErrorName(kms().Decrypt(admin(), blob2, {{"a", "bc"}}).status()), "InvalidCiphertextException");
}

TEST_P(KmsTest, ReorderedContextPairsDecrypt) {
  EncryptionContext a, b;
  a["x"] = "1";
  a["y"] = "2";
  b["y"] = "2";
  b["x"] = "1";
  EXPECT_TRUE(kms().Decrypt(admin(), Encrypt("hello", a), b).ok());
}

TEST_P(KmsTest, DecryptNamingAnotherKeyFails) {
  auto other = kms().CreateKey(admin(), {});
  auto r = kms().Decrypt(admin(), Encrypt("hello"), {}, other->key_id);
  EXPECT_EQ(KmsErrorName(r.status()), "IncorrectKeyException");
}

TEST_P(KmsTest, TamperedBlobIsInvalidCiphertext) {
  std::string blob = Encrypt("hello");
  blob[blob.size() - 1] ^= 1;
  EXPECT_EQ(KmsErrorName(kms().Decrypt(admin(), blob, {}).status()), "InvalidCiphertextException");
  EXPECT_EQ(KmsErrorName(kms().Decrypt(admin(), blob.substr(0, 20), {}).status()), "InvalidCiphertextException");
}

TEST_P(KmsTest, DisabledKeyRefusesEncryptAndDecrypt) {
  std::string blob = Encrypt("hello");
  ASSERT_TRUE(kms().DisableKey(admin(), key_id_).ok());
  auto e = kms().Encrypt(admin(), key_id_, SecureBytes("x"), {});
  EXPECT_EQ(KmsErrorName(e.status()), "DisabledException");
  EXPECT_EQ(e.status().code(), ResultCode::kUnavailable);
  EXPECT_EQ(KmsErrorName(kms().Decrypt(admin(), blob, {}).status()), "DisabledException");
  ASSERT_TRUE(kms().EnableKey(admin(), key_id_).ok());
  EXPECT_TRUE(kms().Decrypt(admin(), blob, {}).ok());
}

TEST_P(KmsTest, DeletionWindowMustBe7To30Days) {
  EXPECT_EQ(KmsErrorName(kms().ScheduleKeyDeletion(admin(), key_id_, 6).status()), "ValidationException");
  EXPECT_EQ(KmsErrorName(kms().ScheduleKeyDeletion(admin(), key_id_, 31).status()), "ValidationException");
  auto s = kms().ScheduleKeyDeletion(admin(), key_id_, 7);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->key_state, "PendingDeletion");
  EXPECT_EQ(kms().DescribeKey(admin(), key_id_)->key_state, "PendingDeletion");
  EXPECT_EQ(KmsErrorName(kms().Encrypt(admin(), key_id_, SecureBytes("x"), {}).status()),
            "KMSInvalidStateException");
}

TEST_P(KmsTest, DeletionWindowDefaultsTo30Days) {
  auto s = kms().ScheduleKeyDeletion(admin(), key_id_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->pending_window_in_days, 30);
  EXPECT_EQ(s->deletion_date, h_->clock.Now() + hours(24 * 30));
}

TEST_P(KmsTest, CancelKeyDeletionLeavesKeyDisabled) {
  ASSERT_TRUE(kms().ScheduleKeyDeletion(admin(), key_id_, 7).ok());
  ASSERT_TRUE(kms().CancelKeyDeletion(admin(), key_id_).ok());
  auto m = kms().DescribeKey(admin(), key_id_);
  EXPECT_EQ(m->key_state, "Disabled");
  EXPECT_FALSE(m->deletion_date.has_value());
  EXPECT_EQ(KmsErrorName(kms().CancelKeyDeletion(admin(), key_id_).status()), "KMSInvalidStateException");
}

TEST_P(KmsTest, AfterTheWindowCiphertextsAreGoneForGood) {
  std::string blob = Encrypt("hello");
  ASSERT_TRUE(kms().ScheduleKeyDeletion(admin(), key_id_, 7).ok());
  h_->clock.Advance(hours(24 * 7 - 1));
  EXPECT_EQ(KmsErrorName(kms().Decrypt(admin(), blob, {}).status()), "KMSInvalidStateException");
  h_->clock.Advance(hours(2));
  auto r = kms().Decrypt(admin(), blob, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(KmsErrorName(r.status()), "NotFoundException");
  EXPECT_NE(r.status().message().find("can no longer be decrypted"), std::string::npos);
  EXPECT_FALSE(kms().CancelKeyDeletion(admin(), key_id_).ok());
  EXPECT_FALSE(kms().DescribeKey(admin(), key_id_).ok());
  // The material is gone from disk too: a reopened KMS cannot decrypt either.
  auto meta = nlohmann::json::parse(*ReadWholeFile(h_->dir.path() + "/kms/kms-metadata.json"));
  ASSERT_EQ(meta["keys"].size(), 1u);
  EXPECT_EQ(meta["keys"][0]["state"], "Deleted");
  EXPECT_TRUE(meta["keys"][0]["versions"].empty());
}

TEST_P(KmsTest, RotationKeepsKeyIdAndOldCiphertexts) {
  std::string old_blob = Encrypt("old");
  auto before = kms().DescribeKey(admin(), key_id_);
  ASSERT_TRUE(kms().RotateKeyOnDemand(admin(), key_id_).ok());
  auto e = kms().Encrypt(admin(), key_id_, SecureBytes("new"), {});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->key_version, before->current_key_version + 1);
  EXPECT_EQ(ParseBlobHeader(e->ciphertext_blob)->key_version, before->current_key_version + 1);
  EXPECT_EQ(kms().Decrypt(admin(), old_blob, {})->plaintext.view(), "old");
  EXPECT_EQ(kms().Decrypt(admin(), e->ciphertext_blob, {})->plaintext.view(), "new");
  EXPECT_EQ(kms().DescribeKey(admin(), key_id_)->key_id, key_id_);
}

TEST_P(KmsTest, AutomaticRotationHappensWhenThePeriodPasses) {
  ASSERT_TRUE(kms().EnableKeyRotation(admin(), key_id_).ok());
  auto status = kms().GetKeyRotationStatus(admin(), key_id_);
  EXPECT_TRUE(status->enabled);
  EXPECT_EQ(status->rotation_period_in_days, 365);
  EXPECT_EQ(kms().DescribeKey(admin(), key_id_)->current_key_version, 1u);
  h_->clock.Advance(hours(24 * 366));
  EXPECT_EQ(kms().DescribeKey(admin(), key_id_)->current_key_version, 2u);
  EXPECT_EQ(KmsErrorName(kms().EnableKeyRotation(admin(), key_id_, 89)), "ValidationException");
}

TEST_P(KmsTest, ReEncryptMovesToAnotherKeyAndContext) {
  auto other = kms().CreateKey(admin(), {});
  std::string blob = Encrypt("hello", {{"a", "1"}});
  auto r = kms().ReEncrypt(admin(), blob, {{"a", "1"}}, other->key_id, {{"b", "2"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(kms().Decrypt(admin(), r->ciphertext_blob, {{"b", "2"}})->plaintext.view(), "hello");
}

TEST_P(KmsTest, GenerateDataKeyValidatesSpec) {
  auto dk = kms().GenerateDataKey(admin(), key_id_, {"AES_256", std::nullopt}, {{"p", "q"}});
  ASSERT_TRUE(dk.ok());
  EXPECT_EQ(dk->plaintext.size(), 32u);
  auto back = kms().Decrypt(admin(), dk->ciphertext_blob, {{"p", "q"}});
  EXPECT_TRUE(back->plaintext == dk->plaintext);
  EXPECT_EQ(kms().GenerateDataKey(admin(), key_id_, {"AES_128", std::nullopt}, {})->plaintext.size(), 16u);
  EXPECT_EQ(kms().GenerateDataKey(admin(), key_id_, {std::nullopt, 1024}, {})->plaintext.size(), 1024u);
  EXPECT_FALSE(kms().GenerateDataKey(admin(), key_id_, {std::nullopt, 1025}, {}).ok());
  EXPECT_FALSE(kms().GenerateDataKey(admin(), key_id_, {"AES_256", 32}, {}).ok());
  EXPECT_FALSE(kms().GenerateDataKey(admin(), key_id_, {}, {}).ok());
  auto np = kms().GenerateDataKeyWithoutPlaintext(admin(), key_id_, {"AES_256", std::nullopt}, {});
  ASSERT_TRUE(np.ok());
  EXPECT_TRUE(np->plaintext.empty());
  EXPECT_EQ(kms().GenerateRandom(admin(), 1024)->size(), 1024u);
  EXPECT_FALSE(kms().GenerateRandom(admin(), 0).ok());
}

TEST_P(KmsTest, AliasesResolveAndAreBounded) {
  ASSERT_TRUE(kms().CreateAlias(admin(), "alias/app", key_id_).ok());
  EXPECT_EQ(KmsErrorName(kms().CreateAlias(admin(), "alias/app", key_id_)), "AlreadyExistsException");
  EXPECT_TRUE(kms().Encrypt(admin(), "alias/app", SecureBytes("x"), {}).ok());
  EXPECT_TRUE(kms().DescribeKey(admin(), "arn:simplead:kms:example.test:alias/app").ok());
  EXPECT_EQ(KmsErrorName(kms().CreateAlias(admin(), "app", key_id_)), "InvalidAliasNameException");
  EXPECT_EQ(KmsErrorName(kms().CreateAlias(admin(), "alias/aws/x", key_id_)), "InvalidAliasNameException");
  EXPECT_EQ(KmsErrorName(kms().CreateAlias(admin(), "alias/simplead/x", key_id_)), "InvalidAliasNameException");
  EXPECT_TRUE(kms().CreateAlias(kms().ServiceCaller(), "alias/simplead/directory", key_id_).ok());
  for (int i = 2; i < 50; ++i) ASSERT_TRUE(kms().CreateAlias(admin(), "alias/a" + std::to_string(i), key_id_).ok());
  EXPECT_EQ(KmsErrorName(kms().CreateAlias(admin(), "alias/one-too-many", key_id_)), "LimitExceededException");
  EXPECT_EQ(kms().ListAliases(admin(), key_id_)->size(), 50u);
  ASSERT_TRUE(kms().DeleteAlias(admin(), "alias/app").ok());
  EXPECT_EQ(KmsErrorName(kms().DescribeKey(admin(), "alias/app").status()), "NotFoundException");
}

TEST_P(KmsTest, KeyQuotaIsEnforced) {
  for (int i = 1; i < 5; ++i) ASSERT_TRUE(kms().CreateKey(admin(), {}).ok());
  auto r = kms().CreateKey(admin(), {});
  EXPECT_EQ(KmsErrorName(r.status()), "LimitExceededException");
  EXPECT_EQ(kms().ListKeys(admin())->size(), 5u);
}

TEST_P(KmsTest, KeyPolicyDeniesOtherPrincipals) {
  auto r = kms().Encrypt(h_->other, key_id_, SecureBytes("x"), {});
  EXPECT_EQ(KmsErrorName(r.status()), "AccessDeniedException");
  EXPECT_EQ(r.status().code(), ResultCode::kInsufficientAccessRights);
  std::string policy = R"({"Statement":[{"Effect":"Allow","Principal":{"AWS":[")" + admin().arn +
                       R"("]},"Action":"kms:*"},{"Effect":"Allow","Principal":{"AWS":")" + h_->other.arn +
                       R"("},"Action":["kms:Encrypt"]}]})";
  ASSERT_TRUE(kms().PutKeyPolicy(admin(), key_id_, policy).ok());
  std::string blob;
  auto e = kms().Encrypt(h_->other, key_id_, SecureBytes("x"), {});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(KmsErrorName(kms().Decrypt(h_->other, e->ciphertext_blob, {}).status()), "AccessDeniedException");
  EXPECT_EQ(KmsErrorName(kms().PutKeyPolicy(admin(), key_id_, "{}")), "MalformedPolicyDocumentException");
}

TEST_P(KmsTest, TagsRoundTrip) {
  ASSERT_TRUE(kms().TagResource(admin(), key_id_, {{"team", "idm"}, {"env", "prod"}}).ok());
  ASSERT_TRUE(kms().UntagResource(admin(), key_id_, {"env"}).ok());
  auto tags = kms().ListResourceTags(admin(), key_id_);
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(*tags, (std::map<std::string, std::string>{{"team", "idm"}}));
  EXPECT_EQ(KmsErrorName(kms().TagResource(admin(), key_id_, {{"aws:x", "y"}})), "TagException");
}

TEST_P(KmsTest, UnknownKeyIsNotFound) {
  EXPECT_EQ(KmsErrorName(kms().DescribeKey(admin(), "0f8fad5b-d9cb-469f-a165-70867728950e").status()),
            "NotFoundException");
}

TEST_P(KmsTest, EveryCallIsAuditedWithoutSecrets) {
  std::string blob = Encrypt("top-secret-plaintext", {{"dept", "eng"}});
  (void)kms().Decrypt(admin(), blob, {{"dept", "Eng"}});
  auto lines = h_->AuditLines();
  ASSERT_EQ(lines.size(), 3u);  // CreateKey, Encrypt, failed Decrypt
  EXPECT_EQ(lines[1]["eventName"], "Encrypt");
  EXPECT_EQ(lines[1]["eventSource"], "kms.simplead");
  EXPECT_EQ(lines[1]["requestParameters"]["encryptionContext"]["dept"], "eng");
  EXPECT_EQ(lines[1]["resources"][0]["ARN"], "arn:simplead:kms:example.test:key/" + key_id_);
  EXPECT_EQ(lines[2]["errorCode"], "InvalidCiphertextException");
  EXPECT_EQ(lines[2]["userIdentity"]["userName"], "admin");
  auto text = ReadWholeFile(h_->audit_path());
  EXPECT_EQ(text->find("top-secret-plaintext"), std::string::npos);
  EXPECT_EQ(text->find(Base64Encode("top-secret-plaintext")), std::string::npos);
  EXPECT_EQ(text->find(Base64Encode(blob)), std::string::npos);
  EXPECT_TRUE(VerifyAuditFile(h_->audit_path())->intact);
}

TEST_P(KmsTest, UnwritableAuditTrailFailsTheCall) {
  ASSERT_EQ(::unlink(h_->audit_path().c_str()), 0);
  ASSERT_EQ(::symlink("/dev/full", h_->audit_path().c_str()), 0);
  auto r = kms().Encrypt(admin(), key_id_, SecureBytes("x"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(KmsErrorName(r.status()), "KMSInternalException");
  EXPECT_NE(r.status().message().find("audit"), std::string::npos);
}

TEST_P(KmsTest, KeysSurviveReopening) {
  std::string blob = Encrypt("hello");
  if (GetParam() == StoreKind::kPkcs11) GTEST_SKIP() << "the harness labels PKCS#11 root keys per store";
  std::unique_ptr<KeyStore> store;
  if (GetParam() == StoreKind::kFile) {
    store = FileKeyStore::Open(h_->dir.path() + "/root.key").value();
  } else {
    store = PassphraseKeyStore::OpenOrCreate(h_->dir.path() + "/kms-passphrase.json", SecureBytes("correct horse"))
                .value();
  }
  auto meta = FileMetadataStore::Open(h_->dir.path() + "/kms");
  auto reopened =
      Kms::Open({.domain = "example.test"}, std::move(store), std::move(meta).value(), *h_->audit, h_->clock);
  ASSERT_TRUE(reopened.ok());
  auto d = (*reopened)->Decrypt(admin(), blob, {});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->plaintext.view(), "hello");
}

INSTANTIATE_TEST_SUITE_P(KeyStores, KmsTest,
                         ::testing::Values(StoreKind::kFile, StoreKind::kPassphrase, StoreKind::kPkcs11),
                         [](const auto& info) { return testing::StoreKindName(info.param); });

}  // namespace
}  // namespace simplead::kms
