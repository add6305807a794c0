#include "server/backend/access.h"

#include <gtest/gtest.h>

#include "lib/ldap/dn.h"

namespace simplead::backend {
namespace {

class AccessRuleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto schema = schema::Schema::LoadDirectory(SIMPLEAD_SCHEMA_DIR);
    ASSERT_TRUE(schema.ok()) << schema.status().ToString();
    schema_ = *schema;
  }

  static Result<std::string> Key(std::string_view dn) {
    SIMPLEAD_ASSIGN_OR_RETURN(auto parsed, ldap::Dn::Parse(dn));
    return parsed.Normalized();
  }

  Result<AccessRule> Parse(std::string_view text, bool allow_on = true) {
    return ParseAccessRule(text, *schema_, Key, "DC=corp,DC=example,DC=com", allow_on);
  }

  AccessPolicy Policy(const std::vector<std::string>& texts) {
    std::vector<AccessRule> rules;
    for (const auto& t : texts) {
      auto rule = Parse(t);
      EXPECT_TRUE(rule.ok()) << t << ": " << rule.status().ToString();
      if (rule.ok()) rules.push_back(*rule);
    }
    return AccessPolicy(std::move(rules));
  }

  EntryAccess For(const AccessPolicy& policy, const AccessRequester& who, std::string_view dn,
                  std::vector<ldap::Attribute> attributes = {{"objectClass", {"top", "person"}}}) {
    auto parsed = ldap::Dn::Parse(dn);
    ldap::Entry entry(*parsed, std::move(attributes));
    return policy.For(who, parsed->Normalized(), entry, *schema_);
  }

  static AccessRequester User(std::string_view dn, std::vector<std::string> groups = {}) {
    AccessRequester r;
    r.anonymous = false;
    r.key = *Key(dn);
    auto keys = std::make_shared<std::vector<std::string>>();
    for (const auto& g : groups) keys->push_back(*Key(g));
    r.groups = [keys]() -> const std::vector<std::string>& { return *keys; };
    return r;
  }

  std::shared_ptr<const schema::Schema> schema_;
};

constexpr const char* kAlice = "CN=alice,CN=Users,DC=corp,DC=example,DC=com";
constexpr const char* kBob = "CN=bob,CN=Users,DC=corp,DC=example,DC=com";

TEST_F(AccessRuleTest, ParsesEveryClause) {
  auto rule = Parse(R"(deny read,write on "OU=Sales,DC=corp,DC=example,DC=com" scope=children )"
                    R"(attrs=telephoneNumber,MAIL filter=(&(objectClass=user)(cn=a b)) by group="CN=X,DC=corp,DC=example,DC=com")");
  ASSERT_TRUE(rule.ok()) << rule.status().ToString();
  EXPECT_FALSE(rule->allow);
  EXPECT_EQ(rule->rights, kReadRight | kWriteRight);
  EXPECT_EQ(rule->target_key, *Key("OU=Sales,DC=corp,DC=example,DC=com"));
  EXPECT_EQ(rule->scope, ldap::SearchScope::kChildren);
  EXPECT_EQ(rule->attributes, (std::set<std::string, std::less<>>{"mail", "telephonenumber"}));
  ASSERT_TRUE(rule->filter.has_value());
  EXPECT_EQ(rule->subject.kind, AccessSubject::Kind::kGroup);
}

TEST_F(AccessRuleTest, RejectsMalformedRulesNamingTheProblem) {
  struct Case {
    const char* text;
    const char* expected;
  } cases[] = {
      {"permit read by self", "starts with allow or deny"},
      {"allow fly by self", "unknown right \"fly\""},
      {"allow read attrs=noSuchAttr by self", "unknown attribute \"noSuchAttr\""},
      {"allow read scope=galaxy by self", "unknown scope"},
      {"allow read filter=(cn=x by self", "unbalanced"},
      {"allow read by somebody", "unknown subject"},
      {"allow read by self extra", "after the subject"},
      {"allow read attrs=cn", "by SUBJECT"},
      {"allow read attrs=cn scope=base", "missing 'by SUBJECT'"},
      {"allow read by dn=\"not a dn\"", "bad DN"},
      {"allow read on \"OU=x", "unterminated"},
  };
  for (const auto& c : cases) {
    auto rule = Parse(c.text);
    ASSERT_FALSE(rule.ok()) << c.text;
    EXPECT_EQ(rule.status().code(), ResultCode::kInvalidAttributeSyntax) << c.text;
    EXPECT_NE(rule.status().message().find(c.expected), std::string::npos) << rule.status().message();
  }
}

