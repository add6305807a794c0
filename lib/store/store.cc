#include "lib/store/store.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/table_properties.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "lib/store/entry_codec.h"
#include "lib/store/frequency_sketch.h"
#include "lib/store/keys.h"
#include "lib/store/merge_run_bound.h"
#include "lib/store/posting.h"

namespace simplead::store {
namespace {

std::string_view View(const rocksdb::Slice& s) { return {s.data(), s.size()}; }
rocksdb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }

// RocksDB errors that a retry or an operator can fix (I/O, lock held, busy)
// are kUnavailable; the rest (corruption, invalid argument, ...) kOther.
Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  ResultCode code = ResultCode::kOther;
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain() || s.IsShutdownInProgress() || s.IsAborted() ||
      s.IsIncomplete()) {
    code = ResultCode::kUnavailable;
  }
  return Status(code, std::string(context) + ": " + s.ToString());
}

// Prefix extractor of the index CF: (kind, attribute). Scans always stay
// within one attribute, so prefix blooms can skip files without it.
class IndexPrefixExtractor : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "simplead.IndexAttributePrefix.v1"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    auto n = keys::IndexAttributePrefixLength(View(key));
    return {key.data(), n.value_or(key.size())};
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return keys::IndexAttributePrefixLength(View(key)).has_value();
  }
};

// Merges posting-list deltas (posting.h) into a chunk value. A full merge
// yields the canonical chunk ("" when no id is left, which reads skip and the
// compaction filter below drops); a partial merge folds deltas into one.
// Malformed bytes fail the merge, which RocksDB reports as corruption.
class PostingMergeOperator : public rocksdb::MergeOperator {
 public:
  const char* Name() const override { return "simplead.PostingMerge.v1"; }

  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    std::optional<posting::Chunk> chunk =
        in.existing_value ? posting::Chunk::Decode(View(*in.existing_value)) : posting::Chunk();
    if (!chunk) return false;
    for (const rocksdb::Slice& operand : in.operand_list) {
      auto delta = posting::Delta::Decode(View(operand));
      if (!delta) return false;
      chunk->Apply(*delta);
    }
    out->new_value = chunk->Encode();
    return true;
  }

  bool PartialMergeMulti(const rocksdb::Slice&, const std::deque<rocksdb::Slice>& operands, std::string* new_value,
                         rocksdb::Logger*) const override {
    posting::Delta folded;
    for (const rocksdb::Slice& operand : operands) {
      auto delta = posting::Delta::Decode(View(operand));
      if (!delta) return false;
      folded.Then(*delta);
    }
    *new_value = folded.Encode();
    return true;
  }
};

// Drops chunks that merged down to no ids (turned into tombstones by RocksDB).
class EmptyPostingFilter : public rocksdb::CompactionFilter {
 public:
  const char* Name() const override { return "simplead.EmptyPostingFilter.v1"; }
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& existing_value, std::string*,
              bool*) const override {
    return existing_value.empty();
  }
};

// Stateless, so one shared instance serves every store.
const EmptyPostingFilter kEmptyPostingFilter;

// glibc malloc: a chunk is the request plus an 8-byte header, rounded up to
// 16, and at least 32 bytes.
size_t MallocChunk(size_t request) { return std::max<size_t>(32, (request + 8 + 15) & ~size_t{15}); }

size_t StringHeap(const std::string& s) {
  static const size_t kInline = std::string().capacity();
  return s.capacity() > kInline ? MallocChunk(s.capacity() + 1) : 0;
}

template <typename T>
size_t VectorHeap(const std::vector<T>& v) {
  return v.capacity() == 0 ? 0 : MallocChunk(v.capacity() * sizeof(T));
}

// A bounded LRU from an entry id to a value that is cheap to copy (a
// shared_ptr), sharded by id to spread lock contention and bounded per shard
// both in entries and in estimated bytes (value_bytes(v) plus the cache's own
// nodes). A per-shard epoch, bumped on every invalidation, stops a reader that
// read the database before a commit from caching the value that commit
// replaced. Evicted values are released after the shard's lock is dropped.
//
// With admission on, a full shard admits a newcomer only if a frequency
// sketch (TinyLFU) says it is read more often than the entry it would evict.
// A directory larger than the cache then stops paying an insert and the
// eviction of a cold entry for every read that misses (at 100,000 users that
// churn cost more than the decoded cache's hits saved), keeps its hot entries
// (policies, groups, the admin), and a scan of every entry evicts nothing.
// Each shard's sketch counts from the first read, sized for the entries its
// budget holds at `typical_bytes` each.
template <typename Value>
class IdCache {
 public:
  using ValueBytes = size_t (*)(const Value&);
  enum class Admission { kAlways, kFrequency };

  IdCache(size_t max_entries, size_t max_bytes, ValueBytes value_bytes, Admission admission,
          size_t typical_bytes = 1024)
      : max_entries_(PerShard(max_entries)), max_bytes_(PerShard(max_bytes)), value_bytes_(value_bytes) {
    if (admission != Admission::kFrequency || !enabled()) return;
    const size_t capacity = std::min(max_entries_, max_bytes_ / std::max<size_t>(typical_bytes, 1));
    for (Shard& s : shards_) s.sketch = std::make_unique<FrequencySketch>(capacity);
  }

  bool enabled() const { return max_entries_ > 0 && max_bytes_ > 0; }

  // Re-sizes an empty cache; only while the store is being opened, before
  // any other thread can see the cache. A frequency sketch keeps the size it
  // was made for (a larger one only ages its counts more slowly).
  void SetMaxBytes(size_t max_bytes) { max_bytes_ = PerShard(max_bytes); }
  // What the cache charges for a value besides value_bytes(value).
  static size_t NodeBytes() { return kRecordBytes; }

  // Returns the cached value (or nullopt) and the epoch to pass to Insert.
  std::optional<Value> Lookup(EntryId id, uint64_t* epoch) {
    Shard& s = shard(id);
    std::lock_guard lock(s.mu);
    *epoch = s.epoch;
    if (s.sketch) s.sketch->Increment(id);
    auto it = s.map.find(id);
    if (it == s.map.end()) return std::nullopt;
    s.lru.splice(s.lru.begin(), s.lru, it->second);
    return it->second->value;
  }

  void Insert(EntryId id, Value value, uint64_t epoch) {
    Lru evicted;  // destroyed after the lock is released
    Shard& s = shard(id);
    std::lock_guard lock(s.mu);
    if (s.epoch != epoch) return;  // a commit happened since the read
    InsertLocked(s, id, std::move(value), evicted);
  }

  // A commit's own value for `id`, built by `make()` only when one is
  // cached: replaces it, and caches nothing new (a commit of many entries
  // evicts no reader's). As Invalidate, the epoch moves on, so no read from
  // before the commit can cache over it.
  template <typename Make>
  void Refresh(EntryId id, const Make& make) {
    Lru evicted;
    Shard& s = shard(id);
    std::lock_guard lock(s.mu);
    ++s.epoch;
    if (s.map.contains(id)) InsertLocked(s, id, make(), evicted);
  }

  void Invalidate(EntryId id) {
    Lru evicted;
    Shard& s = shard(id);
    std::lock_guard lock(s.mu);
    ++s.epoch;
    auto it = s.map.find(id);
    if (it == s.map.end()) return;
    s.bytes -= it->second->charge;
    evicted.splice(evicted.end(), s.lru, it->second);
    s.map.erase(it);
  }

  EntryCacheUsage Usage() {
    EntryCacheUsage usage;
    for (Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      usage.entries += s.lru.size();
      usage.bytes += s.bytes;
    }
    return usage;
  }

 private:
  static constexpr size_t kShards = 16;
  struct Record {
    EntryId id;
    Value value;
    size_t charge;  // estimated bytes, this record's nodes included
  };
  using Lru = std::list<Record>;
  // A list node (two links and the record), a map node (next link, key and
  // list iterator) and the map's bucket pointer.
  static inline const size_t kRecordBytes =
      MallocChunk(2 * sizeof(void*) + sizeof(Record)) +
      MallocChunk(sizeof(void*) + sizeof(EntryId) + sizeof(typename Lru::iterator)) + sizeof(void*);
  struct Shard {
    std::mutex mu;
    uint64_t epoch = 0;
    size_t bytes = 0;
    Lru lru;
    std::unordered_map<EntryId, typename Lru::iterator> map;
    std::unique_ptr<FrequencySketch> sketch;  // Admission::kFrequency only
  };
  static size_t PerShard(size_t total) { return total == 0 ? 0 : std::max<size_t>(1, total / kShards); }
  Shard& shard(EntryId id) { return shards_[id % kShards]; }
  // Caches `value` for `id` (replacing what is cached for it) unless the
  // admission policy turns it away; what it evicts goes into `evicted`, to be
  // destroyed after the shard's lock is released. Requires s.mu.
  void InsertLocked(Shard& s, EntryId id, Value value, Lru& evicted) {
    const size_t charge = value_bytes_(value) + kRecordBytes;
    auto it = s.map.find(id);
    if (it != s.map.end()) {
      s.bytes -= it->second->charge;
      evicted.splice(evicted.end(), s.lru, it->second);
      s.map.erase(it);
    }
    if (charge > max_bytes_) return;  // would evict the whole shard, itself included
    const bool full = s.lru.size() + 1 > max_entries_ || s.bytes + charge > max_bytes_;
    if (full && s.sketch && !s.lru.empty() && s.sketch->Estimate(id) <= s.sketch->Estimate(s.lru.back().id)) {
      return;  // not read more often than the entry it would evict
    }
    s.lru.push_front(Record{id, std::move(value), charge});
    s.map[id] = s.lru.begin();
    s.bytes += charge;
    while (s.lru.size() > max_entries_ || s.bytes > max_bytes_) {
      s.bytes -= s.lru.back().charge;
      s.map.erase(s.lru.back().id);
      evicted.splice(evicted.end(), s.lru, std::prev(s.lru.end()));
    }
  }

