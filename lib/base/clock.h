// Clock: the one seam for "now", so that lockout windows, key-deletion windows
// and rotation periods can be tested with an injected time. SystemClock is
// thread-safe; FakeClock is safe for concurrent reads and Advance().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace simplead {

class Clock {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint(std::chrono::seconds(1'700'000'000)))
      : now_ns_(start.time_since_epoch().count()) {}
  TimePoint Now() const override { return TimePoint(TimePoint::duration(now_ns_.load())); }
  void Advance(std::chrono::nanoseconds d) {
    now_ns_ += std::chrono::duration_cast<TimePoint::duration>(d).count();
  }

 private:
  std::atomic<int64_t> now_ns_;
};

// "20261123095130.0Z" (LDAP GeneralizedTime, UTC).
std::string GeneralizedTime(Clock::TimePoint t);
// "2026-11-23T09:51:30Z" (ISO 8601, as CloudTrail's eventTime).
std::string Iso8601(Clock::TimePoint t);
// Windows FILETIME: 100 ns ticks since 1601-01-01 (AD's pwdLastSet, lockoutTime).
int64_t ToFileTime(Clock::TimePoint t);
Clock::TimePoint FromFileTime(int64_t ticks);

}  // namespace simplead
