#include "lib/store/merge_run_bound.h"

#include <gtest/gtest.h>

#include <string>

namespace simplead::store {
namespace {

TEST(MergeRunBoundTest, EveryBoundthDeltaOfAKeyIsDue) {
  MergeRunBound bound(1024, 4);
  int due = 0;
  for (int i = 1; i <= 12; ++i) {
    bool now = bound.NoteDelta("hot");
    EXPECT_EQ(now, i % 4 == 0) << i;
    due += now;
  }
  EXPECT_EQ(due, 3);
}

TEST(MergeRunBoundTest, KeysCountSeparately) {
  MergeRunBound bound(1024, 3);
  EXPECT_FALSE(bound.NoteDelta("a"));
  EXPECT_FALSE(bound.NoteDelta("b"));
  EXPECT_FALSE(bound.NoteDelta("a"));
  EXPECT_FALSE(bound.NoteDelta("b"));
  EXPECT_TRUE(bound.NoteDelta("a"));
  EXPECT_TRUE(bound.NoteDelta("b"));
}

TEST(MergeRunBoundTest, ZeroBoundIsNeverDue) {
  MergeRunBound bound(64, 0);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(bound.NoteDelta("k"));
}

TEST(MergeRunBoundTest, AKeyThatLosesItsSlotStartsAgainAndIsNeverDueEarly) {
  // 64 slots and 1,000 other keys: "hot" loses its slot now and then. The
  // bound may then be late, never early: no run shorter than 8 is due.
  MergeRunBound bound(64, 8);
  int run = 0, due = 0;
  for (int i = 0; i < 4000; ++i) {
    (void)bound.NoteDelta("cold-" + std::to_string(i % 1000));
    ++run;
    if (bound.NoteDelta("hot")) {
      EXPECT_GE(run, 8);
      run = 0;
      ++due;
    }
  }
  EXPECT_GT(due, 0);
}

}  // namespace
}  // namespace simplead::store