  size_t max_entries_;
  size_t max_bytes_;
  ValueBytes value_bytes_;
  Shard shards_[kShards];
};

// Decoded entries: a hit costs a shared_ptr copy.
using EntryCache = IdCache<std::shared_ptr<const StoredEntry>>;
size_t DecodedBytes(const std::shared_ptr<const StoredEntry>& stored) { return EstimateEntryBytes(*stored); }
// Sizes the decoded cache's frequency sketch: a user is 2-3.5 KiB decoded.
constexpr size_t kTypicalDecodedBytes = 2048;

// The entries' records as RocksDB stores them, a third of their decoded size:
// the tier behind the decoded cache, so that a directory too large for that
// still reads most entries without a RocksDB Get (a hit costs a decode).
// One allocation each: the control block and the bytes.
struct CachedRecord {
  std::shared_ptr<const char[]> bytes;
  size_t size = 0;
  std::string_view view() const { return {bytes.get(), size}; }
};
using RecordCache = IdCache<CachedRecord>;
size_t RecordBytes(const CachedRecord& record) {
  return MallocChunk(sizeof(void*) + 2 * sizeof(int) + record.size);
}
CachedRecord CopyRecord(std::string_view value) {
  auto bytes = std::make_shared_for_overwrite<char[]>(value.size());
  std::memcpy(bytes.get(), value.data(), value.size());
  return {std::move(bytes), value.size()};
}

// A bounded LRU from a string key to a small value, sharded by key hash and
// bounded per shard in estimated bytes (the key's and the value's heap plus
// the cache's own nodes). A per-shard epoch, bumped on every invalidation,
// keeps a read that raced a commit from caching what the commit replaced:
// commits invalidate the keys they wrote after their write is visible.
// Value is cheap to copy (an id, a shared_ptr); value_bytes(v) its heap.
template <typename Value>
class KeyedCache {
 public:
  using ValueBytes = size_t (*)(const Value&);
  KeyedCache(size_t max_bytes, ValueBytes value_bytes) : max_bytes_(max_bytes / kShards), value_bytes_(value_bytes) {}

  bool enabled() const { return max_bytes_ > 0; }

  // Re-sizes an empty cache; only while the store is being opened.
  void SetMaxBytes(size_t max_bytes) { max_bytes_ = max_bytes / kShards; }

  std::optional<Value> Lookup(std::string_view key, uint64_t* epoch) {
    Shard& s = shard(key);
    std::lock_guard lock(s.mu);
    *epoch = s.epoch;
    auto it = s.map.find(key);
    if (it == s.map.end()) return std::nullopt;
    s.lru.splice(s.lru.begin(), s.lru, it->second);
    return it->second->value;
  }

  void Insert(std::string_view key, Value value, uint64_t epoch) {
    Shard& s = shard(key);
    std::lock_guard lock(s.mu);
    if (s.epoch != epoch) return;
    if (s.map.contains(key)) return;  // another reader of the same epoch got there first
    InsertLocked(s, key, std::move(value));
  }

  // A commit's own value for `key`: replaces a cached one, and caches
  // nothing new. As Invalidate, the epoch moves on, so no read from before
  // the commit can cache over it.
  void Refresh(std::string_view key, Value value) {
    Shard& s = shard(key);
    std::lock_guard lock(s.mu);
    ++s.epoch;
    if (!s.map.contains(key)) return;
    EraseLocked(s, key);
    InsertLocked(s, key, std::move(value));
  }

  void Invalidate(std::string_view key) {
    Shard& s = shard(key);
    std::lock_guard lock(s.mu);
    ++s.epoch;
    EraseLocked(s, key);
  }

  size_t Size() {
    size_t n = 0;
    for (Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      n += s.lru.size();
    }
    return n;
  }

 private:
  static constexpr size_t kShards = 16;
  struct Record {
    std::string key;
    Value value;
    size_t charge;
  };
  using Lru = std::list<Record>;
  // The key's heap buffer, the value's, the list node, the map node (next
  // link, cached hash, string_view key, list iterator) and its bucket pointer.
  size_t Charge(std::string_view key, const Value& value) const {
    static const size_t kInline = std::string().capacity();
    return (key.size() > kInline ? MallocChunk(key.size() + 1) : 0) + value_bytes_(value) +
           MallocChunk(2 * sizeof(void*) + sizeof(Record)) +
           MallocChunk(2 * sizeof(void*) + sizeof(std::string_view) + sizeof(typename Lru::iterator)) + sizeof(void*);
  }
  struct Shard {
    std::mutex mu;
    uint64_t epoch = 0;
    size_t bytes = 0;
    Lru lru;
    std::unordered_map<std::string_view, typename Lru::iterator> map;
  };
  Shard& shard(std::string_view key) { return shards_[std::hash<std::string_view>{}(key) % kShards]; }
  // Both require s.mu. `key` must not be cached yet for InsertLocked.
  void InsertLocked(Shard& s, std::string_view key, Value value) {
    const size_t charge = Charge(key, value);
    if (charge > max_bytes_) return;
    s.lru.push_front(Record{std::string(key), std::move(value), charge});
    s.map.emplace(s.lru.front().key, s.lru.begin());  // keyed by the list node's own string
    s.bytes += charge;
    while (s.bytes > max_bytes_) {
      s.bytes -= s.lru.back().charge;
      s.map.erase(s.lru.back().key);
      s.lru.pop_back();
    }
  }
  void EraseLocked(Shard& s, std::string_view key) {
    auto it = s.map.find(key);
    if (it == s.map.end()) return;
    auto node = it->second;
    s.map.erase(it);
    s.bytes -= node->charge;
    s.lru.erase(node);
  }

  size_t max_bytes_;
  ValueBytes value_bytes_;
  Shard shards_[kShards];
};

// The DN -> id cache (dn2id), so that a bind or base read by DN skips a
// RocksDB Get. Only found DNs are cached.
using DnCache = KeyedCache<EntryId>;
size_t NoHeap(const EntryId&) { return 0; }

// Every non-empty (chunk, value) of one exact index key, as ForEachChunk
// reads them, packed into one string (varint chunk, length-prefixed value,
// ...): the posting cache keeps small lists (an equality key of a unique
// attribute, a rare value) so that an indexed look-up skips RocksDB. A
// one-id list fits the string's inline buffer: no allocation, and a lookup
// copies it.
using PostingCache = KeyedCache<std::string>;
// Lists above this many value bytes are read from RocksDB every time: the
// cache is for look-ups by unique values and for the rarer trigrams a
// substring search intersects (a few thousand ids), not for large sets.
constexpr size_t kMaxCachedPostingBytes = 4096;
void AppendCachedChunk(std::string* packed, uint64_t chunk, std::string_view value) {
  keys::PutVarint64(packed, chunk);
  keys::PutLengthPrefixed(packed, value);
}
// Calls fn on each packed chunk until it returns false; false if the
// packing is malformed (it never is: only AppendCachedChunk writes it).
bool ForEachCachedChunk(std::string_view packed, const std::function<bool(uint64_t, std::string_view)>& fn) {
  while (!packed.empty()) {
    uint64_t chunk = 0;
    std::string_view value;
    if (!keys::GetVarint64(&packed, &chunk) || !keys::GetLengthPrefixed(&packed, &value)) return false;
    if (!fn(chunk, value)) return true;
  }
  return true;
}

bool Lz4Supported() {
  auto supported = rocksdb::GetSupportedCompressions();
  return std::find(supported.begin(), supported.end(), rocksdb::kLZ4Compression) != supported.end();
}

enum class CfKind { kPlain, kPointLookups, kPostings };

