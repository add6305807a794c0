#include "server/backend/directory.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "lib/ldap/dn.h"
#include "tests/fakes/temp_dir.h"
#include "tests/fakes/test_directory.h"

namespace simplead::backend {
namespace {

constexpr const char* kSuffix = "DC=corp,DC=example,DC=com";

class DirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DirectoryOptions options = testing::FastDirectoryOptions(dir_.path(), kSuffix, /*ad_mode=*/true);
    options.domain_fqdn = "corp.example.com";
    options.netbios = "CORP";
    directory_ = testing::OpenTestDirectory(options, clock_);
    ASSERT_NE(directory_, nullptr);
    ASSERT_TRUE(directory_->Provision({"Admin-Pass-1", ""}).ok());
  }

  Status AddUser(const std::string& cn, const std::string& password = "User-Pass-1") {
    ldap::AddRequest req{"CN=" + cn + ",CN=Users," + kSuffix,
                         {{"objectClass", {"top", "person", "organizationalPerson", "user"}},
                          {"sAMAccountName", {cn}},
                          {"userPrincipalName", {cn + "@corp.example.com"}},
                          {"userPassword", {password}}}};
    return directory_->Add(Principal::Internal(), req, {}, nullptr);
  }

  Status AddGroup(const std::string& cn, std::vector<std::string> members) {
    std::vector<ldap::Attribute> attrs{{"objectClass", {"top", "group"}}, {"sAMAccountName", {cn}}};
    for (auto& m : members) m = "CN=" + m + ",CN=Users," + kSuffix;
    if (!members.empty()) attrs.push_back({"member", members});
    return directory_->Add(Principal::Internal(), {"CN=" + cn + ",CN=Users," + kSuffix, attrs}, {}, nullptr);
  }

  std::vector<std::string> SearchDns(const std::string& filter, SearchOutcome* outcome = nullptr) {
    SearchParams params;
    params.base = kSuffix;
    params.scope = ldap::SearchScope::kSubtree;
    params.filter = *ldap::ParseFilter(filter);
    std::vector<std::string> dns;
    SearchOutcome local;
    Status st = directory_->Search(
        Principal::Internal(), params,
        [&](const PresentedEntry& e) {
          dns.push_back(e.dn().ToString());
          return true;
        },
        nullptr, outcome ? outcome : &local);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return dns;
  }

  std::vector<std::string> MemberOf(const std::string& cn) {
    auto entry = directory_->Read(Principal::Internal(), "CN=" + cn + ",CN=Users," + kSuffix, {"memberOf"});
    if (!entry.ok() || !entry->has_value()) return {};
    return (*entry)->Values("memberOf");
  }

  static std::string UserLdif(const std::string& cn, const std::string& sam = "") {
    return "dn: CN=" + cn + ",CN=Users," + kSuffix +
           "\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: user\n"
           "sAMAccountName: " + (sam.empty() ? cn : sam) + "\n\n";
  }

  static std::string GroupLdif(const std::string& cn, const std::vector<std::string>& members) {
    std::string out = "dn: CN=" + cn + ",CN=Users," + kSuffix + "\nobjectClass: top\nobjectClass: group\nsAMAccountName: " +
                      cn + "\n";
    for (const auto& m : members) out += "member: CN=" + m + ",CN=Users," + kSuffix + "\n";
    return out + "\n";
  }

  // kPlanned reads the LDIF twice as simplead-admin does for a file (memberOf
  // written with each member); kStream once, as for standard input (members
  // rewritten at the end).
  enum class ImportMode { kPlanned, kStream };
  // *unplanned: the members the plan still held at the end (not added by
  // this import, so linked after every entry existed).
  Status Import(const std::string& ldif, size_t* imported = nullptr, ImportMode mode = ImportMode::kPlanned,
                size_t* unplanned = nullptr) {
    std::optional<Directory::MemberOfPlan> plan;
    if (mode == ImportMode::kPlanned) {
      std::istringstream first_pass(ldif);
      ldap::LdifReader plan_reader(first_pass);
      auto planned = Directory::PlanMemberOf(plan_reader);
      if (!planned.ok()) return planned.status();
      plan = std::move(*planned);
    }
    std::istringstream in(ldif);
    ldap::LdifReader reader(in);
    size_t count = 0;
    Status st = directory_->Import(reader, nullptr, imported ? imported : &count, plan ? &*plan : nullptr);
    if (unplanned) *unplanned = plan ? plan->groups_of.size() : 0;
    return st;
  }

