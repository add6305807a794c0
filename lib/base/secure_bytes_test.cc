#include "lib/base/secure_bytes.h"

#include <gtest/gtest.h>

namespace simplead {
namespace {

TEST(SecureBytesTest, WipeEmptiesBuffer) {
  SecureBytes b(std::string_view("secret"));
  EXPECT_EQ(b.view(), "secret");
  b.Wipe();
  EXPECT_TRUE(b.empty());
}

TEST(SecureBytesTest, EqualityComparesContent) {
  EXPECT_EQ(SecureBytes(std::string_view("abc")), SecureBytes(std::string_view("abc")));
  EXPECT_FALSE(SecureBytes(std::string_view("abc")) == SecureBytes(std::string_view("abd")));
  EXPECT_FALSE(SecureBytes(std::string_view("abc")) == SecureBytes(std::string_view("ab")));
}

TEST(SecureBytesTest, ResizeKeepsPrefix) {
  SecureBytes b(std::string_view("key"));
  b.resize(64);
  EXPECT_EQ(b.size(), 64u);
  EXPECT_EQ(b.view().substr(0, 3), "key");
}

TEST(WipeStringTest, ClearsString) {
  std::string s = "hunter2";
  WipeString(s);
  EXPECT_TRUE(s.empty());
}

}  // namespace
}  // namespace simplead
