#include "lib/store/store.h"
#include "lib/store/posting.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>

#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <chrono>
#include <cstdlib>
#include <tuple>
#include <filesystem>
#include <fstream>
#include <malloc.h>
#include <thread>
#include <vector>

#include "lib/store/entry_codec.h"
#include "lib/store/keys.h"

namespace simplead::store {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "simplead-store-XXXXXX").string();
    char* made = mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string path(std::string_view sub = "db") const { return (fs::path(path_) / sub).string(); }

 private:
  std::string path_;
};

StoreOptions Options(const std::string& path) {
  StoreOptions o;
  o.path = path;
  o.sync_writes = false;  // tests need no durability across power loss
  o.block_cache_bytes = 1 << 20;
  o.entry_cache_entries = 100;
  return o;
}

std::unique_ptr<Store> MustOpen(const StoreOptions& o) {
  auto store = Store::Open(o);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

ldap::Entry MakeEntry(std::string_view dn, std::string_view cn) {
  auto parsed = ldap::Dn::Parse(dn);
  EXPECT_TRUE(parsed.ok());
  return ldap::Entry(*parsed, {{"objectClass", {"top", "person"}}, {"cn", {std::string(cn)}}});
}

std::string Norm(std::string_view dn) { return *ldap::NormalizeDn(dn); }

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = MustOpen(Options(dir_.path()));
    ASSERT_NE(store_, nullptr);
  }

  // Adds dc=example,dc=com (root) and returns its id.
  EntryId AddRoot() {
    EntryId id = store_->AllocateId();
    auto txn = store_->BeginWrite();
    txn.PutEntry(id, kNoEntry, Norm("dc=example,dc=com"), MakeEntry("dc=example,dc=com", "root"));
    EXPECT_TRUE(txn.Commit().ok());
    return id;
  }
  EntryId AddChild(EntryId parent, std::string_view cn) {
    EntryId id = store_->AllocateId();
    std::string dn = "cn=" + std::string(cn) + ",dc=example,dc=com";
    auto txn = store_->BeginWrite();
    txn.PutEntry(id, parent, Norm(dn), MakeEntry(dn, cn));
    EXPECT_TRUE(txn.Commit().ok());
    return id;
  }
  std::vector<EntryId> Indexed(IndexKind kind, std::string_view attr, std::string_view key) {
    std::vector<EntryId> ids;
    EXPECT_TRUE(store_
                    ->ForEachIndexed(kind, attr, key,
                                     [&](EntryId id) {
                                       ids.push_back(id);
                                       return true;
                                     })
                    .ok());
    return ids;
  }

  // Readers on three threads while this thread commits 200 increasing
  // values to one entry: no reader sees a value older than one it saw.
  void ExpectReadersNeverGoBackInTime() {
    EntryId root = AddRoot();
    const std::string dn = "cn=counter,dc=example,dc=com";
    EntryId id = AddChild(root, "0");
    constexpr int kCommits = 200;
    std::atomic<bool> done{false};
    std::atomic<int> regressions{0};
    std::vector<std::thread> readers;
    for (int r = 0; r < 3; ++r) {
      readers.emplace_back([&] {
        int last = 0;
        for (int i = 0; i < 100000 && !done.load(); ++i) {
          auto got = store_->Get(id);
          if (!got.ok() || !got->has_value()) continue;
          int now = std::stoi(*(*got)->entry.First("cn"));
          if (now < last) ++regressions;
          last = now;
        }
      });
    }
    for (int v = 1; v <= kCommits; ++v) {
      auto txn = store_->BeginWrite();
      txn.PutEntry(id, root, Norm(dn), MakeEntry(dn, std::to_string(v)));
      if (!txn.Commit().ok()) {
        ADD_FAILURE() << "commit " << v << " failed";
        break;  // the readers must still be stopped and joined
      }
      EXPECT_EQ(*(*store_->Get(id))->entry.First("cn"), std::to_string(v));
    }
    done = true;
    for (auto& t : readers) t.join();
    EXPECT_EQ(regressions.load(), 0);
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, PutThenGetAndFind) {
  EntryId root = AddRoot();
  EntryId id = AddChild(root, "alice");
  auto got = store_->Get(id);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->id, id);
  EXPECT_EQ((*got)->parent, root);
  EXPECT_EQ(*(*got)->entry.First("cn"), "alice");
  auto found = store_->FindId(Norm("CN=Alice, DC=Example,DC=com"));
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, id);
}

TEST_F(StoreTest, MissingEntryIsNulloptNotError) {
  auto got = store_->Get(999);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  auto found = store_->FindId("cn=nobody");
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
}

TEST_F(StoreTest, ChildrenAreListedAndDeleteRemovesLinks) {
  EntryId root = AddRoot();
  EntryId a = AddChild(root, "a");
  EntryId b = AddChild(root, "b");
  std::vector<EntryId> kids;
  ASSERT_TRUE(store_
                  ->ForEachChild(root,
                                 [&](EntryId id) {
                                   kids.push_back(id);
                                   return true;
                                 })
                  .ok());
  EXPECT_EQ(kids, (std::vector<EntryId>{a, b}));
  EXPECT_TRUE(*store_->HasChildren(root));
  EXPECT_FALSE(*store_->HasChildren(a));

  auto txn = store_->BeginWrite();
  txn.DeleteEntry(a, root, Norm("cn=a,dc=example,dc=com"));
  txn.DeleteEntry(b, root, Norm("cn=b,dc=example,dc=com"));
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_FALSE(*store_->HasChildren(root));
  EXPECT_FALSE(store_->Get(a)->has_value());
  EXPECT_FALSE(store_->FindId(Norm("cn=a,dc=example,dc=com"))->has_value());
}

TEST_F(StoreTest, ChildScanStopsWhenCallbackReturnsFalse) {
  EntryId root = AddRoot();
  AddChild(root, "a");
  AddChild(root, "b");
  int visits = 0;
  ASSERT_TRUE(store_->ForEachChild(root, [&](EntryId) { return ++visits < 1; }).ok());
  EXPECT_EQ(visits, 1);
}

TEST_F(StoreTest, ForEachEntryVisitsInIdOrder) {
  EntryId root = AddRoot();
  EntryId a = AddChild(root, "a");
  EntryId b = AddChild(root, "b");
  std::vector<EntryId> ids;
  ASSERT_TRUE(store_
                  ->ForEachEntry([&](const StoredEntry& e) {
                    ids.push_back(e.id);
                    return true;
                  })
                  .ok());
  EXPECT_EQ(ids, (std::vector<EntryId>{root, a, b}));
}

TEST_F(StoreTest, EqualityScanDoesNotBleedIntoLongerKeys) {
  auto txn = store_->BeginWrite();
  txn.AddIndexKey(IndexKind::kEquality, "cn", "ab", 1);
  txn.AddIndexKey(IndexKind::kEquality, "cn", "ab", 3);
  txn.AddIndexKey(IndexKind::kEquality, "cn", "abc", 2);
  txn.AddIndexKey(IndexKind::kEquality, "cn", "a", 4);
  txn.AddIndexKey(IndexKind::kEquality, "cnx", "ab", 5);
  txn.AddIndexKey(IndexKind::kSubstring, "cn", "ab", 6);
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(Indexed(IndexKind::kEquality, "cn", "ab"), (std::vector<EntryId>{1, 3}));
  EXPECT_EQ(Indexed(IndexKind::kEquality, "cn", "abc"), (std::vector<EntryId>{2}));
  EXPECT_EQ(Indexed(IndexKind::kSubstring, "cn", "ab"), (std::vector<EntryId>{6}));
  EXPECT_EQ(*store_->CountIndexed(IndexKind::kEquality, "cn", "ab", 100), 2u);
  EXPECT_EQ(*store_->CountIndexed(IndexKind::kEquality, "cn", "ab", 1), 1u);
}

TEST_F(StoreTest, PrefixScanCoversLongerKeysOnly) {
  auto txn = store_->BeginWrite();
  txn.AddIndexKey(IndexKind::kEquality, "cn", "a", 4);
  txn.AddIndexKey(IndexKind::kEquality, "cn", "ab", 1);
  txn.AddIndexKey(IndexKind::kEquality, "cn", "abc", 2);
  txn.AddIndexKey(IndexKind::kEquality, "cn", std::string("ab\0z", 4), 7);
  txn.AddIndexKey(IndexKind::kEquality, "cn", "ac", 3);
  txn.AddIndexKey(IndexKind::kEquality, "cnx", "abz", 5);
  ASSERT_TRUE(txn.Commit().ok());
  std::vector<std::pair<std::string, EntryId>> seen;
  ASSERT_TRUE(store_
                  ->ForEachIndexedPrefix(IndexKind::kEquality, "cn", "ab",
                                         [&](std::string_view key, EntryId id) {
                                           seen.emplace_back(std::string(key), id);
                                           return true;
                                         })
                  .ok());
  std::vector<std::pair<std::string, EntryId>> want = {{"ab", 1}, {std::string("ab\0z", 4), 7}, {"abc", 2}};
  EXPECT_EQ(seen, want);
}

TEST_F(StoreTest, RemovedIndexKeyIsNoLongerVisited) {
  auto txn = store_->BeginWrite();
  txn.AddIndexKey(IndexKind::kPresence, "mail", "", 1);
  txn.AddIndexKey(IndexKind::kPresence, "mail", "", 2);
  ASSERT_TRUE(txn.Commit().ok());
  txn.RemoveIndexKey(IndexKind::kPresence, "mail", "", 1);
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(Indexed(IndexKind::kPresence, "mail", ""), (std::vector<EntryId>{2}));
}

TEST_F(StoreTest, AHotIndexKeyStaysExactThroughManyDeltas) {
  // 300 commits on one key: past the merge-run bound (64) several times, so
  // the key is written as a full value now and then, between deltas.
  auto txn = store_->BeginWrite();
  txn.AddIndexKey(IndexKind::kEquality, "objectclass", "person", 1);
  txn.AddIndexKey(IndexKind::kEquality, "objectclass", "person", 2);
  ASSERT_TRUE(txn.Commit().ok());
  for (EntryId i = 3; i < 303; ++i) {
    txn.AddIndexKey(IndexKind::kEquality, "objectclass", "person", i);
    if (i > 3) txn.RemoveIndexKey(IndexKind::kEquality, "objectclass", "person", i - 1);
    ASSERT_TRUE(txn.Commit().ok());
    if (i % 50 == 0) {
      EXPECT_EQ(Indexed(IndexKind::kEquality, "objectclass", "person"), (std::vector<EntryId>{1, 2, i})) << i;
    }
  }
  txn.RemoveIndexKey(IndexKind::kEquality, "objectclass", "person", 1);
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(Indexed(IndexKind::kEquality, "objectclass", "person"), (std::vector<EntryId>{2, 302}));
  // Emptied by a mix of deltas and full values: absent, also after a reopen.
  for (EntryId id : {EntryId{2}, EntryId{302}}) {
    for (int round = 0; round < 70; ++round) {
      txn.AddIndexKey(IndexKind::kEquality, "cn", "flip", id);
      ASSERT_TRUE(txn.Commit().ok());
      txn.RemoveIndexKey(IndexKind::kEquality, "cn", "flip", id);
      ASSERT_TRUE(txn.Commit().ok());
    }
  }
  EXPECT_TRUE(Indexed(IndexKind::kEquality, "cn", "flip").empty());
  store_.reset();
  store_ = MustOpen(Options(dir_.path()));
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(Indexed(IndexKind::kEquality, "objectclass", "person"), (std::vector<EntryId>{2, 302}));
  EXPECT_TRUE(Indexed(IndexKind::kEquality, "cn", "flip").empty());
}