  void ExpectBackLinksIncludingNestedGroups(ImportMode mode);

  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Directory> directory_;
};

TEST_F(DirectoryTest, AdministratorIsMemberOfDomainAdmins) {
  auto member_of = MemberOf("Administrator");
  ASSERT_EQ(member_of.size(), 1u);
  EXPECT_EQ(member_of[0], std::string("CN=Domain Admins,CN=Users,") + kSuffix);
}

TEST_F(DirectoryTest, AuthenticatesByDnUpnAndDownLevelName) {
  for (const char* name : {"CN=Administrator,CN=Users,DC=corp,DC=example,DC=com", "administrator@corp.example.com",
                           "CORP\\Administrator"}) {
    auto who = directory_->Authenticate(name, "Admin-Pass-1");
    ASSERT_TRUE(who.ok()) << name << ": " << who.status().ToString();
    EXPECT_TRUE(who->is_admin);
  }
}

TEST_F(DirectoryTest, WrongPasswordAndUnknownUserGiveTheSameAnswer) {
  auto wrong = directory_->Authenticate("administrator@corp.example.com", "nope");
  auto unknown = directory_->Authenticate("nobody@corp.example.com", "nope");
  ASSERT_FALSE(wrong.ok());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(wrong.status().code(), ResultCode::kInvalidCredentials);
  EXPECT_EQ(wrong.status().message(), unknown.status().message());
  EXPECT_NE(wrong.status().message().find("data 52e"), std::string::npos);
}

TEST_F(DirectoryTest, DisabledAccountGivesData533) {
  auto guest_dn = std::string("CN=Guest,CN=Users,") + kSuffix;
  ldap::ModifyRequest set_pw{guest_dn, {{ldap::Modification::Op::kReplace, {"userPassword", {"Guest-Pass-1"}}}}};
  ASSERT_TRUE(directory_->Modify(Principal::Internal(), set_pw, {}, nullptr).ok());
  auto who = directory_->Authenticate("CORP\\Guest", "Guest-Pass-1");
  ASSERT_FALSE(who.ok());
  EXPECT_NE(who.status().message().find("data 533"), std::string::npos);
}

TEST_F(DirectoryTest, AddUnderMissingParentNamesMatchedDn) {
  ldap::AddRequest req{std::string("CN=x,OU=Missing,") + kSuffix, {{"objectClass", {"top", "container"}}}};
  Status st = directory_->Add(Principal::Internal(), req, {}, nullptr);
  EXPECT_EQ(st.code(), ResultCode::kNoSuchObject);
  EXPECT_EQ(st.matched_dn(), kSuffix);
}

TEST_F(DirectoryTest, DuplicateSamAccountNameIsRefused) {
  ASSERT_TRUE(AddUser("alice").ok());
  ldap::AddRequest req{std::string("CN=alice2,CN=Users,") + kSuffix,
                       {{"objectClass", {"top", "person", "organizationalPerson", "user"}}, {"sAMAccountName", {"ALICE"}}}};
  EXPECT_EQ(directory_->Add(Principal::Internal(), req, {}, nullptr).code(), ResultCode::kEntryAlreadyExists);
}

TEST_F(DirectoryTest, DeletingUserRemovesItFromGroups) {
  ASSERT_TRUE(AddUser("bob").ok());
  ASSERT_TRUE(AddGroup("g1", {"bob"}).ok());
  ASSERT_EQ(MemberOf("bob").size(), 1u);
  ASSERT_TRUE(directory_->Delete(Principal::Internal(), std::string("CN=bob,CN=Users,") + kSuffix, {}, nullptr).ok());
  auto group = directory_->Read(Principal::Internal(), std::string("CN=g1,CN=Users,") + kSuffix, {"member"});
  ASSERT_TRUE(group.ok() && group->has_value());
  EXPECT_FALSE((*group)->Has("member"));
}