rocksdb::ColumnFamilyOptions MakeCfOptions(const std::shared_ptr<rocksdb::Cache>& cache, CfKind kind,
                                           const StoreOptions& options) {
  rocksdb::ColumnFamilyOptions cf;
  // A bulk load compacts once at its end (Store::Flush). Larger memtables
  // were measured not to help it: deeper skip lists cost what fewer flushes
  // save.
  if (options.bulk_load) cf.disable_auto_compactions = true;
  cf.compaction_style = rocksdb::kCompactionStyleLevel;
  cf.level_compaction_dynamic_level_bytes = true;
  cf.compression = Lz4Supported() ? rocksdb::kLZ4Compression : rocksdb::kNoCompression;
  if (options.bulk_load) {
    // A bulk load's level-0 files live until its closing compaction rewrites
    // them: compressing them is work thrown away.
    cf.compression_per_level.assign(cf.num_levels, cf.compression);
    cf.compression_per_level[0] = rocksdb::kNoCompression;
  }
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.format_version = 5;
  if (kind == CfKind::kPointLookups) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    // A hash index inside each data block answers a point Get without the
    // binary search over restart points. Applies to SST files written from
    // now on (flushes, compactions); files of older stores stay readable.
    table.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
    table.data_block_hash_table_util_ratio = 0.75;
  }
  if (kind == CfKind::kPostings) {
    // Gets of one chunk (whole-key bloom) and prefix scans (prefix bloom).
    cf.prefix_extractor = std::make_shared<IndexPrefixExtractor>();
    cf.memtable_prefix_bloom_size_ratio = 0.02;
    cf.memtable_whole_key_filtering = true;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.whole_key_filtering = true;
    cf.merge_operator = std::make_shared<PostingMergeOperator>();
    cf.compaction_filter = &kEmptyPostingFilter;
    // The deltas a read of a hot chunk merges are bounded by the store
    // (Impl::merge_runs), not by RocksDB: its bound walks the memtable on
    // every merge.
    cf.max_successive_merges = 0;
  }
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

// Column families of format 2 (besides "default").
const std::vector<std::string>& StoreCfNames() {
  static const std::vector<std::string> kNames = {keys::kEntriesCf, keys::kDn2IdCf,     keys::kChildrenCf,
                                                  keys::kIndexCf,   keys::kChangelogCf, keys::kMetaCf};
  return kNames;
}

}  // namespace

size_t EstimateEntryBytes(const StoredEntry& stored) {
  // make_shared: one block of the control block (vtable pointer, two
  // counts) and the record.
  size_t bytes = MallocChunk(sizeof(void*) + 2 * sizeof(int) + sizeof(StoredEntry)) + StringHeap(stored.dn_text);
  const std::vector<ldap::Rdn>& rdns = stored.entry.dn().rdns();
  bytes += VectorHeap(rdns);
  for (const ldap::Rdn& rdn : rdns) {
    bytes += VectorHeap(rdn);
    for (const ldap::Ava& ava : rdn) bytes += StringHeap(ava.type) + StringHeap(ava.value);
  }
  const std::vector<ldap::Attribute>& attributes = stored.entry.attributes();
  bytes += VectorHeap(attributes);
  for (const ldap::Attribute& a : attributes) {
    bytes += StringHeap(a.type) + VectorHeap(a.values);
    for (const std::string& v : a.values) bytes += StringHeap(v);
  }
  return bytes;
}

// ---- Group commit -----------------------------------------------------------

namespace {

// Shares WAL syncs between the writes waiting to be durable (group commit):
// threads blocked in Wait (Store::WaitDurable has the contract) and
// callbacks queued by WaitAsync (Store::WhenDurable), which a syncer thread
// of its own completes so that no thread is parked per write. Whoever finds
// no sync running leads one for every write made before it starts; the rest
// are covered by it or by the next. Thread-safe.
class WalSyncer {
 public:
  using Done = std::function<void(Status)>;
  // A follower gives up after this long (the leader is stuck in an fsync).
  static constexpr std::chrono::seconds kMaxWait{60};

  ~WalSyncer() { Stop(); }

  Status Wait(uint64_t sequence, rocksdb::DB& db) {
    std::unique_lock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + kMaxWait;
    while (true) {
      if (!failure_.ok()) return failure_;
      if (synced_ >= sequence) return Status::Ok();
      if (!syncing_) {
        SyncAsLeader(lock, db);
        continue;
      }
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && failure_.ok() && synced_ < sequence) {
        return Error(ResultCode::kUnavailable, "timed out waiting for the WAL sync: the write may not be durable");
      }
    }
  }

  // Calls done(what Wait would return): at once on this thread when that is
  // already known, otherwise on the syncer thread (started on first use).
  void WaitAsync(uint64_t sequence, rocksdb::DB& db, Done done) {
    std::unique_lock lock(mu_);
    if (!failure_.ok() || synced_ >= sequence || stopping_) {
      lock.unlock();
      // Returns at once, except in a store being closed, whose syncer
      // thread no longer takes callbacks: then this thread syncs.
      done(Wait(sequence, db));
      return;
    }
    async_waiters_.push_back({sequence, std::move(done)});
    if (!async_thread_.joinable()) async_thread_ = std::thread([this, &db] { CompleteAsyncWaiters(db); });
    async_cv_.notify_one();
  }

  // Completes every queued callback (syncing for them) and joins the syncer
  // thread; before the database closes.
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    async_cv_.notify_all();
    if (async_thread_.joinable()) async_thread_.join();
  }

  // The sticky failure of an earlier sync (OK if none failed).
  Status failure() const {
    std::lock_guard lock(mu_);
    return failure_;
  }
  uint64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }

 private:
  struct AsyncWaiter {
    uint64_t sequence;
    Done done;
  };

  // Requires mu_ (held by `lock`) and no sync running: syncs the WAL for
  // every write published so far, with mu_ released during the fsync.
  void SyncAsLeader(std::unique_lock<std::mutex>& lock, rocksdb::DB& db) {
    syncing_ = true;
    // RocksDB publishes a sequence number only after its WAL write, so this
    // sync covers every write up to `target`.
    const uint64_t target = db.GetLatestSequenceNumber();
    lock.unlock();
    const rocksdb::Status st = db.SyncWAL();
    lock.lock();
    syncing_ = false;
    syncs_.fetch_add(1, std::memory_order_relaxed);
    if (st.ok()) {
      synced_ = std::max(synced_, target);
    } else {
      failure_ = Error(ResultCode::kUnavailable,
                       "WAL sync failed (" + st.ToString() +
                           "): recent writes are applied but may not be durable; the store refuses writes "
                           "until it is reopened");
    }
    cv_.notify_all();
    async_cv_.notify_one();
  }

  // The syncer thread: while callbacks are queued, one sync covers all of
  // them (those queued during it wait for the next), then they run, outside
  // the lock. Returns once stopping and nothing is queued.
  void CompleteAsyncWaiters(rocksdb::DB& db) {
    std::unique_lock lock(mu_);
    while (true) {
      async_cv_.wait(lock, [&] { return (stopping_ && async_waiters_.empty()) || (!async_waiters_.empty() && !syncing_); });
      if (async_waiters_.empty()) return;
      uint64_t wanted = 0;
      for (const AsyncWaiter& w : async_waiters_) wanted = std::max(wanted, w.sequence);
      if (failure_.ok() && synced_ < wanted) SyncAsLeader(lock, db);
      std::vector<AsyncWaiter> ready;
      std::erase_if(async_waiters_, [&](AsyncWaiter& w) {
        if (failure_.ok() && w.sequence > synced_) return false;
        ready.push_back(std::move(w));
        return true;
      });
      const Status outcome = failure_;
      lock.unlock();
      for (AsyncWaiter& w : ready) w.done(outcome);
      ready.clear();  // the callbacks' captures go outside the lock too
      lock.lock();
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;        // a sync ended (Wait's followers)
  std::condition_variable async_cv_;  // the syncer thread has something to do
  bool syncing_ = false;              // a leader is in SyncWAL; guarded by mu_
  uint64_t synced_ = 0;               // every write up to this sequence is durable; guarded by mu_
  Status failure_;                    // guarded by mu_
  std::vector<AsyncWaiter> async_waiters_;  // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  std::thread async_thread_;
  std::atomic<uint64_t> syncs_{0};
};

}  // namespace

// ---- Store::Impl ------------------------------------------------------------

struct Store::Impl {
  explicit Impl(const StoreOptions& o)
      : options(o),
        cache(o.entry_cache_entries, o.entry_cache_bytes, DecodedBytes, EntryCache::Admission::kFrequency,
              kTypicalDecodedBytes),
        record_cache(o.record_cache_bytes == 0 ? 0 : SIZE_MAX, o.record_cache_bytes, RecordBytes,
                     RecordCache::Admission::kAlways),
        dn_cache(o.dn_cache_bytes, NoHeap),
        posting_cache(o.posting_cache_bytes, StringHeap) {}
  ~Impl() {
    if (db == nullptr) return;
    syncer.Stop();  // its pending callbacks need the database
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    db->Close().PermitUncheckedError();
  }