TEST_F(StoreTest, TxnReadsItsOwnWrites) {
  EntryId root = AddRoot();
  EntryId id = store_->AllocateId();
  auto txn = store_->BeginWrite();
  txn.PutEntry(id, root, Norm("cn=new,dc=example,dc=com"), MakeEntry("cn=new,dc=example,dc=com", "new"));
  auto in_txn = txn.Get(id);
  ASSERT_TRUE(in_txn.ok());
  ASSERT_TRUE(in_txn->has_value());
  EXPECT_EQ(*(*in_txn)->entry.First("cn"), "new");
  EXPECT_EQ(*txn.FindId(Norm("cn=new,dc=example,dc=com")), id);
  EXPECT_EQ(*txn.FindId(Norm("dc=example,dc=com")), root);  // falls through to the store
  EXPECT_FALSE(store_->Get(id)->has_value());               // not yet visible outside

  txn.DeleteEntry(root, kNoEntry, Norm("dc=example,dc=com"));
  EXPECT_FALSE(txn.Get(root)->has_value());
  EXPECT_FALSE(txn.FindId(Norm("dc=example,dc=com"))->has_value());
}

TEST_F(StoreTest, IndexKeyAddedThenRemovedInOneTxnIsAbsent) {
  EntryId root = AddRoot();
  auto txn = store_->BeginWrite();
  txn.AddIndexKey(IndexKind::kEquality, "cn", "x", root);
  txn.RemoveIndexKey(IndexKind::kEquality, "cn", "x", root);
  txn.RemoveIndexKey(IndexKind::kEquality, "cn", "y", root);
  txn.AddIndexKey(IndexKind::kEquality, "cn", "y", root);
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_TRUE(Indexed(IndexKind::kEquality, "cn", "x").empty());
  EXPECT_EQ(Indexed(IndexKind::kEquality, "cn", "y"), std::vector<EntryId>{root});
}

TEST_F(StoreTest, GetSharedReturnsTheRecordWithoutCopying) {
  EntryId root = AddRoot();
  auto first = store_->GetShared(root);
  ASSERT_TRUE(first.ok());
  ASSERT_NE(*first, nullptr);
  EXPECT_EQ(*(*first)->entry.First("cn"), "root");
  auto second = store_->GetShared(root);
  EXPECT_EQ(first->get(), second->get());  // the cached record, shared
  auto missing = store_->GetShared(999);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing, nullptr);
}

TEST_F(StoreTest, GetSharedSeesACommittedChange) {
  EntryId root = AddRoot();
  auto before = *store_->GetShared(root);
  auto txn = store_->BeginWrite();
  txn.PutEntry(root, kNoEntry, Norm("dc=example,dc=com"), MakeEntry("dc=example,dc=com", "changed"));
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(*before->entry.First("cn"), "root");  // a held snapshot does not change
  EXPECT_EQ(*(*store_->GetShared(root))->entry.First("cn"), "changed");
}

TEST_F(StoreTest, UncommittedTxnWritesNothing) {
  EntryId id = store_->AllocateId();
  {
    auto txn = store_->BeginWrite();
    txn.PutEntry(id, kNoEntry, Norm("dc=example,dc=com"), MakeEntry("dc=example,dc=com", "root"));
    txn.AddIndexKey(IndexKind::kEquality, "cn", "root", id);
    txn.PutMeta("k", "v");
    txn.AppendChange({"csn1", "add", "dc=example,dc=com", "u", ""});
  }  // dropped without Commit()
  EXPECT_FALSE(store_->Get(id)->has_value());
  EXPECT_FALSE(store_->FindId(Norm("dc=example,dc=com"))->has_value());
  EXPECT_TRUE(Indexed(IndexKind::kEquality, "cn", "root").empty());
  EXPECT_FALSE(store_->GetMeta("k")->has_value());
  int changes = 0;
  ASSERT_TRUE(store_->ForEachChange("", [&](const ChangeRecord&) { return ++changes < 100; }).ok());
  EXPECT_EQ(changes, 0);
}

TEST_F(StoreTest, ModRdnInOneTxnMovesDnAndKeepsId) {
  EntryId root = AddRoot();
  EntryId id = AddChild(root, "old");
  auto txn = store_->BeginWrite();
  txn.DeleteEntry(id, root, Norm("cn=old,dc=example,dc=com"));
  txn.PutEntry(id, root, Norm("cn=new,dc=example,dc=com"), MakeEntry("cn=new,dc=example,dc=com", "new"));
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(*store_->FindId(Norm("cn=new,dc=example,dc=com")), id);
  EXPECT_FALSE(store_->FindId(Norm("cn=old,dc=example,dc=com"))->has_value());
  EXPECT_EQ(*(*store_->Get(id))->entry.First("cn"), "new");
  EXPECT_TRUE(*store_->HasChildren(root));
}

TEST_F(StoreTest, MetaPutGetDelete) {
  auto txn = store_->BeginWrite();
  txn.PutMeta("suffix", "dc=example,dc=com");
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(**store_->GetMeta("suffix"), "dc=example,dc=com");
  txn.DeleteMeta("suffix");
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_FALSE(store_->GetMeta("suffix")->has_value());
}

TEST_F(StoreTest, ChangelogIsOrderedAndResumesAfterCsn) {
  auto txn = store_->BeginWrite();
  // Appended out of order; the log orders by CSN.
  txn.AppendChange({"20240101000002.000000Z#000000#000#000000", "modify", "cn=b", "u2", "l2"});
  txn.AppendChange({"20240101000001.000000Z#000000#000#000000", "add", "cn=a", "u1", "l1"});
  txn.AppendChange({"20240101000003.000000Z#000000#000#000000", "delete", "cn=c", "u3", "l3"});
  ASSERT_TRUE(txn.Commit().ok());
  std::vector<std::string> types;
  auto collect = [&](const ChangeRecord& c) {
    types.push_back(c.type);
    return true;
  };
  ASSERT_TRUE(store_->ForEachChange("", collect).ok());
  EXPECT_EQ(types, (std::vector<std::string>{"add", "modify", "delete"}));
  types.clear();
  ASSERT_TRUE(store_->ForEachChange("20240101000001.000000Z#000000#000#000000", collect).ok());
  EXPECT_EQ(types, (std::vector<std::string>{"modify", "delete"}));
  types.clear();
  ASSERT_TRUE(store_->ForEachChange("20240101000001.5", collect).ok());  // between records
  EXPECT_EQ(types, (std::vector<std::string>{"modify", "delete"}));
}

TEST_F(StoreTest, AllocatedIdsAreIncreasing) {
  EntryId a = store_->AllocateId();
  EntryId b = store_->AllocateId();
  EXPECT_GE(a, 1u);
  EXPECT_GT(b, a);
}

TEST_F(StoreTest, ReopenKeepsDataAndIdsNeverRepeat) {
  EntryId root = AddRoot();
  EntryId a = AddChild(root, "a");
  EntryId b = AddChild(root, "b");
  // Delete the highest id: the persisted high-water mark must still prevent reuse.
  auto txn = store_->BeginWrite();
  txn.DeleteEntry(b, root, Norm("cn=b,dc=example,dc=com"));
  ASSERT_TRUE(txn.Commit().ok());
  store_.reset();

  store_ = MustOpen(Options(dir_.path()));
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(*(*store_->Get(a))->entry.First("cn"), "a");
  EXPECT_EQ(*store_->FindId(Norm("dc=example,dc=com")), root);
  EXPECT_GT(store_->AllocateId(), b);
}

TEST_F(StoreTest, ImportedIdAboveCounterAdvancesIt) {
  auto txn = store_->BeginWrite();
  txn.PutEntry(500, kNoEntry, Norm("dc=example,dc=com"), MakeEntry("dc=example,dc=com", "root"));
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_GT(store_->AllocateId(), 500u);
}

TEST_F(StoreTest, EntryCacheIsInvalidatedOnCommit) {
  EntryId root = AddRoot();
  EntryId id = AddChild(root, "before");
  ASSERT_EQ(*(*store_->Get(id))->entry.First("cn"), "before");  // now cached
  auto txn = store_->BeginWrite();
  txn.PutEntry(id, root, Norm("cn=before,dc=example,dc=com"), MakeEntry("cn=before,dc=example,dc=com", "after"));
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(*(*store_->Get(id))->entry.First("cn"), "after");
  txn.DeleteEntry(id, root, Norm("cn=before,dc=example,dc=com"));
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_FALSE(store_->Get(id)->has_value());
}

TEST_F(StoreTest, ConcurrentReadersNeverSeeAnOlderValueAfterANewerOne) { ExpectReadersNeverGoBackInTime(); }

TEST_F(StoreTest, ConcurrentReadersThroughTheRecordCacheNeverSeeAnOlderValue) {
  StoreOptions o = Options(dir_.path("records"));
  o.entry_cache_entries = 0;  // every read goes through the record cache
  o.record_cache_bytes = 1 << 20;
  store_ = MustOpen(o);
  ASSERT_NE(store_, nullptr);
  ExpectReadersNeverGoBackInTime();
  EXPECT_EQ(store_->entry_cache_usage().entries, 0u);
}

TEST_F(StoreTest, CheckpointOpensAsAStore) {
  EntryId root = AddRoot();
  ASSERT_TRUE(store_->Checkpoint(dir_.path("backup")).ok());
  AddChild(root, "after-backup");
  auto copy = MustOpen(Options(dir_.path("backup")));
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(*copy->FindId(Norm("dc=example,dc=com")), root);
  EXPECT_FALSE(copy->FindId(Norm("cn=after-backup,dc=example,dc=com"))->has_value());
}

TEST_F(StoreTest, CheckpointIntoExistingDirFails) {
  std::filesystem::create_directories(dir_.path("exists"));
  EXPECT_FALSE(store_->Checkpoint(dir_.path("exists")).ok());
}

