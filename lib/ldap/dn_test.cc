#include "lib/ldap/dn.h"

#include <gtest/gtest.h>

namespace simplead::ldap {
namespace {

Dn MustParse(std::string_view text) {
  auto dn = Dn::Parse(text);
  EXPECT_TRUE(dn.ok()) << text << ": " << dn.status().ToString();
  return dn.ok() ? *dn : Dn();
}

TEST(DnTest, ParsesSimpleDn) {
  Dn dn = MustParse("cn=Alice,ou=People,dc=example,dc=com");
  ASSERT_EQ(dn.size(), 4u);
  EXPECT_EQ(dn.rdn()[0].type, "cn");
  EXPECT_EQ(dn.rdn()[0].value, "Alice");
  EXPECT_EQ(dn.rdns()[3][0].value, "com");
}

TEST(DnTest, EmptyStringIsRootDn) {
  Dn dn = MustParse("");
  EXPECT_TRUE(dn.empty());
  EXPECT_EQ(dn.ToString(), "");
}

TEST(DnTest, UnescapesSpecialCharacters) {
  Dn dn = MustParse(R"(cn=a\,b\+c\"d\\e\<f\>g\;h\=i\#j,dc=x)");
  EXPECT_EQ(dn.rdn()[0].value, R"(a,b+c"d\e<f>g;h=i#j)");
}

TEST(DnTest, UnescapesHexPairs) {
  Dn dn = MustParse(R"(cn=a\2Cb\c3\a9,dc=x)");
  EXPECT_EQ(dn.rdn()[0].value, "a,b\xc3\xa9");
  EXPECT_EQ(dn.size(), 2u);
}

TEST(DnTest, EscapedTrailingSpaceIsKept) {
  Dn dn = MustParse(R"(cn=a\ ,dc=x)");
  EXPECT_EQ(dn.rdn()[0].value, "a ");
}

TEST(DnTest, LeadingEscapedHashIsValueNotHexString) {
  Dn dn = MustParse(R"(cn=\#1,dc=x)");
  EXPECT_EQ(dn.rdn()[0].value, "#1");
}

TEST(DnTest, HexStringValueDecodesBerContent) {
  Dn dn = MustParse("cn=#04024869,dc=x");
  EXPECT_EQ(dn.rdn()[0].value, "Hi");
}

TEST(DnTest, RejectsInvalidHexString) {
  EXPECT_EQ(Dn::Parse("cn=#zz,dc=x").status().code(), ResultCode::kInvalidDnSyntax);
  EXPECT_EQ(Dn::Parse("cn=#0405,dc=x").status().code(), ResultCode::kInvalidDnSyntax);
}

TEST(DnTest, ParsesMultiValuedRdnInOrder) {
  Dn dn = MustParse("cn=a+sn=b,dc=x");
  ASSERT_EQ(dn.rdn().size(), 2u);
  EXPECT_EQ(dn.rdn()[0].type, "cn");
  EXPECT_EQ(dn.rdn()[1].type, "sn");
}

TEST(DnTest, ToleratesSpacesAndSemicolon) {
  Dn dn = MustParse(" cn = Alice ; dc=example , dc=com ");
  ASSERT_EQ(dn.size(), 3u);
  EXPECT_EQ(dn.rdn()[0].value, "Alice");
  EXPECT_EQ(dn.ToString(), "cn=Alice,dc=example,dc=com");
}

TEST(DnTest, RejectsMalformedDns) {
  for (const char* bad : {"cn=a,,dc=b", "cn=a,", "cn", "=a", "cn=a\\q", "c n=a", "cn=a<b"}) {
    EXPECT_EQ(Dn::Parse(bad).status().code(), ResultCode::kInvalidDnSyntax) << bad;
  }
}

TEST(DnTest, RejectsEmbeddedNul) {
  EXPECT_FALSE(Dn::Parse(std::string_view("cn=a\0b", 6)).ok());
}

TEST(DnTest, ToStringEscapesAndRoundTrips) {
  Dn dn({{{"cn", " a,b+c\"d\\e<f>;g= "}}, {{"dc", "#x"}}});
  std::string text = dn.ToString();
  EXPECT_EQ(text, R"(cn=\ a\,b\+c\"d\\e\<f\>\;g\=\ ,dc=\#x)");
  Dn back = MustParse(text);
  EXPECT_EQ(back.rdns()[0][0].value, dn.rdns()[0][0].value);
  EXPECT_EQ(back.rdns()[1][0].value, "#x");
}

TEST(DnTest, ToStringKeepsCaseAsGiven) {
  EXPECT_EQ(MustParse("CN=Alice,DC=Example").ToString(), "CN=Alice,DC=Example");
}

TEST(DnTest, NormalizedFoldsCaseAndSpaces) {
  EXPECT_EQ(MustParse("CN=  Alice   Smith ,DC=Example , dc=COM").Normalized(), "cn=alice smith,dc=example,dc=com");
}

TEST(DnTest, NormalizedSortsMultiValuedRdn) {
  EXPECT_EQ(MustParse("sn=B+cn=A,dc=x").Normalized(), MustParse("CN=a+SN=b,DC=X").Normalized());
  EXPECT_EQ(MustParse("sn=B+cn=A,dc=x").Normalized(), "cn=a+sn=b,dc=x");
}

TEST(DnTest, EqualityUsesNormalizedForm) {
  EXPECT_EQ(MustParse("cn=Alice,dc=x"), MustParse("CN=alice, DC=X"));
  EXPECT_FALSE(MustParse("cn=Alice,dc=x") == MustParse("cn=Bob,dc=x"));
}

TEST(DnTest, EscapedAndHexFormsAreEqual) {
  EXPECT_EQ(MustParse(R"(cn=a\,b,dc=x)"), MustParse(R"(cn=a\2cb,dc=x)"));
}

TEST(DnTest, ParentDropsFirstRdn) {
  EXPECT_EQ(MustParse("cn=a,ou=b,dc=c").Parent().ToString(), "ou=b,dc=c");
  EXPECT_TRUE(MustParse("dc=c").Parent().empty());
  EXPECT_TRUE(Dn().Parent().empty());
}

TEST(DnTest, ChildPrependsRdn) {
  EXPECT_EQ(MustParse("dc=c").Child({{"cn", "x,y"}}).ToString(), R"(cn=x\,y,dc=c)");
}

TEST(DnTest, WithRdnReplacesFirstRdn) {
  EXPECT_EQ(MustParse("cn=a,dc=c").WithRdn({{"cn", "b"}}).ToString(), "cn=b,dc=c");
}

TEST(DnTest, RebaseMovesSubtree) {
  Dn dn = MustParse("cn=a,ou=old,dc=c");
  EXPECT_EQ(dn.Rebase(MustParse("ou=old,dc=c"), MustParse("ou=new,dc=d")).ToString(), "cn=a,ou=new,dc=d");
}

TEST(DnTest, IsDescendantOfIsStrict) {
  Dn base = MustParse("dc=example,dc=com");
  EXPECT_TRUE(MustParse("cn=a,DC=Example,dc=com").IsDescendantOf(base));
  EXPECT_FALSE(base.IsDescendantOf(base));
  EXPECT_TRUE(base.IsDescendantOrSelf(base));
  EXPECT_FALSE(MustParse("cn=a,dc=other,dc=com").IsDescendantOf(base));
  EXPECT_TRUE(base.IsDescendantOf(Dn()));
}

TEST(DnTest, NormalizeDnParsesAndNormalizes) {
  EXPECT_EQ(*NormalizeDn("CN=Bob , DC=X"), "cn=bob,dc=x");
  EXPECT_EQ(NormalizeDn("bogus").status().code(), ResultCode::kInvalidDnSyntax);
}

TEST(DnTest, EscapeDnValueEscapesNulAsHex) {
  EXPECT_EQ(EscapeDnValue(std::string_view("a\0b", 3)), "a\\00b");
}

TEST(DnTest, NormalizeCaseIgnoreTrimsAndFolds) {
  EXPECT_EQ(NormalizeCaseIgnore("  Foo   BAR  "), "foo bar");
  EXPECT_EQ(NormalizeCaseIgnore("   "), "");
}

}  // namespace
}  // namespace simplead::ldap
