#include "lib/base/clock.h"

#include <gtest/gtest.h>

namespace simplead {
namespace {

TEST(ClockTest, GeneralizedTimeFormatsUtc) {
  Clock::TimePoint t{std::chrono::seconds(0)};
  EXPECT_EQ(GeneralizedTime(t), "19700101000000.0Z");
  EXPECT_EQ(Iso8601(t), "1970-01-01T00:00:00Z");
}

TEST(ClockTest, FileTimeRoundTrips) {
  Clock::TimePoint t{std::chrono::seconds(1'700'000'000)};
  EXPECT_EQ(ToFileTime(Clock::TimePoint{std::chrono::seconds(0)}), 116444736000000000LL);
  EXPECT_EQ(FromFileTime(ToFileTime(t)), t);
}

TEST(FakeClockTest, AdvanceMovesTime) {
  FakeClock clock;
  auto before = clock.Now();
  clock.Advance(std::chrono::minutes(30));
  EXPECT_EQ(clock.Now() - before, std::chrono::minutes(30));
}

}  // namespace
}  // namespace simplead
