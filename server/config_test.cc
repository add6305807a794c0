// Cache sizing settings: which caches grow with the directory, and within what.
#include "server/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace simplead::server {
namespace {

constexpr size_t kMiB = 1024 * 1024;

// Parses `args` as simplead's command line in plain mode (CLI11 throws on a bad value).
void ParseOnly(std::vector<std::string> args, ServerConfig* config) {
  CLI::App app;
  AddServerOptions(app, *config);
  args.insert(args.begin(), {"simplead", "--suffix", "dc=example,dc=com"});
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
}

// ... and finalizes it.
ServerConfig Parse(std::vector<std::string> args) {
  ServerConfig config;
  ParseOnly(std::move(args), &config);
  Status st = Finalize(config);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return config;
}

TEST(CacheConfigTest, UnsetCachesGrowWithinAQuarterOfMemory) {
  ServerConfig c = Parse({});
  const store::CacheGrowth growth = DirectoryOptionsFrom(c).store.cache_growth;
  EXPECT_EQ(growth.record_bytes_per_entry, kRecordCacheBytesPerEntry);
  EXPECT_EQ(growth.dn_bytes_per_entry, kDnCacheBytesPerEntry);
  EXPECT_EQ(growth.posting_bytes_per_entry, kIndexCacheBytesPerEntry);
  ASSERT_GT(UsableMemoryBytes(), 0u);
  // An eighth of the limit is left to the opened verifiers.
  const size_t limit = UsableMemoryBytes() / 4 / kMiB * kMiB;
  EXPECT_EQ(growth.limit_bytes, limit - limit / 8);
  // The floors are the documented defaults.
  const store::StoreOptions& o = DirectoryOptionsFrom(c).store;
  EXPECT_EQ(o.record_cache_bytes, 80 * kMiB);
  EXPECT_EQ(o.dn_cache_bytes, 16 * kMiB);
  EXPECT_EQ(o.posting_cache_bytes, 16 * kMiB);
}

TEST(CacheConfigTest, ACacheSetOnTheCommandLineKeepsItsSize) {
  ServerConfig c = Parse({"--dn-cache-mb", "16", "--record-cache-mb", "40"});
  const store::StoreOptions o = DirectoryOptionsFrom(c).store;
  EXPECT_EQ(o.record_cache_bytes, 40 * kMiB);
  EXPECT_EQ(o.cache_growth.record_bytes_per_entry, 0u);  // even when set to its default
  EXPECT_EQ(o.cache_growth.dn_bytes_per_entry, 0u);
  EXPECT_EQ(o.cache_growth.posting_bytes_per_entry, kIndexCacheBytesPerEntry);  // not set: grows
}

TEST(CacheConfigTest, ACacheSetInTheConfigFileKeepsItsSizeToo) {
  char path[] = "/tmp/simplead-config-test-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path);
    out << "index-cache-mb = 8\ncache-growth-limit-mb = 512\n";
  }
  ServerConfig c = Parse({"--config", path});
  std::remove(path);
  const store::StoreOptions o = DirectoryOptionsFrom(c).store;
  EXPECT_EQ(o.posting_cache_bytes, 8 * kMiB);
  EXPECT_EQ(o.cache_growth.posting_bytes_per_entry, 0u);
  EXPECT_EQ(o.cache_growth.record_bytes_per_entry, kRecordCacheBytesPerEntry);
  EXPECT_EQ(o.cache_growth.limit_bytes, 512 * kMiB - 64 * kMiB);
}

TEST(CacheConfigTest, NegativeSizesAndCountsAreRefusedNotWrapped) {
  for (const char* name : {"--record-cache-mb", "--cache-growth-limit-mb", "--block-cache-mb", "--entry-cache",
                           "--max-pdu", "--kms-opened-values", "--idle-timeout", "--threads"}) {
    ServerConfig config;
    EXPECT_THROW(ParseOnly({name, "-5"}, &config), CLI::ValidationError) << name;
  }
  // Zero stays valid: it disables a cache or growth.
  EXPECT_EQ(Parse({"--record-cache-mb", "0"}).record_cache_mb, 0u);
}