TEST_F(DirectoryTest, RenameRewritesMemberValuesAndBackLinks) {
  ASSERT_TRUE(AddUser("carol").ok());
  ASSERT_TRUE(AddGroup("g2", {"carol"}).ok());
  ldap::ModifyDnRequest rename{std::string("CN=carol,CN=Users,") + kSuffix, "CN=carola", true, std::nullopt};
  ASSERT_TRUE(directory_->ModifyDn(Principal::Internal(), rename, {}, nullptr).ok());
  auto group = directory_->Read(Principal::Internal(), std::string("CN=g2,CN=Users,") + kSuffix, {"member"});
  ASSERT_TRUE(group.ok() && group->has_value());
  EXPECT_EQ((*group)->Values("member"), std::vector<std::string>{std::string("CN=carola,CN=Users,") + kSuffix});
  ldap::ModifyDnRequest rename_group{std::string("CN=g2,CN=Users,") + kSuffix, "CN=g2b", true, std::nullopt};
  ASSERT_TRUE(directory_->ModifyDn(Principal::Internal(), rename_group, {}, nullptr).ok());
  EXPECT_EQ(MemberOf("carola"), std::vector<std::string>{std::string("CN=g2b,CN=Users,") + kSuffix});
}

TEST_F(DirectoryTest, InChainFindsNestedMembersAndEndsOnCycles) {
  ASSERT_TRUE(AddUser("alice").ok());
  ASSERT_TRUE(AddGroup("g-inner", {"alice"}).ok());
  ASSERT_TRUE(AddGroup("g-outer", {"g-inner"}).ok());
  auto dns = SearchDns(std::string("(memberOf:1.2.840.113556.1.4.1941:=CN=g-outer,CN=Users,") + kSuffix + ")");
  EXPECT_NE(std::find(dns.begin(), dns.end(), std::string("CN=alice,CN=Users,") + kSuffix), dns.end());
  // Make a cycle: g-inner now also contains g-outer.
  ldap::ModifyRequest cycle{std::string("CN=g-inner,CN=Users,") + kSuffix,
                            {{ldap::Modification::Op::kAdd, {"member", {std::string("CN=g-outer,CN=Users,") + kSuffix}}}}};
  ASSERT_TRUE(directory_->Modify(Principal::Internal(), cycle, {}, nullptr).ok());
  dns = SearchDns(std::string("(memberOf:1.2.840.113556.1.4.1941:=CN=g-outer,CN=Users,") + kSuffix + ")");
  EXPECT_EQ(dns.size(), 3u);  // alice, g-inner and (through the cycle) g-outer itself
}

TEST_F(DirectoryTest, IndexedEqualitySearchExaminesOnlyCandidates) {
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(AddUser("user" + std::to_string(i)).ok());
  SearchOutcome outcome;
  auto dns = SearchDns("(sAMAccountName=user42)", &outcome);
  ASSERT_EQ(dns.size(), 1u);
  EXPECT_EQ(outcome.candidates_examined, 1u);
}

TEST_F(DirectoryTest, PagingReturnsEveryEntryOnce) {
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(AddUser("pager" + std::to_string(i)).ok());
  SearchParams params;
  params.base = kSuffix;
  params.scope = ldap::SearchScope::kSubtree;
  params.filter = *ldap::ParseFilter("(sAMAccountName=pager*)");
  params.paged = ldap::PagedResults{7, ""};
  std::set<std::string> seen;
  for (int page = 0; page < 20; ++page) {
    SearchOutcome outcome;
    ASSERT_TRUE(directory_->Search(Principal::Internal(), params,
                                   [&](const PresentedEntry& e) {
                                     EXPECT_TRUE(seen.insert(e.dn().ToString()).second);
                                     return true;
                                   },
                                   nullptr, &outcome)
                    .ok());
    ASSERT_TRUE(outcome.paged_response.has_value());
    if (outcome.paged_response->cookie.empty()) break;
    params.paged->cookie = outcome.paged_response->cookie;
  }
  EXPECT_EQ(seen.size(), 30u);
}

