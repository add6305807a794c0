#include "lib/base/clock.h"

#include <ctime>
#include <string>

namespace simplead {
namespace {

std::tm UtcTm(Clock::TimePoint t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

// Seconds between 1601-01-01 and 1970-01-01.
constexpr int64_t kFileTimeEpochOffsetSeconds = 11'644'473'600LL;

}  // namespace

std::string GeneralizedTime(Clock::TimePoint t) {
  std::tm tm = UtcTm(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S.0Z", &tm);
  return buf;
}

std::string Iso8601(Clock::TimePoint t) {
  std::tm tm = UtcTm(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int64_t ToFileTime(Clock::TimePoint t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  return us * 10 + kFileTimeEpochOffsetSeconds * 10'000'000LL;
}

Clock::TimePoint FromFileTime(int64_t ticks) {
  int64_t us = (ticks - kFileTimeEpochOffsetSeconds * 10'000'000LL) / 10;
  return Clock::TimePoint(std::chrono::duration_cast<Clock::TimePoint::duration>(std::chrono::microseconds(us)));
}

}  // namespace simplead
