// Group commit: WriteTxn::CommitDeferred, Store::WaitDurable and Store::WhenDurable.
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lib/store/store.h"
#include "tests/fakes/temp_dir.h"

namespace simplead::store {
namespace {

// Fails every sync of a WAL file (*.log) while fail_wal_syncs is set.
class WalSyncFaultFs : public rocksdb::FileSystemWrapper {
 public:
  WalSyncFaultFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "WalSyncFaultFs"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(name, options, file, dbg);
    if (s.ok() && name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0) {
      *file = std::make_unique<WalFile>(std::move(*file), this);
    }
    return s;
  }

  std::atomic<bool> fail_wal_syncs{false};

 private:
  class WalFile : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    WalFile(std::unique_ptr<rocksdb::FSWritableFile> file, WalSyncFaultFs* fs)
        : FSWritableFileOwnerWrapper(std::move(file)), fs_(fs) {}
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
      if (fs_->fail_wal_syncs) return rocksdb::IOStatus::IOError("injected WAL sync failure");
      return target()->Sync(options, dbg);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
      if (fs_->fail_wal_syncs) return rocksdb::IOStatus::IOError("injected WAL sync failure");
      return target()->Fsync(options, dbg);
    }

   private:
    WalSyncFaultFs* fs_;
  };
};

class GroupCommitTest : public ::testing::Test {
 protected:
  StoreOptions Options(bool sync_writes = true) {
    StoreOptions o;
    o.path = dir_.path() + "/db";
    o.sync_writes = sync_writes;
    o.block_cache_bytes = 1 << 20;
    o.entry_cache_entries = 100;
    o.env = env_.get();
    return o;
  }
  std::unique_ptr<Store> MustOpen(const StoreOptions& o) {
    auto store = Store::Open(o);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }
  // Keys 0 .. count-1 are all there once the store is opened again (the
  // store must be closed first).
  void ExpectKeysAfterReopen(int count) {
    auto reopened = MustOpen(Options());
    ASSERT_NE(reopened, nullptr);
    for (int i = 0; i < count; ++i) {
      auto value = reopened->GetMeta(Key(i));
      ASSERT_TRUE(value.ok());
      EXPECT_EQ(value->value_or(""), "v") << Key(i);
    }
  }
  // One meta key per write keeps the test about commits, not entries.
  static std::string Key(int i) { return "gc-test-" + std::to_string(i); }
  // `count` deferred commits of one key each, in order.
  static std::vector<CommitTicket> CommitDeferredKeys(Store& store, int count) {
    std::vector<CommitTicket> tickets;
    for (int i = 0; i < count; ++i) {
      auto txn = store.BeginWrite();
      txn.PutMeta(Key(i), "v");
      auto ticket = txn.CommitDeferred();
      EXPECT_TRUE(ticket.ok()) << ticket.status().ToString();
      tickets.push_back(ticket.ok() ? *ticket : CommitTicket{});
    }
    return tickets;
  }
  // The results WhenDurable hands its callbacks, in arrival order, and the
  // threads they ran on.
  struct Callbacks {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<Status> results;
    std::vector<std::thread::id> threads;
    std::function<void(Status)> Record() {
      return [this](Status st) {
        std::lock_guard lock(mu);
        results.push_back(std::move(st));
        threads.push_back(std::this_thread::get_id());
        cv.notify_all();
      };
    }
    // False if fewer than `count` arrived within ten seconds.
    bool WaitFor(size_t count) {
      std::unique_lock lock(mu);
      return cv.wait_for(lock, std::chrono::seconds(10), [&] { return results.size() >= count; });
    }
  };
  // Waits for every ticket at once, one thread each.
  static std::vector<Status> WaitConcurrently(Store& store, const std::vector<CommitTicket>& tickets) {
    std::vector<Status> results(tickets.size());
    std::vector<std::thread> waiters;
    for (size_t i = 0; i < tickets.size(); ++i) {
      waiters.emplace_back([&, i] { results[i] = store.WaitDurable(tickets[i]); });
    }
    for (auto& th : waiters) th.join();
    return results;
  }

  simplead::testing::TempDir dir_;
  std::shared_ptr<WalSyncFaultFs> fault_fs_ = std::make_shared<WalSyncFaultFs>();
  std::unique_ptr<rocksdb::Env> env_ = rocksdb::NewCompositeEnv(fault_fs_);
};

