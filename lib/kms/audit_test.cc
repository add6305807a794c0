#include "lib/kms/audit.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>
#include <sstream>

#include "lib/kms/kms_test_util.h"

namespace simplead::kms {
namespace {

using testing::TempDir;

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& l : lines) out << l << "\n";
}

class AuditTrailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/audit.log";
    auto trail = AuditTrail::Open(path_, clock_);
    ASSERT_TRUE(trail.ok());
    for (int i = 1; i <= 5; ++i) {
      AuditEvent e;
      e.event_source = "ldap";
      e.event_name = "Bind";
      e.user_identity.user_name = "user" + std::to_string(i);
      e.request_parameters = {{"dn", "cn=user" + std::to_string(i)}};
      ASSERT_TRUE((*trail)->Append(e).ok());
    }
  }
  // The trail verifies and holds `lines` lines.
  void ExpectIntactChainOf(size_t lines) {
    auto v = VerifyAuditFile(path_);
    ASSERT_TRUE(v.ok());
    EXPECT_TRUE(v->intact) << v->reason;
    EXPECT_EQ(v->lines, lines);
  }

  TempDir dir_;
  FakeClock clock_;
  std::string path_;
};

TEST_F(AuditTrailTest, LinesCarryCloudTrailFieldsAndChain) {
  auto lines = ReadLines(path_);
  ASSERT_EQ(lines.size(), 5u);
  auto first = nlohmann::json::parse(lines[0]);
  for (const char* f : {"eventVersion", "eventTime", "eventSource", "eventName", "userIdentity", "sourceIPAddress",
                        "userAgent", "requestParameters", "responseElements", "requestID", "eventID", "readOnly",
                        "resources", "sequenceNumber", "previousLineSha256", "lineSha256"}) {
    EXPECT_TRUE(first.contains(f)) << f;
  }
  EXPECT_EQ(first["previousLineSha256"], kGenesisHash);
  EXPECT_EQ(nlohmann::json::parse(lines[1])["previousLineSha256"], Sha256Hex(lines[0]));
}

TEST_F(AuditTrailTest, IntactFileVerifies) {
  ExpectIntactChainOf(5u);
}

TEST_F(AuditTrailTest, ReopenedTrailContinuesTheChain) {
  auto trail = AuditTrail::Open(path_, clock_);
  ASSERT_TRUE(trail.ok());
  AuditEvent e;
  e.event_source = "ldap";
  e.event_name = "Modify";
  ASSERT_TRUE((*trail)->Append(e).ok());
  auto v = VerifyAuditFile(path_);
  EXPECT_TRUE(v->intact) << v->reason;
  EXPECT_EQ(v->lines, 6u);
}

TEST_F(AuditTrailTest, EditedLineIsNamed) {
  auto lines = ReadLines(path_);
  size_t pos = lines[2].find("user3");
  lines[2].replace(pos, 5, "userX");
  WriteLines(path_, lines);
  auto v = VerifyAuditFile(path_);
  EXPECT_FALSE(v->intact);
  EXPECT_EQ(v->bad_line, 3u);
  EXPECT_NE(v->reason.find("edited"), std::string::npos) << v->reason;
}

TEST_F(AuditTrailTest, EditWithRecomputedSelfHashIsCaughtByTheNextLine) {
  auto lines = ReadLines(path_);
  auto obj = nlohmann::json::parse(lines[1]);
  obj["userIdentity"]["userName"] = "someone-else";
  obj.erase("lineSha256");
  obj["lineSha256"] = Sha256Hex(obj.dump());
  lines[1] = obj.dump();
  WriteLines(path_, lines);
  auto v = VerifyAuditFile(path_);
  EXPECT_FALSE(v->intact);
  EXPECT_EQ(v->bad_line, 2u) << v->reason;
}

