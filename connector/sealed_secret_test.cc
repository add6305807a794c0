#include "connector/sealed_secret.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

namespace simplead::connector {
namespace {

std::string FreshDir(const std::string& name) {
  std::string dir = ::testing::TempDir() + "/sealed_secret_test_" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

TEST(SealedSecretTest, RoundTrips) {
  auto store = SealedSecretFile::Open(FreshDir("roundtrip"));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->Write("svc", SecureBytes(std::string_view("Svc-Secret-Pa55")), "ctx").ok());
  auto back = (*store)->Read("svc", "ctx");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->view(), "Svc-Secret-Pa55");
}

TEST(SealedSecretTest, FileHoldsNoPlaintextAndKeyIsOwnerOnly) {
  std::string dir = FreshDir("plain");
  auto store = SealedSecretFile::Open(dir);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Write("svc", SecureBytes(std::string_view("Svc-Secret-Pa55")), "ctx").ok());
  std::ifstream in((*store)->PathOf("svc"));
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str().find("Svc-Secret-Pa55"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/connector.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
}

TEST(SealedSecretTest, ReadFailsWhenContextDiffers) {
  auto store = SealedSecretFile::Open(FreshDir("context"));
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Write("svc", SecureBytes(std::string_view("x")), "ctx").ok());
  EXPECT_FALSE((*store)->Read("svc", "other").ok());
}

TEST(SealedSecretTest, ReopenedStoreReadsWhatWasSealed) {
  std::string dir = FreshDir("reopen");
  {
    auto store = SealedSecretFile::Open(dir);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Write("svc", SecureBytes(std::string_view("again")), "ctx").ok());
  }
  auto store = SealedSecretFile::Open(dir);
  ASSERT_TRUE(store.ok());
  auto back = (*store)->Read("svc", "ctx");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->view(), "again");
}

}  // namespace
}  // namespace simplead::connector
