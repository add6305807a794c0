#include "server/frontend/bind_throttle.h"

#include <gtest/gtest.h>

namespace simplead::frontend {
namespace {

using std::chrono::seconds;

BindThrottleOptions Options(size_t limit, seconds window, size_t max_addresses = 100) {
  BindThrottleOptions o;
  o.limit = limit;
  o.window = window;
  o.max_addresses = max_addresses;
  return o;
}

TEST(BindThrottleTest, AllowsFailuresBelowTheLimit) {
  FakeClock clock;
  BindThrottle throttle(clock, Options(3, seconds(60)));
  throttle.RecordFailure("10.0.0.1");
  throttle.RecordFailure("10.0.0.1");
  EXPECT_FALSE(throttle.RetryAfter("10.0.0.1").has_value());
}

TEST(BindThrottleTest, BlocksTheAddressForAWholeWindowAtTheLimit) {
  FakeClock clock;
  BindThrottle throttle(clock, Options(3, seconds(60)));
  for (int i = 0; i < 3; ++i) throttle.RecordFailure("10.0.0.1");
  auto wait = throttle.RetryAfter("10.0.0.1");
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, seconds(60));
  clock.Advance(seconds(59));
  ASSERT_TRUE(throttle.RetryAfter("10.0.0.1").has_value());
  EXPECT_EQ(*throttle.RetryAfter("10.0.0.1"), seconds(1));
}

TEST(BindThrottleTest, UnblocksAndStartsCountingAfreshWhenTheWindowPasses) {
  FakeClock clock;
  BindThrottle throttle(clock, Options(2, seconds(10)));
  throttle.RecordFailure("10.0.0.1");
  throttle.RecordFailure("10.0.0.1");
  clock.Advance(seconds(10));
  EXPECT_FALSE(throttle.RetryAfter("10.0.0.1").has_value());
  throttle.RecordFailure("10.0.0.1");
  EXPECT_FALSE(throttle.RetryAfter("10.0.0.1").has_value());
}

TEST(BindThrottleTest, FailuresSpreadWiderThanTheWindowDoNotAddUp) {
  FakeClock clock;
  BindThrottle throttle(clock, Options(3, seconds(10)));
  for (int i = 0; i < 6; ++i) {
    throttle.RecordFailure("10.0.0.1");
    clock.Advance(seconds(6));
  }
  EXPECT_FALSE(throttle.RetryAfter("10.0.0.1").has_value());
}

TEST(BindThrottleTest, OtherAddressesAreUnaffected) {
  FakeClock clock;
  BindThrottle throttle(clock, Options(2, seconds(60)));
  throttle.RecordFailure("10.0.0.1");
  throttle.RecordFailure("10.0.0.1");
  EXPECT_TRUE(throttle.RetryAfter("10.0.0.1").has_value());
  EXPECT_FALSE(throttle.RetryAfter("10.0.0.2").has_value());
}

TEST(BindThrottleTest, FailuresWhileBlockedDoNotExtendTheBlock) {
  FakeClock clock;
  BindThrottle throttle(clock, Options(2, seconds(10)));
  throttle.RecordFailure("10.0.0.1");
  throttle.RecordFailure("10.0.0.1");
  clock.Advance(seconds(5));
  throttle.RecordFailure("10.0.0.1");
  EXPECT_EQ(*throttle.RetryAfter("10.0.0.1"), seconds(5));
  clock.Advance(seconds(5));
  EXPECT_FALSE(throttle.RetryAfter("10.0.0.1").has_value());
}

TEST(BindThrottleTest, RetryAfterRoundsUpToWholeSeconds) {
  FakeClock clock;
  BindThrottle throttle(clock, Options(1, seconds(10)));
  throttle.RecordFailure("10.0.0.1");
  clock.Advance(std::chrono::milliseconds(9500));
  EXPECT_EQ(*throttle.RetryAfter("10.0.0.1"), seconds(1));
}

TEST(BindThrottleTest, ZeroLimitDisablesTheThrottle) {
  FakeClock clock;
  BindThrottle throttle(clock, Options(0, seconds(60)));
  for (int i = 0; i < 1000; ++i) throttle.RecordFailure("10.0.0.1");
  EXPECT_FALSE(throttle.RetryAfter("10.0.0.1").has_value());
  EXPECT_EQ(throttle.tracked_addresses(), 0u);
}

TEST(BindThrottleTest, TracksAtMostMaxAddressesForgettingTheOldestFirst) {
  FakeClock clock;
  BindThrottle throttle(clock, Options(1, seconds(60), 3));
  for (int i = 1; i <= 4; ++i) {
    throttle.RecordFailure("10.0.0." + std::to_string(i));
    clock.Advance(seconds(1));
  }
  EXPECT_EQ(throttle.tracked_addresses(), 3u);
  EXPECT_FALSE(throttle.RetryAfter("10.0.0.1").has_value());
  EXPECT_TRUE(throttle.RetryAfter("10.0.0.2").has_value());
  EXPECT_TRUE(throttle.RetryAfter("10.0.0.4").has_value());
}

TEST(BindThrottleTest, ARecentFailureKeepsAnAddressFromBeingForgotten) {
  FakeClock clock;
  BindThrottle throttle(clock, Options(2, seconds(60), 2));
  throttle.RecordFailure("10.0.0.1");
  throttle.RecordFailure("10.0.0.2");
  throttle.RecordFailure("10.0.0.1");  // now blocked and the most recent
  throttle.RecordFailure("10.0.0.3");  // evicts 10.0.0.2
  EXPECT_TRUE(throttle.RetryAfter("10.0.0.1").has_value());
  EXPECT_EQ(throttle.tracked_addresses(), 2u);
}

TEST(BindThrottleTest, ExpiredAddressesAreDropped) {
  FakeClock clock;
  BindThrottle throttle(clock, Options(5, seconds(10)));
  for (int i = 1; i <= 50; ++i) throttle.RecordFailure("10.0.1." + std::to_string(i));
  EXPECT_EQ(throttle.tracked_addresses(), 50u);
  clock.Advance(seconds(11));
  EXPECT_FALSE(throttle.RetryAfter("10.0.9.9").has_value());
  EXPECT_EQ(throttle.tracked_addresses(), 0u);
}

}  // namespace
}  // namespace simplead::frontend