TEST_F(StoreTest, FlushKeepsData) {
  EntryId root = AddRoot();
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_TRUE(store_->Get(root)->has_value());
}

TEST_F(StoreTest, SecondWriterOnSamePathIsUnavailable) {
  auto second = Store::Open(Options(dir_.path()));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), ResultCode::kUnavailable);
}

TEST(StoreOpenTest, ReadOnlyReadsButRefusesWrites) {
  TempDir dir;
  {
    auto store = MustOpen(Options(dir.path()));
    auto txn = store->BeginWrite();
    txn.PutMeta("k", "v");
    ASSERT_TRUE(txn.Commit().ok());
  }
  StoreOptions o = Options(dir.path());
  o.read_only = true;
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(**store->GetMeta("k"), "v");
  auto txn = store->BeginWrite();
  txn.PutMeta("k", "w");
  EXPECT_FALSE(txn.Commit().ok());
}

TEST(StoreOpenTest, ReadOnlyOpensWhileAWriterHoldsTheLock) {
  TempDir dir;
  auto writer = MustOpen(Options(dir.path()));
  auto txn = writer->BeginWrite();
  txn.PutMeta("k", "v");
  ASSERT_TRUE(txn.Commit().ok());
  StoreOptions o = Options(dir.path());
  o.read_only = true;
  auto reader = MustOpen(o);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(**reader->GetMeta("k"), "v");
}

TEST(StoreOpenTest, DisabledEntryCacheStillReadsFreshValues) {
  TempDir dir;
  StoreOptions o = Options(dir.path());
  o.entry_cache_entries = 0;
  auto store = MustOpen(o);
  auto txn = store->BeginWrite();
  txn.PutEntry(1, kNoEntry, Norm("dc=example,dc=com"), MakeEntry("dc=example,dc=com", "a"));
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(*(*store->Get(1))->entry.First("cn"), "a");
  txn.PutEntry(1, kNoEntry, Norm("dc=example,dc=com"), MakeEntry("dc=example,dc=com", "b"));
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(*(*store->Get(1))->entry.First("cn"), "b");
}

// ---- Entry cache byte bound ------------------------------------------------

// A plain-style benchmark user (as ldapdatagen writes it) with the
// operational attributes the backend adds.
ldap::Entry MakeUser(int n) {
  const std::string name = "user" + std::to_string(n);
  const std::string dn = "uid=" + name + ",ou=people,dc=example,dc=com";
  auto parsed = ldap::Dn::Parse(dn);
  EXPECT_TRUE(parsed.ok());
  return ldap::Entry(
      *parsed,
      {{"objectClass", {"top", "person", "organizationalPerson", "inetOrgPerson", "posixAccount"}},
       {"uid", {name}},
       {"cn", {name}},
       {"sn", {"Lastname" + std::to_string(n)}},
       {"givenName", {"Firstname" + std::to_string(n)}},
       {"displayName", {"Firstname" + std::to_string(n) + " Lastname" + std::to_string(n)}},
       {"mail", {name + "@example.com"}},
       {"uidNumber", {std::to_string(10000 + n)}},
       {"gidNumber", {"10000"}},
       {"homeDirectory", {"/home/" + name}},
       {"loginShell", {"/bin/bash"}},
       {"userPassword", {"{SSHA}" + std::string(40, 'p')}},
       {"entryUUID", {"0b5a4b43-5d0a-4c5e-9d3e-" + std::string(12, 'a')}},
       {"creatorsName", {"cn=admin,dc=example,dc=com"}},
       {"createTimestamp", {"20240101000000Z"}},
       {"modifiersName", {"cn=admin,dc=example,dc=com"}},
       {"modifyTimestamp", {"20240101000000Z"}},
       {"entryCSN", {"20240101000000.000000Z#000000#000#000000"}}});
}

TEST(EntryEstimateTest, SumsTheBlocksOfAKnownEntry) {
  if (sizeof(void*) != 8 || sizeof(std::string) != 32 || std::string().capacity() != 15) {
    GTEST_SKIP() << "the expected sum is for 64-bit libstdc++";
  }
  StoredEntry stored;
  stored.entry = ldap::Entry(ldap::Dn({ldap::Rdn{{"cn", "x"}}}),
                             {{"cn", {"x"}}, {"description", {std::string(100, 'd')}}});
  // glibc chunks: request + 8, rounded up to 16.
  const size_t expected = 128    // make_shared: 16 (control) + 96 (StoredEntry; its empty dn_text is inline)
                          + 32   // rdns: 1 x 24
                          + 80   // the RDN's AVAs: 1 x 64
                          + 128  // attributes: 2 x 56
                          + 48   // cn's values: 1 x 32
                          + 48   // description's values: 1 x 32
                          + 112; // the 100-byte value (capacity + NUL); short strings are inline
  EXPECT_EQ(EstimateEntryBytes(stored), expected);
}

TEST(EntryEstimateTest, IsWithinAQuarterOfTheMeasuredMallocDelta) {
#if defined(__GLIBC__)
  constexpr int kEntries = 3000;
  std::vector<std::string> records;
  for (int n = 0; n < kEntries; ++n) records.push_back(EncodeEntryRecord(1, MakeUser(n)));
  std::vector<std::shared_ptr<const StoredEntry>> held;
  held.reserve(kEntries);
  const size_t before = mallinfo2().uordblks;
  for (int n = 0; n < kEntries; ++n) {
    auto decoded = DecodeEntryRecord(static_cast<EntryId>(n + 1), records[n]);
    ASSERT_TRUE(decoded.ok());
    held.push_back(std::make_shared<const StoredEntry>(std::move(*decoded)));
  }
  const size_t measured = mallinfo2().uordblks - before;
  size_t estimated = 0;
  for (const auto& e : held) estimated += EstimateEntryBytes(*e);
  if (measured == 0) GTEST_SKIP() << "malloc is not glibc's (sanitizer?)";
  RecordProperty("measured_bytes_per_entry", static_cast<int>(measured / kEntries));
  RecordProperty("estimated_bytes_per_entry", static_cast<int>(estimated / kEntries));
  EXPECT_GT(static_cast<double>(estimated), 0.75 * static_cast<double>(measured));
  EXPECT_LT(static_cast<double>(estimated), 1.25 * static_cast<double>(measured));
#else
  GTEST_SKIP() << "needs glibc's mallinfo2";
#endif
}

// Puts `count` users with ids 1..count.
void PutUsers(Store& store, int count) {
  auto txn = store.BeginWrite();
  for (int n = 1; n <= count; ++n) {
    ldap::Entry user = MakeUser(n);
    txn.PutEntry(static_cast<EntryId>(n), kNoEntry, user.dn().Normalized(), user);
  }
  ASSERT_TRUE(txn.Commit().ok());
}

TEST(EntryCacheBytesTest, NeverHoldsMoreThanTheByteBudget) {
  TempDir dir;
  StoreOptions o = Options(dir.path());
  o.entry_cache_entries = 1000000;
  o.entry_cache_bytes = 256 * 1024;  // 16 KiB a shard: about ten users
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  constexpr int kUsers = 500;
  PutUsers(*store, kUsers);
  for (int n = 1; n <= kUsers; ++n) {
    ASSERT_TRUE(store->GetShared(static_cast<EntryId>(n)).ok());
    ASSERT_LE(store->entry_cache_usage().bytes, o.entry_cache_bytes) << "after " << n << " reads";
  }
  EntryCacheUsage usage = store->entry_cache_usage();
  EXPECT_GT(usage.entries, 0u);
  EXPECT_LT(usage.entries, static_cast<size_t>(kUsers));
  EXPECT_GT(usage.bytes, o.entry_cache_bytes / 2);  // evicts only what it must
}

TEST(EntryCacheBytesTest, EntryBoundStillAppliesUnderALargeByteBudget) {
  TempDir dir;
  StoreOptions o = Options(dir.path());
  o.entry_cache_entries = 32;
  o.entry_cache_bytes = 1 << 30;
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  PutUsers(*store, 200);
  for (int n = 1; n <= 200; ++n) ASSERT_TRUE(store->GetShared(static_cast<EntryId>(n)).ok());
  EXPECT_LE(store->entry_cache_usage().entries, 32u);
}

TEST(EntryCacheBytesTest, HitUnderASmallBudgetReturnsTheSameRecord) {
  TempDir dir;
  StoreOptions o = Options(dir.path());
  o.entry_cache_bytes = 64 * 1024;
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  PutUsers(*store, 50);
  auto first = *store->GetShared(7);
  ASSERT_NE(first, nullptr);
  auto second = *store->GetShared(7);
  EXPECT_EQ(first.get(), second.get());
  EXPECT_EQ(*second->entry.First("uid"), "user7");
  EXPECT_EQ(*(*store->Get(7))->entry.First("uid"), "user7");
  // The cached copy is invalidated by a commit like any other.
  auto txn = store->BeginWrite();
  ldap::Entry changed = MakeUser(7);
  changed.Set("loginShell", {"/bin/zsh"});
  txn.PutEntry(7, kNoEntry, changed.dn().Normalized(), changed);
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(*(*store->GetShared(7))->entry.First("loginShell"), "/bin/zsh");
}

TEST(EntryCacheBytesTest, ZeroBytesDisablesTheCache) {
  TempDir dir;
  StoreOptions o = Options(dir.path());
  o.entry_cache_entries = 100;
  o.entry_cache_bytes = 0;
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  PutUsers(*store, 10);
  auto first = *store->GetShared(3);
  auto second = *store->GetShared(3);
  ASSERT_NE(first, nullptr);
  EXPECT_NE(first.get(), second.get());  // decoded twice: nothing cached
  EXPECT_EQ(*second->entry.First("uid"), "user3");
  EXPECT_EQ(store->entry_cache_usage().entries, 0u);
  EXPECT_EQ(store->entry_cache_usage().bytes, 0u);
}

TEST(EntryCacheBytesTest, ZeroEntriesDisablesTheCacheToo) {
  TempDir dir;
  StoreOptions o = Options(dir.path());
  o.entry_cache_entries = 0;
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  PutUsers(*store, 10);
  auto first = *store->GetShared(3);
  auto second = *store->GetShared(3);
  EXPECT_NE(first.get(), second.get());
  EXPECT_EQ(store->entry_cache_usage().entries, 0u);
}

// ---- Entry cache admission ---------------------------------------------------

// Reads `id` twice: true if the second read got the first one's decoded copy.
bool ServedFromEntryCache(Store& store, EntryId id) {
  auto first = store.GetShared(id);
  auto second = store.GetShared(id);
  EXPECT_TRUE(first.ok() && second.ok() && *first && *second);
  return first.ok() && second.ok() && *first && first->get() == second->get();
}

