#include "lib/kms/kms_json.h"

#include <gtest/gtest.h>

#include "lib/kms/kms_test_util.h"

namespace simplead::kms {
namespace {

using nlohmann::json;

class KmsJsonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto h = testing::MakeHarness(testing::StoreKind::kFile);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    h_ = std::move(*h);
  }
  json Call(std::string_view op, const json& body, int want_status = 200) {
    JsonResponse r = HandleKmsJson(*h_->kms, h_->admin, op, body.dump());
    EXPECT_EQ(r.http_status, want_status) << r.body;
    return json::parse(r.body);
  }
  std::unique_ptr<testing::KmsHarness> h_;
};

TEST_F(KmsJsonTest, CreateKeyReturnsAwsShapedMetadata) {
  json r = Call("CreateKey", {{"Description", "app key"}});
  const json& m = r["KeyMetadata"];
  EXPECT_EQ(m["KeyState"], "Enabled");
  EXPECT_EQ(m["Enabled"], true);
  EXPECT_EQ(m["KeyUsage"], "ENCRYPT_DECRYPT");
  EXPECT_EQ(m["Description"], "app key");
  EXPECT_EQ(m["Arn"], "arn:simplead:kms:example.test:key/" + m["KeyId"].get<std::string>());
  EXPECT_TRUE(m["CreationDate"].is_number());
}

TEST_F(KmsJsonTest, EncryptDecryptRoundTripInBase64) {
  std::string key = Call("CreateKey", json::object())["KeyMetadata"]["KeyId"];
  json enc = Call("Encrypt", {{"KeyId", key}, {"Plaintext", Base64Encode("hi")}, {"EncryptionContext", {{"a", "b"}}}});
  json dec = Call("Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}, {"EncryptionContext", {{"a", "b"}}}});
  EXPECT_EQ(dec["Plaintext"], Base64Encode("hi"));
  EXPECT_EQ(dec["KeyId"], enc["KeyId"]);
}

TEST_F(KmsJsonTest, ErrorsCarryAwsTypeAndHttp400) {
  json r = Call("DescribeKey", {{"KeyId", "alias/nope"}}, 400);
  EXPECT_EQ(r["__type"], "NotFoundException");
  EXPECT_TRUE(r["message"].is_string());
  EXPECT_EQ(Call("Encrypt", {{"KeyId", 5}}, 400)["__type"], "ValidationException");
  EXPECT_EQ(Call("Frobnicate", json::object(), 400)["__type"], "UnknownOperationException");
}

TEST_F(KmsJsonTest, RejectedRequestsAreAudited) {
  (void)Call("Encrypt", {{"KeyId", "x"}, {"Plaintext", "%%%%"}}, 400);
  auto lines = h_->AuditLines();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back()["eventName"], "Encrypt");
  EXPECT_EQ(lines.back()["errorCode"], "ValidationException");
}

TEST_F(KmsJsonTest, EveryOperationIsListed) {
  const auto& names = KmsOperationNames();
  for (const char* op : {"CreateKey", "DescribeKey", "ListKeys", "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey",
                         "GenerateDataKeyWithoutPlaintext", "GenerateRandom", "EnableKey", "DisableKey",
                         "EnableKeyRotation", "DisableKeyRotation", "GetKeyRotationStatus", "RotateKeyOnDemand",
                         "ScheduleKeyDeletion", "CancelKeyDeletion", "CreateAlias", "DeleteAlias", "ListAliases",
                         "TagResource", "UntagResource", "ListResourceTags"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), op), names.end()) << op;
  }
}

}  // namespace
}  // namespace simplead::kms
