// Store: the RocksDB-backed entry store. It knows entries, ids, DNs, the tree
// and index keys, but not the schema: the backend computes normalised index
// keys and hands them in. One column family per keyspace (see keys.h).
//
// Thread-safety: Store is safe for concurrent use. Reads see the latest
// committed state. A WriteTxn belongs to one thread at a time and writes
// nothing until Commit(), which applies it as one atomic RocksDB WriteBatch
// (synced to the WAL when StoreOptions::sync_writes). Writers must be
// serialised by the caller (the backend holds one write lock), so that a
// transaction's reads are not invalidated by another commit.
//
// Group commit: a server that holds its write lock across Commit() pays one
// fsync per write while every other writer waits. CommitDeferred() applies
// the write without the fsync; the caller releases its lock and then calls
// Store::WaitDurable(), where concurrent waiters share WAL syncs (one of
// them, the leader, syncs for all writes made before it started; the others
// wait on a condition variable), or Store::WhenDurable(), which blocks no
// thread: the store's syncer thread syncs for every write queued and then
// runs their callbacks (the server's frontend resumes the writer's
// coroutine there, so a write worker is free as soon as the write is
// applied). Trade-off: a deferred write is visible to
// readers as soon as CommitDeferred() returns, up to one WAL sync before it
// is durable; a write with sync=true is visible only once durable. The writer
// itself is answered only after its write is durable. A process crash
// loses nothing the WAL write handed to the kernel; an OS crash or power loss
// may lose writes that readers saw but whose writers were not yet answered.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/status.h"
#include "lib/ldap/entry.h"
#include "lib/store/cache_budget.h"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace simplead::store {

using EntryId = uint64_t;
inline constexpr EntryId kNoEntry = 0;  // ids start at 1; 0 is "no parent"

struct StoreOptions {
  std::string path;
  bool create_if_missing = true;
  bool read_only = false;
  bool sync_writes = true;                    // every Commit() is durable
  size_t block_cache_bytes = 64 * 1024 * 1024;
  // Every column family's memtables together, charged to the block cache so
  // that both stay within block_cache_bytes; 0 leaves RocksDB's defaults (up
  // to two 64 MiB memtables per column family).
  size_t memtable_budget_bytes = 32 * 1024 * 1024;
  // The decoded-entry cache (LRU, 16 shards, each with 1/16 of both bounds)
  // evicts when either bound is exceeded; 0 in either disables it. Bytes are
  // counted with EstimateEntryBytes.
  size_t entry_cache_entries = 20000;
  size_t entry_cache_bytes = 64 * 1024 * 1024;
  // The record cache behind it: entries as stored (about a third of their
  // decoded size), so that a miss of the decoded cache costs a decode, not a
  // RocksDB Get. Estimated heap bytes (LRU, 16 shards); 0 disables it.
  size_t record_cache_bytes = 0;
  // The DN -> id cache (LRU of found dn2id lookups, 16 shards) in estimated
  // heap bytes, about 150 per typical DN; 0 disables it.
  size_t dn_cache_bytes = 16 * 1024 * 1024;
  // The posting cache: the chunks of exact index keys whose lists are small
  // (up to 256 bytes, e.g. an equality key of a unique attribute), so an
  // indexed look-up skips RocksDB; estimated heap bytes, 0 disables it.
  size_t posting_cache_bytes = 16 * 1024 * 1024;
  // Growth of the three caches above with the entries the store holds when
  // it opens (GrowCacheBudgets); the default grows nothing.
  CacheGrowth cache_growth;
  // Non-zero: when the records of the entries found at open do not fit the
  // (grown) record cache, the decoded-entry cache gives it the difference,
  // down to this many bytes (ShiftEntryCacheToRecords). 0 keeps both.
  size_t entry_cache_floor_bytes = 0;
  // Offline bulk load (simplead-admin import into a stopped server only):
  // commits skip the WAL and ignore sync_writes, automatic compactions are
  // off and all column families flush together (atomic flush). Flush() must
  // end the load: it persists everything, then compacts the index once
  // (folding the load's merge operands into plain values). Until that Flush()
  // returns nothing is durable: a crash or kill mid-import leaves the store
  // as of some earlier commit (consistent across column families, but which
  // commit is unknown), so delete the data directory, init and import again.
  // Never set it for a serving store.
  bool bulk_load = false;
  // The RocksDB Env to do I/O through (borrowed, must outlive the store);
  // null: the default. Tests wrap it to inject I/O faults.
  rocksdb::Env* env = nullptr;
};

// What WaitDurable needs to know about one deferred commit: the RocksDB
// sequence number its write is covered by. 0: nothing to wait for (nothing
// written, or sync_writes off).
struct CommitTicket {
  uint64_t sequence = 0;
};

