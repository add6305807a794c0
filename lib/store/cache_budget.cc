#include "lib/store/cache_budget.h"

#include <algorithm>
#include <limits>

namespace simplead::store {

namespace {

// per_entry x entries, saturating rather than wrapping.
size_t Scaled(size_t per_entry, uint64_t entries) {
  if (per_entry == 0 || entries == 0) return 0;
  if (entries > std::numeric_limits<size_t>::max() / per_entry) return std::numeric_limits<size_t>::max();
  return per_entry * static_cast<size_t>(entries);
}

// How far one cache wants to grow above its configured size.
size_t WantedGrowth(size_t configured, size_t per_entry, uint64_t entries) {
  if (configured == 0) return 0;  // disabled stays disabled
  size_t wanted = Scaled(per_entry, entries);
  return wanted > configured ? wanted - configured : 0;
}

}  // namespace

CacheBudgets GrowCacheBudgets(const CacheBudgets& configured, const CacheGrowth& growth, uint64_t entries) {
  const size_t floors = configured.record_bytes + configured.dn_bytes + configured.posting_bytes;
  if (growth.limit_bytes <= floors) return configured;
  const size_t room = growth.limit_bytes - floors;
  size_t record = WantedGrowth(configured.record_bytes, growth.record_bytes_per_entry, entries);
  size_t dn = WantedGrowth(configured.dn_bytes, growth.dn_bytes_per_entry, entries);
  size_t posting = WantedGrowth(configured.posting_bytes, growth.posting_bytes_per_entry, entries);
  // Summed as long double (64-bit mantissa): three wants near SIZE_MAX must not wrap.
  const long double wanted = static_cast<long double>(record) + dn + posting;
  if (wanted > static_cast<long double>(room)) {
    const long double scale = static_cast<long double>(room) / wanted;
    record = static_cast<size_t>(record * scale);
    dn = static_cast<size_t>(dn * scale);
    posting = static_cast<size_t>(posting * scale);
  }
  return CacheBudgets{configured.record_bytes + record, configured.dn_bytes + dn, configured.posting_bytes + posting,
                      configured.entry_bytes};
}

void ShiftEntryCacheToRecords(CacheBudgets* budgets, size_t records_needed, size_t entry_floor_bytes) {
  if (entry_floor_bytes == 0 || budgets->record_bytes == 0 || budgets->entry_bytes <= entry_floor_bytes) return;
  if (records_needed <= budgets->record_bytes) return;
  const size_t shift = std::min(records_needed - budgets->record_bytes, budgets->entry_bytes - entry_floor_bytes);
  budgets->entry_bytes -= shift;
  budgets->record_bytes += shift;
}

}  // namespace simplead::store