TEST_F(GroupCommitTest, ConcurrentCommittersSucceedAndTheirWritesSurviveReopen) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  {
    auto store = MustOpen(Options());
    ASSERT_NE(store, nullptr);
    std::mutex write_mu;  // writers are serialised by the caller, as the backend does
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          std::unique_lock lock(write_mu);
          auto txn = store->BeginWrite();
          txn.PutMeta(Key(t * kPerThread + i), "v");
          auto ticket = txn.CommitDeferred();
          lock.unlock();
          if (!ticket.ok() || !store->WaitDurable(*ticket).ok()) ++failures;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_LE(store->wal_sync_count(), static_cast<uint64_t>(kThreads * kPerThread));
  }
  ExpectKeysAfterReopen(kThreads * kPerThread);
}

TEST_F(GroupCommitTest, OneSyncCoversEveryWriteMadeBeforeIt) {
  constexpr int kCommits = 8;
  auto store = MustOpen(Options());
  ASSERT_NE(store, nullptr);
  std::vector<CommitTicket> tickets = CommitDeferredKeys(*store, kCommits);
  for (const CommitTicket& ticket : tickets) EXPECT_GT(ticket.sequence, 0u);
  // Whichever waiter leads syncs past every ticket; the rest share it.
  for (const Status& st : WaitConcurrently(*store, tickets)) EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(store->wal_sync_count(), 1u);
}

TEST_F(GroupCommitTest, SyncFailureReachesEveryWaiterAndRefusesLaterWrites) {
  constexpr int kCommits = 5;
  auto store = MustOpen(Options());
  ASSERT_NE(store, nullptr);
  std::vector<CommitTicket> tickets = CommitDeferredKeys(*store, kCommits);
  fault_fs_->fail_wal_syncs = true;
  for (const Status& st : WaitConcurrently(*store, tickets)) {
    EXPECT_EQ(st.code(), ResultCode::kUnavailable) << st.ToString();
  }
  EXPECT_EQ(store->wal_sync_count(), 1u);

  // Sticky: even once syncs would work again.
  fault_fs_->fail_wal_syncs = false;
  EXPECT_EQ(store->WaitDurable(tickets[0]).code(), ResultCode::kUnavailable);
  auto txn = store->BeginWrite();
  txn.PutMeta(Key(kCommits), "v");
  auto refused = txn.CommitDeferred();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ResultCode::kUnavailable);
  auto value = store->GetMeta(Key(kCommits));
  ASSERT_TRUE(value.ok());
  EXPECT_FALSE(value->has_value());
}

TEST_F(GroupCommitTest, WithoutSyncWritesNothingWaits) {
  auto store = MustOpen(Options(/*sync_writes=*/false));
  ASSERT_NE(store, nullptr);
  auto txn = store->BeginWrite();
  txn.PutMeta(Key(0), "v");
  auto ticket = txn.CommitDeferred();
  ASSERT_TRUE(ticket.ok());
  EXPECT_EQ(ticket->sequence, 0u);
  EXPECT_TRUE(store->WaitDurable(*ticket).ok());
  EXPECT_EQ(store->wal_sync_count(), 0u);
}

TEST_F(GroupCommitTest, EmptyTransactionNeedsNoSync) {
  auto store = MustOpen(Options());
  ASSERT_NE(store, nullptr);
  auto txn = store->BeginWrite();
  auto ticket = txn.CommitDeferred();
  ASSERT_TRUE(ticket.ok());
  EXPECT_EQ(ticket->sequence, 0u);
  EXPECT_TRUE(store->WaitDurable(*ticket).ok());
  EXPECT_EQ(store->wal_sync_count(), 0u);
}

TEST_F(GroupCommitTest, WhenDurableRunsEveryCallbackOffTheCallersThreadAfterOneSharedSync) {
  constexpr int kCommits = 8;
  auto store = MustOpen(Options());
  ASSERT_NE(store, nullptr);
  std::vector<CommitTicket> tickets = CommitDeferredKeys(*store, kCommits);
  Callbacks callbacks;
  for (const CommitTicket& ticket : tickets) store->WhenDurable(ticket, callbacks.Record());
  ASSERT_TRUE(callbacks.WaitFor(kCommits));
  for (const Status& st : callbacks.results) EXPECT_TRUE(st.ok()) << st.ToString();
  // The first callback at least waited for the sync, on the syncer thread.
  EXPECT_NE(callbacks.threads.front(), std::this_thread::get_id());
  EXPECT_EQ(store->wal_sync_count(), 1u);
}

