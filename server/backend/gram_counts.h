// GramCounts: how many entries each substring-index gram listed when a search
// last read it. A substring search reads the grams it has no count for and
// the rare ones first, and reads the dense ones (a "ser" in every "user123")
// only if the rare ones left more than a few candidates. The counts steer
// only the order of reads: a stale count costs time, never a result, since
// every candidate is still checked against the whole filter. Bounded (the
// map is cleared when full; it refills with the grams searches use); thread-
// safe.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace simplead::backend {

class GramCounts {
 public:
  explicit GramCounts(size_t max_grams = 65536) : max_grams_(max_grams) {}

  std::optional<size_t> Find(std::string_view attribute, std::string_view gram) const;
  void Record(std::string_view attribute, std::string_view gram, size_t count);
  size_t size() const;

 private:
  static std::string Key(std::string_view attribute, std::string_view gram);

  const size_t max_grams_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, size_t> counts_;  // guarded by mu_
};

}  // namespace simplead::backend
