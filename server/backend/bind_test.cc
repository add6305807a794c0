// Directory::AuthenticateIfCheap: the frontend completes a bind on the I/O
// thread only when the backend says it needed no blocking work, so every
// path that would hash slowly, write or audit must answer nullopt and change
// nothing.
#include <gtest/gtest.h>

#include "server/backend/directory.h"
#include "tests/fakes/temp_dir.h"
#include "tests/fakes/test_directory.h"

namespace simplead::backend {
namespace {

constexpr const char* kSuffix = "dc=example,dc=com";

class CheapBindTest : public ::testing::Test {
 protected:
  void Open(auth::HashScheme scheme) {
    DirectoryOptions options = testing::FastDirectoryOptions(dir_.path(), kSuffix, /*ad_mode=*/false);
    options.hash_params.scheme = scheme;
    directory_ = testing::OpenTestDirectory(options, clock_);
    ASSERT_NE(directory_, nullptr);
    ASSERT_TRUE(directory_->Provision({"Admin-Pass-1", "cn=admin,dc=example,dc=com"}).ok());
    ASSERT_TRUE(directory_
                    ->Add(Principal::Internal(),
                          {"ou=people,dc=example,dc=com", {{"objectClass", {"organizationalUnit"}}, {"ou", {"people"}}}},
                          {}, nullptr)
                    .ok());
    ASSERT_TRUE(directory_
                    ->Add(Principal::Internal(),
                          {kAlice,
                           {{"objectClass", {"inetOrgPerson"}},
                            {"uid", {"alice"}},
                            {"cn", {"alice"}},
                            {"sn", {"A"}},
                            {"userPassword", {"Alice-Pass-1"}}}},
                          {}, nullptr)
                    .ok());
  }

  std::string Stored(const char* attribute) {
    auto entry = directory_->Read(Principal::Internal(), kAlice, {"*", "+"});
    if (!entry.ok() || !entry->has_value()) return "<missing>";
    const std::string* v = (*entry)->First(attribute);
    return v ? *v : "";
  }

  static constexpr const char* kAlice = "uid=alice,ou=people,dc=example,dc=com";
  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Directory> directory_;
};

TEST_F(CheapBindTest, RightPasswordWithDigestVerifierCompletes) {
  Open(auth::HashScheme::kSsha);
  auto by_dn = directory_->AuthenticateIfCheap(kAlice, "Alice-Pass-1");
  ASSERT_TRUE(by_dn.has_value());
  ASSERT_TRUE(by_dn->ok()) << by_dn->status().ToString();
  EXPECT_EQ((*by_dn)->normalized_dn, "uid=alice,ou=people,dc=example,dc=com");
  auto by_uid = directory_->AuthenticateIfCheap("alice", "Alice-Pass-1");
  ASSERT_TRUE(by_uid.has_value() && by_uid->ok());
  EXPECT_EQ((*by_uid)->id, (*by_dn)->id);
}

TEST_F(CheapBindTest, WrongPasswordIsLeftToThePoolAndWritesNothing) {
  Open(auth::HashScheme::kSsha);
  std::string before = Stored("modifyTimestamp");
  EXPECT_FALSE(directory_->AuthenticateIfCheap(kAlice, "wrong").has_value());
  EXPECT_EQ(Stored("modifyTimestamp"), before);
  // The full path still refuses it.
  auto full = directory_->Authenticate(kAlice, "wrong");
  EXPECT_EQ(full.status().code(), ResultCode::kInvalidCredentials);
}

TEST_F(CheapBindTest, SlowVerifierIsLeftToThePool) {
  Open(auth::HashScheme::kArgon2id);
  EXPECT_FALSE(directory_->AuthenticateIfCheap(kAlice, "Alice-Pass-1").has_value());
  EXPECT_TRUE(directory_->Authenticate(kAlice, "Alice-Pass-1").ok());
}

TEST_F(CheapBindTest, UnknownNameIsLeftToThePool) {
  Open(auth::HashScheme::kSsha);
  EXPECT_FALSE(directory_->AuthenticateIfCheap("uid=nobody,ou=people,dc=example,dc=com", "x").has_value());
  EXPECT_FALSE(directory_->AuthenticateIfCheap("nobody", "x").has_value());
}

}  // namespace
}  // namespace simplead::backend
