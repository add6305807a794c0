#include "lib/store/merge_run_bound.h"

#include <algorithm>
#include <bit>
#include <functional>

namespace simplead::store {

MergeRunBound::MergeRunBound(size_t slots, uint32_t bound)
    : slots_(std::bit_ceil(std::max<size_t>(slots, 64))), mask_(slots_.size() - 1), bound_(bound) {}

uint64_t MergeRunBound::Hash(std::string_view key) {
  // 0 marks a slot never used: no key hashes to it.
  uint64_t h = std::hash<std::string_view>()(key);
  return h == 0 ? 1 : h;
}

bool MergeRunBound::NoteDelta(std::string_view key) {
  if (bound_ == 0) return false;
  const uint64_t h = Hash(key);
  Slot& slot = slots_[h & mask_];
  if (slot.hash != h) slot = Slot{h, 0};
  if (++slot.run < bound_) return false;
  slot.run = 0;
  return true;
}

}  // namespace simplead::store
