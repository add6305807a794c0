// MergeRunBound: which index keys are due a full value instead of one more
// merge operand. A hot posting chunk (an objectClass value, a common n-gram)
// gets a delta on nearly every write; a read of it merges every delta written
// since its last full value. RocksDB's own bound (max_successive_merges)
// counts those deltas by walking the memtable on every merge, a second skip
// list search per index key that cost a fifth of an add+delete's CPU. This
// counts them in memory instead: a direct-mapped table of key hashes and
// counts, so a key's count restarts when another key takes its slot. The
// bound is therefore approximate (a key can run past it until it holds a slot
// for `bound` writes), which is all a performance bound needs: reads are
// correct at any run length.
//
// Thread-compatible: the store calls it under its apply lock.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace simplead::store {

class MergeRunBound {
 public:
  // `slots` is rounded up to a power of two (at least 64); `bound` 0 means
  // never due.
  MergeRunBound(size_t slots, uint32_t bound);

  // One more delta for `key`. True when this is the key's `bound`-th delta in
  // a row: the caller writes the full value instead, and the run restarts.
  bool NoteDelta(std::string_view key);

  uint32_t bound() const { return bound_; }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t run = 0;
  };
  static uint64_t Hash(std::string_view key);
  std::vector<Slot> slots_;
  uint64_t mask_;
  uint32_t bound_;
};

}  // namespace simplead::store
