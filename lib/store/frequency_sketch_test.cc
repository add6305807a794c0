#include "lib/store/frequency_sketch.h"

#include <gtest/gtest.h>

namespace simplead::store {
namespace {

TEST(FrequencySketchTest, CountsAnIdUpToTheCap) {
  FrequencySketch sketch(1000);
  EXPECT_EQ(sketch.Estimate(42), 0u);
  for (unsigned n = 1; n <= 5; ++n) {
    sketch.Increment(42);
    EXPECT_GE(sketch.Estimate(42), n);
  }
  for (int n = 0; n < 100; ++n) sketch.Increment(42);
  EXPECT_EQ(sketch.Estimate(42), FrequencySketch::kMaxCount);
}

TEST(FrequencySketchTest, NeverUnderestimatesAndRarelyConfusesIds) {
  // 500 ids read once and 20 ids read 8 times, in a sketch sized for 1,000.
  FrequencySketch sketch(1000);
  for (uint64_t id = 1; id <= 500; ++id) sketch.Increment(id);
  for (int round = 0; round < 8; ++round) {
    for (uint64_t id = 10'001; id <= 10'020; ++id) sketch.Increment(id);
  }
  int overestimated = 0;
  for (uint64_t id = 1; id <= 500; ++id) {
    ASSERT_GE(sketch.Estimate(id), 1u);
    if (sketch.Estimate(id) > 1) ++overestimated;
  }
  for (uint64_t id = 10'001; id <= 10'020; ++id) EXPECT_GE(sketch.Estimate(id), 8u);
  EXPECT_LT(overestimated, 25);  // min of four rows: few collisions at half load
}

TEST(FrequencySketchTest, HalvesEveryCounterAfterTheSample) {
  FrequencySketch sketch(64);
  ASSERT_EQ(sketch.sample_size(), 640u);
  for (int n = 0; n < 12; ++n) sketch.Increment(7);
  ASSERT_EQ(sketch.Estimate(7), 12u);
  // One other id fills the rest of the sample: every counter halves once.
  for (int n = 0; n < 640 - 13; ++n) sketch.Increment(8);
  EXPECT_EQ(sketch.Estimate(7), 12u);
  EXPECT_EQ(sketch.Estimate(8), FrequencySketch::kMaxCount);
  sketch.Increment(8);
  EXPECT_EQ(sketch.Estimate(7), 6u);
  EXPECT_EQ(sketch.Estimate(8), 7u);
}

TEST(FrequencySketchTest, WidthIsAPowerOfTwoCoveringTheCapacity) {
  EXPECT_EQ(FrequencySketch(1).width(), 64u);
  EXPECT_EQ(FrequencySketch(700).width(), 1024u);
  EXPECT_EQ(FrequencySketch(1024).width(), 1024u);
  EXPECT_EQ(FrequencySketch(700).sample_size(), 7000u);
}

}  // namespace
}  // namespace simplead::store