  StoreOptions options;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // owned, destroyed before db
  rocksdb::ColumnFamilyHandle* entries = nullptr;
  rocksdb::ColumnFamilyHandle* dn2id = nullptr;
  rocksdb::ColumnFamilyHandle* children = nullptr;
  rocksdb::ColumnFamilyHandle* index = nullptr;
  rocksdb::ColumnFamilyHandle* changelog = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  std::atomic<uint64_t> next_id{1};
  std::atomic<uint64_t> persisted_next_id{0};  // meta high-water mark
  // Highest chunk an index op of this process touched; with next_id it
  // bounds the chunks a read of one index key must probe.
  std::atomic<uint64_t> max_index_chunk{0};
  // A format-1 store opened read-only: its index is not readable.
  bool legacy_index = false;
  // What the record cache would be charged for every entry found at open:
  // entries_at_open records of the average size written to the entries
  // column family's tables (raw, before compression), and a sixteenth more.
  // 0 if RocksDB cannot tell (no tables yet).
  size_t RecordBytesNeeded() const {
    rocksdb::TablePropertiesCollection tables;
    if (entries_at_open == 0 || !db->GetPropertiesOfAllTables(entries, &tables).ok()) return 0;
    uint64_t raw = 0, records = 0;
    for (const auto& [file, props] : tables) {
      raw += props->raw_value_size;
      records += props->num_entries - std::min(props->num_entries, props->num_deletions);
    }
    if (records == 0) return 0;
    const size_t average = static_cast<size_t>(raw / records);
    const size_t all = static_cast<size_t>(entries_at_open) * (RecordBytes(CachedRecord{nullptr, average}) +
                                                               RecordCache::NodeBytes());
    return all + all / 16;  // each shard holds a sixteenth of the budget, and shares are never quite even
  }
  // Held by WriteTxn::Apply from folding its index ops to the end of its
  // write: a chunk written as a full value is read and rewritten under it, so
  // no other write's delta can land in between. Writers are serialised by
  // the directory already; this makes the store safe on its own.
  std::mutex apply_mu;
  // Which hot chunks are due a full value (merge_run_bound.h): one in every
  // kMaxMergeRun deltas of a key, so that a read of a chunk merges at most
  // about that many. Off in a bulk load, whose commits touch a chunk once each.
  static constexpr uint32_t kMaxMergeRun = 64;
  MergeRunBound merge_runs{1 << 16, options.bulk_load ? 0 : kMaxMergeRun};
  EntryCache cache;
  RecordCache record_cache;
  mutable DnCache dn_cache;            // FindId is a const read
  mutable PostingCache posting_cache;  // so is ForEachChunk
  CacheBudgets cache_budgets;          // as sized at open
  uint64_t entries_at_open = 0;
  WalSyncer syncer;  // group commit

  // How many chunks an index key can have: every id ever allocated or
  // indexed by this process lies below ChunkBound() << 16.
  uint64_t ChunkBound() const {
    const uint64_t last_id = next_id.load();
    return std::max(keys::ChunkOf(last_id == 0 ? 0 : last_id - 1), max_index_chunk.load()) + 1;
  }

  Status CheckIndexReadable() const {
    if (!legacy_index) return Status::Ok();
    return Error(ResultCode::kUnavailable,
                 "the store at " + options.path +
                     " has storage format 1: open it read-write once (start simplead or run an admin command "
                     "that writes) to convert its index");
  }

  // Visits (chunk, value) of every non-empty chunk of exactly (kind,
  // attribute, key), in chunk order; fn returns false to stop.
  // Caches one key's packed list (AppendCachedChunk) read under `epoch`.
  void CachePostingList(std::string_view prefix, std::string packed, uint64_t epoch) const {
    packed.shrink_to_fit();  // charged by capacity
    posting_cache.Insert(prefix, std::move(packed), epoch);
  }
  Status ForEachChunk(IndexKind kind, std::string_view attribute, std::string_view key,
                      const std::function<bool(uint64_t, std::string_view)>& fn) const;
  // One RocksDB MultiGet of chunks 0..chunks-1 of every exact-key prefix;
  // calls fn(prefix index, chunk, value) for each non-empty chunk, in
  // (prefix, chunk) order, until fn returns false.
  Status MultiGetChunks(const std::vector<std::string>& prefixes, uint64_t chunks,
                        const std::function<bool(size_t, uint64_t, std::string_view)>& fn) const;

  Result<std::optional<StoredEntry>> Get(EntryId id);
  Result<std::shared_ptr<const StoredEntry>> GetShared(EntryId id);
  Result<std::optional<EntryId>> FindId(std::string_view normalized_dn) const;

  // Visits (key, value) of every key in `cf` starting with `prefix`.
  Status ScanPrefix(rocksdb::ColumnFamilyHandle* cf, const std::string& prefix, bool same_prefix,
                    const std::function<bool(std::string_view, std::string_view)>& fn) const {
    std::string upper = keys::PrefixSuccessor(prefix);
    rocksdb::Slice upper_slice(upper);
    rocksdb::ReadOptions ro;
    if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
    ro.prefix_same_as_start = same_prefix;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf));
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      std::string_view key = View(it->key());
      if (key.substr(0, prefix.size()) != prefix) break;
      if (!fn(key, View(it->value()))) return Status::Ok();
    }
    if (!it->status().ok()) return FromRocks(it->status(), "store scan");
    return Status::Ok();
  }
};

Status Store::Impl::MultiGetChunks(const std::vector<std::string>& prefixes, uint64_t chunks,
                                   const std::function<bool(size_t, uint64_t, std::string_view)>& fn) const {
  // Keys sorted as RocksDB orders them (bytewise), so MultiGet need not sort;
  // `order` maps each sorted key back to its (prefix, chunk).
  std::vector<std::string> keys;
  keys.reserve(prefixes.size() * chunks);
  for (const std::string& prefix : prefixes) {
    for (uint64_t c = 0; c < chunks; ++c) {
      keys.push_back(prefix);
      keys::PutFixed64BE(&keys.back(), c);
    }
  }
  std::vector<size_t> order(keys.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
  std::vector<rocksdb::Slice> slices;
  slices.reserve(keys.size());
  for (size_t i : order) slices.emplace_back(keys[i]);
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db->MultiGet(rocksdb::ReadOptions(), index, slices.size(), slices.data(), values.data(), statuses.data(),
               /*sorted_input=*/true);
  std::vector<size_t> slot(keys.size());  // key index -> its place in the sorted batch
  for (size_t j = 0; j < order.size(); ++j) slot[order[j]] = j;
  for (size_t i = 0; i < keys.size(); ++i) {
    const size_t j = slot[i];
    if (statuses[j].IsNotFound()) continue;
    if (!statuses[j].ok()) return FromRocks(statuses[j], "index get");
    if (values[j].empty()) continue;
    if (!fn(i / chunks, i % chunks, View(values[j]))) return Status::Ok();
  }
  return Status::Ok();
}

Status Store::Impl::ForEachChunk(IndexKind kind, std::string_view attribute, std::string_view key,
                                 const std::function<bool(uint64_t, std::string_view)>& fn) const {
  SIMPLEAD_RETURN_IF_ERROR(CheckIndexReadable());
  std::string prefix = keys::IndexExactPrefix(kind, attribute, key);
  const uint64_t chunks = ChunkBound();
  constexpr uint64_t kMaxBatchedGets = 64;
  if (chunks <= kMaxBatchedGets) {
    uint64_t epoch = 0;
    if (posting_cache.enabled()) {
      if (auto hit = posting_cache.Lookup(prefix, &epoch)) {
        if (!ForEachCachedChunk(*hit, fn)) return InternalError("corrupt posting cache entry");
        return Status::Ok();
      }
    }
    // fn sees each chunk as it is read; a copy is kept while the list stays
    // small, and cached only if fn saw the whole list (no early stop).
    bool cacheable = posting_cache.enabled();
    std::string read;
    size_t bytes = 0;
    auto visit = [&](uint64_t c, std::string_view value) {
      if (cacheable) {
        bytes += value.size();
        cacheable = bytes <= kMaxCachedPostingBytes;
        if (cacheable) AppendCachedChunk(&read, c, value);
      }
      if (fn(c, value)) return true;
      cacheable = false;
      return false;
    };
    constexpr uint64_t kMaxGets = 4;
    if (chunks <= kMaxGets) {
      // Few chunks can exist (up to 262,144 ids): point reads, which the
      // whole-key bloom filters answer for most files, beat an iterator.
      std::string k = prefix;
      rocksdb::PinnableSlice value;
      for (uint64_t c = 0; c < chunks; ++c) {
        k.resize(prefix.size());
        keys::PutFixed64BE(&k, c);
        value.Reset();
        rocksdb::Status st = db->Get(rocksdb::ReadOptions(), index, k, &value);
        if (st.IsNotFound()) continue;
        if (!st.ok()) return FromRocks(st, "index get");
        if (!value.empty() && !visit(c, View(value))) return Status::Ok();
      }
    } else {
      // Up to 4M ids: one batched read. Most chunk keys of a rare value do
      // not exist and the bloom filters answer for them; an iterator would
      // instead seek in every level (at 1M users: 13 % of an equality search).
      SIMPLEAD_RETURN_IF_ERROR(
          MultiGetChunks({prefix}, chunks, [&](size_t, uint64_t c, std::string_view value) { return visit(c, value); }));
    }
    if (cacheable) {
      CachePostingList(prefix, std::move(read), epoch);
    }
    return Status::Ok();
  }
  Status bad;
  Status st = ScanPrefix(index, prefix, true, [&](std::string_view k, std::string_view value) {
    std::string_view rest = k.substr(prefix.size());
    uint64_t chunk = 0;
    if (rest.size() != 8 || !keys::GetFixed64BE(&rest, &chunk)) {
      bad = InternalError("corrupt index key");
      return false;
    }
    return value.empty() || fn(chunk, value);
  });
  return st.ok() ? bad : st;
}

Result<std::shared_ptr<const StoredEntry>> Store::Impl::GetShared(EntryId id) {
  uint64_t epoch = 0;
  if (cache.enabled()) {
    if (auto hit = cache.Lookup(id, &epoch)) return *hit;
  }
  std::optional<CachedRecord> record;
  uint64_t record_epoch = 0;
  if (record_cache.enabled()) record = record_cache.Lookup(id, &record_epoch);
  std::optional<StoredEntry> stored;
  if (record) {
    SIMPLEAD_ASSIGN_OR_RETURN(stored, DecodeEntryRecord(id, record->view()));
  } else {
    // Pinned: decoded straight from the block cache, no copy of the record.
    rocksdb::PinnableSlice value;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), entries, keys::EntryKey(id), &value);
    if (s.IsNotFound()) return std::shared_ptr<const StoredEntry>();
    if (!s.ok()) return FromRocks(s, "store get");
    SIMPLEAD_ASSIGN_OR_RETURN(stored, DecodeEntryRecord(id, View(value)));
    if (record_cache.enabled()) {
      record_cache.Insert(id, CopyRecord(View(value)), record_epoch);
    }
  }
  auto shared = std::make_shared<const StoredEntry>(std::move(*stored));
  if (cache.enabled()) cache.Insert(id, shared, epoch);
  return shared;
}

