#include "server/backend/passwords.h"

#include <gtest/gtest.h>

namespace simplead::backend {
namespace {

TEST(UnicodePwdTest, DecodesQuotedUtf16) {
  auto decoded = DecodeUnicodePwd(EncodeUnicodePwd("Pässw0rd!"));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->view(), "Pässw0rd!");
}

TEST(UnicodePwdTest, DecodesSurrogatePairs) {
  auto decoded = DecodeUnicodePwd(EncodeUnicodePwd("key\xF0\x9F\x94\x91"));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->view(), "key\xF0\x9F\x94\x91");
}

TEST(UnicodePwdTest, RejectsUnquotedValue) {
  std::string raw("s\0e\0c\0r\0e\0t\0", 12);
  auto decoded = DecodeUnicodePwd(raw);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), ResultCode::kConstraintViolation);
}

TEST(UnicodePwdTest, RejectsOddLength) { EXPECT_FALSE(DecodeUnicodePwd(std::string("\"\0a\0\"", 5)).ok()); }

TEST(PasswordAcceptableTest, RefusesEmptyAndHuge) {
  EXPECT_FALSE(CheckPasswordAcceptable("").ok());
  EXPECT_FALSE(CheckPasswordAcceptable(std::string(300, 'a')).ok());
  EXPECT_TRUE(CheckPasswordAcceptable("Secret123!").ok());
}

}  // namespace
}  // namespace simplead::backend