StoreOptions TwoEntriesAShard(const std::string& path) {
  StoreOptions o = Options(path);
  o.entry_cache_entries = 32;  // two a shard
  o.entry_cache_bytes = 1 << 30;
  return o;
}

TEST(EntryCacheAdmissionTest, AScanOfEntriesReadOnceEvictsNoHotEntry) {
  TempDir dir;
  auto store = MustOpen(TwoEntriesAShard(dir.path()));
  ASSERT_NE(store, nullptr);
  PutUsers(*store, 400);
  std::vector<std::shared_ptr<const StoredEntry>> hot;
  for (EntryId id = 1; id <= 32; ++id) hot.push_back(*store->GetShared(id));
  for (int round = 0; round < 4; ++round) {
    for (EntryId id = 1; id <= 32; ++id) ASSERT_EQ(store->GetShared(id)->get(), hot[id - 1].get());
  }
  for (EntryId id = 33; id <= 400; ++id) ASSERT_TRUE(store->GetShared(id).ok());
  // Every hot entry is still the copy decoded first; the scanned ones were
  // decoded, returned and not kept.
  for (EntryId id = 1; id <= 32; ++id) EXPECT_EQ(store->GetShared(id)->get(), hot[id - 1].get()) << id;
  EXPECT_FALSE(ServedFromEntryCache(*store, 250));
  EXPECT_LE(store->entry_cache_usage().entries, 32u);
}

TEST(EntryCacheAdmissionTest, AnEntryReadOftenEnoughDisplacesAColdOne) {
  TempDir dir;
  auto store = MustOpen(TwoEntriesAShard(dir.path()));
  ASSERT_NE(store, nullptr);
  PutUsers(*store, 100);
  for (EntryId id = 1; id <= 32; ++id) ASSERT_TRUE(store->GetShared(id).ok());  // full, each read once
  // id 37 shares a shard with 5 and 21; after a few reads it outranks them.
  bool admitted = false;
  for (int n = 0; n < 8 && !admitted; ++n) admitted = ServedFromEntryCache(*store, 37);
  EXPECT_TRUE(admitted);
  EXPECT_LE(store->entry_cache_usage().entries, 32u);
}

TEST(EntryCacheAdmissionTest, ACacheWithRoomAdmitsOnTheFirstRead) {
  TempDir dir;
  auto store = MustOpen(TwoEntriesAShard(dir.path()));
  ASSERT_NE(store, nullptr);
  PutUsers(*store, 16);
  for (EntryId id = 1; id <= 16; ++id) EXPECT_TRUE(ServedFromEntryCache(*store, id)) << id;
}

// ---- Record cache ---------------------------------------------------------------

// RocksDB key comparisons (its per-thread perf context) made by `read`:
// none when a cache answers.
template <typename Read>
uint64_t KeyComparisons(Read read) {
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  read();
  uint64_t n = rocksdb::get_perf_context()->user_key_comparison_count;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  return n;
}

// ... made by one GetShared.
uint64_t GetComparisons(Store& store, EntryId id, std::shared_ptr<const StoredEntry>* got) {
  Result<std::shared_ptr<const StoredEntry>> stored = std::shared_ptr<const StoredEntry>();
  uint64_t n = KeyComparisons([&] { stored = store.GetShared(id); });
  EXPECT_TRUE(stored.ok()) << stored.status().ToString();
  *got = stored.ok() ? *stored : nullptr;
  return n;
}

StoreOptions RecordCacheOnly(const std::string& path, size_t bytes) {
  StoreOptions o = Options(path);
  o.entry_cache_entries = 0;
  o.record_cache_bytes = bytes;
  return o;
}

TEST(RecordCacheTest, SecondReadDecodesTheCachedRecordWithoutRocksDb) {
  TempDir dir;
  auto store = MustOpen(RecordCacheOnly(dir.path(), 1 << 20));
  ASSERT_NE(store, nullptr);
  PutUsers(*store, 20);
  std::shared_ptr<const StoredEntry> first, second;
  EXPECT_GT(GetComparisons(*store, 7, &first), 0u);
  EXPECT_EQ(GetComparisons(*store, 7, &second), 0u);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(first.get(), second.get());  // decoded again: the decoded cache is off
  EXPECT_EQ(second->id, 7u);
  EXPECT_EQ(second->entry.dn().ToString(), "uid=user7,ou=people,dc=example,dc=com");
  EXPECT_EQ(EncodeEntry(second->entry), EncodeEntry(MakeUser(7)));  // every attribute and value
  EXPECT_EQ(store->record_cache_usage().entries, 1u);
  std::shared_ptr<const StoredEntry> missing;
  EXPECT_GT(GetComparisons(*store, 999, &missing), 0u);
  EXPECT_EQ(missing, nullptr);
  EXPECT_EQ(store->record_cache_usage().entries, 1u);  // absent ids are not cached
}

TEST(RecordCacheTest, CommitsRefreshTheCachedRecordsTheyWrite) {
  TempDir dir;
  auto store = MustOpen(RecordCacheOnly(dir.path(), 1 << 20));
  ASSERT_NE(store, nullptr);
  PutUsers(*store, 10);
  ASSERT_EQ(*(*store->GetShared(4))->entry.First("loginShell"), "/bin/bash");  // now cached
  ldap::Entry changed = MakeUser(4);
  changed.Set("loginShell", {"/bin/zsh"});
  auto txn = store->BeginWrite();
  txn.PutEntry(4, kNoEntry, changed.dn().Normalized(), changed);
  ASSERT_TRUE(txn.Commit().ok());
  std::shared_ptr<const StoredEntry> got;
  EXPECT_EQ(GetComparisons(*store, 4, &got), 0u);  // the commit cached its own record
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(*got->entry.First("loginShell"), "/bin/zsh");
  EXPECT_EQ(EncodeEntry(got->entry), EncodeEntry(changed));
  EXPECT_EQ(store->record_cache_usage().entries, 1u);  // records it did not hold stay out
  txn.DeleteEntry(4, kNoEntry, changed.dn().Normalized());
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_GT(GetComparisons(*store, 4, &got), 0u);  // a deleted record is dropped
  EXPECT_EQ(got, nullptr);
  EXPECT_EQ(*(*store->GetShared(5))->entry.First("uid"), "user5");
}

TEST(UpdateEntryTest, RewritesTheRecordAndKeepsTheDnAndChildLinks) {
  TempDir dir;
  {
    auto store = MustOpen(Options(dir.path()));
    ASSERT_NE(store, nullptr);
    ldap::Entry parent = MakeEntry("ou=people,dc=example,dc=com", "people");
    ldap::Entry user = MakeUser(1);
    auto txn = store->BeginWrite();
    txn.PutEntry(10, kNoEntry, parent.dn().Normalized(), parent);
    txn.PutEntry(11, 10, user.dn().Normalized(), user);
    ASSERT_TRUE(txn.Commit().ok());
    user.Set("loginShell", {"/bin/zsh"});
    txn.UpdateEntry(11, 10, user);
    ASSERT_TRUE(txn.Commit().ok());
  }
  auto store = MustOpen(Options(dir.path()));  // reopened: nothing cached
  ASSERT_NE(store, nullptr);
  auto id = store->FindId(MakeUser(1).dn().Normalized());
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, std::optional<EntryId>(11));
  auto got = store->Get(11);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->parent, 10u);
  EXPECT_EQ(*(*got)->entry.First("loginShell"), "/bin/zsh");
  std::vector<EntryId> children;
  ASSERT_TRUE(store->ForEachChild(10, [&](EntryId child) {
                     children.push_back(child);
                     return true;
                   }).ok());
  EXPECT_EQ(children, std::vector<EntryId>{11});
}

TEST(RecordCacheTest, NeverHoldsMoreThanItsBudgetAndZeroDisablesIt) {
  TempDir dir;
  constexpr size_t kBudget = 64 * 1024;  // 4 KiB a shard: a few users
  auto store = MustOpen(RecordCacheOnly(dir.path(), kBudget));
  ASSERT_NE(store, nullptr);
  constexpr int kUsers = 500;
  PutUsers(*store, kUsers);
  for (int n = 1; n <= kUsers; ++n) {
    auto got = store->GetShared(static_cast<EntryId>(n));
    ASSERT_TRUE(got.ok() && *got != nullptr) << n;
    ASSERT_EQ(*(*got)->entry.First("uid"), "user" + std::to_string(n));
    ASSERT_LE(store->record_cache_usage().bytes, kBudget) << "after " << n << " reads";
  }
  EntryCacheUsage usage = store->record_cache_usage();
  EXPECT_GT(usage.entries, 0u);
  EXPECT_LT(usage.entries, static_cast<size_t>(kUsers));
  EXPECT_GT(usage.bytes, kBudget / 2);  // evicts only what it must

  TempDir off_dir;
  auto off = MustOpen(RecordCacheOnly(off_dir.path(), 0));
  ASSERT_NE(off, nullptr);
  PutUsers(*off, 10);
  std::shared_ptr<const StoredEntry> got;
  EXPECT_GT(GetComparisons(*off, 3, &got), 0u);
  EXPECT_GT(GetComparisons(*off, 3, &got), 0u);
  EXPECT_EQ(off->record_cache_usage().entries, 0u);
}

// ---- caches sized with the directory ---------------------------------------------

// Reads users 1..n twice; returns how many records the record cache then holds.
size_t RecordsHeldAfterReadingAll(Store& store, int n) {
  for (int round = 0; round < 2; ++round) {
    for (int i = 1; i <= n; ++i) {
      auto got = store.GetShared(static_cast<EntryId>(i));
      EXPECT_TRUE(got.ok() && *got != nullptr) << i;
    }
  }
  return store.record_cache_usage().entries;
}

// Puts users 1..n into a store opened with `o`, closes it and opens it again.
std::unique_ptr<Store> ReopenedWithUsers(const StoreOptions& o, int n) {
  {
    auto first = MustOpen(o);
    if (first == nullptr) return nullptr;
    PutUsers(*first, n);
  }
  return MustOpen(o);
}