Result<std::optional<StoredEntry>> Store::Impl::Get(EntryId id) {
  SIMPLEAD_ASSIGN_OR_RETURN(auto shared, GetShared(id));
  if (!shared) return std::optional<StoredEntry>();
  return std::optional<StoredEntry>(*shared);
}

Result<std::optional<EntryId>> Store::Impl::FindId(std::string_view normalized_dn) const {
  uint64_t epoch = 0;
  if (dn_cache.enabled()) {
    if (auto hit = dn_cache.Lookup(normalized_dn, &epoch)) return hit;
  }
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), dn2id, ToSlice(normalized_dn), &value);
  if (s.IsNotFound()) return std::optional<EntryId>();
  if (!s.ok()) return FromRocks(s, "store dn lookup");
  auto id = keys::ParseEntryKey(View(value));
  if (!id) return InternalError("corrupt dn2id record for '" + std::string(normalized_dn) + "'");
  if (dn_cache.enabled()) dn_cache.Insert(normalized_dn, *id, epoch);
  return std::optional<EntryId>(*id);
}

// ---- WriteTxn ---------------------------------------------------------------

// A plain WriteBatch: Get and FindId are the only reads a transaction makes
// of its own writes, so those two keyspaces are mirrored in small maps rather
// than indexing every key of the batch (most keys are index keys, never read
// back; WriteBatchWithIndex spent a third of an import sorting them). The
// batch applies in order, so a later Put or Delete of a key wins, as before.
struct WriteTxn::Impl {
  explicit Impl(Store::Impl* s) : store(s) {}

  void Reset() {
    batch.Clear();
    index_ops.clear();
    max_chunk = 0;
    entries.clear();
    dn2id.clear();
    max_id_plus_one = 0;
  }

  // Writes the batch; *wrote tells whether there was anything to write.
  Status Apply(bool sync, bool* wrote);
  // Requires store->apply_mu. Writes `key`'s chunk as its stored value with
  // `delta` applied (a Put, or a Delete once empty) instead of a delta; false
  // if the stored value cannot be read, and then the caller merges as usual.
  bool PutFullValue(const std::string& key, const posting::Delta& delta);

  Store::Impl* store;
  rocksdb::WriteBatch batch;
  // Index ops per chunk key, in call order: low 16 bits of the id, bit 16
  // set for an add. Commit folds each key's ops into one merge operand and
  // appends them sorted by key: RocksDB's skip list inserts keys that arrive
  // in order much faster than scattered ones.
  std::unordered_map<std::string, std::vector<uint32_t>> index_ops;
  uint64_t max_chunk = 0;
  std::string scratch;  // key being looked up, reused to spare allocations

  void AddIndexOp(IndexKind kind, std::string_view attribute, std::string_view key, EntryId id, bool add) {
    const uint64_t chunk = keys::ChunkOf(id);
    max_chunk = std::max(max_chunk, chunk);
    scratch.clear();
    keys::AppendIndexKey(&scratch, kind, attribute, key, chunk);
    // One hash and probe whether the key is new or not (copied only if new).
    auto it = index_ops.try_emplace(scratch).first;
    it->second.push_back(keys::LowOf(id) | (add ? 0x10000u : 0u));
  }
  // Entry records (encoded) and dn2id values written here; nullopt: deleted.
  std::unordered_map<EntryId, std::optional<std::string>> entries;
  std::unordered_map<std::string, std::optional<EntryId>> dn2id;
  uint64_t max_id_plus_one = 0;  // meta next-id value written in this txn
};

