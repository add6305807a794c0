#include "lib/ldap/filter.h"

#include <gtest/gtest.h>

namespace simplead::ldap {
namespace {

Filter MustParse(std::string_view text) {
  auto f = ParseFilter(text);
  EXPECT_TRUE(f.ok()) << text << ": " << f.status().ToString();
  return f.ok() ? *f : Filter();
}

TEST(FilterTest, ParsesEquality) {
  Filter f = MustParse("(cn=Alice)");
  EXPECT_EQ(f.type, Filter::Type::kEquality);
  EXPECT_EQ(f.attribute, "cn");
  EXPECT_EQ(f.value, "Alice");
}

TEST(FilterTest, ParsesPresent) {
  Filter f = MustParse("(objectClass=*)");
  EXPECT_EQ(f.type, Filter::Type::kPresent);
  EXPECT_EQ(f.attribute, "objectClass");
}

TEST(FilterTest, ParsesOrderingAndApprox) {
  EXPECT_EQ(MustParse("(uidNumber>=100)").type, Filter::Type::kGreaterOrEqual);
  EXPECT_EQ(MustParse("(uidNumber<=100)").type, Filter::Type::kLessOrEqual);
  EXPECT_EQ(MustParse("(cn~=alise)").type, Filter::Type::kApprox);
}

TEST(FilterTest, ParsesSubstrings) {
  Filter f = MustParse("(cn=a*b*c*d)");
  EXPECT_EQ(f.type, Filter::Type::kSubstrings);
  EXPECT_EQ(f.initial, "a");
  EXPECT_EQ(f.any, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(f.final, "d");
  Filter g = MustParse("(cn=*x*)");
  EXPECT_FALSE(g.initial.has_value());
  EXPECT_EQ(g.any, std::vector<std::string>{"x"});
  EXPECT_FALSE(g.final.has_value());
}

TEST(FilterTest, ParsesBooleanCombinations) {
  Filter f = MustParse("(&(objectClass=person)(|(cn=a)(cn=b))(!(uid=c)))");
  EXPECT_EQ(f.type, Filter::Type::kAnd);
  ASSERT_EQ(f.children.size(), 3u);
  EXPECT_EQ(f.children[1].type, Filter::Type::kOr);
  EXPECT_EQ(f.children[2].type, Filter::Type::kNot);
  EXPECT_EQ(f.children[2].children[0].value, "c");
}

TEST(FilterTest, AcceptsAbsoluteTrueAndFalse) {
  EXPECT_TRUE(MustParse("(&)").children.empty());
  EXPECT_EQ(MustParse("(|)").type, Filter::Type::kOr);
}

TEST(FilterTest, UnescapesHexEscapes) {
  EXPECT_EQ(MustParse(R"(cn=a\2ab\28\29\5c\00)").value, std::string("a*b()\\\0", 7));
}

TEST(FilterTest, ParsesExtensibleWithAttrDnAndRule) {
  Filter f = MustParse("(cn:dn:2.5.13.5:=John)");
  EXPECT_EQ(f.type, Filter::Type::kExtensible);
  EXPECT_EQ(f.attribute, "cn");
  EXPECT_TRUE(f.dn_attributes);
  EXPECT_EQ(f.matching_rule, "2.5.13.5");
  EXPECT_EQ(f.value, "John");
}

TEST(FilterTest, ParsesExtensibleRuleOnly) {
  Filter f = MustParse("(:caseExactMatch:=Fred)");
  EXPECT_TRUE(f.attribute.empty());
  EXPECT_EQ(f.matching_rule, "caseExactMatch");
  EXPECT_FALSE(f.dn_attributes);
}

TEST(FilterTest, ParsesExtensibleAttrOnly) {
  Filter f = MustParse("(cn:=Fred)");
  EXPECT_EQ(f.attribute, "cn");
  EXPECT_TRUE(f.matching_rule.empty());
  Filter g = MustParse("(:DN:2.4.6.8.10:=Dino)");
  EXPECT_TRUE(g.dn_attributes);
  EXPECT_EQ(g.matching_rule, "2.4.6.8.10");
}

TEST(FilterTest, ParsesAdBitAndRule) {
  Filter f = MustParse("(userAccountControl:1.2.840.113556.1.4.803:=2)");
  EXPECT_EQ(f.matching_rule, "1.2.840.113556.1.4.803");
  EXPECT_EQ(f.value, "2");
}

TEST(FilterTest, AcceptsBareItemWithoutParentheses) {
  EXPECT_EQ(MustParse("uid=bob").value, "bob");
}

TEST(FilterTest, RejectsMalformedWithPosition) {
  for (const char* bad : {"(cn=a", "(cn=a))", "((cn=a)", "(=a)", "(cn=a\\4)", "(cn=a\\zz)", "(cn=a(b)", "(!)",
                          "(cn>a)", "(:=a)", "(cn:dn:=*)", "(cn=a**b)", "()", ""}) {
    auto f = ParseFilter(bad);
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_EQ(f.status().code(), ResultCode::kProtocolError) << bad;
    EXPECT_NE(f.status().message().find("position"), std::string::npos) << bad;
  }
}

TEST(FilterTest, DepthLimitIsAdminLimitExceeded) {
  std::string deep;
  for (int i = 0; i < 10000; ++i) deep += "(!";
  deep += "(a=b)";
  for (int i = 0; i < 10000; ++i) deep += ")";
  auto f = ParseFilter(deep);
  EXPECT_EQ(f.status().code(), ResultCode::kAdminLimitExceeded);
}

TEST(FilterTest, DepthAtLimitIsAccepted) {
  EXPECT_TRUE(ParseFilter("(!(!(a=b)))", 3).ok());
  EXPECT_EQ(ParseFilter("(!(!(a=b)))", 2).status().code(), ResultCode::kAdminLimitExceeded);
}

TEST(FilterTest, ToStringEscapesSpecialCharacters) {
  EXPECT_EQ(FilterToString(Filter::Equality("cn", std::string("a*(b)\\\0", 7))), R"((cn=a\2a\28b\29\5c\00))");
}

TEST(FilterTest, ToStringRoundTripsThroughParse) {
  for (const char* text : {"(&(objectClass=person)(|(cn=a*b*c)(sn=*x))(!(uid>=5)))", "(cn:dn:2.5.13.5:=J)",
                           "(:rule:=v)", "(cn:=v)", "(a~=b)", "(a<=b)", "(a=*)", "(&)", "(cn=x*)"}) {
    EXPECT_EQ(FilterToString(MustParse(text)), text);
  }
}

TEST(FilterTest, FactoriesBuildExpectedTree) {
  Filter f = Filter::And({Filter::Present("a"), Filter::Not(Filter::Equality("b", "c")), Filter::Or({})});
  EXPECT_EQ(FilterToString(f), "(&(a=*)(!(b=c))(|))");
}

TEST(FilterTest, DepthAndSizeCountNodes) {
  Filter f = MustParse("(&(a=b)(|(c=d)(!(e=f))))");
  EXPECT_EQ(FilterDepth(f), 4);
  EXPECT_EQ(FilterSize(f), 6u);
  EXPECT_EQ(FilterDepth(Filter::Present("x")), 1);
}

}  // namespace
}  // namespace simplead::ldap