TEST(CacheGrowthTest, AStoreOpenedWithMoreEntriesGetsLargerCaches) {
  TempDir dir;
  constexpr size_t kFloor = 64 * 1024;  // a few users a shard
  constexpr int kUsers = 500;
  StoreOptions o = RecordCacheOnly(dir.path(), kFloor);
  o.dn_cache_bytes = 16 * 1024;
  o.cache_growth = CacheGrowth{1024, 256, 0, 64 * 1024 * 1024};  // the posting floor alone is 16 MiB
  {
    auto empty = MustOpen(o);
    ASSERT_NE(empty, nullptr);
    EXPECT_EQ(empty->entries_at_open(), 0u);
    EXPECT_EQ(empty->cache_budgets(), (CacheBudgets{kFloor, 16 * 1024, o.posting_cache_bytes}));
  }
  auto store = ReopenedWithUsers(o, kUsers);
  ASSERT_NE(store, nullptr);
  // RocksDB's estimate of the entries; the budgets follow it.
  const uint64_t entries = store->entries_at_open();
  EXPECT_GE(entries, 450u);
  EXPECT_LE(entries, 550u);
  CacheBudgets budgets = store->cache_budgets();
  EXPECT_EQ(budgets.record_bytes, 1024 * entries);
  EXPECT_EQ(budgets.dn_bytes, 256 * entries);
  EXPECT_EQ(budgets.posting_bytes, o.posting_cache_bytes);  // no growth asked
  EXPECT_EQ(RecordsHeldAfterReadingAll(*store, kUsers), static_cast<size_t>(kUsers));
  EXPECT_LE(store->record_cache_usage().bytes, budgets.record_bytes);
}

TEST(CacheGrowthTest, WithoutGrowthTheConfiguredSizesHold) {
  TempDir dir;
  constexpr size_t kFloor = 64 * 1024;
  constexpr int kUsers = 500;
  StoreOptions o = RecordCacheOnly(dir.path(), kFloor);
  o.cache_growth = CacheGrowth{1024, 256, 256, 0};  // per-entry sizes, but no room to grow
  auto store = ReopenedWithUsers(o, kUsers);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->cache_budgets(), (CacheBudgets{kFloor, o.dn_cache_bytes, o.posting_cache_bytes}));
  EXPECT_LT(RecordsHeldAfterReadingAll(*store, kUsers), static_cast<size_t>(kUsers));
  EXPECT_LE(store->record_cache_usage().bytes, kFloor);
}

TEST(CacheGrowthTest, WhenTheRecordsDoNotFitTheEntryCacheGivesThemItsBytes) {
  TempDir dir;
  constexpr size_t kFloor = 64 * 1024;
  constexpr int kUsers = 500;
  StoreOptions o = RecordCacheOnly(dir.path(), kFloor);
  o.entry_cache_entries = 20000;
  o.entry_cache_bytes = 4 * 1024 * 1024;
  o.entry_cache_floor_bytes = 1024 * 1024;
  auto store = ReopenedWithUsers(o, kUsers);
  ASSERT_NE(store, nullptr);
  CacheBudgets budgets = store->cache_budgets();
  // 500 records need more than 64 KiB; the entry cache gave what they lack.
  EXPECT_GT(budgets.record_bytes, kFloor);
  EXPECT_LT(budgets.entry_bytes, o.entry_cache_bytes);
  EXPECT_GE(budgets.entry_bytes, o.entry_cache_floor_bytes);
  EXPECT_EQ(budgets.record_bytes + budgets.entry_bytes, kFloor + o.entry_cache_bytes);
  EXPECT_EQ(RecordsHeldAfterReadingAll(*store, kUsers), static_cast<size_t>(kUsers));
  EXPECT_LE(store->record_cache_usage().bytes, budgets.record_bytes);
  EXPECT_LE(store->entry_cache_usage().bytes, budgets.entry_bytes);
  store.reset();
  // Without a floor both keep their configured sizes.
  o.entry_cache_floor_bytes = 0;
  store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->cache_budgets().record_bytes, kFloor);
  EXPECT_EQ(store->cache_budgets().entry_bytes, o.entry_cache_bytes);
}

// ---- DN -> id cache ------------------------------------------------------------

// RocksDB key comparisons made by one FindId: none when the DN cache answers.
uint64_t FindIdComparisons(Store& store, std::string_view dn, std::optional<EntryId>* found) {
  Result<std::optional<EntryId>> id = std::optional<EntryId>();
  uint64_t n = KeyComparisons([&] { id = store.FindId(Norm(dn)); });
  EXPECT_TRUE(id.ok()) << id.status().ToString();
  *found = id.ok() ? *id : std::nullopt;
  return n;
}

TEST(DnCacheTest, SecondLookupOfADnSkipsRocksDb) {
  TempDir dir;
  auto store = MustOpen(Options(dir.path()));
  ASSERT_NE(store, nullptr);
  PutUsers(*store, 20);
  std::optional<EntryId> found;
  EXPECT_GT(FindIdComparisons(*store, "uid=user7,ou=people,dc=example,dc=com", &found), 0u);
  EXPECT_EQ(found, std::optional<EntryId>(7));
  EXPECT_EQ(FindIdComparisons(*store, "uid=user7,ou=people,dc=example,dc=com", &found), 0u);
  EXPECT_EQ(found, std::optional<EntryId>(7));
  EXPECT_EQ(store->dn_cache_size(), 1u);
  // A DN that does not exist is not cached: an add may create it.
  EXPECT_GT(FindIdComparisons(*store, "uid=nobody,ou=people,dc=example,dc=com", &found), 0u);
  EXPECT_EQ(found, std::nullopt);
  EXPECT_EQ(store->dn_cache_size(), 1u);
}

TEST(DnCacheTest, CommitsDropTheDnsTheyWrite) {
  TempDir dir;
  auto store = MustOpen(Options(dir.path()));
  ASSERT_NE(store, nullptr);
  PutUsers(*store, 5);
  const std::string dn3 = "uid=user3,ou=people,dc=example,dc=com";
  const std::string renamed = "uid=renamed,ou=people,dc=example,dc=com";
  ASSERT_EQ(*store->FindId(Norm(dn3)), std::optional<EntryId>(3));  // now cached
  // Delete, then the same DN again under a new id.
  auto txn = store->BeginWrite();
  txn.DeleteEntry(3, kNoEntry, Norm(dn3));
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(*store->FindId(Norm(dn3)), std::nullopt);
  txn.PutEntry(42, kNoEntry, Norm(dn3), MakeUser(3));
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(*store->FindId(Norm(dn3)), std::optional<EntryId>(42));
  // A rename, as modrdn writes it: the old DN goes, the new one maps to the id.
  ASSERT_EQ(*store->FindId(Norm(dn3)), std::optional<EntryId>(42));
  ldap::Entry moved = MakeUser(3);
  moved.set_dn(*ldap::Dn::Parse(renamed));
  txn.DeleteEntry(42, kNoEntry, Norm(dn3));
  txn.PutEntry(42, kNoEntry, Norm(renamed), moved);
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(*store->FindId(Norm(dn3)), std::nullopt);
  EXPECT_EQ(*store->FindId(Norm(renamed)), std::optional<EntryId>(42));
}

TEST(DnCacheTest, CommitsRefreshTheCachedDnsTheyWrite) {
  TempDir dir;
  auto store = MustOpen(Options(dir.path()));
  ASSERT_NE(store, nullptr);
  PutUsers(*store, 5);
  const std::string dn2 = "uid=user2,ou=people,dc=example,dc=com";
  std::optional<EntryId> found;
  EXPECT_GT(FindIdComparisons(*store, dn2, &found), 0u);  // now cached
  // A modify rewrites the entry under its DN: the DN stays cached.
  auto txn = store->BeginWrite();
  txn.PutEntry(2, kNoEntry, Norm(dn2), MakeUser(2));
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(FindIdComparisons(*store, dn2, &found), 0u);
  EXPECT_EQ(found, std::optional<EntryId>(2));
  EXPECT_EQ(store->dn_cache_size(), 1u);
}

TEST(DnCacheTest, NeverHoldsMoreThanItsBudgetAndZeroDisablesIt) {
  TempDir dir;
  StoreOptions o = Options(dir.path());
  o.dn_cache_bytes = 16 * 1024;  // 1 KiB a shard: a few DNs each
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  constexpr int kUsers = 400;
  PutUsers(*store, kUsers);
  for (int n = 1; n <= kUsers; ++n) {
    auto id = store->FindId(Norm("uid=user" + std::to_string(n) + ",ou=people,dc=example,dc=com"));
    ASSERT_TRUE(id.ok());
    ASSERT_EQ(*id, std::optional<EntryId>(n));
  }
  EXPECT_GT(store->dn_cache_size(), 0u);
  EXPECT_LT(store->dn_cache_size(), 200u);  // about 150 bytes a DN: ~100 fit
  store.reset();

  o.dn_cache_bytes = 0;
  store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  std::optional<EntryId> found;
  EXPECT_GT(FindIdComparisons(*store, "uid=user9,ou=people,dc=example,dc=com", &found), 0u);
  EXPECT_GT(FindIdComparisons(*store, "uid=user9,ou=people,dc=example,dc=com", &found), 0u);
  EXPECT_EQ(found, std::optional<EntryId>(9));
  EXPECT_EQ(store->dn_cache_size(), 0u);
}

// Three readers race kMoves commits that move one thing between two places
// (move(i) takes it from place i % 2 to the other); after each commit the
// writer looks both places up again, so that every commit has cached values
// to drop. A reader looks up both places (look-ups during a commit are what
// could cache a stale answer) and judges the look-up of the place the thing
// is not, when no commit ran meanwhile: found_at must then say false.
struct RaceResult {
  int stale = 0;
  int checked = 0;
};
RaceResult RaceMovesAgainstReaders(const std::function<void(int)>& move,
                                   const std::function<std::optional<bool>(int)>& found_at) {
  constexpr int kMoves = 200;
  std::atomic<int> started{0};  // moves begun and finished; equal: nothing is being written
  std::atomic<int> committed{0};
  std::atomic<bool> done{false};
  std::atomic<int> stale{0};
  std::atomic<int> checked{0};
  std::atomic<int> active{3};  // readers still looking
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      for (int i = 0; i < 1000000 && !done.load(); ++i) {
        int before = committed.load();
        bool quiet = started.load() == before;
        (void)found_at(i % 2);
        auto found = found_at(before % 2 == 0 ? 1 : 0);  // after `before` moves it is at place before % 2
        if (!quiet || started.load() != before) continue;
        ++checked;
        if (!found || *found) ++stale;
      }
      --active;
    });
  }
  for (int i = 0; i < kMoves; ++i) {
    started.fetch_add(1);
    move(i);
    committed.fetch_add(1);
    (void)found_at(0);
    (void)found_at(1);
    // A quiet spell for the readers to judge in, bounded in count and time
    // (a loaded machine may not schedule them), and over once they stop.
    const int judged = checked.load();
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(5);
    for (int spin = 0; spin < 100000 && checked.load() == judged && active.load() > 0 &&
                       std::chrono::steady_clock::now() < until;
         ++spin) {
      std::this_thread::yield();
    }
  }
  done = true;
  for (auto& t : readers) t.join();
  return {stale.load(), checked.load()};
}