struct StoredEntry {
  EntryId id = kNoEntry;
  EntryId parent = kNoEntry;
  ldap::Entry entry;
  // The DN as the record holds it, which is entry.dn().ToString(): kept so
  // that a bind's principal does not serialise the DN again. Empty when the
  // entry did not come from a record.
  std::string dn_text;
};

enum class IndexKind : uint8_t {
  kEquality = 'e',   // key: normalised value
  kPresence = 'p',   // key: empty
  kSubstring = 's',  // key: a normalised n-gram (the backend chooses n)
};

// One index key's ids as stored: the encoded value (posting.h) of each
// non-empty chunk, ascending by chunk. Values are checked where they are
// read: a malformed one makes Count/AppendTo/Contains answer nullopt/false.
struct PostingList {
  std::vector<std::pair<uint64_t, std::string>> chunks;

  std::optional<size_t> Count() const;
  // Appends the ids in ascending order; false (having appended a prefix) if
  // more than `limit` ids would be appended or a value is malformed.
  bool AppendTo(std::vector<EntryId>* ids, size_t limit) const;
  std::optional<bool> Contains(EntryId id) const;
};

// Heap bytes of one StoredEntry as the entry cache holds it (from
// make_shared), estimated for libstdc++ and glibc malloc (16-byte chunks with
// an 8-byte header, 32 at least): the make_shared block (control block and
// record), the DN's and attributes' vector capacities, and every string's
// capacity beyond its inline buffer. The cache charges this plus its own list
// and map nodes (about 100 bytes) against entry_cache_bytes.
size_t EstimateEntryBytes(const StoredEntry& stored);

// What the decoded-entry cache holds now, summed over its shards.
struct EntryCacheUsage {
  size_t entries = 0;
  size_t bytes = 0;  // EstimateEntryBytes plus the cache's own nodes
};

// One changelog record. `csn` is the change sequence number string
// (YYYYmmddHHMMSS.uuuuuuZ#counter#replica#mod, as OpenLDAP's entryCSN), and
// orders the log.
struct ChangeRecord {
  std::string csn;
  std::string type;   // "add", "delete", "modify", "modrdn"
  std::string dn;
  std::string entry_uuid;
  std::string ldif;   // the change in LDIF change-record form, secrets elided
};

class Store;

class WriteTxn {
 public:
  WriteTxn(WriteTxn&&) noexcept;
  WriteTxn& operator=(WriteTxn&&) noexcept;
  ~WriteTxn();

  // Insert or overwrite an entry. `normalized_dn` is its dn2id key.
  void PutEntry(EntryId id, EntryId parent, std::string_view normalized_dn, const ldap::Entry& entry);
  // Rewrite an existing entry whose DN and parent stay the same (a modify):
  // only its record; its dn2id and children links are left as they are.
  void UpdateEntry(EntryId id, EntryId parent, const ldap::Entry& entry);
  // Remove an entry and its dn2id/children links (index keys are removed by
  // the caller with RemoveIndexKey, since only it knows them).
  void DeleteEntry(EntryId id, EntryId parent, std::string_view normalized_dn);
  // Index ops; per (kind, attribute, key, id) the last call in the txn wins.
  // Commit writes one merge operand per posting-list chunk touched.
  void AddIndexKey(IndexKind kind, std::string_view attribute, std::string_view key, EntryId id);
  void RemoveIndexKey(IndexKind kind, std::string_view attribute, std::string_view key, EntryId id);
  void AppendChange(const ChangeRecord& change);
  void PutMeta(std::string_view key, std::string_view value);
  void DeleteMeta(std::string_view key);

  // Reads that see this transaction's own writes first, then the store.
  Result<std::optional<StoredEntry>> Get(EntryId id) const;
  Result<std::optional<EntryId>> FindId(std::string_view normalized_dn) const;

  // Applies everything atomically; the txn is empty afterwards.
  Status Commit();
  // Same, choosing durability for this one write (bookkeeping such as
  // bad-password counters need not wait for an fsync).
  Status Commit(bool sync);
  // Group commit (see the header comment): applies everything atomically
  // like Commit(), but without waiting for the WAL fsync; the write is
  // visible to readers on return. Call Store::WaitDurable(ticket) after
  // releasing the writer lock, and report success only if it returns OK.
  // Fails without writing once a WAL sync has failed (see WaitDurable).
  Result<CommitTicket> CommitDeferred();