WriteTxn::WriteTxn(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WriteTxn::WriteTxn(WriteTxn&&) noexcept = default;
WriteTxn& WriteTxn::operator=(WriteTxn&&) noexcept = default;
WriteTxn::~WriteTxn() = default;

void WriteTxn::PutEntry(EntryId id, EntryId parent, std::string_view normalized_dn, const ldap::Entry& entry) {
  Store::Impl& s = *impl_->store;
  std::string key = keys::EntryKey(id);
  std::string record = EncodeEntryRecord(parent, entry);
  impl_->batch.Put(s.entries, key, record).PermitUncheckedError();
  impl_->batch.Put(s.dn2id, ToSlice(normalized_dn), key).PermitUncheckedError();
  impl_->batch.Put(s.children, keys::ChildKey(parent, id), rocksdb::Slice()).PermitUncheckedError();
  impl_->entries[id] = std::move(record);
  impl_->dn2id[std::string(normalized_dn)] = id;
  // Persist the id high-water mark with the entry, so ids never repeat even
  // after the highest entry is deleted.
  uint64_t next = id + 1;
  if (next > impl_->max_id_plus_one && next > s.persisted_next_id.load()) {
    impl_->batch.Put(s.meta, keys::kMetaNextId, keys::EncodeCounter(next)).PermitUncheckedError();
    impl_->max_id_plus_one = next;
  }
}

void WriteTxn::UpdateEntry(EntryId id, EntryId parent, const ldap::Entry& entry) {
  std::string record = EncodeEntryRecord(parent, entry);
  impl_->batch.Put(impl_->store->entries, keys::EntryKey(id), record).PermitUncheckedError();
  impl_->entries[id] = std::move(record);
}

void WriteTxn::DeleteEntry(EntryId id, EntryId parent, std::string_view normalized_dn) {
  Store::Impl& s = *impl_->store;
  impl_->batch.Delete(s.entries, keys::EntryKey(id)).PermitUncheckedError();
  impl_->batch.Delete(s.dn2id, ToSlice(normalized_dn)).PermitUncheckedError();
  impl_->batch.Delete(s.children, keys::ChildKey(parent, id)).PermitUncheckedError();
  impl_->entries[id] = std::nullopt;
  impl_->dn2id[std::string(normalized_dn)] = std::nullopt;
}

void WriteTxn::AddIndexKey(IndexKind kind, std::string_view attribute, std::string_view key, EntryId id) {
  impl_->AddIndexOp(kind, attribute, key, id, true);
}

void WriteTxn::RemoveIndexKey(IndexKind kind, std::string_view attribute, std::string_view key, EntryId id) {
  impl_->AddIndexOp(kind, attribute, key, id, false);
}

void WriteTxn::AppendChange(const ChangeRecord& change) {
  impl_->batch.Put(impl_->store->changelog, change.csn, EncodeChangeRecord(change)).PermitUncheckedError();
}

void WriteTxn::PutMeta(std::string_view key, std::string_view value) {
  impl_->batch.Put(impl_->store->meta, ToSlice(key), ToSlice(value)).PermitUncheckedError();
}

void WriteTxn::DeleteMeta(std::string_view key) {
  impl_->batch.Delete(impl_->store->meta, ToSlice(key)).PermitUncheckedError();
}

Result<std::optional<StoredEntry>> WriteTxn::Get(EntryId id) const {
  // Untouched ids go through the store (and its cache).
  auto it = impl_->entries.find(id);
  if (it == impl_->entries.end()) return impl_->store->Get(id);
  if (!it->second) return std::optional<StoredEntry>();
  SIMPLEAD_ASSIGN_OR_RETURN(StoredEntry stored, DecodeEntryRecord(id, *it->second));
  return std::optional<StoredEntry>(std::move(stored));
}

Result<std::optional<EntryId>> WriteTxn::FindId(std::string_view normalized_dn) const {
  auto it = impl_->dn2id.find(std::string(normalized_dn));
  if (it == impl_->dn2id.end()) return impl_->store->FindId(normalized_dn);
  return it->second;
}

Status WriteTxn::Commit() { return Commit(impl_->store->options.sync_writes); }

Status WriteTxn::Commit(bool sync) {
  bool wrote = false;
  return impl_->Apply(sync, &wrote);
}

Result<CommitTicket> WriteTxn::CommitDeferred() {
  Store::Impl& s = *impl_->store;
  const bool durable = s.options.sync_writes && !s.options.bulk_load;
  if (durable) {
    Status failed = s.syncer.failure();
    if (!failed.ok()) {
      impl_->Reset();
      return failed;
    }
  }
  bool wrote = false;
  SIMPLEAD_RETURN_IF_ERROR(impl_->Apply(/*sync=*/false, &wrote));
  if (!durable || !wrote) return CommitTicket{};
  // Writers are serialised by the caller, so this is this write's sequence
  // number or a later one: waiting for it is never too short.
  return CommitTicket{s.db->GetLatestSequenceNumber()};
}

bool WriteTxn::Impl::PutFullValue(const std::string& key, const posting::Delta& delta) {
  Store::Impl& s = *store;
  rocksdb::PinnableSlice stored;
  rocksdb::Status st = s.db->Get(rocksdb::ReadOptions(), s.index, key, &stored);
  if (!st.ok() && !st.IsNotFound()) return false;
  std::optional<posting::Chunk> chunk = st.ok() ? posting::Chunk::Decode(View(stored)) : posting::Chunk();
  if (!chunk) return false;
  chunk->Apply(delta);
  if (chunk->empty()) {
    batch.Delete(s.index, key).PermitUncheckedError();
  } else {
    batch.Put(s.index, key, chunk->Encode()).PermitUncheckedError();
  }
  return true;
}

Status WriteTxn::Impl::Apply(bool sync, bool* wrote) {
  Store::Impl& s = *store;
  *wrote = false;
  if (s.options.read_only) {
    Reset();
    return Error(ResultCode::kUnwillingToPerform, "store is open read-only");
  }
  std::lock_guard apply_lock(s.apply_mu);
  if (!index_ops.empty()) {
    std::vector<std::pair<const std::string*, std::vector<uint32_t>*>> sorted;
    sorted.reserve(index_ops.size());
    for (auto& [key, ops] : index_ops) sorted.emplace_back(&key, &ops);
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
    posting::Delta delta;
    for (auto& [key, ops] : sorted) {
      // Per id the last op wins: stable-sort by id, keep each run's last.
      std::stable_sort(ops->begin(), ops->end(), [](uint32_t a, uint32_t b) { return (a & 0xFFFF) < (b & 0xFFFF); });
      delta.adds.clear();
      delta.removes.clear();
      for (size_t i = 0; i < ops->size(); ++i) {
        const uint32_t op = (*ops)[i];
        if (i + 1 < ops->size() && ((*ops)[i + 1] & 0xFFFF) == (op & 0xFFFF)) continue;
        (op & 0x10000 ? delta.adds : delta.removes).push_back(static_cast<uint16_t>(op & 0xFFFF));
      }
      if (!s.merge_runs.NoteDelta(*key) || !PutFullValue(*key, delta)) {
        batch.Merge(s.index, *key, delta.Encode()).PermitUncheckedError();
      }
    }
    // index_ops stays until after the write: its keys say what to invalidate.
  }
  if (batch.Count() == 0) return Status::Ok();
  *wrote = true;
  rocksdb::WriteOptions wo;
  wo.sync = sync && s.options.sync_writes && !s.options.bulk_load;
  wo.disableWAL = s.options.bulk_load;
  // Raised before the write so that no reader misses a chunk it can see.
  uint64_t chunk = s.max_index_chunk.load();
  while (chunk < max_chunk && !s.max_index_chunk.compare_exchange_weak(chunk, max_chunk)) {
  }
  rocksdb::Status st = s.db->Write(wo, &batch);
  if (st.ok()) {
    // Cached records and DNs this commit wrote are refreshed, not dropped:
    // an entry a client modifies was read to be modified and is often read
    // again, and would otherwise come from RocksDB every time.
    for (const auto& [id, record] : entries) {
      s.cache.Invalidate(id);
      if (record && s.record_cache.enabled()) {
        s.record_cache.Refresh(id, [&record = *record] { return CopyRecord(record); });
      } else {
        s.record_cache.Invalidate(id);
      }
    }
    for (const auto& [dn, id] : dn2id) {
      if (id) {
        s.dn_cache.Refresh(dn, *id);
      } else {
        s.dn_cache.Invalidate(dn);
      }
    }
    for (const auto& [key, ops] : index_ops) {
      s.posting_cache.Invalidate(std::string_view(key).substr(0, key.size() - sizeof(uint64_t)));  // less the chunk
    }
    uint64_t next = max_id_plus_one;
    if (next > 0) {
      // Writers are serialised by the caller; max() guards against ids chosen
      // without AllocateId (import) overtaking the counter.
      if (next > s.persisted_next_id.load()) s.persisted_next_id.store(next);
      uint64_t cur = s.next_id.load();
      while (cur < next && !s.next_id.compare_exchange_weak(cur, next)) {
      }
    }
  }
  Reset();
  if (!st.ok()) return FromRocks(st, "store commit");
  return Status::Ok();
}

// ---- Store ------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

namespace {

// Converts a format-1 index (one key per id, empty values) into posting
// lists in `to`, reading `from` in key order: the ids of one chunk are
// adjacent there, so one chunk and one write batch at a time are in memory.
// The writes are not synced; the caller's synced version write follows them
// in the WAL and so makes them durable too.
Status ConvertV1Index(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* from, rocksdb::ColumnFamilyHandle* to) {
  constexpr size_t kBatchBytes = 4 << 20;
  rocksdb::WriteBatch batch;
  rocksdb::WriteOptions wo;
  std::string current;  // chunk key being filled
  posting::Delta ids;   // its ids, ascending
  auto flush_chunk = [&]() -> Status {
    if (current.empty()) return Status::Ok();
    posting::Chunk chunk;
    chunk.Apply(ids);
    batch.Put(to, current, chunk.Encode()).PermitUncheckedError();
    ids.adds.clear();
    current.clear();
    if (batch.GetDataSize() < kBatchBytes) return Status::Ok();
    rocksdb::Status st = db->Write(wo, &batch);
    batch.Clear();
    return st.ok() ? Status::Ok() : FromRocks(st, "index conversion");
  };
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, from));
  std::string key;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view v1 = View(it->key());
    auto parsed = keys::ParseIndexKey(v1);
    if (!parsed) return InternalError("index conversion: corrupt format-1 index key");
    const EntryId id = parsed->chunk;  // format 1 kept the id there
    key.assign(v1.substr(0, v1.size() - 8));
    keys::PutFixed64BE(&key, keys::ChunkOf(id));
    if (key != current) {
      SIMPLEAD_RETURN_IF_ERROR(flush_chunk());
      current = key;
    }
    ids.adds.push_back(keys::LowOf(id));  // ascending: v1 keys sort by id
  }
  if (!it->status().ok()) return FromRocks(it->status(), "index conversion");
  SIMPLEAD_RETURN_IF_ERROR(flush_chunk());
  if (batch.Count() > 0) {
    rocksdb::Status st = db->Write(wo, &batch);
    if (!st.ok()) return FromRocks(st, "index conversion");
  }
  return Status::Ok();
}

