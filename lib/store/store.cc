#include "lib/store/store.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <list>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "lib/store/entry_codec.h"
#include "lib/store/keys.h"

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

// A bounded LRU of decoded entries, sharded by id to spread lock contention.
// A per-shard epoch, bumped on every invalidation, stops a reader that read
// the database before a commit from caching the value that commit replaced.
class EntryCache {
 public:
  using Value = std::shared_ptr<const StoredEntry>;

  explicit EntryCache(size_t capacity) : per_shard_(capacity == 0 ? 0 : std::max<size_t>(1, capacity / kShards)) {}

  bool enabled() const { return per_shard_ > 0; }

  // Returns the cached value (or null) and the epoch to pass to Insert.
  Value Lookup(EntryId id, uint64_t* epoch) {
    Shard& s = shard(id);
    std::lock_guard lock(s.mu);
    *epoch = s.epoch;
    auto it = s.map.find(id);
    if (it == s.map.end()) return nullptr;
    s.lru.splice(s.lru.begin(), s.lru, it->second);
    return it->second->second;
  }

  void Insert(EntryId id, Value value, uint64_t epoch) {
    Shard& s = shard(id);
    std::lock_guard lock(s.mu);
    if (s.epoch != epoch) return;  // a commit happened since the read
    auto it = s.map.find(id);
    if (it != s.map.end()) {
      it->second->second = std::move(value);
      s.lru.splice(s.lru.begin(), s.lru, it->second);
      return;
    }
    s.lru.emplace_front(id, std::move(value));
    s.map[id] = s.lru.begin();
    while (s.lru.size() > per_shard_) {
      s.map.erase(s.lru.back().first);
      s.lru.pop_back();
    }
  }

  void Invalidate(EntryId id) {
    Shard& s = shard(id);
    std::lock_guard lock(s.mu);
    ++s.epoch;
    auto it = s.map.find(id);
    if (it == s.map.end()) return;
    s.lru.erase(it->second);
    s.map.erase(it);
  }

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    std::mutex mu;
    uint64_t epoch = 0;
    std::list<std::pair<EntryId, Value>> lru;
    std::unordered_map<EntryId, std::list<std::pair<EntryId, Value>>::iterator> map;
  };
  Shard& shard(EntryId id) { return shards_[id % kShards]; }

  size_t per_shard_;
  Shard shards_[kShards];
};

bool Lz4Supported() {
  auto supported = rocksdb::GetSupportedCompressions();
  return std::find(supported.begin(), supported.end(), rocksdb::kLZ4Compression) != supported.end();
}

rocksdb::ColumnFamilyOptions MakeCfOptions(const std::shared_ptr<rocksdb::Cache>& cache, bool point_lookups,
                                           bool prefix_index) {
  rocksdb::ColumnFamilyOptions cf;
  cf.compaction_style = rocksdb::kCompactionStyleLevel;
  cf.level_compaction_dynamic_level_bytes = true;
  cf.compression = Lz4Supported() ? rocksdb::kLZ4Compression : rocksdb::kNoCompression;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.format_version = 5;
  if (point_lookups) table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  if (prefix_index) {
    // Only ever scanned by prefix: a prefix bloom instead of a whole-key one.
    cf.prefix_extractor = std::make_shared<IndexPrefixExtractor>();
    cf.memtable_prefix_bloom_size_ratio = 0.02;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.whole_key_filtering = false;
  }
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

const std::vector<std::string>& StoreCfNames() {
  static const std::vector<std::string> kNames = {keys::kEntriesCf, keys::kDn2IdCf,     keys::kChildrenCf,
                                                  keys::kIndexCf,   keys::kChangelogCf, keys::kMetaCf};
  return kNames;
}

}  // namespace

// ---- Store::Impl ------------------------------------------------------------

struct Store::Impl {
  explicit Impl(const StoreOptions& o) : options(o), cache(o.entry_cache_entries) {}
  ~Impl() {
    if (db == nullptr) return;
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
  EntryCache cache;

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

Result<std::shared_ptr<const StoredEntry>> Store::Impl::GetShared(EntryId id) {
  uint64_t epoch = 0;
  if (cache.enabled()) {
    if (auto hit = cache.Lookup(id, &epoch)) return hit;
  }
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), entries, keys::EntryKey(id), &value);
  if (s.IsNotFound()) return std::shared_ptr<const StoredEntry>();
  if (!s.ok()) return FromRocks(s, "store get");
  SIMPLEAD_ASSIGN_OR_RETURN(StoredEntry stored, DecodeEntryRecord(id, value));
  auto shared = std::make_shared<const StoredEntry>(std::move(stored));
  if (cache.enabled()) cache.Insert(id, shared, epoch);
  return shared;
}

