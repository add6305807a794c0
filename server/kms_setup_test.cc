#include "server/kms_setup.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "server/backend/directory.h"
#include "tests/fakes/temp_dir.h"

namespace simplead::server {
namespace {

constexpr const char* kSuffix = "DC=corp,DC=example,DC=com";

class DirectoryOnKmsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KmsSettings settings;
    settings.data_dir = dir_.path();
    settings.domain = "corp.example.com";
    auto kms = DirectoryKms::Open(settings, clock_);
    ASSERT_TRUE(kms.ok()) << kms.status().ToString();
    kms_ = std::move(*kms);
    auto schema = schema::Schema::LoadDirectory(SIMPLEAD_SCHEMA_DIR);
    ASSERT_TRUE(schema.ok());
    backend::DirectoryOptions options;
    options.store.path = dir_.path() + "/db";
    options.store.sync_writes = false;
    options.suffix = kSuffix;
    options.domain_fqdn = "corp.example.com";
    options.netbios = "CORP";
    options.hash_params.argon2_memory_kib = 1024;
    options.hash_params.argon2_iterations = 1;
    auto directory = backend::Directory::Open(options, *schema, clock_, kms_->MakeSealer());
    ASSERT_TRUE(directory.ok()) << directory.status().ToString();
    directory_ = std::move(*directory);
    ASSERT_TRUE(directory_->Provision({"Admin-Pass-1", ""}).ok());
    for (const char* user : {"alice", "bob"}) {
      ldap::AddRequest req{std::string("CN=") + user + ",CN=Users," + kSuffix,
                           {{"objectClass", {"top", "person", "organizationalPerson", "user"}},
                            {"sAMAccountName", {user}},
                            {"userPassword", {std::string("Secret-of-") + (user[0] == 'a' ? "A1" : "B2")}}}};
      ASSERT_TRUE(directory_->Add(backend::Principal::Internal(), req, {}, nullptr).ok());
    }
  }

  std::string AuditText() {
    std::ifstream in(dir_.path() + "/audit.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<DirectoryKms> kms_;
  std::unique_ptr<backend::Directory> directory_;
};

TEST_F(DirectoryOnKmsTest, BindsOpenTheSealedVerifier) {
  EXPECT_TRUE(directory_->Authenticate("CORP\\alice", "Secret-of-A1").ok());
  EXPECT_FALSE(directory_->Authenticate("CORP\\alice", "Secret-of-B2").ok());
}

TEST_F(DirectoryOnKmsTest, VerifierCopiedToAnotherEntryDoesNotOpenAndIsAudited) {
  // At the storage level: bob's verifier replaced by alice's sealed value.
  auto& store = directory_->store();
  auto alice_id = store.FindId(*directory_->DnKey(std::string("CN=alice,CN=Users,") + kSuffix));
  auto bob_id = store.FindId(*directory_->DnKey(std::string("CN=bob,CN=Users,") + kSuffix));
  ASSERT_TRUE(alice_id.ok() && alice_id->has_value() && bob_id.ok() && bob_id->has_value());
  auto alice = store.Get(**alice_id);
  auto bob = store.Get(**bob_id);
  ASSERT_TRUE(alice.ok() && alice->has_value() && bob.ok() && bob->has_value());
  ldap::Entry forged = (*bob)->entry;
  forged.Set("userPassword", (*alice)->entry.Values("userPassword"));
  auto txn = store.BeginWrite();
  txn.PutEntry(**bob_id, (*bob)->parent, *directory_->DnKey(forged.dn().ToString()), forged);
  ASSERT_TRUE(txn.Commit().ok());

  auto bind = directory_->Authenticate("CORP\\bob", "Secret-of-A1");
  ASSERT_FALSE(bind.ok());
  EXPECT_EQ(bind.status().code(), ResultCode::kInvalidCredentials);
  EXPECT_NE(AuditText().find("InvalidCiphertextException"), std::string::npos);
}

TEST_F(DirectoryOnKmsTest, SecretsOnDiskAreSealedToTheDirectoryKey) {
  size_t secrets = 0;
  ASSERT_TRUE(directory_->ForEachSecret([&](const ldap::Entry&, std::string_view sealed) {
    ++secrets;
    auto version = kms::SealedValueKeyVersion(sealed);
    ASSERT_TRUE(version.ok());
    EXPECT_EQ(version->key_id, kms_->directory_key_id());
    EXPECT_EQ(sealed.find("$argon2"), std::string_view::npos);
  }).ok());
  EXPECT_EQ(secrets, 3u);  // Administrator, alice, bob
}

}  // namespace
}  // namespace simplead::server
