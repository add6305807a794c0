#include "lib/kms/key_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "lib/kms/crypto.h"
#include "lib/kms/kms_test_util.h"

namespace simplead::kms {
namespace {

using testing::TempDir;

TEST(FileKeyStoreTest, InitCreatesOwnerOnlyFile) {
  TempDir dir;
  ASSERT_TRUE(FileKeyStore::Init(dir.path() + "/root.key").ok());
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() + "/root.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
}

TEST(FileKeyStoreTest, InitRefusesToOverwrite) {
  TempDir dir;
  ASSERT_TRUE(FileKeyStore::Init(dir.path() + "/root.key").ok());
  EXPECT_FALSE(FileKeyStore::Init(dir.path() + "/root.key").ok());
}

TEST(FileKeyStoreTest, OpenRefusesLoosePermissions) {
  TempDir dir;
  std::string path = dir.path() + "/root.key";
  ASSERT_TRUE(FileKeyStore::Init(path).ok());
  ::chmod(path.c_str(), 0640);
  auto s = FileKeyStore::Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("chmod 0600"), std::string::npos);
}

TEST(FileKeyStoreTest, ReopenedStoreUnwrapsWhatItWrapped) {
  TempDir dir;
  std::string path = dir.path() + "/root.key";
  auto a = FileKeyStore::Init(path);
  auto wrapped = (*a)->Wrap(SecureBytes("material"), "k:1");
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(wrapped->find("material"), std::string::npos);
  auto b = FileKeyStore::Open(path);
  ASSERT_TRUE(b.ok());
  auto un = (*b)->Unwrap(*wrapped, "k:1");
  ASSERT_TRUE(un.ok());
  EXPECT_EQ(un->view(), "material");
  EXPECT_FALSE((*b)->Unwrap(*wrapped, "k:2").ok());
}

TEST(PassphraseKeyStoreTest, SamePassphraseReopens) {
  TempDir dir;
  std::string params = dir.path() + "/p.json";
  Argon2Params cheap{1, 1024, 1};
  auto a = PassphraseKeyStore::OpenOrCreate(params, SecureBytes("pw"), cheap);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto wrapped = (*a)->Wrap(SecureBytes("material"), "aad");
  auto b = PassphraseKeyStore::OpenOrCreate(params, SecureBytes("pw"));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->Unwrap(*wrapped, "aad")->view(), "material");
}

TEST(PassphraseKeyStoreTest, WrongPassphraseIsRefused) {
  TempDir dir;
  std::string params = dir.path() + "/p.json";
  Argon2Params cheap{1, 1024, 1};
  ASSERT_TRUE(PassphraseKeyStore::OpenOrCreate(params, SecureBytes("pw"), cheap).ok());
  auto b = PassphraseKeyStore::OpenOrCreate(params, SecureBytes("wrong"));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), ResultCode::kInvalidCredentials);
}

TEST(Pkcs11KeyStoreTest, WrapsInsideTheToken) {
  if (!testing::EnsureSoftHsmToken()) GTEST_SKIP() << "softhsm2-util is not installed";
  Pkcs11Options o;
  o.token_label = "simplead-test";
  o.pin = SecureBytes("1234");
  o.key_label = "root-" + NewUuid();
  auto s = Pkcs11KeyStore::Open(o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto wrapped = (*s)->Wrap(SecureBytes("material"), "k:1");
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  auto un = (*s)->Unwrap(*wrapped, "k:1");
  ASSERT_TRUE(un.ok()) << un.status().ToString();
  EXPECT_EQ(un->view(), "material");
  EXPECT_FALSE((*s)->Unwrap(*wrapped, "k:2").ok());
  // A second store finds the same root key by its label.
  o.create_key_if_missing = false;
  auto again = Pkcs11KeyStore::Open(o);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->Unwrap(*wrapped, "k:1")->view(), "material");
}

TEST(Pkcs11KeyStoreTest, WrongPinIsRefused) {
  if (!testing::EnsureSoftHsmToken()) GTEST_SKIP() << "softhsm2-util is not installed";
  Pkcs11Options o;
  o.token_label = "simplead-test";
  o.pin = SecureBytes("0000");
  EXPECT_FALSE(Pkcs11KeyStore::Open(o).ok());
}

TEST(Pkcs11KeyStoreTest, UnknownTokenIsNotFound) {
  if (!testing::EnsureSoftHsmToken()) GTEST_SKIP() << "softhsm2-util is not installed";
  Pkcs11Options o;
  o.token_label = "no-such-token";
  o.pin = SecureBytes("1234");
  auto s = Pkcs11KeyStore::Open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ResultCode::kNoSuchObject);
}

}  // namespace
}  // namespace simplead::kms