 private:
  friend class Store;
  struct Impl;
  explicit WriteTxn(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Store {
 public:
  // Creates a store at format version 2 (keys.h) or opens one. A format-1
  // store opened read-write has its index converted in place first (time
  // grows with the index size; crash-safe, it restarts from scratch). Opened
  // read-only, a format-1 store serves entries and meta but its index reads
  // fail until it is opened read-write once. Newer formats are refused.
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // A new, never reused entry id (persisted with the next commit that uses it;
  // ids may skip after a crash, never repeat).
  EntryId AllocateId();

  Result<std::optional<EntryId>> FindId(std::string_view normalized_dn) const;
  Result<std::optional<StoredEntry>> Get(EntryId id) const;
  // As Get, without the copy: the immutable record the entry cache holds
  // (null when there is no such entry). Cheaper for read-only callers.
  Result<std::shared_ptr<const StoredEntry>> GetShared(EntryId id) const;
  // Visit direct children; the callback returns false to stop early.
  Status ForEachChild(EntryId parent, const std::function<bool(EntryId)>& fn) const;
  Result<bool> HasChildren(EntryId id) const;
  // Visit every entry in id order (export, verify, unindexed scans).
  Status ForEachEntry(const std::function<bool(const StoredEntry&)>& fn) const;

  // Index scans. Equality visits the ids under exactly `key` in id order;
  // prefix visits every (key, id) whose key starts with `key_prefix`, in key
  // order, then id order. Index ids are stored as posting lists of 65,536-id
  // chunks (posting.h): cost grows with the number of chunks, not of ids.
  // The ids handed to AddIndexKey must be entry ids (from AllocateId or
  // written with PutEntry): reads probe only the chunks ids can be in.
  Status ForEachIndexed(IndexKind kind, std::string_view attribute, std::string_view key,
                        const std::function<bool(EntryId)>& fn) const;
  Status ForEachIndexedPrefix(IndexKind kind, std::string_view attribute, std::string_view key_prefix,
                              const std::function<bool(std::string_view key, EntryId)>& fn) const;
  // Count of ids under one key, stopping at `limit` (for choosing the cheapest index).
  Result<size_t> CountIndexed(IndexKind kind, std::string_view attribute, std::string_view key, size_t limit) const;
  // The posting lists of several keys of one attribute, read together (lists
  // the posting cache holds from it, the others in one batched RocksDB
  // MultiGet while few chunks exist, then cached if small): `lists[i]` is keys[i]'s.
  // For planners that count, then intersect by membership, without re-reads.
  Status ReadIndexed(IndexKind kind, std::string_view attribute, const std::vector<std::string>& keys,
                     std::vector<PostingList>* lists) const;

  // Changelog, in CSN order, starting after `after_csn` (empty: from the start).
  Status ForEachChange(std::string_view after_csn, const std::function<bool(const ChangeRecord&)>& fn) const;

  Result<std::optional<std::string>> GetMeta(std::string_view key) const;

  EntryCacheUsage entry_cache_usage() const;
  EntryCacheUsage record_cache_usage() const;  // bytes: RecordBytes plus the cache's nodes
  // DNs the DN -> id cache holds now.
  size_t dn_cache_size() const;
  // Index keys the posting cache holds now.
  size_t posting_cache_size() const;
  // The record, DN and posting caches' budgets as sized at open, and the
  // entry count (RocksDB's estimate) they were sized for.
  CacheBudgets cache_budgets() const;
  uint64_t entries_at_open() const;

  WriteTxn BeginWrite();

  // Blocks until a WAL sync covers `ticket`'s write (returns at once for an
  // empty ticket or without sync_writes). Concurrent callers share syncs:
  // the first to find none running syncs the WAL (DB::SyncWAL) for every
  // write made before it started; the others wait for a sync that covers
  // theirs. A failed sync is sticky: it wakes every waiter with the error,
  // every later WaitDurable and CommitDeferred fail too (a retried fsync can
  // report success for data the kernel dropped), until the store is
  // reopened. A wait longer than a minute fails with kUnavailable (the write
  // may or may not become durable). Thread-safe.
  Status WaitDurable(CommitTicket ticket);
  // WaitDurable without a blocked thread: done(what WaitDurable would
  // return) runs at once on this thread when that is already known (an
  // empty ticket, a write already synced, a sticky failure), otherwise on
  // the store's syncer thread, which runs one WAL sync for every write
  // waiting when it starts. `done` must be quick and must not block (hand
  // the result to an executor). Every pending `done` runs before the store
  // closes. Thread-safe.
  void WhenDurable(CommitTicket ticket, std::function<void(Status)> done);
  // WAL syncs WaitDurable and WhenDurable have run (successful or not), for tests and stats.
  uint64_t wal_sync_count() const;

  // A consistent RocksDB checkpoint of the live store in `dir` (must not exist).
  Status Checkpoint(const std::string& dir) const;
  // Flush memtables (used before export/backup and by tests).
  Status Flush();

 private:
  friend class WriteTxn;
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace simplead::store
