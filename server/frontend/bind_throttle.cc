#include "server/frontend/bind_throttle.h"

#include <algorithm>

namespace simplead::frontend {

BindThrottle::BindThrottle(const Clock& clock, BindThrottleOptions options)
    : clock_(clock), options_(options) {}

bool BindThrottle::Expired(const Entry& e, Clock::TimePoint now) const {
  return now >= e.blocked_until && now >= e.window_start + options_.window;
}

void BindThrottle::DropExpiredTail(Clock::TimePoint now) {
  // The tail failed longest ago; stop at the first entry still live (a few
  // live entries may sit behind it, they go when they reach the tail).
  while (!lru_.empty()) {
    auto it = entries_.find(lru_.back());
    if (it != entries_.end() && !Expired(it->second, now)) break;
    if (it != entries_.end()) entries_.erase(it);
    lru_.pop_back();
  }
}

std::optional<std::chrono::seconds> BindThrottle::RetryAfter(const std::string& address) {
  if (options_.limit == 0) return std::nullopt;
  Clock::TimePoint now = clock_.Now();
  std::lock_guard lock(mu_);
  DropExpiredTail(now);
  auto it = entries_.find(address);
  if (it == entries_.end() || now >= it->second.blocked_until) return std::nullopt;
  auto left = it->second.blocked_until - now;
  // Round up so that a client retrying after the advertised wait succeeds.
  auto seconds = std::chrono::ceil<std::chrono::seconds>(left);
  return std::max(seconds, std::chrono::seconds(1));
}

void BindThrottle::RecordFailure(const std::string& address) {
  if (options_.limit == 0) return;
  Clock::TimePoint now = clock_.Now();
  std::lock_guard lock(mu_);
  DropExpiredTail(now);
  auto it = entries_.find(address);
  if (it != entries_.end() && Expired(it->second, now)) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
    it = entries_.end();
  }
  if (it == entries_.end()) {
    if (options_.max_addresses == 0) return;
    while (entries_.size() >= options_.max_addresses && !lru_.empty()) {
      entries_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(address);
    Entry e;
    e.window_start = now;
    e.lru = lru_.begin();
    it = entries_.emplace(address, e).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  Entry& e = it->second;
  // Failures that raced past the check while the block began do not extend it.
  if (now < e.blocked_until) return;
  ++e.failures;
  if (e.failures >= options_.limit) e.blocked_until = now + options_.window;
}

size_t BindThrottle::tracked_addresses() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace simplead::frontend