// Readers racing renames never get an id for a DN after the commit that
// moved it away has returned (the epoch check in KeyedCache::Insert).
TEST(DnCacheTest, ConcurrentReadersNeverSeeADnAfterItsRename) {
  TempDir dir;
  auto store = MustOpen(Options(dir.path()));
  ASSERT_NE(store, nullptr);
  const std::string dns[2] = {"cn=a,dc=example,dc=com", "cn=b,dc=example,dc=com"};
  const std::string keys[2] = {Norm(dns[0]), Norm(dns[1])};
  {
    auto txn = store->BeginWrite();
    txn.PutEntry(1, kNoEntry, keys[0], MakeEntry(dns[0], "a"));
    ASSERT_TRUE(txn.Commit().ok());
  }
  RaceResult race = RaceMovesAgainstReaders(
      [&](int i) {
        auto txn = store->BeginWrite();
        txn.DeleteEntry(1, kNoEntry, keys[i % 2]);
        txn.PutEntry(1, kNoEntry, keys[1 - i % 2], MakeEntry(dns[1 - i % 2], "x"));
        ASSERT_TRUE(txn.Commit().ok());
      },
      [&](int place) {
        auto id = store->FindId(keys[place]);
        return id.ok() ? std::optional<bool>(id->has_value()) : std::nullopt;
      });
  EXPECT_EQ(race.stale, 0);
  EXPECT_GT(race.checked, 0);
}

// ---- Posting cache ---------------------------------------------------------------

// RocksDB key comparisons made by one ForEachIndexed (none when the posting
// cache answers), and the ids it visited.
uint64_t IndexedComparisons(Store& store, std::string_view key, std::vector<EntryId>* ids) {
  ids->clear();
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  Status st = store.ForEachIndexed(IndexKind::kEquality, "uid", key, [&](EntryId id) {
    ids->push_back(id);
    return true;
  });
  uint64_t n = rocksdb::get_perf_context()->user_key_comparison_count;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return n;
}

void IndexUid(Store& store, std::string_view value, EntryId id, bool add = true) {
  auto txn = store.BeginWrite();
  if (add) {
    txn.AddIndexKey(IndexKind::kEquality, "uid", value, id);
  } else {
    txn.RemoveIndexKey(IndexKind::kEquality, "uid", value, id);
  }
  ASSERT_TRUE(txn.Commit().ok());
}

TEST(PostingCacheTest, SecondLookupOfASmallListSkipsRocksDbAndCommitsRefreshIt) {
  TempDir dir;
  auto store = MustOpen(Options(dir.path()));
  ASSERT_NE(store, nullptr);
  IndexUid(*store, "alice", 7);
  std::vector<EntryId> ids;
  EXPECT_GT(IndexedComparisons(*store, "alice", &ids), 0u);
  EXPECT_EQ(ids, std::vector<EntryId>{7});
  EXPECT_EQ(IndexedComparisons(*store, "alice", &ids), 0u);
  EXPECT_EQ(ids, std::vector<EntryId>{7});
  // An absent key is cached too (as empty) until a commit writes it.
  (void)IndexedComparisons(*store, "bob", &ids);  // the memtable's bloom filter may answer without comparing
  EXPECT_EQ(IndexedComparisons(*store, "bob", &ids), 0u);
  EXPECT_TRUE(ids.empty());
  EXPECT_EQ(store->posting_cache_size(), 2u);
  IndexUid(*store, "bob", 9);
  IndexUid(*store, "alice", 70000);  // another chunk of the same key
  IndexUid(*store, "alice", 7, /*add=*/false);
  EXPECT_GT(IndexedComparisons(*store, "bob", &ids), 0u);
  EXPECT_EQ(ids, std::vector<EntryId>{9});
  EXPECT_GT(IndexedComparisons(*store, "alice", &ids), 0u);
  EXPECT_EQ(ids, std::vector<EntryId>{70000});
  EXPECT_EQ(IndexedComparisons(*store, "alice", &ids), 0u);
  EXPECT_EQ(ids, std::vector<EntryId>{70000});
  // A list over two chunks is cached whole, in chunk order.
  IndexUid(*store, "alice", 5);
  EXPECT_GT(IndexedComparisons(*store, "alice", &ids), 0u);
  EXPECT_EQ(ids, (std::vector<EntryId>{5, 70000}));
  EXPECT_EQ(IndexedComparisons(*store, "alice", &ids), 0u);
  EXPECT_EQ(ids, (std::vector<EntryId>{5, 70000}));
}

TEST(PostingCacheTest, LargeListsAreNotCachedAndZeroDisablesTheCache) {
  TempDir dir;
  StoreOptions o = Options(dir.path());
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  {
    auto txn = store->BeginWrite();
    // 3,000 ids: a 6,000-byte array, over the cache's 4 KiB bound.
    for (EntryId id = 1; id <= 9000; id += 3) txn.AddIndexKey(IndexKind::kEquality, "uid", "common", id);
    ASSERT_TRUE(txn.Commit().ok());
  }
  std::vector<EntryId> ids;
  EXPECT_GT(IndexedComparisons(*store, "common", &ids), 0u);
  EXPECT_EQ(ids.size(), 3000u);
  EXPECT_GT(IndexedComparisons(*store, "common", &ids), 0u);
  EXPECT_EQ(store->posting_cache_size(), 0u);
  store.reset();

  o.posting_cache_bytes = 0;
  store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  IndexUid(*store, "alice", 7);
  EXPECT_GT(IndexedComparisons(*store, "alice", &ids), 0u);
  EXPECT_GT(IndexedComparisons(*store, "alice", &ids), 0u);
  EXPECT_EQ(ids, std::vector<EntryId>{7});
  EXPECT_EQ(store->posting_cache_size(), 0u);
}

// RocksDB key comparisons made by one ReadIndexed of uid keys, and each key's ids.
uint64_t ReadIndexedComparisons(Store& store, const std::vector<std::string>& keys,
                                std::vector<std::vector<EntryId>>* ids) {
  std::vector<PostingList> lists;
  Status st;
  uint64_t n = KeyComparisons([&] { st = store.ReadIndexed(IndexKind::kEquality, "uid", keys, &lists); });
  EXPECT_TRUE(st.ok()) << st.ToString();
  ids->assign(lists.size(), {});
  for (size_t i = 0; i < lists.size(); ++i) EXPECT_TRUE(lists[i].AppendTo(&(*ids)[i], SIZE_MAX));
  return n;
}

TEST(PostingCacheTest, BatchedReadsUseAndFillTheCacheForListsUpToFourKiB) {
  TempDir dir;
  auto store = MustOpen(Options(dir.path()));
  ASSERT_NE(store, nullptr);
  std::vector<EntryId> medium, large;
  {
    auto txn = store->BeginWrite();
    txn.AddIndexKey(IndexKind::kEquality, "uid", "rare", 7);
    for (EntryId id = 1; id <= 3000; id += 3) {  // 1,000 ids: a 2,000-byte array
      txn.AddIndexKey(IndexKind::kEquality, "uid", "medium", id);
      medium.push_back(id);
    }
    for (EntryId id = 1; id <= 9000; id += 3) {  // 3,000 ids: 6,000 bytes
      txn.AddIndexKey(IndexKind::kEquality, "uid", "large", id);
      large.push_back(id);
    }
    ASSERT_TRUE(txn.Commit().ok());
  }
  const std::vector<std::vector<EntryId>> want = {{7}, medium, {}};
  std::vector<std::vector<EntryId>> ids;
  EXPECT_GT(ReadIndexedComparisons(*store, {"rare", "medium", "absent"}, &ids), 0u);
  EXPECT_EQ(ids, want);
  EXPECT_EQ(ReadIndexedComparisons(*store, {"rare", "medium", "absent"}, &ids), 0u);  // all three cached
  EXPECT_EQ(ids, want);
  // A batch mixing cached and uncached keys keeps each list in its place.
  EXPECT_GT(ReadIndexedComparisons(*store, {"large", "rare", "medium"}, &ids), 0u);
  EXPECT_EQ(ids, (std::vector<std::vector<EntryId>>{large, {7}, medium}));
  EXPECT_GT(ReadIndexedComparisons(*store, {"large"}, &ids), 0u);  // never cached
  EXPECT_EQ(store->posting_cache_size(), 3u);
  // A commit to a cached key refreshes it.
  IndexUid(*store, "medium", 70000);
  medium.push_back(70000);
  EXPECT_GT(ReadIndexedComparisons(*store, {"medium"}, &ids), 0u);
  EXPECT_EQ(ids, (std::vector<std::vector<EntryId>>{medium}));
  EXPECT_EQ(ReadIndexedComparisons(*store, {"medium", "rare"}, &ids), 0u);
  EXPECT_EQ(ids, (std::vector<std::vector<EntryId>>{medium, {7}}));
}

// Readers racing commits that move an id between two keys never see it under
// the key it left once that commit has returned.
TEST(PostingCacheTest, ConcurrentReadersNeverSeeAnIdUnderTheKeyItLeft) {
  TempDir dir;
  auto store = MustOpen(Options(dir.path()));
  ASSERT_NE(store, nullptr);
  const char* keys[2] = {"a", "b"};
  IndexUid(*store, keys[0], 1);
  RaceResult race = RaceMovesAgainstReaders(
      [&](int i) {
        auto txn = store->BeginWrite();
        txn.RemoveIndexKey(IndexKind::kEquality, "uid", keys[i % 2], 1);
        txn.AddIndexKey(IndexKind::kEquality, "uid", keys[1 - i % 2], 1);
        ASSERT_TRUE(txn.Commit().ok());
      },
      [&](int place) {
        bool found = false;
        Status st = store->ForEachIndexed(IndexKind::kEquality, "uid", keys[place], [&](EntryId) {
          found = true;
          return true;
        });
        return st.ok() ? std::optional<bool>(found) : std::nullopt;
      });
  EXPECT_EQ(race.stale, 0);
  EXPECT_GT(race.checked, 0);
}

TEST(StoreOpenTest, MissingStoreWithoutCreateFails) {
  TempDir dir;
  StoreOptions o = Options(dir.path());
  o.create_if_missing = false;
  auto store = Store::Open(o);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("no store"), std::string::npos);
}

TEST(StoreOpenTest, ForeignRocksDbIsRejected) {
  TempDir dir;
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir.path(), &db).ok());
    delete db;
  }
  auto store = Store::Open(Options(dir.path()));
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("not a SimpleAD store"), std::string::npos) << store.status().message();
}

TEST(StoreOpenTest, OtherFormatVersionIsRejected) {
  TempDir dir;
  {
    auto store = MustOpen(Options(dir.path()));
    auto txn = store->BeginWrite();
    txn.PutMeta(keys::kMetaFormatVersion, "999");
    ASSERT_TRUE(txn.Commit().ok());
  }
  auto store = Store::Open(Options(dir.path()));
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("format version '999'"), std::string::npos) << store.status().message();
}

