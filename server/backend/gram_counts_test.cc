#include "server/backend/gram_counts.h"

#include <gtest/gtest.h>

#include <string>

namespace simplead::backend {
namespace {

TEST(GramCountsTest, RemembersTheLastCountPerAttributeAndGram) {
  GramCounts counts;
  EXPECT_FALSE(counts.Find("cn", "ser"));
  counts.Record("cn", "ser", 100000);
  counts.Record("sn", "ser", 3);
  EXPECT_EQ(counts.Find("cn", "ser"), 100000u);
  EXPECT_EQ(counts.Find("sn", "ser"), 3u);
  counts.Record("cn", "ser", 99999);
  EXPECT_EQ(counts.Find("cn", "ser"), 99999u);
  // The attribute and the gram do not run together.
  counts.Record("c", "nse", 7);
  EXPECT_FALSE(counts.Find("cn", "se"));
  EXPECT_EQ(counts.Find("c", "nse"), 7u);
}

TEST(GramCountsTest, StaysWithinItsBound) {
  GramCounts counts(100);
  for (int i = 0; i < 1000; ++i) {
    counts.Record("cn", std::to_string(i), 1);
    ASSERT_LE(counts.size(), 100u);
  }
  EXPECT_EQ(counts.Find("cn", "999"), 1u);  // the newest survives a clear
  GramCounts off(0);
  off.Record("cn", "abc", 1);
  EXPECT_EQ(off.size(), 0u);
}

}  // namespace
}  // namespace simplead::backend
