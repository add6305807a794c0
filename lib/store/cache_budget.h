// How large the store's per-entry caches are: configured floors, grown with
// the number of entries the store holds when it opens, within one limit.
// Fixed sizes that suit 100,000 users leave a million-user directory reading
// most entries, DNs and index keys from RocksDB; sizes that suit a million
// would waste memory on a small directory. Growth is decided once, at open.
#pragma once

#include <cstddef>
#include <cstdint>

namespace simplead::store {

// Estimated heap bytes of each cache; 0 disables that cache.
struct CacheBudgets {
  size_t record_bytes = 0;   // entries as stored
  size_t dn_bytes = 0;       // DN -> id
  size_t posting_bytes = 0;  // small posting lists of exact index keys
  size_t entry_bytes = 0;    // decoded entries: not grown, only shifted (below)
  bool operator==(const CacheBudgets&) const = default;
};

// Per stored entry, what each cache may grow to; a cache with 0 here keeps
// its configured size. The three caches together never grow past
// limit_bytes (0: no growth at all).
struct CacheGrowth {
  size_t record_bytes_per_entry = 0;
  size_t dn_bytes_per_entry = 0;
  size_t posting_bytes_per_entry = 0;
  size_t limit_bytes = 0;
};

// Each enabled cache gets the larger of its configured size and
// per-entry bytes x `entries`. If the three together would pass
// `growth.limit_bytes`, each one's growth above its configured size is cut
// by the same factor (configured sizes are never cut). A disabled cache
// (configured 0) stays disabled.
CacheBudgets GrowCacheBudgets(const CacheBudgets& configured, const CacheGrowth& growth, uint64_t entries);

// A directory that the decoded-entry cache cannot hold reads most entries
// through the record cache, and a record that misses it from RocksDB (a
// block read and an LZ4 decode, about 20 µs at 100,000 users: half a bind).
// So when `records_needed` bytes of records do not fit budgets->record_bytes,
// the entry cache gives the record cache the difference, keeping at least
// `entry_floor_bytes` for the hottest entries. Disabled caches (0) and a
// floor of 0 leave both as they are. At 100,000 users, 36 MiB of decoded
// entries held one in nine; as records they hold every entry left out.
void ShiftEntryCacheToRecords(CacheBudgets* budgets, size_t records_needed, size_t entry_floor_bytes);

}  // namespace simplead::store