TEST_F(DirectoryTest, PasswordsAreNeverReturned) {
  ASSERT_TRUE(AddUser("dave").ok());
  auto entry = directory_->Read(Principal::Internal(), std::string("CN=dave,CN=Users,") + kSuffix, {"*", "+", "userPassword"});
  ASSERT_TRUE(entry.ok() && entry->has_value());
  EXPECT_FALSE((*entry)->Has("userPassword"));
}

TEST_F(DirectoryTest, VerifyIsCleanAfterWrites) {
  ASSERT_TRUE(AddUser("erin").ok());
  ASSERT_TRUE(AddGroup("g3", {"erin"}).ok());
  ASSERT_TRUE(directory_->ModifyDn(Principal::Internal(),
                                   {std::string("CN=g3,CN=Users,") + kSuffix, "CN=g3", true, std::string("CN=System,") + kSuffix},
                                   {}, nullptr)
                  .ok());
  VerifyReport report;
  ASSERT_TRUE(directory_->Verify(&report).ok());
  EXPECT_TRUE(report.problems.empty()) << report.problems.front();
}

TEST_F(DirectoryTest, ModifiesKeepTheIndexesExactWhenOnlyTouchedIndexesAreRecomputed) {
  ASSERT_TRUE(AddUser("frank").ok());
  const std::string dn = std::string("CN=frank,CN=Users,") + kSuffix;
  using Op = ldap::Modification::Op;
  auto modify = [&](std::vector<ldap::Modification> changes) {
    Status st = directory_->Modify(Principal::Internal(), {dn, std::move(changes)}, {}, nullptr);
    EXPECT_TRUE(st.ok()) << st.ToString();
  };
  auto verify_clean = [&] {
    VerifyReport report;
    ASSERT_TRUE(directory_->Verify(&report).ok());
    EXPECT_TRUE(report.problems.empty()) << report.problems.front();
  };
  // An unindexed attribute: no index key moves.
  modify({{Op::kReplace, {"description", {"first"}}}});
  verify_clean();
  // "cn" and "cn;lang-de" share the index "cn" and here a value: removing
  // the tagged copy must keep the key the plain one still gives.
  modify({{Op::kAdd, {"cn;lang-de", {"frank", "franz"}}}});
  EXPECT_EQ(SearchDns("(cn=franz)").size(), 1u);
  modify({{Op::kDelete, {"cn;lang-de", {}}}});
  EXPECT_EQ(SearchDns("(cn=frank)").size(), 1u);
  EXPECT_EQ(SearchDns("(cn=fra*)").size(), 1u);
  EXPECT_TRUE(SearchDns("(cn=franz)").empty());
  verify_clean();
  // An indexed attribute: the old key goes, the new one comes.
  modify({{Op::kReplace, {"sAMAccountName", {"frank2"}}}, {Op::kReplace, {"description", {"second"}}}});
  EXPECT_TRUE(SearchDns("(sAMAccountName=frank)").empty());
  EXPECT_EQ(SearchDns("(sAMAccountName=frank2)").size(), 1u);
  verify_clean();
}

