#include "lib/store/frequency_sketch.h"

#include <algorithm>
#include <bit>

namespace simplead::store {
namespace {

// splitmix64's finaliser: ids are small consecutive integers (and a shard's
// ids share their low bits), so they are mixed before they pick a counter.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

FrequencySketch::FrequencySketch(size_t capacity)
    : mask_(std::bit_ceil(std::clamp<size_t>(capacity, 64, size_t{1} << 24)) - 1),
      sample_size_(10 * std::clamp<size_t>(capacity, 64, size_t{1} << 24)),
      counters_(kRows * (mask_ + 1), 0) {}

size_t FrequencySketch::Slot(uint64_t hash, int row) const {
  // A hash of its own per row: ids that share one counter rarely share the
  // other three, even in a narrow sketch.
  const uint64_t row_hash = row == 0 ? hash : Mix(hash + static_cast<uint64_t>(row));
  return static_cast<size_t>(row) * (mask_ + 1) + (row_hash & mask_);
}

void FrequencySketch::Increment(uint64_t id) {
  const uint64_t hash = Mix(id);
  for (int row = 0; row < kRows; ++row) {
    uint8_t& c = counters_[Slot(hash, row)];
    if (c < kMaxCount) ++c;
  }
  if (++increments_ >= sample_size_) Halve();
}

unsigned FrequencySketch::Estimate(uint64_t id) const {
  const uint64_t hash = Mix(id);
  unsigned least = kMaxCount;
  for (int row = 0; row < kRows; ++row) least = std::min<unsigned>(least, counters_[Slot(hash, row)]);
  return least;
}

void FrequencySketch::Halve() {
  for (uint8_t& c : counters_) c = static_cast<uint8_t>(c >> 1);
  increments_ /= 2;
}

}  // namespace simplead::store