TEST(StoreOpenTest, CorruptedStoreGivesAnError) {
  TempDir dir;
  { ASSERT_NE(MustOpen(Options(dir.path())), nullptr); }
  std::ofstream(dir.path() + "/CURRENT", std::ios::trunc) << "garbage\n";
  auto store = Store::Open(Options(dir.path()));
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("cannot open store"), std::string::npos);
}


// ---- Posting lists (format 2) ------------------------------------------------

// Entries with the given ids, so that reads know which chunks can exist.
void PutEntries(Store& store, const std::vector<EntryId>& ids) {
  auto txn = store.BeginWrite();
  for (EntryId id : ids) {
    std::string dn = "cn=e" + std::to_string(id) + ",dc=example,dc=com";
    txn.PutEntry(id, kNoEntry, Norm(dn), MakeEntry(dn, "e"));
  }
  ASSERT_TRUE(txn.Commit().ok());
}

std::vector<EntryId> IndexedIn(const Store& store, IndexKind kind, std::string_view attr, std::string_view key) {
  std::vector<EntryId> ids;
  EXPECT_TRUE(store
                  .ForEachIndexed(kind, attr, key,
                                  [&](EntryId id) {
                                    ids.push_back(id);
                                    return true;
                                  })
                  .ok());
  return ids;
}

TEST_F(StoreTest, IndexSpansChunksInIdOrder) {
  const std::vector<EntryId> ids = {1, 65535, 65536, 65537, 3 * 65536 + 5, 700000};
  PutEntries(*store_, ids);
  auto txn = store_->BeginWrite();
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) txn.AddIndexKey(IndexKind::kPresence, "cn", "", *it);
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(Indexed(IndexKind::kPresence, "cn", ""), ids);
  EXPECT_EQ(*store_->CountIndexed(IndexKind::kPresence, "cn", "", 100), ids.size());
  EXPECT_EQ(*store_->CountIndexed(IndexKind::kPresence, "cn", "", 3), 3u);

  txn = store_->BeginWrite();
  txn.RemoveIndexKey(IndexKind::kPresence, "cn", "", 65536);
  txn.RemoveIndexKey(IndexKind::kPresence, "cn", "", 3 * 65536 + 5);
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(Indexed(IndexKind::kPresence, "cn", ""), (std::vector<EntryId>{1, 65535, 65537, 700000}));
  EXPECT_EQ(*store_->CountIndexed(IndexKind::kPresence, "cn", "", 100), 4u);
}

TEST_F(StoreTest, ReadIndexedReturnsEachKeysListAcrossChunks) {
  // "ser": sparse ids in chunks 0 and 3 and a dense (bitmap) run in chunk 1;
  // chunk 2 holds no value for it. "xyz": other ids; "absent": none.
  std::vector<EntryId> ser = {3, 65535, 3 * 65536 + 9};
  for (EntryId id = 65536; id < 65536 + posting::kArrayMax + 100; ++id) ser.push_back(id);
  std::sort(ser.begin(), ser.end());
  const std::vector<EntryId> xyz = {4, 65535 + 65536 + 200, 2 * 65536 + 1, 3 * 65536 + 8};
  std::vector<EntryId> all = ser;
  all.insert(all.end(), xyz.begin(), xyz.end());
  PutEntries(*store_, all);
  auto txn = store_->BeginWrite();
  for (EntryId id : ser) txn.AddIndexKey(IndexKind::kSubstring, "cn", "ser", id);
  for (EntryId id : xyz) txn.AddIndexKey(IndexKind::kSubstring, "cn", "xyz", id);
  ASSERT_TRUE(txn.Commit().ok());

  std::vector<PostingList> lists;
  ASSERT_TRUE(store_->ReadIndexed(IndexKind::kSubstring, "cn", {"xyz", "absent", "ser"}, &lists).ok());
  ASSERT_EQ(lists.size(), 3u);
  EXPECT_EQ(lists[0].Count(), xyz.size());
  EXPECT_EQ(lists[1].Count(), 0u);
  EXPECT_EQ(lists[2].Count(), ser.size());
  std::vector<EntryId> ids;
  EXPECT_TRUE(lists[2].AppendTo(&ids, ser.size()));
  EXPECT_EQ(ids, ser);
  EXPECT_EQ(ids, IndexedIn(*store_, IndexKind::kSubstring, "cn", "ser"));
  ids.clear();
  EXPECT_FALSE(lists[2].AppendTo(&ids, 10));  // over the limit
  EXPECT_EQ(ids.size(), 10u);
  for (EntryId id : all) {
    EXPECT_EQ(lists[2].Contains(id), std::count(ser.begin(), ser.end(), id) == 1) << id;
    EXPECT_EQ(lists[0].Contains(id), std::count(xyz.begin(), xyz.end(), id) == 1) << id;
    EXPECT_EQ(lists[1].Contains(id), false) << id;
  }
  EXPECT_EQ(lists[2].Contains(2 * 65536 + 5), false);  // a chunk the key has no value in
}

TEST_F(StoreTest, ReadIndexedReadsKeyByKeyWhenManyChunksExist) {
  std::vector<EntryId> ids;
  for (EntryId c = 0; c < 300; c += 7) ids.push_back(c * 65536 + 7);
  PutEntries(*store_, ids);
  auto txn = store_->BeginWrite();
  for (EntryId id : ids) txn.AddIndexKey(IndexKind::kEquality, "uid", "x", id);
  ASSERT_TRUE(txn.Commit().ok());
  std::vector<PostingList> lists;
  ASSERT_TRUE(store_->ReadIndexed(IndexKind::kEquality, "uid", {"x", "y"}, &lists).ok());
  std::vector<EntryId> got;
  EXPECT_TRUE(lists[0].AppendTo(&got, 1000));
  EXPECT_EQ(got, ids);
  EXPECT_EQ(lists[1].Count(), 0u);
}

TEST_F(StoreTest, IndexReadsBatchTheirGetsWhenSeveralChunksExist) {
  // Ids up to 20 chunks: more than single point reads cover, fewer than the
  // iterator takes over at (ReadIndexedReadsKeyByKeyWhenManyChunksExist).
  std::vector<EntryId> ids;
  for (EntryId c = 0; c < 20; c += 3) ids.push_back(c * 65536 + 7);
  PutEntries(*store_, ids);
  auto txn = store_->BeginWrite();
  for (EntryId id : ids) txn.AddIndexKey(IndexKind::kEquality, "uid", "x", id);
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(Indexed(IndexKind::kEquality, "uid", "x"), ids);
  EXPECT_EQ(*store_->CountIndexed(IndexKind::kEquality, "uid", "x", 1000), ids.size());
}

TEST_F(StoreTest, PrefixScanVisitsKeysThenIdsAcrossChunks) {
  PutEntries(*store_, {2, 70000, 140000});
  auto txn = store_->BeginWrite();
  txn.AddIndexKey(IndexKind::kEquality, "sn", "abd", 2);
  txn.AddIndexKey(IndexKind::kEquality, "sn", "abc", 140000);
  txn.AddIndexKey(IndexKind::kEquality, "sn", "abc", 2);
  txn.AddIndexKey(IndexKind::kEquality, "sn", "abc", 70000);
  txn.AddIndexKey(IndexKind::kEquality, "sn", "b", 2);
  ASSERT_TRUE(txn.Commit().ok());
  std::vector<std::pair<std::string, EntryId>> seen;
  ASSERT_TRUE(store_
                  ->ForEachIndexedPrefix(IndexKind::kEquality, "sn", "ab",
                                         [&](std::string_view key, EntryId id) {
                                           seen.emplace_back(std::string(key), id);
                                           return true;
                                         })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, EntryId>>{
                      {"abc", 2}, {"abc", 70000}, {"abc", 140000}, {"abd", 2}}));
}

TEST_F(StoreTest, IndexMergesAcrossCommitsFlushesAndReopen) {
  std::vector<EntryId> ids;
  for (EntryId id = 1; id <= 300; ++id) ids.push_back(id * 500);  // 3 chunks
  PutEntries(*store_, ids);
  for (size_t round = 0; round < 3; ++round) {
    auto txn = store_->BeginWrite();
    for (size_t i = round; i < ids.size(); i += 3) txn.AddIndexKey(IndexKind::kSubstring, "cn", "abc", ids[i]);
    ASSERT_TRUE(txn.Commit().ok());
    if (round == 1) {
      ASSERT_TRUE(store_->Flush().ok());
    }
  }
  EXPECT_EQ(Indexed(IndexKind::kSubstring, "cn", "abc"), ids);
  auto txn = store_->BeginWrite();
  for (size_t i = 0; i < ids.size(); i += 2) txn.RemoveIndexKey(IndexKind::kSubstring, "cn", "abc", ids[i]);
  ASSERT_TRUE(txn.Commit().ok());
  std::vector<EntryId> odd;
  for (size_t i = 1; i < ids.size(); i += 2) odd.push_back(ids[i]);
  EXPECT_EQ(Indexed(IndexKind::kSubstring, "cn", "abc"), odd);
  store_.reset();
  store_ = MustOpen(Options(dir_.path()));
  EXPECT_EQ(Indexed(IndexKind::kSubstring, "cn", "abc"), odd);
  EXPECT_EQ(*store_->CountIndexed(IndexKind::kSubstring, "cn", "abc", 1000), odd.size());
}

TEST_F(StoreTest, ChunkEmptiedByRemovesIsAbsent) {
  PutEntries(*store_, {5, 6});
  auto txn = store_->BeginWrite();
  txn.AddIndexKey(IndexKind::kEquality, "cn", "gone", 5);
  txn.AddIndexKey(IndexKind::kEquality, "cn", "gone", 6);
  ASSERT_TRUE(txn.Commit().ok());
  ASSERT_TRUE(store_->Flush().ok());
  txn = store_->BeginWrite();
  txn.RemoveIndexKey(IndexKind::kEquality, "cn", "gone", 5);
  txn.RemoveIndexKey(IndexKind::kEquality, "cn", "gone", 6);
  ASSERT_TRUE(txn.Commit().ok());
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_TRUE(Indexed(IndexKind::kEquality, "cn", "gone").empty());
  EXPECT_EQ(*store_->CountIndexed(IndexKind::kEquality, "cn", "gone", 10), 0u);
  size_t visited = 0;
  ASSERT_TRUE(store_
                  ->ForEachIndexedPrefix(IndexKind::kEquality, "cn", "",
                                         [&](std::string_view, EntryId) {
                                           ++visited;
                                           return true;
                                         })
                  .ok());
  EXPECT_EQ(visited, 0u);
}