TEST_F(AuditTrailTest, RemovedLineIsNamed) {
  auto lines = ReadLines(path_);
  lines.erase(lines.begin() + 3);
  WriteLines(path_, lines);
  auto v = VerifyAuditFile(path_);
  EXPECT_FALSE(v->intact);
  EXPECT_EQ(v->bad_line, 4u);
  EXPECT_NE(v->reason.find("removed"), std::string::npos) << v->reason;
}

TEST_F(AuditTrailTest, SwappedLinesAreNamed) {
  auto lines = ReadLines(path_);
  std::swap(lines[1], lines[2]);
  WriteLines(path_, lines);
  auto v = VerifyAuditFile(path_);
  EXPECT_FALSE(v->intact);
  EXPECT_EQ(v->bad_line, 2u);
  EXPECT_NE(v->reason.find("out of order"), std::string::npos) << v->reason;
}

TEST_F(AuditTrailTest, UnwritableTrailFailsTheAppend) {
  auto trail = AuditTrail::Open(path_, clock_);
  ASSERT_TRUE(trail.ok());
  // Root ignores file modes, so make the write itself fail.
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  ASSERT_EQ(::symlink("/dev/full", path_.c_str()), 0);
  AuditEvent e;
  e.event_source = "ldap";
  e.event_name = "Bind";
  EXPECT_FALSE((*trail)->Append(e).ok());
}

TEST_F(AuditTrailTest, ARotatedTrailGoesOnInANewFileAtItsPath) {
  auto trail = AuditTrail::Open(path_, clock_, std::chrono::milliseconds(1));
  ASSERT_TRUE(trail.ok());
  AuditEvent e;
  e.event_source = "ldap";
  e.event_name = "Bind";
  ASSERT_TRUE((*trail)->AppendBuffered(e).ok());  // the trail's descriptor is open on the old file
  std::string rotated = path_ + ".1";
  ASSERT_EQ(::rename(path_.c_str(), rotated.c_str()), 0);
  ASSERT_TRUE((*trail)->AppendBuffered(e).ok());
  ASSERT_TRUE((*trail)->Append(e).ok());
  auto old_lines = ReadLines(rotated);
  auto new_lines = ReadLines(path_);
  ASSERT_EQ(old_lines.size(), 6u);
  ASSERT_EQ(new_lines.size(), 2u);
  // The chain runs on across the two files.
  auto first = nlohmann::json::parse(new_lines[0]);
  EXPECT_EQ(first["sequenceNumber"], 7);
  EXPECT_EQ(first["previousLineSha256"], Sha256Hex(old_lines.back()));
  EXPECT_EQ(nlohmann::json::parse(new_lines[1])["previousLineSha256"], Sha256Hex(new_lines[0]));
}

TEST_F(AuditTrailTest, ConcurrentAppendsShareSyncsAndKeepTheChain) {
  auto trail = AuditTrail::Open(path_, clock_);
  ASSERT_TRUE(trail.ok());
  constexpr int kThreads = 8, kPerThread = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        AuditEvent e;
        e.event_source = "ldap";
        e.event_name = "Modify";
        e.request_parameters = {{"thread", t}, {"i", i}};
        if (!(*trail)->Append(e).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  ExpectIntactChainOf(5u + kThreads * kPerThread);
}

TEST_F(AuditTrailTest, FailedAppendLeavesTheChainResumable) {
  auto trail = AuditTrail::Open(path_, clock_);
  ASSERT_TRUE(trail.ok());
  std::string saved = path_ + ".saved";
  ASSERT_EQ(::rename(path_.c_str(), saved.c_str()), 0);
  ASSERT_EQ(::symlink("/dev/full", path_.c_str()), 0);
  AuditEvent e;
  e.event_source = "ldap";
  e.event_name = "Bind";
  EXPECT_FALSE((*trail)->Append(e).ok());
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  ASSERT_EQ(::rename(saved.c_str(), path_.c_str()), 0);
  EXPECT_TRUE((*trail)->Append(e).ok());
  ExpectIntactChainOf(6u);
}

AuditEvent DirectoryEvent(const std::string& name, int i) {
  AuditEvent e;
  e.event_source = "ldap";
  e.event_name = name;
  e.request_parameters = {{"dn", "cn=user" + std::to_string(i)}};
  return e;
}

TEST_F(AuditTrailTest, BufferedLinesAreWrittenBeforeAppendReturnsAndSyncedInTheBackground) {
  auto trail = AuditTrail::Open(path_, clock_, std::chrono::milliseconds(1));
  ASSERT_TRUE(trail.ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*trail)->AppendBuffered(DirectoryEvent("Modify", i)).ok());
  auto lines = ReadLines(path_);
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(nlohmann::json::parse(lines[7])["requestParameters"]["dn"], "cn=user2");
  // No further append: the background sync alone must make them durable.
  bool synced = false;
  for (int i = 0; i < 10'000 && !synced; ++i) {
    synced = (*trail)->BufferedUnsynced() == 0;
    if (!synced) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(synced);
  auto v = VerifyAuditFile(path_);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact) << v->reason;
}

