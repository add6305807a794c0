#include "server/backend/sid.h"

#include <gtest/gtest.h>

namespace simplead::backend {
namespace {

TEST(SidTest, StringAndBinaryRoundTrip) {
  auto sid = Sid::Parse("S-1-5-21-1004336348-1177238915-682003330-512");
  ASSERT_TRUE(sid.ok());
  EXPECT_EQ(sid->ToString(), "S-1-5-21-1004336348-1177238915-682003330-512");
  auto back = Sid::FromBinary(sid->ToBinary());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->ToString(), sid->ToString());
}

TEST(SidTest, BinaryLayoutIsLittleEndianSubAuthorities) {
  auto sid = Sid::Parse("S-1-5-32-544");  // BUILTIN\Administrators
  ASSERT_TRUE(sid.ok());
  EXPECT_EQ(sid->ToBinary(), std::string("\x01\x02\x00\x00\x00\x00\x00\x05\x20\x00\x00\x00\x20\x02\x00\x00", 16));
}

TEST(SidTest, RejectsMalformed) {
  EXPECT_FALSE(Sid::Parse("S-1").ok());
  EXPECT_FALSE(Sid::Parse("X-1-5-21").ok());
  EXPECT_FALSE(Sid::Parse("S-1-5-99999999999").ok());
  EXPECT_FALSE(Sid::FromBinary(std::string("\x01\x05\x00", 3)).ok());
}

TEST(SidTest, WithRidAppends) {
  Sid domain = Sid::NewDomainSid();
  EXPECT_EQ(domain.sub_authorities.size(), 4u);
  EXPECT_EQ(domain.WithRid(500).sub_authorities.back(), 500u);
}

TEST(GuidTest, VersionFourTextForm) {
  std::string guid = NewGuid();
  ASSERT_EQ(guid.size(), 16u);
  std::string text = GuidToString(guid);
  EXPECT_EQ(text.size(), 36u);
  EXPECT_EQ(text[14], '4');
}

TEST(GuidTest, TextFormIsLowerCaseHexInRfc4122Groups) {
  const std::string guid("\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff", 16);
  EXPECT_EQ(GuidToString(guid), "00112233-4455-6677-8899-aabbccddeeff");
  EXPECT_EQ(GuidToString("short"), "");
}

TEST(GuidTest, PooledGuidsAreVersionFourAndDistinct) {
  RandomPool random;
  std::string a = NewGuid(random);
  std::string b = NewGuid(random);
  ASSERT_EQ(a.size(), 16u);
  EXPECT_NE(a, b);
  EXPECT_EQ(GuidToString(a)[14], '4');
  EXPECT_EQ(static_cast<unsigned char>(a[8]) & 0xc0, 0x80);  // RFC 4122 variant
}

}  // namespace
}  // namespace simplead::backend
