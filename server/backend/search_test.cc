// Directory::Search's cheap-only mode: the frontend runs a search on the I/O
// thread only when the backend says it is cheap, so "too costly" must be
// decided before anything is sent, and a cheap search must answer exactly as
// the full one does.
#include <gtest/gtest.h>

#include <sstream>

#include "lib/ldap/filter.h"
#include "lib/ldap/ldif.h"
#include "server/backend/directory.h"
#include "tests/fakes/temp_dir.h"
#include "tests/fakes/test_directory.h"

namespace simplead::backend {
namespace {

constexpr const char* kSuffix = "dc=example,dc=com";

class CheapSearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = testing::OpenTestDirectory(testing::FastDirectoryOptions(dir_.path(), kSuffix, /*ad_mode=*/false),
                                            clock_);
    ASSERT_NE(directory_, nullptr);
    ASSERT_TRUE(directory_->Provision({"Admin-Pass-1", "cn=admin,dc=example,dc=com"}).ok());
    ASSERT_TRUE(Add("ou=people," + std::string(kSuffix), {{"objectClass", {"organizationalUnit"}}, {"ou", {"people"}}})
                    .ok());
    for (int i = 0; i < kUsers; ++i) {
      std::string name = "user" + std::to_string(i);
      ASSERT_TRUE(Add("uid=" + name + ",ou=people," + kSuffix,
                      {{"objectClass", {"inetOrgPerson"}}, {"uid", {name}}, {"cn", {name}}, {"sn", {"Sn"}}, {"title", {"Staff"}}})
                      .ok());
    }
  }

  Status Add(const std::string& dn, std::vector<ldap::Attribute> attributes) {
    return directory_->Add(Principal::Internal(), {dn, std::move(attributes)}, {}, nullptr);
  }

  struct Answer {
    Status status;
    SearchOutcome outcome;
    std::vector<std::string> dns;
  };
  Answer Search(const std::string& filter, size_t cheap_only_limit, const std::string& base = kSuffix) {
    SearchParams params;
    params.base = base;
    params.scope = ldap::SearchScope::kSubtree;
    params.filter = *ldap::ParseFilter(filter);
    params.cheap_only_limit = cheap_only_limit;
    Answer answer;
    answer.status = directory_->Search(
        Principal::Internal(), params,
        [&](const PresentedEntry& e) {
          answer.dns.push_back(e.dn().ToString());
          return true;
        },
        nullptr, &answer.outcome);
    return answer;
  }

  static constexpr int kUsers = 40;
  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Directory> directory_;
};

TEST_F(CheapSearchTest, IndexedSearchWithFewCandidatesRunsAndAnswersAsTheFullOne) {
  auto cheap = Search("(uid=user7)", 16);
  auto full = Search("(uid=user7)", 0);
  ASSERT_TRUE(cheap.status.ok()) << cheap.status.ToString();
  EXPECT_FALSE(cheap.outcome.too_costly);
  EXPECT_EQ(cheap.dns, full.dns);
  ASSERT_EQ(cheap.dns.size(), 1u);
  EXPECT_EQ(cheap.dns[0], "uid=user7,ou=people,dc=example,dc=com");
}

TEST_F(CheapSearchTest, UnindexedFilterIsTooCostlyAndSendsNothing) {
  auto cheap = Search("(title=Staff)", 16);  // title has no index by default: a subtree walk
  ASSERT_TRUE(cheap.status.ok());
  EXPECT_TRUE(cheap.outcome.too_costly);
  EXPECT_TRUE(cheap.dns.empty());
  EXPECT_EQ(cheap.outcome.candidates_examined, 0u);
  EXPECT_EQ(Search("(title=Staff)", 0).dns.size(), static_cast<size_t>(kUsers));
}

TEST_F(CheapSearchTest, MoreCandidatesThanTheLimitIsTooCostly) {
  auto cheap = Search("(uid=user1*)", 4);  // user1, user10..user19: 11 candidates
  ASSERT_TRUE(cheap.status.ok());
  EXPECT_TRUE(cheap.outcome.too_costly);
  EXPECT_TRUE(cheap.dns.empty());
  EXPECT_EQ(Search("(uid=user1*)", 0).dns.size(), 11u);
}

