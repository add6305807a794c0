#include "connector/config.h"

#include <gtest/gtest.h>

#include <fstream>

namespace simplead::connector {
namespace {

ConnectorConfig Valid() {
  ConnectorConfig c;
  c.domain = "corp.example.com";
  c.upstreams = {"ldap://dc1.corp.example.com:389", "ldaps://dc2.corp.example.com"};
  c.service_dn = "CN=svc,CN=Users,DC=corp,DC=example,DC=com";
  return c;
}

TEST(ConfigTest, ValidConfigFillsDerivedDefaults) {
  ConnectorConfig c = Valid();
  ASSERT_TRUE(Finalize(c).ok());
  EXPECT_EQ(c.netbios, "CORP");
  EXPECT_EQ(c.base_dn, "DC=corp,DC=example,DC=com");
  EXPECT_EQ(c.audit_log, c.data_dir + "/audit.log");
}

TEST(ConfigTest, OneUpstreamIsRefused) {
  ConnectorConfig c = Valid();
  c.upstreams.resize(1);
  EXPECT_FALSE(Finalize(c).ok());
}

TEST(ConfigTest, SixUpstreamsAreRefused) {
  ConnectorConfig c = Valid();
  c.upstreams.assign(6, "ldap://dc:389");
  EXPECT_FALSE(Finalize(c).ok());
}

TEST(ConfigTest, UpstreamMustBeLdapOrLdapsUrl) {
  EXPECT_TRUE(ValidateUpstreamUrl("ldap://127.0.0.1:3389").ok());
  EXPECT_TRUE(ValidateUpstreamUrl("ldaps://dc1/").ok());
  EXPECT_FALSE(ValidateUpstreamUrl("http://dc1").ok());
  EXPECT_FALSE(ValidateUpstreamUrl("ldap://").ok());
  EXPECT_FALSE(ValidateUpstreamUrl("ldap://dc1/dc=x?cn").ok());
  EXPECT_FALSE(ValidateUpstreamUrl("ldap://dc1:99999").ok());
}

TEST(ConfigTest, MissingServiceDnIsRefused) {
  ConnectorConfig c = Valid();
  c.service_dn.clear();
  EXPECT_FALSE(Finalize(c).ok());
}

TEST(ConfigTest, RadiusTimeoutMustBeOneToFiftySeconds) {
  RadiusConfig r;
  r.server = "127.0.0.1:1812";
  r.secret_file = "/tmp/x";
  r.timeout_seconds = 0;
  EXPECT_FALSE(ValidateRadius(r).ok());
  r.timeout_seconds = 51;
  EXPECT_FALSE(ValidateRadius(r).ok());
  r.timeout_seconds = 50;
  EXPECT_TRUE(ValidateRadius(r).ok());
}

TEST(ConfigTest, RadiusRetriesMustBeZeroToTen) {
  RadiusConfig r;
  r.server = "127.0.0.1:1812";
  r.secret_file = "/tmp/x";
  r.retries = 11;
  EXPECT_FALSE(ValidateRadius(r).ok());
  r.retries = 0;
  EXPECT_TRUE(ValidateRadius(r).ok());
}

TEST(ConfigTest, RadiusNeedsASecretFile) {
  RadiusConfig r;
  r.server = "127.0.0.1:1812";
  EXPECT_FALSE(ValidateRadius(r).ok());
}

TEST(ConfigTest, BadAttributeNameIsRefused) {
  ConnectorConfig c = Valid();
  c.name_attributes = {"uid)(objectClass=*"};
  EXPECT_FALSE(Finalize(c).ok());
}

TEST(ConfigTest, TomlFileSetsTheSameKeysAsFlags) {
  ConnectorConfig c;
  CLI::App app;
  AddConnectorOptions(app, c);
  std::string path = ::testing::TempDir() + "/adconnector_test.toml";
  {
    std::ofstream out(path);
    out << "domain = \"corp.example.com\"\n"
           "upstream = [\"ldap://a:389\", \"ldap://b:389\"]\n"
           "service-dn = \"CN=svc,DC=corp,DC=example,DC=com\"\n"
           "upstream-starttls = false\n"
           "radius-retries = 4\n";
  }
  std::vector<std::string> args{"adconnector", "--config", path};
  std::vector<const char*> argv;
  for (auto& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
  EXPECT_EQ(c.upstreams.size(), 2u);
  EXPECT_FALSE(c.upstream_starttls);
  EXPECT_EQ(c.radius.retries, 4);
  EXPECT_TRUE(Finalize(c).ok());
}

}  // namespace
}  // namespace simplead::connector
