#include "tests/bench/naming.h"

#include <gtest/gtest.h>

namespace simplead::bench {
namespace {

TEST(NamingTest, ExpandReplacesNumberAndSuffix) {
  EXPECT_EQ(Expand("uid=user{n},ou=people,{suffix}", 42, "dc=example,dc=com"),
            "uid=user42,ou=people,dc=example,dc=com");
}

TEST(NamingTest, ExpandLeavesOtherBracesAlone) { EXPECT_EQ(Expand("a{x}{n}", "7", ""), "a{x}7"); }

TEST(NamingTest, AdDefaultsUseCnUsersAndAdministrator) {
  Naming n = DefaultNaming(Style::kAd);
  EXPECT_EQ(Expand(n.user_dn_template, 5, n.suffix), "CN=user5,CN=Users,DC=corp,DC=example,DC=com");
  EXPECT_EQ(n.admin_dn, "CN=Administrator,CN=Users,DC=corp,DC=example,DC=com");
}

TEST(NamingTest, FillDefaultsKeepsGivenTemplates) {
  Naming n;
  n.suffix = "dc=test";
  n.password_template = "secret";
  FillDefaults(n);
  EXPECT_EQ(n.password_template, "secret");
  EXPECT_EQ(n.admin_dn, "cn=admin,dc=test");
}

TEST(NamingTest, SuffixToDomainJoinsDcLabels) {
  EXPECT_EQ(SuffixToDomain("DC=corp,DC=example,DC=com"), "corp.example.com");
  EXPECT_EQ(SuffixToDomain("ou=x, dc=example,dc=org"), "example.org");
}

TEST(NamingTest, FirstRdnSplitsTypeAndValue) {
  auto [type, value] = FirstRdn("CN=user1,CN=Users,DC=x");
  EXPECT_EQ(type, "CN");
  EXPECT_EQ(value, "user1");
}

}  // namespace
}  // namespace simplead::bench
