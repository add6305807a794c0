// BindThrottle: the failed-bind rate limit per source address. After `limit`
// failed binds (invalidCredentials) from one address within `window`, that
// address is refused for one whole `window` counted from the failure that hit
// the limit; then its count starts again from zero. Account lockout protects
// one account; this stops one address spraying guesses over many accounts.
//
// Memory is bounded: at most `max_addresses` addresses are tracked, the one
// whose last failure is oldest is forgotten first, and addresses whose window
// and block have passed are dropped as calls go by.
//
// Thread-safety: all methods may be called concurrently (one mutex).
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "lib/base/clock.h"

namespace simplead::frontend {

struct BindThrottleOptions {
  size_t limit = 100;                        // failures per window; 0 disables the throttle
  std::chrono::seconds window{300};
  size_t max_addresses = 65536;              // ~100 bytes each
};

class BindThrottle {
 public:
  // `clock` is borrowed and must outlive the throttle.
  BindThrottle(const Clock& clock, BindThrottleOptions options);

  // How long `address` must still wait before it may bind again; nullopt if
  // it may bind now.
  std::optional<std::chrono::seconds> RetryAfter(const std::string& address);
  // Counts one failed bind from `address`.
  void RecordFailure(const std::string& address);

  const BindThrottleOptions& options() const { return options_; }
  size_t tracked_addresses() const;

 private:
  struct Entry {
    Clock::TimePoint window_start;
    Clock::TimePoint blocked_until;   // epoch: not blocked
    size_t failures = 0;
    std::list<std::string>::iterator lru;  // position in lru_ (front: most recent failure)
  };
  // An entry whose window and block have both passed carries no state.
  bool Expired(const Entry& e, Clock::TimePoint now) const;
  void DropExpiredTail(Clock::TimePoint now);

  const Clock& clock_;
  const BindThrottleOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;
};

}  // namespace simplead::frontend
