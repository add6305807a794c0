#include "lib/store/cache_budget.h"

#include <gtest/gtest.h>

#include <limits>

namespace simplead::store {
namespace {

constexpr size_t kMiB = 1024 * 1024;

// The server's defaults: floors for 100,000 users, growth per entry beyond.
const CacheBudgets kFloors{80 * kMiB, 16 * kMiB, 16 * kMiB};
const CacheGrowth kGrowth{512, 160, 160, 6 * 1024 * kMiB};

TEST(CacheBudgetTest, SmallDirectoryKeepsTheConfiguredSizes) {
  EXPECT_EQ(GrowCacheBudgets(kFloors, kGrowth, 0), kFloors);
  EXPECT_EQ(GrowCacheBudgets(kFloors, kGrowth, 10'000), kFloors);
  EXPECT_EQ(GrowCacheBudgets(kFloors, kGrowth, 101'002), kFloors);  // the 100k benchmark's store
}

TEST(CacheBudgetTest, LargeDirectoryGrowsEachCacheWithItsEntries) {
  CacheBudgets grown = GrowCacheBudgets(kFloors, kGrowth, 1'000'000);
  EXPECT_EQ(grown.record_bytes, 512u * 1'000'000);
  EXPECT_EQ(grown.dn_bytes, 160u * 1'000'000);
  EXPECT_EQ(grown.posting_bytes, 160u * 1'000'000);
}

TEST(CacheBudgetTest, OnlyCachesWhoseShareExceedsTheirFloorGrow) {
  // 200,000 entries: 97.7 MiB of records passes its 80 MiB floor; 30.5 MiB
  // of DNs and of index keys pass their 16 MiB floors too.
  CacheBudgets grown = GrowCacheBudgets(kFloors, kGrowth, 200'000);
  EXPECT_EQ(grown.record_bytes, 512u * 200'000);
  EXPECT_EQ(grown.dn_bytes, 160u * 200'000);
  // 130,000 entries: records stay at the floor, DNs grow.
  grown = GrowCacheBudgets(kFloors, kGrowth, 130'000);
  EXPECT_EQ(grown.record_bytes, kFloors.record_bytes);
  EXPECT_EQ(grown.dn_bytes, 160u * 130'000);
}

TEST(CacheBudgetTest, TheLimitCutsEveryCachesGrowthByTheSameFactor) {
  CacheGrowth tight = kGrowth;
  tight.limit_bytes = kFloors.record_bytes + kFloors.dn_bytes + kFloors.posting_bytes + 100 * kMiB;
  CacheBudgets grown = GrowCacheBudgets(kFloors, tight, 10'000'000);
  const size_t total = grown.record_bytes + grown.dn_bytes + grown.posting_bytes;
  EXPECT_LE(total, tight.limit_bytes);
  EXPECT_GE(total, tight.limit_bytes - 3);  // rounding only
  // The same factor: record's growth is 512/160 times DN's, as wanted.
  const double record_growth = static_cast<double>(grown.record_bytes - kFloors.record_bytes);
  const double dn_growth = static_cast<double>(grown.dn_bytes - kFloors.dn_bytes);
  const double wanted_ratio = (512.0 * 10'000'000 - 80.0 * kMiB) / (160.0 * 10'000'000 - 16.0 * kMiB);
  EXPECT_NEAR(record_growth / dn_growth, wanted_ratio, 0.01);
}

TEST(CacheBudgetTest, NoGrowthWhenTheLimitIsZeroOrBelowTheFloors) {
  CacheGrowth off = kGrowth;
  off.limit_bytes = 0;
  EXPECT_EQ(GrowCacheBudgets(kFloors, off, 1'000'000), kFloors);
  off.limit_bytes = 50 * kMiB;  // the floors alone are 112 MiB: kept, not cut
  EXPECT_EQ(GrowCacheBudgets(kFloors, off, 1'000'000), kFloors);
}

TEST(CacheBudgetTest, ADisabledCacheStaysDisabled) {
  CacheBudgets floors = kFloors;
  floors.record_bytes = 0;
  CacheBudgets grown = GrowCacheBudgets(floors, kGrowth, 1'000'000);
  EXPECT_EQ(grown.record_bytes, 0u);
  EXPECT_EQ(grown.dn_bytes, 160u * 1'000'000);
}

TEST(CacheBudgetTest, HugeCountsSaturateInsteadOfWrapping) {
  CacheGrowth unbounded = kGrowth;
  unbounded.limit_bytes = std::numeric_limits<size_t>::max();
  CacheBudgets grown = GrowCacheBudgets(kFloors, unbounded, std::numeric_limits<uint64_t>::max());
  EXPECT_GE(grown.record_bytes, kFloors.record_bytes);
  EXPECT_GE(grown.dn_bytes, kFloors.dn_bytes);
  EXPECT_GE(grown.posting_bytes, kFloors.posting_bytes);
  // None wrapped to a small number.
  EXPECT_GT(grown.record_bytes, 1ull << 60);
}

TEST(EntryCacheShiftTest, TheEntryCacheGivesTheRecordsWhatTheyLackDownToItsFloor) {
  CacheBudgets b{80 * kMiB, 16 * kMiB, 16 * kMiB, 36 * kMiB};
  ShiftEntryCacheToRecords(&b, 96 * kMiB, 8 * kMiB);  // the 100k benchmark's records
  EXPECT_EQ(b, (CacheBudgets{96 * kMiB, 16 * kMiB, 16 * kMiB, 20 * kMiB}));
  ShiftEntryCacheToRecords(&b, 500 * kMiB, 8 * kMiB);  // lacks more than the entry cache can give
  EXPECT_EQ(b, (CacheBudgets{108 * kMiB, 16 * kMiB, 16 * kMiB, 8 * kMiB}));
  ShiftEntryCacheToRecords(&b, 900 * kMiB, 8 * kMiB);  // already at its floor
  EXPECT_EQ(b, (CacheBudgets{108 * kMiB, 16 * kMiB, 16 * kMiB, 8 * kMiB}));
}

TEST(EntryCacheShiftTest, RecordsThatFitOrAZeroFloorOrADisabledCacheShiftNothing) {
  const CacheBudgets configured{80 * kMiB, 16 * kMiB, 16 * kMiB, 36 * kMiB};
  CacheBudgets b = configured;
  ShiftEntryCacheToRecords(&b, 80 * kMiB, 8 * kMiB);  // the records fit
  EXPECT_EQ(b, configured);
  ShiftEntryCacheToRecords(&b, 0, 8 * kMiB);  // unknown
  EXPECT_EQ(b, configured);
  ShiftEntryCacheToRecords(&b, 200 * kMiB, 0);  // no floor: the caller keeps both
  EXPECT_EQ(b, configured);
  CacheBudgets no_records{0, 16 * kMiB, 16 * kMiB, 36 * kMiB};
  ShiftEntryCacheToRecords(&no_records, 200 * kMiB, 8 * kMiB);
  EXPECT_EQ(no_records, (CacheBudgets{0, 16 * kMiB, 16 * kMiB, 36 * kMiB}));
  CacheBudgets no_entries{80 * kMiB, 16 * kMiB, 16 * kMiB, 0};
  ShiftEntryCacheToRecords(&no_entries, 200 * kMiB, 8 * kMiB);
  EXPECT_EQ(no_entries, (CacheBudgets{80 * kMiB, 16 * kMiB, 16 * kMiB, 0}));
}

}  // namespace
}  // namespace simplead::store