TEST_F(AuditTrailTest, ClosingTheTrailSyncsBufferedLinesWithoutWaitingForTheDelay) {
  {
    auto trail = AuditTrail::Open(path_, clock_, std::chrono::hours(1));
    ASSERT_TRUE(trail.ok());
    ASSERT_TRUE((*trail)->AppendBuffered(DirectoryEvent("Add", 1)).ok());
    EXPECT_EQ((*trail)->BufferedUnsynced(), 1u);
    // A synchronous append syncs every line before it, buffered ones too.
    ASSERT_TRUE((*trail)->Append(DirectoryEvent("Bind", 2)).ok());
    EXPECT_EQ((*trail)->BufferedUnsynced(), 0u);
    ASSERT_TRUE((*trail)->AppendBuffered(DirectoryEvent("Delete", 3)).ok());
  }  // would hang for an hour if closing waited for the delay
  auto reopened = AuditTrail::Open(path_, clock_);
  ASSERT_TRUE(reopened.ok());
  ASSERT_TRUE((*reopened)->Append(DirectoryEvent("Bind", 4)).ok());
  ExpectIntactChainOf(9u);
}

TEST_F(AuditTrailTest, BufferedAppendToAnUnwritableTrailFailsAndKeepsTheChain) {
  auto trail = AuditTrail::Open(path_, clock_, std::chrono::milliseconds(1));
  ASSERT_TRUE(trail.ok());
  std::string saved = path_ + ".saved";
  ASSERT_EQ(::rename(path_.c_str(), saved.c_str()), 0);
  ASSERT_EQ(::symlink("/dev/full", path_.c_str()), 0);
  EXPECT_FALSE((*trail)->AppendBuffered(DirectoryEvent("Modify", 1)).ok());
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  ASSERT_EQ(::rename(saved.c_str(), path_.c_str()), 0);
  EXPECT_TRUE((*trail)->AppendBuffered(DirectoryEvent("Modify", 2)).ok());
  ExpectIntactChainOf(6u);
}

TEST_F(AuditTrailTest, MixedConcurrentAppendsKeepTheChain) {
  auto trail = AuditTrail::Open(path_, clock_, std::chrono::milliseconds(1));
  ASSERT_TRUE(trail.ok());
  constexpr int kThreads = 8, kPerThread = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        AuditEvent e = DirectoryEvent("Modify", t * kPerThread + i);
        bool ok = (t + i) % 3 == 0 ? (*trail)->Append(e).ok() : (*trail)->AppendBuffered(e).ok();
        if (!ok) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  ExpectIntactChainOf(5u + kThreads * kPerThread);
}

TEST(AuditTrailOpenTest, RefusesATornLastLine) {
  TempDir dir;
  std::string path = dir.path() + "/audit.log";
  std::ofstream(path) << "{\"sequenceNumber\":1}";
  FakeClock clock;
  EXPECT_FALSE(AuditTrail::Open(path, clock).ok());
}

}  // namespace
}  // namespace simplead::kms
