#include "connector/proxy.h"

#include <gtest/gtest.h>

namespace simplead::connector {
namespace {

ProxyOptions Options() {
  ProxyOptions o;
  o.domain = "corp.example.com";
  o.netbios = "CORP";
  o.upn_attributes = {"userPrincipalName"};
  o.name_attributes = {"sAMAccountName"};
  return o;
}

TEST(BindNameTest, DnPassesThrough) {
  BindName n = ClassifyBindName("CN=alice,CN=Users,DC=corp,DC=example,DC=com", Options());
  EXPECT_EQ(n.kind, BindName::Kind::kDn);
}

TEST(BindNameTest, UpnOfTheDomainMatchesUpnAndAccountName) {
  BindName n = ClassifyBindName("alice@corp.example.com", Options());
  EXPECT_EQ(n.kind, BindName::Kind::kLookup);
  EXPECT_EQ(n.filter, "(|(userPrincipalName=alice@corp.example.com)(sAMAccountName=alice))");
  EXPECT_EQ(n.account, "alice");
}

TEST(BindNameTest, UpnOfAnotherRealmMatchesOnlyUpnAttributes) {
  BindName n = ClassifyBindName("alice@partner.example", Options());
  EXPECT_EQ(n.filter, "(userPrincipalName=alice@partner.example)");
}

TEST(BindNameTest, NetbiosNameIsCaseInsensitive) {
  BindName n = ClassifyBindName("corp\\alice", Options());
  EXPECT_EQ(n.kind, BindName::Kind::kLookup);
  EXPECT_EQ(n.filter, "(sAMAccountName=alice)");
}

TEST(BindNameTest, ForeignNetbiosDomainIsRefused) {
  EXPECT_EQ(ClassifyBindName("OTHER\\alice", Options()).kind, BindName::Kind::kForeignDomain);
  EXPECT_EQ(ClassifyBindName("CORP\\", Options()).kind, BindName::Kind::kForeignDomain);
}

TEST(BindNameTest, FilterMetacharactersAreEscaped) {
  BindName n = ClassifyBindName("*)(objectClass=*", Options());
  // '=' makes it look like a DN: it is passed through as one, never into a filter.
  EXPECT_EQ(n.kind, BindName::Kind::kDn);
  n = ClassifyBindName("CORP\\a*)(|(x", Options());
  EXPECT_EQ(n.filter, "(sAMAccountName=a\\2a\\29\\28|\\28x)");
}

TEST(SplitPasswordTest, SplitsAtTheLastSeparator) {
  SecureBytes password, code;
  ASSERT_TRUE(SplitPasswordAndCode(SecureBytes(std::string_view("pa,ss,123456")), ",", &password, &code));
  EXPECT_EQ(password.view(), "pa,ss");
  EXPECT_EQ(code.view(), "123456");
}

TEST(SplitPasswordTest, MissingCodeIsRefused) {
  SecureBytes password, code;
  EXPECT_FALSE(SplitPasswordAndCode(SecureBytes(std::string_view("password")), ",", &password, &code));
  EXPECT_FALSE(SplitPasswordAndCode(SecureBytes(std::string_view("password,")), ",", &password, &code));
  EXPECT_FALSE(SplitPasswordAndCode(SecureBytes(std::string_view(",123")), ",", &password, &code));
}

}  // namespace
}  // namespace simplead::connector