TEST(CacheConfigTest, ZeroGrowthLimitGrowsNothing) {
  ServerConfig c = Parse({"--cache-growth-limit-mb", "0"});
  const store::StoreOptions o = DirectoryOptionsFrom(c).store;
  EXPECT_EQ(o.cache_growth.limit_bytes, 0u);
  const store::CacheBudgets configured{o.record_cache_bytes, o.dn_cache_bytes, o.posting_cache_bytes};
  EXPECT_EQ(store::GrowCacheBudgets(configured, o.cache_growth, 1'000'000), configured);
}

TEST(CacheConfigTest, TheDefaultsGrowOnlyPastAboutAHundredThousandEntries) {
  ServerConfig c = Parse({"--cache-growth-limit-mb", "4096"});
  const store::StoreOptions o = DirectoryOptionsFrom(c).store;
  const store::CacheBudgets configured{o.record_cache_bytes, o.dn_cache_bytes, o.posting_cache_bytes};
  // A freshly imported 100k-user benchmark store holds 101,002 entries:
  // records and index keys keep their floors, every DN fits.
  const store::CacheBudgets hundred_k = store::GrowCacheBudgets(configured, o.cache_growth, 101'002);
  EXPECT_EQ(hundred_k.record_bytes, configured.record_bytes);
  EXPECT_EQ(hundred_k.posting_bytes, configured.posting_bytes);
  EXPECT_EQ(hundred_k.dn_bytes, 101'002 * kDnCacheBytesPerEntry);
  const store::CacheBudgets million = store::GrowCacheBudgets(configured, o.cache_growth, 1'000'000);
  EXPECT_GT(million.record_bytes, 400 * kMiB);
  EXPECT_GT(million.dn_bytes, 128 * kMiB);
  EXPECT_GT(million.posting_bytes, 128 * kMiB);
}

TEST(CacheConfigTest, OpenedVerifiersGrowToOnePerEntryWithinAnEighthOfTheLimit) {
  ServerConfig c = Parse({"--cache-growth-limit-mb", "4096"});
  EXPECT_EQ(OpenedValuesFor(c, 10'000), 49152u);  // the floor
  EXPECT_EQ(OpenedValuesFor(c, 101'002), 101'002u);
  EXPECT_EQ(OpenedValuesFor(c, 100'000'000), 512 * kMiB / kOpenedValueBytes);
  EXPECT_EQ(DirectoryOptionsFrom(c).store.cache_growth.limit_bytes, (4096 - 512) * kMiB);
}

TEST(CacheConfigTest, OpenedVerifiersSetOrDisabledOrWithoutGrowthKeepTheirCount) {
  ServerConfig set = Parse({"--cache-growth-limit-mb", "4096", "--kms-opened-values", "1000"});
  EXPECT_EQ(OpenedValuesFor(set, 1'000'000), 1000u);
  EXPECT_EQ(DirectoryOptionsFrom(set).store.cache_growth.limit_bytes, 4096 * kMiB);  // nothing reserved
  EXPECT_EQ(OpenedValuesFor(Parse({"--kms-opened-values", "0"}), 1'000'000), 0u);
  EXPECT_EQ(OpenedValuesFor(Parse({"--cache-growth-limit-mb", "0"}), 1'000'000), 49152u);
}

TEST(CacheConfigTest, TheEntryCacheYieldsToRecordsUnlessEitherIsSet) {
  EXPECT_EQ(DirectoryOptionsFrom(Parse({})).store.entry_cache_floor_bytes, kEntryCacheFloorMiB * kMiB);
  for (std::vector<std::string> set : std::vector<std::vector<std::string>>{
           {"--entry-cache-mb", "36"}, {"--entry-cache", "50000"}, {"--record-cache-mb", "80"}}) {
    EXPECT_EQ(DirectoryOptionsFrom(Parse(set)).store.entry_cache_floor_bytes, 0u) << set[0];
  }
}

}  // namespace
}  // namespace simplead::server