void DirectoryTest::ExpectBackLinksIncludingNestedGroups(ImportMode mode) {
  size_t imported = 0;
  size_t unplanned = 0;
  // The outer group comes first: a member may appear before or after its group.
  ASSERT_TRUE(Import(GroupLdif("imp-outer", {"imp-inner", "imp-a"}) + UserLdif("imp-a") + UserLdif("imp-b") +
                         GroupLdif("imp-inner", {"imp-a", "imp-b"}),
                     &imported, mode, &unplanned)
                  .ok());
  EXPECT_EQ(imported, 4u);
  EXPECT_EQ(unplanned, 0u);  // planned: every member got its memberOf as it was added
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  std::string inner = std::string("CN=imp-inner,CN=Users,") + kSuffix;
  std::string outer = std::string("CN=imp-outer,CN=Users,") + kSuffix;
  EXPECT_EQ(sorted(MemberOf("imp-a")), sorted({inner, outer}));
  EXPECT_EQ(MemberOf("imp-b"), std::vector<std::string>{inner});
  EXPECT_EQ(MemberOf("imp-inner"), std::vector<std::string>{outer});
  EXPECT_TRUE(MemberOf("imp-outer").empty());
  // The memberOf index holds the new links.
  EXPECT_EQ(SearchDns("(memberOf=" + outer + ")").size(), 2u);
  EXPECT_EQ(SearchDns("(memberOf=" + inner + ")").size(), 2u);
  VerifyReport report;
  ASSERT_TRUE(directory_->Verify(&report).ok());
  EXPECT_TRUE(report.problems.empty()) << report.problems.front();
}

TEST_F(DirectoryTest, ImportGivesEveryMemberItsBackLinksIncludingNestedGroups) {
  ExpectBackLinksIncludingNestedGroups(ImportMode::kPlanned);
}

TEST_F(DirectoryTest, ImportFromAStreamGivesTheSameBackLinks) {
  ExpectBackLinksIncludingNestedGroups(ImportMode::kStream);
}

TEST_F(DirectoryTest, ImportKeepsBackLinksAnExportAlreadyCarries) {
  for (ImportMode mode : {ImportMode::kPlanned, ImportMode::kStream}) {
    std::string suffix = mode == ImportMode::kPlanned ? "p" : "s";
    std::string group = "CN=imp-g" + suffix + ",CN=Users," + kSuffix;
    std::string user = UserLdif("imp-c" + suffix);
    // Written in another case than the group's DN: still the same group, kept once.
    std::string upper = group;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
    user.insert(user.size() - 1, "memberOf: " + upper + "\n");
    ASSERT_TRUE(Import(user + GroupLdif("imp-g" + suffix, {"imp-c" + suffix}), nullptr, mode).ok());
    EXPECT_EQ(MemberOf("imp-c" + suffix), std::vector<std::string>{upper});
  }
}

TEST_F(DirectoryTest, PlannedImportLinksMembersAlreadyInTheDirectory) {
  ASSERT_TRUE(Import(UserLdif("imp-old")).ok());
  size_t unplanned = 0;
  ASSERT_TRUE(
      Import(UserLdif("imp-new") + GroupLdif("imp-mixed", {"imp-old", "imp-new"}), nullptr, ImportMode::kPlanned,
             &unplanned)
          .ok());
  EXPECT_EQ(unplanned, 1u);  // imp-old, linked at the end
  std::string group = std::string("CN=imp-mixed,CN=Users,") + kSuffix;
  EXPECT_EQ(MemberOf("imp-old"), std::vector<std::string>{group});
  EXPECT_EQ(MemberOf("imp-new"), std::vector<std::string>{group});
  EXPECT_EQ(SearchDns("(memberOf=" + group + ")").size(), 2u);
}

TEST_F(DirectoryTest, PlanOfAMalformedLdifNamesTheLineAndWritesNothing) {
  std::string ldif = UserLdif("imp-ok") + "dn: CN=broken,CN=Users," + kSuffix + "\nthis line has no colon\n\n";
  Status st = Import(ldif);
  EXPECT_EQ(st.code(), ResultCode::kProtocolError) << st.ToString();
  EXPECT_NE(st.message().find("line 9"), std::string::npos) << st.message();
  EXPECT_TRUE(SearchDns("(sAMAccountName=imp-ok)").empty());
}

TEST_F(DirectoryTest, ImportRefusesDuplicateSamAccountNameWithItsLine) {
  Status st = Import(UserLdif("imp-d") + UserLdif("imp-e", "IMP-D"));
  EXPECT_EQ(st.code(), ResultCode::kEntryAlreadyExists);
  EXPECT_NE(st.message().find("line 8"), std::string::npos) << st.message();
}

