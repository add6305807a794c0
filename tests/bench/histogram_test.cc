#include "tests/bench/histogram.h"

#include <gtest/gtest.h>

namespace simplead::bench {
namespace {

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.Percentile(0.5), 50u);
  EXPECT_EQ(h.Percentile(0.99), 99u);
  EXPECT_EQ(h.max(), 100u);
}

TEST(LatencyHistogramTest, LargeValuesAreWithinTwoPercent) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100000; ++v) h.Record(v * 1000);  // 1 us .. 100 ms
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    double truth = q * 100000 * 1000;
    EXPECT_NEAR(static_cast<double>(h.Percentile(q)), truth, truth * 0.02) << q;
  }
}

TEST(LatencyHistogramTest, IndexIsMonotonic) {
  size_t last = 0;
  for (uint64_t v = 1; v < (uint64_t{1} << 40); v = v * 3 / 2 + 1) {
    size_t i = LatencyHistogram::Index(v);
    EXPECT_GE(i, last);
    last = i;
  }
  EXPECT_LT(LatencyHistogram::Index(~uint64_t{0}), 58u * 64 + 128);
}

TEST(LatencyHistogramTest, MergeAddsCounts) {
  LatencyHistogram a, b;
  a.Record(10);
  b.Record(20);
  b.Record(30);
  a.Merge(b);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.max(), 30u);
  EXPECT_EQ(a.Percentile(0.5), 20u);
}

TEST(LatencyHistogramTest, EmptyReportsZero) { EXPECT_EQ(LatencyHistogram().Percentile(0.99), 0u); }

}  // namespace
}  // namespace simplead::bench