TEST_F(CheapSearchTest, MissingBaseAnswersNoSuchObjectEvenWhenCheap) {
  auto cheap = Search("(uid=user7)", 16, "ou=nowhere,dc=example,dc=com");
  EXPECT_EQ(cheap.status.code(), ResultCode::kNoSuchObject);
  EXPECT_FALSE(cheap.outcome.too_costly);
}

TEST_F(CheapSearchTest, SubtreeBelowTheSuffixStillChecksScope) {
  ASSERT_TRUE(Add("ou=other,dc=example,dc=com", {{"objectClass", {"organizationalUnit"}}, {"ou", {"other"}}}).ok());
  ASSERT_TRUE(Add("uid=user7x,ou=other,dc=example,dc=com",
                  {{"objectClass", {"inetOrgPerson"}}, {"uid", {"user7"}}, {"cn", {"x"}}, {"sn", {"x"}}})
                  .ok());
  EXPECT_EQ(Search("(uid=user7)", 16).dns.size(), 2u);  // from the suffix: both
  auto below = Search("(uid=user7)", 16, "ou=other,dc=example,dc=com");
  ASSERT_EQ(below.dns.size(), 1u);
  EXPECT_EQ(below.dns[0], "uid=user7x,ou=other,dc=example,dc=com");
}

// A gram found in more entries than a bitmap chunk's worth is read only when
// the rarer grams leave more than a few candidates; skipping it widens the
// candidates but never changes the answer.
TEST(SubstringSearchTest, SkipsADenseGramOnceKnownAndAnswersTheSame) {
  testing::TempDir dir;
  FakeClock clock;
  auto directory =
      testing::OpenTestDirectory(testing::FastDirectoryOptions(dir.path(), kSuffix, /*ad_mode=*/false), clock);
  ASSERT_NE(directory, nullptr);
  ASSERT_TRUE(directory->Provision({"Admin-Pass-1", "cn=admin,dc=example,dc=com"}).ok());
  // 4,200 "userN": "ser" lists all of them. "zer4123" has every gram of
  // "ser4123" but "ser".
  std::string ldif = "dn: ou=people,dc=example,dc=com\nobjectClass: organizationalUnit\nou: people\n\n";
  auto person = [](const std::string& name) {
    return "dn: cn=" + name + ",ou=people,dc=example,dc=com\nobjectClass: person\ncn: " + name + "\nsn: Sn\n\n";
  };
  for (int i = 0; i < 4200; ++i) ldif += person("user" + std::to_string(i));
  ldif += person("zer4123");
  std::istringstream in(ldif);
  ldap::LdifReader reader(in);
  size_t imported = 0;
  ASSERT_TRUE(directory->Import(reader, nullptr, &imported).ok());
  ASSERT_EQ(imported, 4202u);

  auto search = [&](const std::string& filter, SearchOutcome* outcome) {
    SearchParams params;
    params.base = kSuffix;
    params.scope = ldap::SearchScope::kSubtree;
    params.filter = *ldap::ParseFilter(filter);
    std::vector<std::string> dns;
    EXPECT_TRUE(directory->Search(
                             Principal::Internal(), params,
                             [&](const PresentedEntry& e) {
                               dns.push_back(e.dn().ToString());
                               return true;
                             },
                             nullptr, outcome)
                    .ok());
    return dns;
  };
  const std::vector<std::string> expected{"cn=user4123,ou=people,dc=example,dc=com"};
  SearchOutcome cold;
  EXPECT_EQ(search("(cn=*ser4123*)", &cold), expected);
  EXPECT_EQ(cold.candidates_examined, 1u);  // every gram read: "ser" rules out zer4123
  SearchOutcome warm;
  EXPECT_EQ(search("(cn=*ser4123*)", &warm), expected);
  EXPECT_EQ(warm.candidates_examined, 2u);  // "ser" skipped: zer4123 examined, and rejected by the filter
  // Many candidates left by the rare grams: the dense one is read and narrows
  // (zer4123 has "er4" and "r41" too).
  SearchOutcome many;
  EXPECT_EQ(search("(cn=*ser41*)", &many).size(), 111u);  // user41, user41x, user41xx
  EXPECT_EQ(many.candidates_examined, 111u);
}

}  // namespace
}  // namespace simplead::backend
