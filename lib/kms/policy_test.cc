#include "lib/kms/policy.h"

#include <gtest/gtest.h>

namespace simplead::kms {
namespace {

Caller Alice() {
  Caller c;
  c.arn = "arn:simplead:iam::d:user/alice";
  c.principal_id = "alice-guid";
  return c;
}

TEST(KeyPolicyTest, DefaultPolicyAllowsCreatorAndAdmins) {
  std::string p = DefaultKeyPolicy(Alice(), {"arn:simplead:iam::d:user/admin"}, "arn:svc");
  EXPECT_TRUE(KeyPolicyAllows(p, Alice(), "kms:Encrypt"));
  Caller admin;
  admin.arn = "arn:simplead:iam::d:user/admin";
  EXPECT_TRUE(KeyPolicyAllows(p, admin, "kms:ScheduleKeyDeletion"));
  Caller bob;
  bob.arn = "arn:simplead:iam::d:user/bob";
  EXPECT_FALSE(KeyPolicyAllows(p, bob, "kms:Decrypt"));
}

TEST(KeyPolicyTest, ActionWildcardsMatchPrefixes) {
  std::string p = R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:Describe*"}]})";
  EXPECT_TRUE(KeyPolicyAllows(p, Alice(), "kms:DescribeKey"));
  EXPECT_FALSE(KeyPolicyAllows(p, Alice(), "kms:Decrypt"));
}

TEST(KeyPolicyTest, DenyWinsOverAllow) {
  std::string p = R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*"},
    {"Effect":"Deny","Principal":{"AWS":"alice-guid"},"Action":"kms:Decrypt"}]})";
  EXPECT_FALSE(KeyPolicyAllows(p, Alice(), "kms:Decrypt"));
  EXPECT_TRUE(KeyPolicyAllows(p, Alice(), "kms:Encrypt"));
}

TEST(KeyPolicyTest, ValidationRejectsNonPolicies) {
  EXPECT_FALSE(ValidateKeyPolicy("{}").ok());
  EXPECT_FALSE(ValidateKeyPolicy("not json").ok());
  EXPECT_FALSE(ValidateKeyPolicy(R"({"Statement":[{"Effect":"Maybe","Principal":"*","Action":"kms:*"}]})").ok());
  EXPECT_TRUE(ValidateKeyPolicy(R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*"}]})").ok());
}

}  // namespace
}  // namespace simplead::kms
