// FrequencySketch: how often each entry id was asked for lately, estimated in
// a fixed amount of memory (a count-min sketch: four rows of small counters,
// an id's estimate is the smallest of its four). Every `sample_size`
// increments all counters are halved, so old popularity fades and a change of
// workload shows within a few samples.
//
// A full cache asks it whether a newcomer is read more often than the entry it
// would evict (TinyLFU admission): a directory larger than its cache then
// keeps its hot entries instead of cycling every entry read once through
// insert and eviction. Thread-compatible: the caller holds its shard's lock.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace simplead::store {

class FrequencySketch {
 public:
  // Sized for a cache of `capacity` entries: a row of about that many
  // counters (a power of two, at least 64; one byte each, four rows), halved
  // every 10 x capacity increments, so that an entry read as often as one in
  // `capacity` reads stands out from one read once.
  explicit FrequencySketch(size_t capacity);

  void Increment(uint64_t id);
  // 0..kMaxCount; never below the true count since the last halving, above it
  // only when every one of the id's four counters is shared with busier ids.
  unsigned Estimate(uint64_t id) const;

  static constexpr unsigned kMaxCount = 15;
  size_t width() const { return mask_ + 1; }
  size_t sample_size() const { return sample_size_; }

 private:
  static constexpr int kRows = 4;
  size_t Slot(uint64_t hash, int row) const;
  void Halve();

  size_t mask_;
  size_t sample_size_;  // increments between two halvings
  size_t increments_ = 0;
  std::vector<uint8_t> counters_;  // kRows rows of width() counters
};

}  // namespace simplead::store
