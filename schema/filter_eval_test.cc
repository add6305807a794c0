#include "schema/filter_eval.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

namespace simplead::schema {
namespace {

using ldap::Dn;
using ldap::Entry;
using ldap::Filter;
using ldap::Rdn;

std::shared_ptr<const Schema> Real() {
  static const std::shared_ptr<const Schema> schema = [] {
    auto s = Schema::LoadDirectory(SIMPLEAD_SCHEMA_DIR);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : nullptr;
  }();
  return schema;
}

Filter Item(Filter::Type type, std::string attr, std::string value) {
  Filter f;
  f.type = type;
  f.attribute = std::move(attr);
  f.value = std::move(value);
  return f;
}
Filter Eq(std::string a, std::string v) { return Item(Filter::Type::kEquality, std::move(a), std::move(v)); }
Filter Ge(std::string a, std::string v) { return Item(Filter::Type::kGreaterOrEqual, std::move(a), std::move(v)); }
Filter Le(std::string a, std::string v) { return Item(Filter::Type::kLessOrEqual, std::move(a), std::move(v)); }
Filter Approx(std::string a, std::string v) { return Item(Filter::Type::kApprox, std::move(a), std::move(v)); }
Filter Present(std::string a) { return Item(Filter::Type::kPresent, std::move(a), ""); }
Filter Sub(std::string a, std::optional<std::string> initial, std::vector<std::string> any,
           std::optional<std::string> final) {
  Filter f = Item(Filter::Type::kSubstrings, std::move(a), "");
  f.initial = std::move(initial);
  f.any = std::move(any);
  f.final = std::move(final);
  return f;
}
Filter Ext(std::string a, std::string rule, std::string v, bool dn_attributes = false) {
  Filter f = Item(Filter::Type::kExtensible, std::move(a), std::move(v));
  f.matching_rule = std::move(rule);
  f.dn_attributes = dn_attributes;
  return f;
}
Filter Not(Filter f) {
  Filter n;
  n.type = Filter::Type::kNot;
  n.children.push_back(std::move(f));
  return n;
}
Filter And(std::vector<Filter> c) {
  Filter f;
  f.type = Filter::Type::kAnd;
  f.children = std::move(c);
  return f;
}
Filter Or(std::vector<Filter> c) {
  Filter f;
  f.type = Filter::Type::kOr;
  f.children = std::move(c);
  return f;
}

Entry User() {
  Dn dn(std::vector<Rdn>{Rdn{{"cn", "John Smith"}}, Rdn{{"ou", "People"}}, Rdn{{"dc", "example"}},
                         Rdn{{"dc", "com"}}});
  return Entry(dn, {{"objectClass", {"top", "person", "organizationalPerson", "inetOrgPerson", "posixAccount"}},
                    {"cn", {"John Smith", "Johnny"}},
                    {"cn;lang-de", {"Johann Schmidt"}},
                    {"sn", {"Smith"}},
                    {"mail", {"John.Smith@Example.com"}},
                    {"uid", {"jsmith"}},
                    {"uidNumber", {"1500"}},
                    {"gidNumber", {"100"}},
                    {"homeDirectory", {"/home/jsmith"}},
                    {"telephoneNumber", {"+1 555-0100"}},
                    {"createTimestamp", {"20240101120000Z"}},
                    {"userAccountControl", {"514"}},
                    {"groupType", {"-2147483646"}},
                    {"memberOf", {"cn=Staff,ou=Groups,dc=example,dc=com"}}});
}

Tri Eval(const Filter& f, const EvalHooks& hooks = {}) { return Evaluate(f, User(), *Real(), hooks); }

TEST(FilterEvalTest, EqualityUsesTheAttributesRule) {
  EXPECT_EQ(Eval(Eq("cn", "  JOHN   smith ")), Tri::kTrue);
  EXPECT_EQ(Eval(Eq("commonName", "johnny")), Tri::kTrue);
  EXPECT_EQ(Eval(Eq("cn", "Jane")), Tri::kFalse);
  EXPECT_EQ(Eval(Eq("uidNumber", "01500")), Tri::kTrue);
  EXPECT_EQ(Eval(Eq("telephoneNumber", "+15550100")), Tri::kTrue);
  EXPECT_EQ(Eval(Eq("homeDirectory", "/HOME/jsmith")), Tri::kFalse);  // caseExactIA5Match
}

TEST(FilterEvalTest, EqualityOnAbsentAttributeIsFalse) { EXPECT_EQ(Eval(Eq("description", "x")), Tri::kFalse); }

TEST(FilterEvalTest, UnknownAttributeIsUndefined) {
  EXPECT_EQ(Eval(Eq("noSuchAttr", "x")), Tri::kUndefined);
  EXPECT_EQ(Eval(Present("noSuchAttr")), Tri::kUndefined);
  EXPECT_EQ(Eval(Sub("noSuchAttr", "a", {}, std::nullopt)), Tri::kUndefined);
}

TEST(FilterEvalTest, InvalidAssertionValueIsUndefined) { EXPECT_EQ(Eval(Eq("uidNumber", "abc")), Tri::kUndefined); }

TEST(FilterEvalTest, NoEqualityRuleIsUndefined) { EXPECT_EQ(Eval(Eq("jpegPhoto", "x")), Tri::kUndefined); }

TEST(FilterEvalTest, NotOfUndefinedIsUndefined) {
  EXPECT_EQ(Eval(Not(Eq("noSuchAttr", "x"))), Tri::kUndefined);
  EXPECT_EQ(Eval(Not(Eq("cn", "Jane"))), Tri::kTrue);
  EXPECT_EQ(Eval(Not(Eq("cn", "Johnny"))), Tri::kFalse);
}

TEST(FilterEvalTest, AndOrFollowThreeValuedLogic) {
  Filter undefined = Eq("noSuchAttr", "x");
  EXPECT_EQ(Eval(And({undefined, Eq("cn", "Jane")})), Tri::kFalse);
  EXPECT_EQ(Eval(And({undefined, Eq("cn", "Johnny")})), Tri::kUndefined);
  EXPECT_EQ(Eval(Or({undefined, Eq("cn", "Johnny")})), Tri::kTrue);
  EXPECT_EQ(Eval(Or({undefined, Eq("cn", "Jane")})), Tri::kUndefined);
  EXPECT_EQ(Eval(And({})), Tri::kTrue);
  EXPECT_EQ(Eval(Or({})), Tri::kFalse);
}

TEST(FilterEvalTest, SupertypeFilterMatchesSubtypeValues) {
  EXPECT_EQ(Eval(Eq("name", "johnny")), Tri::kTrue);
  EXPECT_EQ(Eval(Eq("name", "smith")), Tri::kTrue);  // sn SUP name
  EXPECT_EQ(Eval(Present("name")), Tri::kTrue);
  EXPECT_EQ(Eval(Eq("sn", "johnny")), Tri::kFalse);  // but not the other way round
}

TEST(FilterEvalTest, FilterOptionsSelectTaggedValues) {
  EXPECT_EQ(Eval(Eq("cn;lang-de", "johann schmidt")), Tri::kTrue);
  EXPECT_EQ(Eval(Eq("cn;lang-de", "johnny")), Tri::kFalse);
  EXPECT_EQ(Eval(Eq("cn", "johann schmidt")), Tri::kTrue);  // a tagged value is a subtype
}

TEST(FilterEvalTest, ObjectClassMatchesSuperclasses) {
  EXPECT_EQ(Eval(Eq("objectClass", "person")), Tri::kTrue);
  EXPECT_EQ(Eval(Eq("objectClass", "ORGANIZATIONALPERSON")), Tri::kTrue);
  EXPECT_EQ(Eval(Eq("objectClass", "2.5.6.6")), Tri::kTrue);
  EXPECT_EQ(Eval(Eq("objectClass", "posixAccount")), Tri::kTrue);
  EXPECT_EQ(Eval(Eq("objectClass", "groupOfNames")), Tri::kFalse);
}

TEST(FilterEvalTest, FilterOptionsCompareCaseInsensitively) {
  EXPECT_EQ(Eval(Eq("cn;LANG-DE", "johann schmidt")), Tri::kTrue);
  EXPECT_EQ(Eval(Eq("cn;lang-de;lang-fr", "johann schmidt")), Tri::kFalse);  // every filter option is needed
}

TEST(FilterEvalTest, UnknownObjectClassValueMatchesItself) {
  Entry e(Dn(), {{"objectClass", {"top", "madeUpClass"}}});
  EXPECT_EQ(Evaluate(Eq("objectClass", "MADEUPCLASS"), e, *Real()), Tri::kTrue);
  EXPECT_EQ(Evaluate(Eq("objectClass", "person"), e, *Real()), Tri::kFalse);
  EXPECT_EQ(Evaluate(Eq("objectClass", "top"), e, *Real()), Tri::kTrue);
}

TEST(FilterEvalTest, ObjectClassPresenceIsAlwaysTrue) {
  Entry bare(Dn(), {});
  EXPECT_EQ(Evaluate(Present("objectClass"), bare, *Real()), Tri::kTrue);
  EXPECT_EQ(Evaluate(Present("cn"), bare, *Real()), Tri::kFalse);
}

TEST(FilterEvalTest, SubstringsMatchInitialAnyFinal) {
  EXPECT_EQ(Eval(Sub("cn", "JOHN", {}, std::nullopt)), Tri::kTrue);
  EXPECT_EQ(Eval(Sub("cn", std::nullopt, {"n s"}, std::nullopt)), Tri::kTrue);
  EXPECT_EQ(Eval(Sub("cn", "jo", {"h", "s"}, "th")), Tri::kTrue);
  EXPECT_EQ(Eval(Sub("cn", "jo", {"s", "h"}, "ith")), Tri::kFalse);  // pieces in order
  EXPECT_EQ(Eval(Sub("cn", "john smith", {}, "smith")), Tri::kFalse);  // no overlap
  EXPECT_EQ(Eval(Sub("mail", std::nullopt, {}, "@EXAMPLE.COM")), Tri::kTrue);
  EXPECT_EQ(Eval(Sub("cn", "jane", {}, std::nullopt)), Tri::kFalse);
}

TEST(FilterEvalTest, SubstringsOnIntegerIsUndefined) {
  EXPECT_EQ(Eval(Sub("uidNumber", "1", {}, std::nullopt)), Tri::kUndefined);
}

TEST(FilterEvalTest, OrderingUsesTheOrderingRule) {
  EXPECT_EQ(Eval(Ge("uidNumber", "1000")), Tri::kTrue);
  EXPECT_EQ(Eval(Ge("uidNumber", "2000")), Tri::kFalse);
  EXPECT_EQ(Eval(Le("uidNumber", "1500")), Tri::kTrue);
  EXPECT_EQ(Eval(Le("uidNumber", "999")), Tri::kFalse);
  EXPECT_EQ(Eval(Ge("createTimestamp", "20240101110000Z")), Tri::kTrue);
  EXPECT_EQ(Eval(Le("createTimestamp", "20240101130000+0200")), Tri::kFalse);
}

TEST(FilterEvalTest, OrderingWithoutRuleIsUndefined) { EXPECT_EQ(Eval(Ge("cn", "a")), Tri::kUndefined); }

TEST(FilterEvalTest, ApproxIsEqualityAfterNormalisation) {
  EXPECT_EQ(Eval(Approx("sn", "SMITH")), Tri::kTrue);
  EXPECT_EQ(Eval(Approx("sn", "Smyth")), Tri::kFalse);
}

TEST(FilterEvalTest, ExtensibleWithRuleNameOrOid) {
  EXPECT_EQ(Eval(Ext("cn", "caseExactMatch", "John Smith")), Tri::kTrue);
  EXPECT_EQ(Eval(Ext("cn", "caseExactMatch", "john smith")), Tri::kFalse);
  EXPECT_EQ(Eval(Ext("cn", "2.5.13.5", "Johnny")), Tri::kTrue);
  EXPECT_EQ(Eval(Ext("cn", "caseIgnoreMatch", "JOHNNY")), Tri::kTrue);
  EXPECT_EQ(Eval(Ext("uidNumber", "integerMatch", "1500")), Tri::kTrue);
  EXPECT_EQ(Eval(Ext("cn", "", "johnny")), Tri::kTrue);  // attribute's own rule
}

TEST(FilterEvalTest, ExtensibleWithUnknownRuleIsUndefined) {
  EXPECT_EQ(Eval(Ext("cn", "1.2.3.4.5", "x")), Tri::kUndefined);
  EXPECT_EQ(Eval(Ext("noSuchAttr", "caseIgnoreMatch", "x")), Tri::kUndefined);
}

TEST(FilterEvalTest, ExtensibleWithoutTypeTriesEveryApplicableAttribute) {
  EXPECT_EQ(Eval(Ext("", "caseIgnoreMatch", "smith")), Tri::kTrue);
  EXPECT_EQ(Eval(Ext("", "caseIgnoreMatch", "nobody")), Tri::kFalse);
}

TEST(FilterEvalTest, ExtensibleDnAttributesMatchesDnAvas) {
  EXPECT_EQ(Eval(Ext("ou", "", "people")), Tri::kFalse);  // not an attribute of the entry
  EXPECT_EQ(Eval(Ext("ou", "", "people", true)), Tri::kTrue);
  EXPECT_EQ(Eval(Ext("dc", "caseIgnoreIA5Match", "EXAMPLE", true)), Tri::kTrue);
  EXPECT_EQ(Eval(Ext("", "caseIgnoreMatch", "People", true)), Tri::kTrue);
  EXPECT_EQ(Eval(Ext("ou", "", "Groups", true)), Tri::kFalse);
  EXPECT_EQ(Eval(Ext("name", "", "people", true)), Tri::kTrue);  // ou SUP name
}

TEST(FilterEvalTest, BitwiseAnd) {
  const std::string kAnd = "1.2.840.113556.1.4.803";
  EXPECT_EQ(Eval(Ext("userAccountControl", kAnd, "2")), Tri::kTrue);    // 514 = 512|2
  EXPECT_EQ(Eval(Ext("userAccountControl", kAnd, "514")), Tri::kTrue);
  EXPECT_EQ(Eval(Ext("userAccountControl", kAnd, "3")), Tri::kFalse);
  EXPECT_EQ(Eval(Ext("groupType", kAnd, "2147483648")), Tri::kTrue);  // security-enabled bit of a negative value
  EXPECT_EQ(Eval(Not(Ext("userAccountControl", kAnd, "2"))), Tri::kFalse);
  EXPECT_EQ(Eval(Ext("userAccountControl", kAnd, "x")), Tri::kUndefined);
}

TEST(FilterEvalTest, BitwiseOr) {
  const std::string kOr = "1.2.840.113556.1.4.804";
  EXPECT_EQ(Eval(Ext("userAccountControl", kOr, "3")), Tri::kTrue);
  EXPECT_EQ(Eval(Ext("userAccountControl", kOr, "5")), Tri::kFalse);
  EXPECT_EQ(Eval(Ext("description", kOr, "1")), Tri::kFalse);  // absent attribute
}

TEST(FilterEvalTest, InChainUsesTheHook) {
  const std::string kChain = "1.2.840.113556.1.4.1941";
  EvalHooks hooks;
  std::string seen;
  hooks.in_chain = [&](const Entry&, const AttributeType& attr, std::string_view target) {
    seen = attr.name() + ":" + std::string(target);
    return target == "cn=Everyone,dc=example,dc=com";
  };
  EXPECT_EQ(Eval(Ext("memberOf", kChain, "cn=Everyone,dc=example,dc=com"), hooks), Tri::kTrue);
  EXPECT_EQ(seen, "memberOf:cn=Everyone,dc=example,dc=com");
  EXPECT_EQ(Eval(Ext("memberOf", kChain, "cn=Other,dc=example,dc=com"), hooks), Tri::kFalse);
  EXPECT_EQ(Eval(Ext("cn", kChain, "cn=x"), hooks), Tri::kUndefined);  // not a DN attribute
}

TEST(FilterEvalTest, InChainWithoutHookMatchesDirectValues) {
  const std::string kChain = "1.2.840.113556.1.4.1941";
  EXPECT_EQ(Eval(Ext("memberOf", kChain, "CN=Staff,OU=Groups,DC=example,DC=com")), Tri::kTrue);
  EXPECT_EQ(Eval(Ext("memberOf", kChain, "cn=Everyone,dc=example,dc=com")), Tri::kFalse);
}

TEST(FilterEvalTest, UnreadableAttributeIsUndefined) {
  EvalHooks hooks;
  hooks.can_read = [](const AttributeType& a) { return a.name() != "mail" && a.name() != "cn"; };
  EXPECT_EQ(Eval(Eq("mail", "john.smith@example.com"), hooks), Tri::kUndefined);
  EXPECT_EQ(Eval(Not(Present("mail")), hooks), Tri::kUndefined);
  EXPECT_EQ(Eval(Eq("name", "johnny"), hooks), Tri::kFalse);  // cn values hidden from a name filter
  EXPECT_EQ(Eval(Eq("name", "smith"), hooks), Tri::kTrue);
  EXPECT_EQ(Eval(Ext("cn", "", "people", true), hooks), Tri::kUndefined);
  EXPECT_EQ(Eval(Present("objectClass"), hooks), Tri::kTrue);
}

TEST(FilterEvalTest, EvaluatesParsedFilterStrings) {
  struct Case {
    const char* filter;
    Tri want;
  } cases[] = {
      {"(&(objectClass=person)(cn=john*))", Tri::kTrue},
      {"(|(uid=nobody)(mail=*@example.com))", Tri::kTrue},
      {"(!(noSuchAttr=x))", Tri::kUndefined},
      {"(userAccountControl:1.2.840.113556.1.4.803:=2)", Tri::kTrue},
      {"(ou:dn:=people)", Tri::kTrue},
      {"(cn:caseExactMatch:=johnny)", Tri::kFalse},
      {"(uidNumber>=1000)", Tri::kTrue},
      {"(sn~=smith)", Tri::kTrue},
  };
  for (const Case& c : cases) {
    auto f = ldap::ParseFilter(c.filter);
    ASSERT_TRUE(f.ok()) << c.filter << ": " << f.status().ToString();
    EXPECT_EQ(Eval(*f), c.want) << c.filter;
  }
}

TEST(FilterEvalTest, MatchesIsTrueOnlyForTrue) {
  EXPECT_TRUE(Matches(Eq("uid", "JSMITH"), User(), *Real()));
  EXPECT_FALSE(Matches(Eq("noSuchAttr", "x"), User(), *Real()));
}

// --- Timing (run by hand: --gtest_also_run_disabled_tests) -----------------

TEST(FilterEvalTimingTest, DISABLED_EvaluateNanoseconds) {
  constexpr int kRounds = 100000;  // bounded
  const Entry user = User();
  const Schema& s = *Real();
  struct Case {
    const char* name;
    Filter filter;
  };
  std::vector<Case> cases;
  cases.push_back({"(uid=jsmith)", Eq("uid", "jsmith")});
  cases.push_back({"(&(objectClass=person)(cn=john smith))", And({Eq("objectClass", "person"), Eq("cn", "john smith")})});
  cases.push_back({"(cn=*ohn*)", Sub("cn", std::nullopt, {"ohn"}, std::nullopt)});
  cases.push_back({"(uidNumber>=1000)", Ge("uidNumber", "1000")});
  for (const Case& c : cases) {
    auto start = std::chrono::steady_clock::now();
    int matched = 0;
    for (int i = 0; i < kRounds; ++i) matched += Matches(c.filter, user, s);
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(matched, kRounds) << c.name;
    std::printf("%-42s %.0f ns per candidate\n", c.name, static_cast<double>(ns) / kRounds);
  }
}

}  // namespace
}  // namespace simplead::schema