Result<std::optional<StoredEntry>> Store::Impl::Get(EntryId id) {
  SIMPLEAD_ASSIGN_OR_RETURN(auto shared, GetShared(id));
  if (!shared) return std::optional<StoredEntry>();
  return std::optional<StoredEntry>(*shared);
}

Result<std::optional<EntryId>> Store::Impl::FindId(std::string_view normalized_dn) const {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), dn2id, ToSlice(normalized_dn), &value);
  if (s.IsNotFound()) return std::optional<EntryId>();
  if (!s.ok()) return FromRocks(s, "store dn lookup");
  auto id = keys::ParseEntryKey(value);
  if (!id) return InternalError("corrupt dn2id record for '" + std::string(normalized_dn) + "'");
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
    entries.clear();
    dn2id.clear();
    max_id_plus_one = 0;
  }

  Store::Impl* store;
  rocksdb::WriteBatch batch;
  // Index keys (key, put?) in call order. Commit appends them to the batch
  // sorted by key (stable, so the last op on a key still wins): RocksDB's
  // skip list inserts keys that arrive in order much faster than scattered
  // ones, and an import writes ~30 index keys per entry.
  std::vector<std::pair<std::string, bool>> index_ops;
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

void WriteTxn::DeleteEntry(EntryId id, EntryId parent, std::string_view normalized_dn) {
  Store::Impl& s = *impl_->store;
  impl_->batch.Delete(s.entries, keys::EntryKey(id)).PermitUncheckedError();
  impl_->batch.Delete(s.dn2id, ToSlice(normalized_dn)).PermitUncheckedError();
  impl_->batch.Delete(s.children, keys::ChildKey(parent, id)).PermitUncheckedError();
  impl_->entries[id] = std::nullopt;
  impl_->dn2id[std::string(normalized_dn)] = std::nullopt;
}

void WriteTxn::AddIndexKey(IndexKind kind, std::string_view attribute, std::string_view key, EntryId id) {
  impl_->index_ops.emplace_back(keys::IndexKey(kind, attribute, key, id), true);
}

void WriteTxn::RemoveIndexKey(IndexKind kind, std::string_view attribute, std::string_view key, EntryId id) {
  impl_->index_ops.emplace_back(keys::IndexKey(kind, attribute, key, id), false);
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
  Store::Impl& s = *impl_->store;
  if (s.options.read_only) {
    impl_->Reset();
    return Error(ResultCode::kUnwillingToPerform, "store is open read-only");
  }
  auto& ops = impl_->index_ops;
  std::stable_sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [key, put] : ops) {
    if (put) {
      impl_->batch.Put(s.index, key, rocksdb::Slice()).PermitUncheckedError();
    } else {
      impl_->batch.Delete(s.index, key).PermitUncheckedError();
    }
  }
  ops.clear();
  if (impl_->batch.Count() == 0) return Status::Ok();
  rocksdb::WriteOptions wo;
  wo.sync = sync && s.options.sync_writes;
  rocksdb::Status st = s.db->Write(wo, &impl_->batch);
  if (st.ok()) {
    for (const auto& [id, record] : impl_->entries) s.cache.Invalidate(id);
    uint64_t next = impl_->max_id_plus_one;
    if (next > 0) {
      // Writers are serialised by the caller; max() guards against ids chosen
      // without AllocateId (import) overtaking the counter.
      if (next > s.persisted_next_id.load()) s.persisted_next_id.store(next);
      uint64_t cur = s.next_id.load();
      while (cur < next && !s.next_id.compare_exchange_weak(cur, next)) {
      }
    }
  }
  impl_->Reset();
  if (!st.ok()) return FromRocks(st, "store commit");
  return Status::Ok();
}