bool Contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  namespace fs = std::filesystem;
  const std::string& path = options.path;
  if (path.empty()) return Error(ResultCode::kOther, "store path is empty");
  std::error_code ec;
  const bool exists = fs::exists(fs::path(path) / "CURRENT", ec);
  if (!exists && (options.read_only || !options.create_if_missing)) {
    return Error(ResultCode::kUnavailable, "no store at " + path);
  }
  const bool bulk = options.bulk_load && !options.read_only;

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = !exists;
  db_options.create_missing_column_families = !exists;
  db_options.keep_log_file_num = 5;
  db_options.max_background_jobs = 2;
  // Without a WAL, only flushing every column family at once keeps them in
  // step on disk.
  db_options.atomic_flush = bulk;
  if (options.env != nullptr) db_options.env = options.env;

  // Column families present: format 2's, plus format 1's index while a
  // store is converted (or the leftover of a conversion cut short).
  std::vector<std::string> found;
  if (exists) {
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, path, &found);
    if (!s.ok()) return FromRocks(s, "cannot open store at " + path + " (corrupt or not a SimpleAD store)");
    for (const std::string& name : StoreCfNames()) {
      if (Contains(found, name)) continue;
      if (name == keys::kIndexCf && Contains(found, keys::kLegacyIndexCf)) continue;  // format 1
      return Error(ResultCode::kOther, "cannot open store at " + path + ": column family '" + name +
                                           "' is missing (not a SimpleAD store of format " +
                                           std::string(keys::kFormatVersion) + ")");
    }
    for (const std::string& name : found) {
      if (name != rocksdb::kDefaultColumnFamilyName && name != keys::kLegacyIndexCf && !Contains(StoreCfNames(), name)) {
        return Error(ResultCode::kOther, "cannot open store at " + path + ": unknown column family '" + name +
                                             "' (written by another SimpleAD version?)");
      }
    }
  }
  const bool has_index = !exists || Contains(found, keys::kIndexCf);
  const bool has_legacy = Contains(found, keys::kLegacyIndexCf);

  // Few shards: an index or filter block larger than one shard is never
  // cached, and a 1M-entry store has multi-MiB ones (RocksDB's default of 64
  // shards for 128 MiB allows 2 MiB), which every index read then re-reads
  // from the file. Two cores do not need 64 shards' worth of concurrency.
  auto cache = rocksdb::NewLRUCache(std::max<size_t>(options.block_cache_bytes, 1 << 20), /*num_shard_bits=*/2);
  if (options.memtable_budget_bytes > 0 && !options.read_only) {
    db_options.write_buffer_manager =
        std::make_shared<rocksdb::WriteBufferManager>(options.memtable_budget_bytes, cache);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, MakeCfOptions(cache, CfKind::kPlain, options));
  descriptors.emplace_back(keys::kEntriesCf, MakeCfOptions(cache, CfKind::kPointLookups, options));
  descriptors.emplace_back(keys::kDn2IdCf, MakeCfOptions(cache, CfKind::kPointLookups, options));
  descriptors.emplace_back(keys::kChildrenCf, MakeCfOptions(cache, CfKind::kPlain, options));
  descriptors.emplace_back(keys::kChangelogCf, MakeCfOptions(cache, CfKind::kPlain, options));
  descriptors.emplace_back(keys::kMetaCf, MakeCfOptions(cache, CfKind::kPointLookups, options));
  if (has_index) descriptors.emplace_back(keys::kIndexCf, MakeCfOptions(cache, CfKind::kPostings, options));
  if (has_legacy) descriptors.emplace_back(keys::kLegacyIndexCf, MakeCfOptions(cache, CfKind::kPlain, options));

  auto impl = std::make_unique<Impl>(options);
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = options.read_only
                          ? rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &impl->handles, &raw)
                          : rocksdb::DB::Open(db_options, path, descriptors, &impl->handles, &raw);
  if (!s.ok()) return FromRocks(s, "cannot open store at " + path);
  impl->db.reset(raw);
  impl->entries = impl->handles[1];
  impl->dn2id = impl->handles[2];
  impl->children = impl->handles[3];
  impl->changelog = impl->handles[4];
  impl->meta = impl->handles[5];
  impl->index = has_index ? impl->handles[6] : nullptr;
  rocksdb::ColumnFamilyHandle* legacy = has_legacy ? impl->handles.back() : nullptr;
  auto drop_cf = [&](rocksdb::ColumnFamilyHandle* h) -> Status {
    rocksdb::Status st = impl->db->DropColumnFamily(h);
    if (!st.ok()) return FromRocks(st, "cannot open store at " + path);
    impl->handles.erase(std::find(impl->handles.begin(), impl->handles.end(), h));
    st = impl->db->DestroyColumnFamilyHandle(h);
    return st.ok() ? Status::Ok() : FromRocks(st, "cannot open store at " + path);
  };
  auto create_index_cf = [&]() -> Status {
    rocksdb::ColumnFamilyHandle* h = nullptr;
    rocksdb::Status st =
        impl->db->CreateColumnFamily(MakeCfOptions(cache, CfKind::kPostings, options), keys::kIndexCf, &h);
    if (!st.ok()) return FromRocks(st, "cannot open store at " + path);
    impl->handles.push_back(h);
    impl->index = h;
    return Status::Ok();
  };

  // Format version: written at creation, checked on every open.
  std::string version;
  s = impl->db->Get(rocksdb::ReadOptions(), impl->meta, keys::kMetaFormatVersion, &version);
  if (s.IsNotFound() && !exists) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = impl->db->Put(wo, impl->meta, keys::kMetaFormatVersion, ToSlice(keys::kFormatVersion));
    if (!s.ok()) return FromRocks(s, "cannot initialise store at " + path);
    version = std::string(keys::kFormatVersion);
  } else if (s.IsNotFound()) {
    return Error(ResultCode::kOther,
                 "cannot open store at " + path + ": no format version (corrupt or not a SimpleAD store)");
  } else if (!s.ok()) {
    return FromRocks(s, "cannot open store at " + path);
  }
  if (version == keys::kFormatVersionV1 && options.read_only) {
    impl->legacy_index = true;  // entries and meta read as in format 2
  } else if (version == keys::kFormatVersionV1) {
    if (!legacy) return Error(ResultCode::kOther, "cannot open store at " + path + ": format-1 index is missing");
    // Start from scratch, also after a conversion that was cut short; the
    // version write is the commit point, then the old index goes.
    if (impl->index) SIMPLEAD_RETURN_IF_ERROR(drop_cf(impl->index));
    SIMPLEAD_RETURN_IF_ERROR(create_index_cf());
    SIMPLEAD_RETURN_IF_ERROR(ConvertV1Index(impl->db.get(), legacy, impl->index));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = impl->db->Put(wo, impl->meta, keys::kMetaFormatVersion, ToSlice(keys::kFormatVersion));
    if (!s.ok()) return FromRocks(s, "cannot open store at " + path + ": index conversion");
    SIMPLEAD_RETURN_IF_ERROR(drop_cf(legacy));
  } else if (version == keys::kFormatVersion) {
    if (!impl->index) return Error(ResultCode::kOther, "cannot open store at " + path + ": index is missing");
    if (legacy && !options.read_only) SIMPLEAD_RETURN_IF_ERROR(drop_cf(legacy));  // a conversion's leftover
  } else {
    auto number = keys::DecodeCounter(version);
    std::string why = number && *number > 2 ? "is newer than this build, which reads versions 1 and 2"
                                            : "is not supported (this build reads versions 1 and 2)";
    return Error(ResultCode::kOther,
                 "cannot open store at " + path + ": storage format version '" + version + "' " + why);
  }

  // Seed the id counter from the highest entry and the persisted high-water mark.
  uint64_t next = 1;
  {
    std::unique_ptr<rocksdb::Iterator> it(impl->db->NewIterator(rocksdb::ReadOptions(), impl->entries));
    it->SeekToLast();
    if (it->Valid()) {
      auto id = keys::ParseEntryKey(View(it->key()));
      if (!id) return Error(ResultCode::kOther, "cannot open store at " + path + ": corrupt entry key");
      next = std::max(next, *id + 1);
    }
    if (!it->status().ok()) return FromRocks(it->status(), "cannot open store at " + path);
  }
  std::string stored_next;
  s = impl->db->Get(rocksdb::ReadOptions(), impl->meta, keys::kMetaNextId, &stored_next);
  if (s.ok()) {
    auto v = keys::DecodeCounter(stored_next);
    if (!v) return Error(ResultCode::kOther, "cannot open store at " + path + ": corrupt next-id counter");
    impl->persisted_next_id = *v;
    next = std::max(next, *v);
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "cannot open store at " + path);
  }
  impl->next_id = next;

  // Size the per-entry caches for the directory as it is now (they are
  // empty: nothing has read through them yet). The count is RocksDB's
  // estimate of the DN index's keys, one per entry: modifies do not rewrite
  // them, and a bulk import's final compaction leaves it exact.
  // (Left at 0 if RocksDB cannot tell: the configured sizes then hold.)
  impl->db->GetIntProperty(impl->dn2id, rocksdb::DB::Properties::kEstimateNumKeys, &impl->entries_at_open);
  impl->cache_budgets = GrowCacheBudgets(
      CacheBudgets{options.record_cache_bytes, options.dn_cache_bytes, options.posting_cache_bytes,
                   impl->cache.enabled() ? options.entry_cache_bytes : 0},
      options.cache_growth, impl->entries_at_open);
  if (options.entry_cache_floor_bytes > 0) {
    ShiftEntryCacheToRecords(&impl->cache_budgets, impl->RecordBytesNeeded(), options.entry_cache_floor_bytes);
  }
  impl->cache.SetMaxBytes(impl->cache_budgets.entry_bytes);
  impl->record_cache.SetMaxBytes(impl->cache_budgets.record_bytes);
  impl->dn_cache.SetMaxBytes(impl->cache_budgets.dn_bytes);
  impl->posting_cache.SetMaxBytes(impl->cache_budgets.posting_bytes);
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

EntryId Store::AllocateId() { return impl_->next_id.fetch_add(1); }

Result<std::optional<EntryId>> Store::FindId(std::string_view normalized_dn) const {
  return impl_->FindId(normalized_dn);
}

Result<std::optional<StoredEntry>> Store::Get(EntryId id) const { return impl_->Get(id); }

Result<std::shared_ptr<const StoredEntry>> Store::GetShared(EntryId id) const { return impl_->GetShared(id); }

Status Store::ForEachChild(EntryId parent, const std::function<bool(EntryId)>& fn) const {
  Status bad;
  Status st = impl_->ScanPrefix(impl_->children, keys::ChildrenPrefix(parent), false,
                                [&](std::string_view key, std::string_view) {
                                  auto child = keys::ParseChildKey(key, parent);
                                  if (!child) {
                                    bad = InternalError("corrupt children key");
                                    return false;
                                  }
                                  return fn(*child);
                                });
  return st.ok() ? bad : st;
}

Result<bool> Store::HasChildren(EntryId id) const {
  bool any = false;
  SIMPLEAD_RETURN_IF_ERROR(ForEachChild(id, [&](EntryId) {
    any = true;
    return false;
  }));
  return any;
}

Status Store::ForEachEntry(const std::function<bool(const StoredEntry&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->entries));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto id = keys::ParseEntryKey(View(it->key()));
    if (!id) return InternalError("corrupt entry key");
    SIMPLEAD_ASSIGN_OR_RETURN(StoredEntry stored, DecodeEntryRecord(*id, View(it->value())));
    if (!fn(stored)) return Status::Ok();
  }
  if (!it->status().ok()) return FromRocks(it->status(), "store scan");
  return Status::Ok();
}

Status Store::ForEachIndexed(IndexKind kind, std::string_view attribute, std::string_view key,
                             const std::function<bool(EntryId)>& fn) const {
  bool corrupt = false;
  SIMPLEAD_RETURN_IF_ERROR(impl_->ForEachChunk(kind, attribute, key, [&](uint64_t chunk, std::string_view value) {
    bool stopped = false;
    corrupt = !posting::ForEachEncoded(
        value, [&](uint16_t low) { return fn(keys::IdOf(chunk, low)); }, &stopped);
    return !corrupt && !stopped;
  }));
  return corrupt ? InternalError("corrupt posting list") : Status::Ok();
}