TEST_F(GroupCommitTest, WhenDurableAnswersAtOnceWhatIsAlreadyKnown) {
  auto store = MustOpen(Options());
  ASSERT_NE(store, nullptr);
  Callbacks callbacks;
  store->WhenDurable(CommitTicket{}, callbacks.Record());  // nothing was written
  std::vector<CommitTicket> tickets = CommitDeferredKeys(*store, 1);
  ASSERT_TRUE(store->WaitDurable(tickets[0]).ok());
  store->WhenDurable(tickets[0], callbacks.Record());  // already synced
  ASSERT_EQ(callbacks.results.size(), 2u);             // both ran before WhenDurable returned
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(callbacks.results[i].ok());
    EXPECT_EQ(callbacks.threads[i], std::this_thread::get_id());
  }
  EXPECT_EQ(store->wal_sync_count(), 1u);
}

TEST_F(GroupCommitTest, WhenDurableHandsASyncFailureToEveryCallback) {
  constexpr int kCommits = 4;
  auto store = MustOpen(Options());
  ASSERT_NE(store, nullptr);
  std::vector<CommitTicket> tickets = CommitDeferredKeys(*store, kCommits);
  fault_fs_->fail_wal_syncs = true;
  Callbacks callbacks;
  for (const CommitTicket& ticket : tickets) store->WhenDurable(ticket, callbacks.Record());
  ASSERT_TRUE(callbacks.WaitFor(kCommits));
  for (const Status& st : callbacks.results) EXPECT_EQ(st.code(), ResultCode::kUnavailable) << st.ToString();
  // Sticky, as for WaitDurable: answered at once from now on.
  fault_fs_->fail_wal_syncs = false;
  const uint64_t syncs = store->wal_sync_count();
  store->WhenDurable(tickets[0], callbacks.Record());
  ASSERT_EQ(callbacks.results.size(), static_cast<size_t>(kCommits + 1));
  EXPECT_EQ(callbacks.results.back().code(), ResultCode::kUnavailable);
  EXPECT_EQ(store->wal_sync_count(), syncs);
}

TEST_F(GroupCommitTest, ClosingTheStoreRunsEveryPendingCallbackAndKeepsTheirWrites) {
  constexpr int kCommits = 50;
  Callbacks callbacks;
  {
    auto store = MustOpen(Options());
    ASSERT_NE(store, nullptr);
    for (const CommitTicket& ticket : CommitDeferredKeys(*store, kCommits)) {
      store->WhenDurable(ticket, callbacks.Record());
    }
  }  // closed at once, callbacks possibly still queued
  ASSERT_EQ(callbacks.results.size(), static_cast<size_t>(kCommits));
  for (const Status& st : callbacks.results) EXPECT_TRUE(st.ok()) << st.ToString();
  ExpectKeysAfterReopen(kCommits);
}

TEST_F(GroupCommitTest, ConcurrentWritersThatNeverWaitAllHearOfDurableWrites) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100;
  auto store = MustOpen(Options());
  ASSERT_NE(store, nullptr);
  std::mutex write_mu;  // writers are serialised by the caller, as the backend does
  Callbacks callbacks;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::unique_lock lock(write_mu);
        auto txn = store->BeginWrite();
        txn.PutMeta(Key(t * kPerThread + i), "v");
        auto ticket = txn.CommitDeferred();
        lock.unlock();
        ASSERT_TRUE(ticket.ok());
        store->WhenDurable(*ticket, callbacks.Record());
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(callbacks.WaitFor(kThreads * kPerThread));
  for (const Status& st : callbacks.results) EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_GE(store->wal_sync_count(), 1u);
  EXPECT_LE(store->wal_sync_count(), static_cast<uint64_t>(kThreads * kPerThread));
  store.reset();
  ExpectKeysAfterReopen(kThreads * kPerThread);
}

}  // namespace
}  // namespace simplead::store