// ---- Store ------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  namespace fs = std::filesystem;
  const std::string& path = options.path;
  if (path.empty()) return Error(ResultCode::kOther, "store path is empty");
  std::error_code ec;
  const bool exists = fs::exists(fs::path(path) / "CURRENT", ec);
  if (!exists && (options.read_only || !options.create_if_missing)) {
    return Error(ResultCode::kUnavailable, "no store at " + path);
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = !exists;
  db_options.create_missing_column_families = !exists;
  db_options.keep_log_file_num = 5;
  db_options.max_background_jobs = 2;

  if (exists) {
    std::vector<std::string> found;
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, path, &found);
    if (!s.ok()) return FromRocks(s, "cannot open store at " + path + " (corrupt or not a SimpleAD store)");
    for (const std::string& name : StoreCfNames()) {
      if (std::find(found.begin(), found.end(), name) == found.end()) {
        return Error(ResultCode::kOther, "cannot open store at " + path + ": column family '" + name +
                                             "' is missing (not a SimpleAD store of format " +
                                             std::string(keys::kFormatVersion) + ")");
      }
    }
    for (const std::string& name : found) {
      if (name != rocksdb::kDefaultColumnFamilyName &&
          std::find(StoreCfNames().begin(), StoreCfNames().end(), name) == StoreCfNames().end()) {
        return Error(ResultCode::kOther, "cannot open store at " + path + ": unknown column family '" + name +
                                             "' (written by another SimpleAD version?)");
      }
    }
  }

  auto cache = rocksdb::NewLRUCache(std::max<size_t>(options.block_cache_bytes, 1 << 20));
  if (options.memtable_budget_bytes > 0 && !options.read_only) {
    db_options.write_buffer_manager =
        std::make_shared<rocksdb::WriteBufferManager>(options.memtable_budget_bytes, cache);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, MakeCfOptions(cache, false, false));
  descriptors.emplace_back(keys::kEntriesCf, MakeCfOptions(cache, true, false));
  descriptors.emplace_back(keys::kDn2IdCf, MakeCfOptions(cache, true, false));
  descriptors.emplace_back(keys::kChildrenCf, MakeCfOptions(cache, false, false));
  descriptors.emplace_back(keys::kIndexCf, MakeCfOptions(cache, false, true));
  descriptors.emplace_back(keys::kChangelogCf, MakeCfOptions(cache, false, false));
  descriptors.emplace_back(keys::kMetaCf, MakeCfOptions(cache, true, false));

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
  impl->index = impl->handles[4];
  impl->changelog = impl->handles[5];
  impl->meta = impl->handles[6];

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
  if (version != keys::kFormatVersion) {
    return Error(ResultCode::kOther, "cannot open store at " + path + ": storage format version '" + version +
                                         "' is not supported (this build reads version " +
                                         std::string(keys::kFormatVersion) + ")");
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
  std::string prefix = keys::IndexExactPrefix(kind, attribute, key);
  Status bad;
  Status st = impl_->ScanPrefix(impl_->index, prefix, true, [&](std::string_view k, std::string_view) {
    std::string_view rest = k.substr(prefix.size());
    uint64_t id = 0;
    if (rest.size() != 8 || !keys::GetFixed64BE(&rest, &id)) {
      bad = InternalError("corrupt index key");
      return false;
    }
    return fn(id);
  });
  return st.ok() ? bad : st;
}

Status Store::ForEachIndexedPrefix(IndexKind kind, std::string_view attribute, std::string_view key_prefix,
                                   const std::function<bool(std::string_view key, EntryId)>& fn) const {
  std::string prefix = keys::IndexKeyPrefix(kind, attribute, key_prefix);
  const size_t attr_len = keys::IndexAttributePrefix(kind, attribute).size();
  Status bad;
  std::string decoded;
  Status st = impl_->ScanPrefix(impl_->index, prefix, true, [&](std::string_view k, std::string_view) {
    std::string_view rest = k.substr(attr_len);
    uint64_t id = 0;
    if (!keys::GetEscaped(&rest, &decoded) || rest.size() != 8 || !keys::GetFixed64BE(&rest, &id)) {
      bad = InternalError("corrupt index key");
      return false;
    }
    return fn(decoded, id);
  });
  return st.ok() ? bad : st;
}

Result<size_t> Store::CountIndexed(IndexKind kind, std::string_view attribute, std::string_view key,
                                   size_t limit) const {
  size_t n = 0;
  if (limit == 0) return n;
  SIMPLEAD_RETURN_IF_ERROR(ForEachIndexed(kind, attribute, key, [&](EntryId) { return ++n < limit; }));
  return n;
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

WriteTxn Store::BeginWrite() { return WriteTxn(std::make_unique<WriteTxn::Impl>(impl_.get())); }

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
  return Status::Ok();
}

}  // namespace simplead::store
