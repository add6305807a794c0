// Directory::Search's cheap-only mode: the frontend runs a search on the I/O
// thread only when the backend says it is cheap, so "too costly" must be
// decided before anything is sent, and a cheap search must answer exactly as
// the full one does.
#include <gtest/gtest.h>

#include "lib/ldap/filter.h"
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

}  // namespace
}  // namespace simplead::backend