TEST_F(AccessRuleTest, StoredRulesMayNotNameAnotherTarget) {
  auto rule = Parse(R"(allow all on "DC=corp,DC=example,DC=com" by self)", /*allow_on=*/false);
  ASSERT_FALSE(rule.ok());
  EXPECT_NE(rule.status().message().find("drop the 'on' clause"), std::string::npos);
}

TEST_F(AccessRuleTest, NothingIsAllowedWithoutARule) {
  AccessPolicy empty;
  auto access = For(empty, User(kAlice), kAlice);
  EXPECT_FALSE(access.AllowsEntry(kReadRight));
  EXPECT_FALSE(access.Allows(kReadRight, "cn"));
}

TEST_F(AccessRuleTest, DenyBeatsAllowWhateverTheOrder) {
  auto policy = Policy({"deny read attrs=badPwdCount by authenticated", "allow read by authenticated"});
  auto access = For(policy, User(kAlice), kBob);
  EXPECT_TRUE(access.AllowsEntry(kReadRight));
  EXPECT_TRUE(access.Allows(kReadRight, "cn"));
  EXPECT_FALSE(access.Allows(kReadRight, "badpwdcount"));
}

TEST_F(AccessRuleTest, NegatedAttributeListsCoverEverythingElse) {
  auto policy = Policy({"allow read attrs!=badPwdCount by authenticated", "allow read attrs=badPwdCount by self"});
  EXPECT_FALSE(For(policy, User(kAlice), kBob).Allows(kReadRight, "badpwdcount"));
  EXPECT_TRUE(For(policy, User(kAlice), kBob).Allows(kReadRight, "mail"));
  EXPECT_TRUE(For(policy, User(kAlice), kAlice).Allows(kReadRight, "badpwdcount"));
}

TEST_F(AccessRuleTest, AnonymousMatchesOnlyAnonymousAndAnyone) {
  auto policy = Policy({"allow read by authenticated", "allow read attrs=cn by anonymous"});
  AccessRequester anonymous;
  auto access = For(policy, anonymous, kBob);
  EXPECT_TRUE(access.Allows(kReadRight, "cn"));
  EXPECT_FALSE(access.Allows(kReadRight, "mail"));
  auto strict = Policy({"allow read by authenticated"});
  EXPECT_FALSE(For(strict, anonymous, kBob).AllowsEntry(kReadRight));
}

TEST_F(AccessRuleTest, WholeEntryDenyHidesTheEntryButAttributeDenyDoesNot) {
  auto policy = Policy({"allow read by authenticated",
                        R"(deny read on "OU=Secret,DC=corp,DC=example,DC=com" by authenticated)",
                        "deny read attrs=mail by authenticated"});
  EXPECT_FALSE(For(policy, User(kAlice), "CN=x,OU=Secret,DC=corp,DC=example,DC=com").AllowsEntry(kReadRight));
  EXPECT_TRUE(For(policy, User(kAlice), kBob).AllowsEntry(kReadRight));
}

