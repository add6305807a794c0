#include "lib/net/host_port.h"

#include <gtest/gtest.h>

namespace simplead::net {
namespace {

TEST(HostPortTest, SplitsHostAndPort) {
  auto hp = ParseHostPort("127.0.0.1:3389");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->first, "127.0.0.1");
  EXPECT_EQ(hp->second, 3389);
}

TEST(HostPortTest, StripsIpv6Brackets) {
  auto hp = ParseHostPort("[::1]:636");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->first, "::1");
  EXPECT_EQ(hp->second, 636);
}

TEST(HostPortTest, RefusesMalformedAddressesNamingThem) {
  for (const char* bad : {"localhost", ":389", "host:", "host:38a9", "host:+389", "host:-1", "host:65536",
                          "host:99999999999"}) {
    auto hp = ParseHostPort(bad);
    ASSERT_FALSE(hp.ok()) << bad;
    EXPECT_NE(hp.status().message().find(bad), std::string::npos) << hp.status().message();
  }
}

}  // namespace
}  // namespace simplead::net