Status Store::ForEachIndexedPrefix(IndexKind kind, std::string_view attribute, std::string_view key_prefix,
                                   const std::function<bool(std::string_view key, EntryId)>& fn) const {
  SIMPLEAD_RETURN_IF_ERROR(impl_->CheckIndexReadable());
  std::string prefix = keys::IndexKeyPrefix(kind, attribute, key_prefix);
  const size_t attr_len = keys::IndexAttributePrefix(kind, attribute).size();
  Status bad;
  std::string decoded;
  Status st = impl_->ScanPrefix(impl_->index, prefix, true, [&](std::string_view k, std::string_view value) {
    std::string_view rest = k.substr(attr_len);
    uint64_t chunk = 0;
    if (!keys::GetEscaped(&rest, &decoded) || rest.size() != 8 || !keys::GetFixed64BE(&rest, &chunk)) {
      bad = InternalError("corrupt index key");
      return false;
    }
    bool stopped = false;
    if (!posting::ForEachEncoded(
            value, [&](uint16_t low) { return fn(decoded, keys::IdOf(chunk, low)); }, &stopped)) {
      bad = InternalError("corrupt posting list");
      return false;
    }
    return !stopped;
  });
  return st.ok() ? bad : st;
}

Result<size_t> Store::CountIndexed(IndexKind kind, std::string_view attribute, std::string_view key,
                                   size_t limit) const {
  size_t n = 0;
  if (limit == 0) return n;
  bool corrupt = false;
  SIMPLEAD_RETURN_IF_ERROR(impl_->ForEachChunk(kind, attribute, key, [&](uint64_t, std::string_view value) {
    auto count = posting::EncodedCardinality(value);
    corrupt = !count;
    n += count.value_or(0);
    return !corrupt && n < limit;
  }));
  if (corrupt) return InternalError("corrupt posting list");
  return std::min(n, limit);
}

std::optional<size_t> PostingList::Count() const {
  size_t n = 0;
  for (const auto& [chunk, value] : chunks) {
    auto c = posting::EncodedCardinality(value);
    if (!c) return std::nullopt;
    n += *c;
  }
  return n;
}

bool PostingList::AppendTo(std::vector<EntryId>* ids, size_t limit) const {
  size_t appended = 0;
  for (const auto& [chunk, value] : chunks) {
    bool stopped = false;
    bool ok = posting::ForEachEncoded(
        value,
        [&, chunk = chunk](uint16_t low) {
          if (appended++ == limit) return false;
          ids->push_back(keys::IdOf(chunk, low));
          return true;
        },
        &stopped);
    if (!ok || stopped) return false;
  }
  return true;
}

std::optional<bool> PostingList::Contains(EntryId id) const {
  const uint64_t chunk = keys::ChunkOf(id);
  for (const auto& [c, value] : chunks) {
    if (c == chunk) return posting::EncodedContains(value, keys::LowOf(id));
    if (c > chunk) break;
  }
  return false;
}

Status Store::ReadIndexed(IndexKind kind, std::string_view attribute, const std::vector<std::string>& keys,
                          std::vector<PostingList>* lists) const {
  SIMPLEAD_RETURN_IF_ERROR(impl_->CheckIndexReadable());
  lists->assign(keys.size(), PostingList{});
  const uint64_t chunks = impl_->ChunkBound();
  constexpr uint64_t kMaxBatchedGets = 256;
  if (chunks * keys.size() > kMaxBatchedGets) {
    for (size_t i = 0; i < keys.size(); ++i) {
      SIMPLEAD_RETURN_IF_ERROR(impl_->ForEachChunk(kind, attribute, keys[i], [&](uint64_t c, std::string_view v) {
        (*lists)[i].chunks.emplace_back(c, std::string(v));
        return true;
      }));
    }
    return Status::Ok();
  }
  // Cached lists first; the others in one batched read, then cached if
  // small enough (with the epoch taken before the read, as ForEachChunk).
  PostingCache& cache = impl_->posting_cache;
  std::vector<std::string> prefixes;
  std::vector<size_t> missed;  // prefixes[j] is keys[missed[j]]
  std::vector<uint64_t> epochs;
  for (size_t i = 0; i < keys.size(); ++i) {
    std::string prefix = keys::IndexExactPrefix(kind, attribute, keys[i]);
    uint64_t epoch = 0;
    if (cache.enabled()) {
      if (auto hit = cache.Lookup(prefix, &epoch)) {
        bool ok = ForEachCachedChunk(*hit, [&](uint64_t c, std::string_view value) {
          (*lists)[i].chunks.emplace_back(c, std::string(value));
          return true;
        });
        if (!ok) return InternalError("corrupt posting cache entry");
        continue;
      }
    }
    prefixes.push_back(std::move(prefix));
    missed.push_back(i);
    epochs.push_back(epoch);
  }
  if (prefixes.empty()) return Status::Ok();
  SIMPLEAD_RETURN_IF_ERROR(impl_->MultiGetChunks(prefixes, chunks, [&](size_t j, uint64_t c, std::string_view value) {
    (*lists)[missed[j]].chunks.emplace_back(c, std::string(value));
    return true;
  }));
  if (!cache.enabled()) return Status::Ok();
  for (size_t j = 0; j < prefixes.size(); ++j) {
    const PostingList& list = (*lists)[missed[j]];
    size_t bytes = 0;
    for (const auto& [c, value] : list.chunks) bytes += value.size();
    if (bytes > kMaxCachedPostingBytes) continue;
    std::string packed;
    for (const auto& [c, value] : list.chunks) AppendCachedChunk(&packed, c, value);
    impl_->CachePostingList(prefixes[j], std::move(packed), epochs[j]);
  }
  return Status::Ok();
}

Status Store::ForEachChange(std::string_view after_csn, const std::function<bool(const ChangeRecord&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->changelog));
  if (after_csn.empty()) {
    it->SeekToFirst();
  } else {
    it->Seek(ToSlice(after_csn));
    if (it->Valid() && View(it->key()) == after_csn) it->Next();
  }
  for (; it->Valid(); it->Next()) {
    SIMPLEAD_ASSIGN_OR_RETURN(ChangeRecord change, DecodeChangeRecord(View(it->value())));
    if (!fn(change)) return Status::Ok();
  }
  if (!it->status().ok()) return FromRocks(it->status(), "changelog scan");
  return Status::Ok();
}

Result<std::optional<std::string>> Store::GetMeta(std::string_view key) const {
  std::string value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->meta, ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "store meta get");
  return std::optional<std::string>(std::move(value));
}

EntryCacheUsage Store::entry_cache_usage() const { return impl_->cache.Usage(); }
EntryCacheUsage Store::record_cache_usage() const { return impl_->record_cache.Usage(); }
size_t Store::dn_cache_size() const { return impl_->dn_cache.Size(); }
size_t Store::posting_cache_size() const { return impl_->posting_cache.Size(); }
CacheBudgets Store::cache_budgets() const { return impl_->cache_budgets; }
uint64_t Store::entries_at_open() const { return impl_->entries_at_open; }

WriteTxn Store::BeginWrite() { return WriteTxn(std::make_unique<WriteTxn::Impl>(impl_.get())); }

Status Store::WaitDurable(CommitTicket ticket) {
  if (ticket.sequence == 0) return Status::Ok();
  return impl_->syncer.Wait(ticket.sequence, *impl_->db);
}

void Store::WhenDurable(CommitTicket ticket, std::function<void(Status)> done) {
  if (ticket.sequence == 0) {
    done(Status::Ok());
    return;
  }
  impl_->syncer.WaitAsync(ticket.sequence, *impl_->db, std::move(done));
}

uint64_t Store::wal_sync_count() const { return impl_->syncer.syncs(); }

Status Store::Checkpoint(const std::string& dir) const {
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(impl_->db.get(), &raw);
  if (!s.ok()) return FromRocks(s, "checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  s = checkpoint->CreateCheckpoint(dir);
  if (!s.ok()) return FromRocks(s, "checkpoint to " + dir);
  return Status::Ok();
}

Status Store::Flush() {
  if (impl_->options.read_only) return Status::Ok();  // nothing buffered
  rocksdb::FlushOptions fo;
  fo.wait = true;
  rocksdb::Status s = impl_->db->Flush(fo, impl_->handles);
  if (!s.ok()) return FromRocks(s, "store flush");
  if (!impl_->options.bulk_load) return Status::Ok();
  // The end of a bulk load: without automatic compactions the index holds
  // one delta per chunk per flushed memtable, which every read would merge,
  // and every column family a stack of level-0 files that each read checks
  // and that the server would otherwise compact during its first minutes.
  // Compacting everything once hands the server a settled store.
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  for (rocksdb::ColumnFamilyHandle* cf : impl_->handles) {
    s = impl_->db->CompactRange(co, cf, nullptr, nullptr);
    if (!s.ok()) return FromRocks(s, "store compaction");
  }
  return Status::Ok();
}

}  // namespace simplead::store