TEST_F(AccessRuleTest, GroupRulesApplyToMembersOnlyAndAskForGroupsLazily) {
  auto policy = Policy({R"(allow all on "OU=Sales,DC=corp,DC=example,DC=com" by group="CN=Sales Admins,OU=Sales,DC=corp,DC=example,DC=com")"});
  auto carol = User(kAlice, {"CN=Sales Admins,OU=Sales,DC=corp,DC=example,DC=com"});
  EXPECT_TRUE(For(policy, carol, "OU=Sales,DC=corp,DC=example,DC=com").AllowsEntry(kAddRight));
  EXPECT_TRUE(For(policy, carol, "CN=u,OU=Sales,DC=corp,DC=example,DC=com").Allows(kWriteRight, "mail"));
  EXPECT_FALSE(For(policy, carol, "OU=Marketing,DC=corp,DC=example,DC=com").AllowsEntry(kAddRight));
  EXPECT_FALSE(For(policy, User(kBob), "OU=Sales,DC=corp,DC=example,DC=com").AllowsEntry(kAddRight));

  int calls = 0;
  AccessRequester counted = User(kBob);
  counted.groups = [&calls]() -> const std::vector<std::string>& {
    static const std::vector<std::string> kNone;
    ++calls;
    return kNone;
  };
  (void)For(policy, counted, "CN=u,OU=Elsewhere,DC=corp,DC=example,DC=com");
  EXPECT_EQ(calls, 0) << "no group rule applies outside OU=Sales: no memberOf walk";
  (void)For(policy, counted, "CN=u,OU=Sales,DC=corp,DC=example,DC=com");
  EXPECT_EQ(calls, 1);
}

TEST_F(AccessRuleTest, SelfAndDnSubjects) {
  auto policy = Policy({"allow write attrs=telephoneNumber by self", std::string("allow read by dn=\"") + kBob + "\""});
  EXPECT_TRUE(For(policy, User(kAlice), kAlice).Allows(kWriteRight, "telephonenumber"));
  EXPECT_FALSE(For(policy, User(kAlice), kBob).Allows(kWriteRight, "telephonenumber"));
  EXPECT_FALSE(For(policy, User(kAlice), kAlice).Allows(kWriteRight, "mail"));
  EXPECT_TRUE(For(policy, User(kBob), kAlice).AllowsEntry(kReadRight));
  EXPECT_FALSE(For(policy, User(kAlice), kBob).AllowsEntry(kReadRight));
}

TEST_F(AccessRuleTest, FilterNarrowsTheEntriesARuleCovers) {
  auto policy = Policy({"allow read filter=(objectClass=group) by authenticated"});
  EXPECT_TRUE(For(policy, User(kAlice), "CN=g,DC=corp,DC=example,DC=com", {{"objectClass", {"top", "group"}}})
                  .AllowsEntry(kReadRight));
  EXPECT_FALSE(For(policy, User(kAlice), kBob).AllowsEntry(kReadRight));
}

TEST_F(AccessRuleTest, ScopesFollowTheDnTree) {
  const std::string base = *Key("OU=Sales,DC=corp,DC=example,DC=com");
  const std::string child = *Key("CN=a,OU=Sales,DC=corp,DC=example,DC=com");
  const std::string grandchild = *Key("CN=b,CN=a,OU=Sales,DC=corp,DC=example,DC=com");
  const std::string lookalike = *Key("CN=x\\,OU=Sales,DC=corp,DC=example,DC=com");
  using S = ldap::SearchScope;
  EXPECT_TRUE(DnKeyInScope(base, base, S::kBase));
  EXPECT_FALSE(DnKeyInScope(child, base, S::kBase));
  EXPECT_TRUE(DnKeyInScope(child, base, S::kOneLevel));
  EXPECT_FALSE(DnKeyInScope(grandchild, base, S::kOneLevel));
  EXPECT_TRUE(DnKeyInScope(grandchild, base, S::kSubtree));
  EXPECT_TRUE(DnKeyInScope(grandchild, base, S::kChildren));
  EXPECT_FALSE(DnKeyInScope(base, base, S::kChildren));
  EXPECT_FALSE(DnKeyInScope(lookalike, base, S::kSubtree)) << lookalike;
}

TEST_F(AccessRuleTest, UnrestrictedAllowsEverything) {
  auto access = EntryAccess::Unrestricted();
  EXPECT_TRUE(access.AllowsEntry(kDeleteRight));
  EXPECT_TRUE(access.Allows(kWriteRight, "anything"));
}

}  // namespace
}  // namespace simplead::backend