TEST_F(DirectoryTest, ImportRefusesSamAccountNameOfAnEntryAlreadyStored) {
  Status st = Import(UserLdif("imp-f", "administrator"));
  EXPECT_EQ(st.code(), ResultCode::kEntryAlreadyExists) << st.ToString();
}

TEST_F(DirectoryTest, ImportRefusesDuplicateAcrossBatches) {
  // bulk3 is in the first batch, its duplicate in the second.
  const size_t count = Directory::kImportBatchEntries + 100;
  std::string ldif;
  for (size_t i = 0; i < count; ++i) ldif += UserLdif("bulk" + std::to_string(i));
  ldif += UserLdif("bulk-late", "bulk3");
  size_t imported = 0;
  Status st = Import(ldif, &imported);
  EXPECT_EQ(st.code(), ResultCode::kEntryAlreadyExists) << st.ToString();
  EXPECT_EQ(imported, count);
}

TEST_F(DirectoryTest, ImportRefusesMissingParentAndDuplicateDn) {
  std::string orphan = "dn: CN=x,OU=Missing," + std::string(kSuffix) + "\nobjectClass: top\nobjectClass: container\n\n";
  Status st = Import(UserLdif("imp-h") + orphan);
  EXPECT_EQ(st.code(), ResultCode::kNoSuchObject);
  EXPECT_NE(st.message().find("line 8"), std::string::npos) << st.message();
  st = Import(UserLdif("imp-i") + UserLdif("imp-i", "imp-i2"));
  EXPECT_EQ(st.code(), ResultCode::kEntryAlreadyExists);
  EXPECT_NE(st.message().find("already exists"), std::string::npos) << st.message();
}

TEST_F(DirectoryTest, ImportRefusesMemberThatDoesNotExist) {
  for (ImportMode mode : {ImportMode::kPlanned, ImportMode::kStream}) {
    std::string group = mode == ImportMode::kPlanned ? "imp-j" : "imp-k";
    Status st = Import(GroupLdif(group, {"nobody"}), nullptr, mode);
    EXPECT_EQ(st.code(), ResultCode::kNoSuchObject);
    EXPECT_NE(st.message().find("group CN=" + group), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("member CN=nobody"), std::string::npos) << st.message();
  }
}

// compare.sh claims the same indexes on OpenLDAP as on SimpleAD: its slapd
// index lines must name SimpleAD's default set, less the attributes the
// script's OpenLDAP schema lacks.
TEST(DefaultIndexesTest, TheBenchmarkGivesOpenLdapTheSameIndexes) {
  std::ifstream script(SIMPLEAD_SOURCE_DIR "/deploy/bench/compare.sh");
  ASSERT_TRUE(script) << "cannot read deploy/bench/compare.sh";
  std::map<std::string, std::set<std::string>> openldap;  // attribute -> {eq, sub, pres}
  std::string line;
  while (std::getline(script, line)) {
    if (line.rfind("index ", 0) != 0) continue;
    std::istringstream in(line.substr(6));
    std::string attributes, kinds;
    in >> attributes >> kinds;
    std::istringstream attribute_list(attributes);
    for (std::string a; std::getline(attribute_list, a, ',');) {
      std::istringstream kind_list(kinds);
      for (std::string k; std::getline(kind_list, k, ',');) openldap[ldap::ToLower(a)].insert(k);
    }
  }
  const std::set<std::string> absent_from_openldap = {"memberof",         "objectguid",           "objectsid",
                                                      "serviceprincipalname", "employeeid", "msds-psoappliesto",
                                                      "simpleadaccessrule"};
  std::map<std::string, std::set<std::string>> expected;
  for (const auto& [attribute, spec] : DefaultIndexes()) {
    if (absent_from_openldap.count(attribute)) continue;
    if (spec.equality) expected[attribute].insert("eq");
    if (spec.substring) expected[attribute].insert("sub");
    if (spec.presence) expected[attribute].insert("pres");
  }
  EXPECT_EQ(openldap, expected);
}

}  // namespace
}  // namespace simplead::backend