TEST_F(StoreTest, RemoveThenAddInOneTxnKeepsTheId) {
  PutEntries(*store_, {9});
  auto txn = store_->BeginWrite();
  txn.AddIndexKey(IndexKind::kEquality, "cn", "k", 9);
  ASSERT_TRUE(txn.Commit().ok());
  txn = store_->BeginWrite();
  txn.RemoveIndexKey(IndexKind::kEquality, "cn", "k", 9);
  txn.AddIndexKey(IndexKind::kEquality, "cn", "k", 9);
  txn.RemoveIndexKey(IndexKind::kEquality, "cn", "other", 9);  // absent: no-op
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(Indexed(IndexKind::kEquality, "cn", "k"), std::vector<EntryId>{9});
  EXPECT_TRUE(Indexed(IndexKind::kEquality, "cn", "other").empty());
}

TEST_F(StoreTest, DenseChunkBecomesABitmapAndShrinksBack) {
  std::vector<EntryId> ids;
  for (EntryId id = 1; id <= 5000; ++id) ids.push_back(id);
  PutEntries(*store_, ids);
  auto txn = store_->BeginWrite();
  for (EntryId id : ids) txn.AddIndexKey(IndexKind::kPresence, "objectclass", "", id);
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(*store_->CountIndexed(IndexKind::kPresence, "objectclass", "", 100000), 5000u);
  txn = store_->BeginWrite();
  for (EntryId id = 1; id <= 4990; ++id) txn.RemoveIndexKey(IndexKind::kPresence, "objectclass", "", id);
  ASSERT_TRUE(txn.Commit().ok());
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_EQ(Indexed(IndexKind::kPresence, "objectclass", "").size(), 10u);
  EXPECT_EQ(Indexed(IndexKind::kPresence, "objectclass", "").front(), 4991u);
}

TEST(StoreBulkLoadTest, LoadFlushesCompactsAndReopensNormally) {
  TempDir dir;
  std::vector<EntryId> ids;
  for (EntryId id = 1; id <= 3000; ++id) ids.push_back(id * 50);  // 3 chunks
  {
    StoreOptions o = Options(dir.path());
    o.bulk_load = true;
    auto store = MustOpen(o);
    ASSERT_NE(store, nullptr);
    for (size_t batch = 0; batch < ids.size(); batch += 500) {
      auto txn = store->BeginWrite();
      for (size_t i = batch; i < batch + 500; ++i) {
        std::string dn = "cn=u" + std::to_string(ids[i]) + ",dc=example,dc=com";
        txn.PutEntry(ids[i], kNoEntry, Norm(dn), MakeEntry(dn, "u"));
        txn.AddIndexKey(IndexKind::kPresence, "cn", "", ids[i]);
        txn.AddIndexKey(IndexKind::kEquality, "cn", "u" + std::to_string(i % 7), ids[i]);
      }
      ASSERT_TRUE(txn.Commit().ok());
      if (batch == 1000) {
        ASSERT_TRUE(store->Flush().ok());  // a load may flush midway too
      }
    }
    auto txn = store->BeginWrite();
    txn.RemoveIndexKey(IndexKind::kPresence, "cn", "", ids.front());
    ASSERT_TRUE(txn.Commit().ok());
    ASSERT_TRUE(store->Flush().ok());  // compacts the index
    EXPECT_EQ(*store->CountIndexed(IndexKind::kPresence, "cn", "", 100000), ids.size() - 1);
  }
  auto store = MustOpen(Options(dir.path()));
  ASSERT_NE(store, nullptr);
  std::vector<EntryId> want(ids.begin() + 1, ids.end());
  EXPECT_EQ(IndexedIn(*store, IndexKind::kPresence, "cn", ""), want);
  EXPECT_EQ(*store->CountIndexed(IndexKind::kEquality, "cn", "u3", 100000), (ids.size() - 3 + 6) / 7);
  EXPECT_TRUE(store->Get(ids.back())->has_value());
}

// CountIndexed reads one value per chunk: counting 40,000 postings must cost
// about what 40 do, where format 1 took one iterator step per id. Measured in
// RocksDB's key comparisons (its per-thread perf context), not in time, so the
// test means the same on a loaded machine.
TEST_F(StoreTest, CountCostsChunksNotPostings) {
  std::vector<EntryId> ids;
  for (EntryId id = 1; id <= 40000; ++id) ids.push_back(id);
  PutEntries(*store_, ids);
  auto txn = store_->BeginWrite();
  for (EntryId id : ids) txn.AddIndexKey(IndexKind::kSubstring, "cn", "big", id);
  for (EntryId id = 1; id <= 40; ++id) txn.AddIndexKey(IndexKind::kSubstring, "cn", "small", id);
  ASSERT_TRUE(txn.Commit().ok());
  ASSERT_TRUE(store_->Flush().ok());
  auto comparisons = [&](std::string_view key) {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
    rocksdb::get_perf_context()->Reset();
    auto count = store_->CountIndexed(IndexKind::kSubstring, "cn", key, 1000000);
    uint64_t n = rocksdb::get_perf_context()->user_key_comparison_count;
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    EXPECT_TRUE(count.ok());
    return n;
  };
  uint64_t big = comparisons("big");
  uint64_t small = comparisons("small");
  EXPECT_EQ(*store_->CountIndexed(IndexKind::kSubstring, "cn", "big", 1000000), 40000u);
  EXPECT_EQ(*store_->CountIndexed(IndexKind::kSubstring, "cn", "small", 1000000), 40u);
  // 1000x the postings, about the same comparisons (format 1: > 40,000).
  EXPECT_LE(big, small * 2 + 64) << "big " << big << ", small " << small;
  EXPECT_LT(big, 1000u);
}

// ---- Format 1 conversion ------------------------------------------------------

// A format-1 store made by hand: its six column families, one entry, the
// format-1 index (one empty-valued key per id) and version "1".
void MakeV1Store(const std::string& path, const std::vector<std::tuple<IndexKind, std::string, std::string, EntryId>>&
                                              postings,
                 bool with_stale_postings_cf = false) {
  rocksdb::DBOptions o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName, "entries", "dn2id", "children", "index",
                                    "changelog", "meta"};
  if (with_stale_postings_cf) names.push_back("postings");
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> h;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(o, path, cfs, &h, &db).ok());
  rocksdb::WriteBatch b;
  ASSERT_TRUE(b.Put(h[6], keys::kMetaFormatVersion, "1").ok());
  ASSERT_TRUE(b.Put(h[6], keys::kMetaNextId, "200001").ok());
  for (const auto& [kind, attr, key, id] : postings) {
    // Format 1's key had the id where format 2 has the chunk.
    ASSERT_TRUE(b.Put(h[4], keys::IndexKey(kind, attr, key, id), "").ok());
  }
  if (with_stale_postings_cf) {
    ASSERT_TRUE(b.Put(h[7], keys::IndexKey(IndexKind::kEquality, "cn", "junk", 0), "junk").ok());
  }
  ASSERT_TRUE(db->Write(rocksdb::WriteOptions(), &b).ok());
  for (auto* x : h) ASSERT_TRUE(db->DestroyColumnFamilyHandle(x).ok());
  delete db;
}

std::vector<std::tuple<IndexKind, std::string, std::string, EntryId>> V1Postings() {
  std::vector<std::tuple<IndexKind, std::string, std::string, EntryId>> p;
  for (EntryId id = 1; id <= 5000; ++id) p.emplace_back(IndexKind::kPresence, "objectclass", "", id * 40);  // dense
  p.emplace_back(IndexKind::kEquality, "cn", "alice", 3);
  p.emplace_back(IndexKind::kEquality, "cn", "alice", 70000);
  p.emplace_back(IndexKind::kEquality, "cn", "bob", 4);
  p.emplace_back(IndexKind::kSubstring, "cn", std::string("a\0b", 3), 200000);
  return p;
}

TEST(StoreFormatTest, Version1StoreIsConvertedOnOpen) {
  TempDir dir;
  MakeV1Store(dir.path(), V1Postings());
  {
    auto store = MustOpen(Options(dir.path()));
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(**store->GetMeta(keys::kMetaFormatVersion), "2");
    EXPECT_EQ(IndexedIn(*store, IndexKind::kEquality, "cn", "alice"), (std::vector<EntryId>{3, 70000}));
    EXPECT_EQ(IndexedIn(*store, IndexKind::kEquality, "cn", "bob"), (std::vector<EntryId>{4}));
    EXPECT_EQ(IndexedIn(*store, IndexKind::kSubstring, "cn", std::string("a\0b", 3)),
              (std::vector<EntryId>{200000}));
    EXPECT_EQ(*store->CountIndexed(IndexKind::kPresence, "objectclass", "", 100000), 5000u);
    auto ids = IndexedIn(*store, IndexKind::kPresence, "objectclass", "");
    ASSERT_EQ(ids.size(), 5000u);
    EXPECT_EQ(ids.front(), 40u);
    EXPECT_EQ(ids.back(), 200000u);
  }
  std::vector<std::string> cfs;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.path(), &cfs).ok());
  EXPECT_EQ(std::count(cfs.begin(), cfs.end(), "index"), 0);
  EXPECT_EQ(std::count(cfs.begin(), cfs.end(), "postings"), 1);
  auto again = MustOpen(Options(dir.path()));  // opens as format 2
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(IndexedIn(*again, IndexKind::kEquality, "cn", "alice"), (std::vector<EntryId>{3, 70000}));
}

TEST(StoreFormatTest, InterruptedConversionStartsOver) {
  TempDir dir;
  MakeV1Store(dir.path(), V1Postings(), /*with_stale_postings_cf=*/true);
  auto store = MustOpen(Options(dir.path()));
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(IndexedIn(*store, IndexKind::kEquality, "cn", "junk").empty());
  EXPECT_EQ(IndexedIn(*store, IndexKind::kEquality, "cn", "bob"), (std::vector<EntryId>{4}));
}

TEST(StoreFormatTest, Version1StoreOpensReadOnlyWithoutItsIndex) {
  TempDir dir;
  MakeV1Store(dir.path(), V1Postings());
  StoreOptions o = Options(dir.path());
  o.read_only = true;
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(**store->GetMeta(keys::kMetaFormatVersion), "1");
  Status st = store->ForEachIndexed(IndexKind::kEquality, "cn", "bob", [](EntryId) { return true; });
  EXPECT_EQ(st.code(), ResultCode::kUnavailable);
  EXPECT_NE(st.message().find("format 1"), std::string::npos) << st.message();
}

TEST(StoreFormatTest, NewerVersionIsRefusedAsNewer) {
  TempDir dir;
  {
    auto store = MustOpen(Options(dir.path()));
    auto txn = store->BeginWrite();
    txn.PutMeta(keys::kMetaFormatVersion, "3");
    ASSERT_TRUE(txn.Commit().ok());
  }
  auto store = Store::Open(Options(dir.path()));
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("newer than this build"), std::string::npos) << store.status().message();
}

}  // namespace
}  // namespace simplead::store
