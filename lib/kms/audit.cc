#include "lib/kms/audit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "lib/kms/crypto.h"
#include "lib/kms/key_store.h"

namespace simplead::kms {
namespace {

using nlohmann::json;

Status Errno(const std::string& what) { return InternalError(what + ": " + std::strerror(errno)); }

// The hash a line carries about itself: over its JSON without lineSha256.
std::string SelfHash(json obj) {
  obj.erase("lineSha256");
  return Sha256Hex(obj.dump());
}

// Reads the last complete line of the file (without its newline), or "" for
// an empty file. Reads backwards in chunks so large trails open quickly.
Result<std::string> ReadLastLine(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Errno("stat audit file");
  off_t size = st.st_size;
  if (size == 0) return std::string();
  std::string tail;
  off_t pos = size;
  constexpr off_t kChunk = 4096;
  for (;;) {
    off_t start = pos > kChunk ? pos - kChunk : 0;
    std::string chunk(static_cast<size_t>(pos - start), '\0');
    if (::pread(fd, chunk.data(), chunk.size(), start) != static_cast<ssize_t>(chunk.size())) {
      return Errno("read audit file");
    }
    tail = chunk + tail;
    pos = start;
    if (tail.back() != '\n') return InternalError("audit file ends with a torn line; run `audit verify`");
    size_t nl = tail.rfind('\n', tail.size() - 2);
    if (nl != std::string::npos) return tail.substr(nl + 1, tail.size() - nl - 2);
    if (pos == 0) return tail.substr(0, tail.size() - 1);
  }
}

}  // namespace

struct AuditTrail::Pending {
  uint64_t previous_sequence = 0;
  std::string previous_hash;
  off_t offset_before = -1;
  bool buffered = false;  // no caller waits for it
  bool done = false;
  Status status;
};

Result<std::unique_ptr<AuditTrail>> AuditTrail::Open(const std::string& path, const Clock& clock,
                                                    std::chrono::milliseconds buffered_sync_delay) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("open audit file " + path);
  auto last = ReadLastLine(fd);
  ::close(fd);
  if (!last.ok()) return last.status();
  std::unique_ptr<AuditTrail> trail(new AuditTrail(path, clock, buffered_sync_delay));
  if (last->empty()) {
    trail->last_line_hash_ = kGenesisHash;
    return trail;
  }
  json obj = json::parse(*last, nullptr, false);
  if (obj.is_discarded() || !obj.is_object() || !obj.contains("sequenceNumber") ||
      !obj["sequenceNumber"].is_number_unsigned()) {
    return InternalError("the last line of " + path + " is not an audit record; run `audit verify`");
  }
  trail->last_sequence_ = obj["sequenceNumber"].get<uint64_t>();
  trail->last_line_hash_ = Sha256Hex(*last);
  return trail;
}

Result<std::string> AuditTrail::Append(const AuditEvent& e) {
  json line = BuildLine(e);  // outside the lock: appends serialise only on chaining and writing
  std::unique_lock lock(mu_);
  std::shared_ptr<Pending> me;
  SIMPLEAD_ASSIGN_OR_RETURN(std::string event_id, WriteLine(std::move(line), lock, &me));
  while (!me->done) {
    if (!syncing_) {
      SyncPending(lock);
    } else {
      synced_.wait(lock);
    }
  }
  if (!me->status.ok()) return me->status;
  return event_id;
}

Result<std::string> AuditTrail::AppendBuffered(const AuditEvent& e) {
  json line = BuildLine(e);
  std::unique_lock lock(mu_);
  std::shared_ptr<Pending> me;
  SIMPLEAD_ASSIGN_OR_RETURN(std::string event_id, WriteLine(std::move(line), lock, &me));
  me->buffered = true;
  if (!syncer_.joinable()) syncer_ = std::thread([this] { SyncBufferedLines(); });
  // Only an idle syncer needs waking; one already gathering a batch will
  // take this line too.
  if (++buffered_pending_ == 1) buffered_written_.notify_one();
  if (!buffered_failure_.ok()) {
    // This line is written; the caller hears about the lines that were lost.
    Status failure = std::move(buffered_failure_);
    buffered_failure_ = Status::Ok();
    return failure;
  }
  return event_id;
}

size_t AuditTrail::BufferedUnsynced() {
  std::lock_guard lock(mu_);
  return buffered_pending_;
}

void AuditTrail::SyncBufferedLines() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    buffered_written_.wait(lock, [&] { return stopping_ || buffered_pending_ > 0; });
    // Let more lines join this sync, up to the promised delay.
    buffered_written_.wait_for(lock, buffered_sync_delay_, [&] { return stopping_; });
    while (syncing_) synced_.wait(lock);
    SyncPending(lock);
  }
}

json AuditTrail::BuildLine(const AuditEvent& e) const {
  json resources = json::array();
  for (const auto& [arn, type] : e.resources) resources.push_back({{"ARN", arn}, {"type", type}});
  json line = {
      {"eventVersion", "1.08"},
      {"eventTime", Iso8601(clock_.Now())},
      {"eventSource", e.event_source},
      {"eventName", e.event_name},
      {"eventType", "AwsApiCall"},
      {"userIdentity",
       {{"type", e.user_identity.type},
        {"principalId", e.user_identity.principal_id},
        {"arn", e.user_identity.arn},
        {"userName", e.user_identity.user_name}}},
      {"sourceIPAddress", e.source_ip},
      {"userAgent", e.user_agent},
      {"requestParameters", e.request_parameters},
      {"responseElements", e.response_elements},
      {"readOnly", e.read_only},
      {"resources", std::move(resources)},
  };
  if (!e.request_id.empty()) line["requestID"] = e.request_id;
  if (!e.additional_event_data.is_null()) line["additionalEventData"] = e.additional_event_data;
  if (!e.error_code.empty()) {
    line["errorCode"] = e.error_code;
    line["errorMessage"] = e.error_message;
  }
  return line;
}

Result<std::string> AuditTrail::WriteLine(json line, std::unique_lock<std::mutex>& lock,
                                          std::shared_ptr<Pending>* pending) {
  std::string event_id = uuids_.Next();
  line["eventID"] = event_id;
  if (!line.contains("requestID")) line["requestID"] = uuids_.Next();
  // The descriptor of the last line is reused while the path still names
  // its file (a stat per line instead of an open and a close); a trail
  // replaced, moved or made a link elsewhere is reopened at once, so the
  // line goes where the path points.
  struct stat st {};
  int fd = -1;
  const bool reused = sync_fd_ >= 0 && ::stat(path_.c_str(), &st) == 0 &&
                      static_cast<uint64_t>(st.st_ino) == sync_inode_ && static_cast<uint64_t>(st.st_dev) == sync_dev_;
  bool have_stat = reused;
  if (reused) {
    fd = sync_fd_;
  } else {
    fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Errno("audit trail " + path_ + " is not writable");
    have_stat = ::fstat(fd, &st) == 0;
  }
  uint64_t inode = have_stat ? static_cast<uint64_t>(st.st_ino) : 0;
  uint64_t device = have_stat ? static_cast<uint64_t>(st.st_dev) : 0;
  if (!reused && sync_fd_ >= 0 && !pending_.empty()) {
    // The trail was replaced under us: make the old file's lines durable
    // (or cut them off) before chaining onto them in the new one.
    while (syncing_) synced_.wait(lock);
    SyncPending(lock);
  }
  line["sequenceNumber"] = last_sequence_ + 1;
  line["previousLineSha256"] = last_line_hash_;
  // The line without lineSha256 is what that field hashes (SelfHash); the
  // field goes last, so one serialisation serves both.
  std::string text = line.dump();
  const std::string self_hash = Sha256Hex(text);
  text.pop_back();  // the object's closing brace
  text += ",\"lineSha256\":\"" + self_hash + "\"}";
  // Size now (a sync above released the lock): where a failed write rolls
  // back to. Only this trail appends, under mu_, so a reused file's stat holds.
  if (!reused) have_stat = have_stat && ::fstat(fd, &st) == 0;
  off_t before = have_stat ? st.st_size : -1;
  std::string data = text + "\n";
  std::string_view rest = data;
  Status st_write;
  while (!rest.empty()) {
    ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      st_write = Errno("audit trail " + path_ + " write failed");
      break;
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (!st_write.ok()) {
    if (before >= 0 && S_ISREG(st.st_mode) && ::ftruncate(fd, before) != 0) {  // leave no torn line behind
      st_write = Errno("audit trail " + path_ + " write failed and could not be rolled back");
    }
    if (!reused) ::close(fd);
    return st_write;
  }
  auto me = std::make_shared<Pending>();
  me->previous_sequence = last_sequence_;
  me->previous_hash = last_line_hash_;
  me->offset_before = before;
  ++last_sequence_;
  last_line_hash_ = Sha256Hex(text);
  if (!reused) {
    if (sync_fd_ >= 0) ::close(sync_fd_);
    sync_fd_ = fd;
    sync_inode_ = inode;
    sync_dev_ = device;
  }
  pending_.push_back(me);
  *pending = std::move(me);
  return event_id;
}

void AuditTrail::SyncPending(std::unique_lock<std::mutex>& lock) {
  if (pending_.empty()) return;
  syncing_ = true;
  size_t batch = pending_.size();
  int fd = ::dup(sync_fd_);
  lock.unlock();
  bool ok = fd >= 0 && ::fdatasync(fd) == 0;
  Status failure = ok ? Status::Ok() : Errno("audit trail " + path_ + " fsync failed");
  if (fd >= 0) ::close(fd);
  lock.lock();
  syncing_ = false;
  if (ok) {
    for (size_t i = 0; i < batch; ++i) {
      if (pending_.front()->buffered) --buffered_pending_;
      pending_.front()->done = true;
      pending_.pop_front();
    }
  } else {
    // Nothing from the first unsynced line on is known durable, and every
    // later line chains on it: cut them all off and resume the chain there.
    const std::shared_ptr<Pending>& first = pending_.front();
    if (first->offset_before < 0 || ::ftruncate(sync_fd_, first->offset_before) != 0) {
      failure = InternalError("audit trail " + path_ + " fsync failed and could not be rolled back");
    }
    last_sequence_ = first->previous_sequence;
    last_line_hash_ = first->previous_hash;
    size_t buffered_lost = buffered_pending_;
    for (const auto& p : pending_) {
      p->status = failure;
      p->done = true;
    }
    pending_.clear();
    buffered_pending_ = 0;
    if (buffered_lost > 0) {
      buffered_failure_ = Status(failure.code(), failure.message() + "; " + std::to_string(buffered_lost) +
                                                     " buffered line(s) were cut off");
    }
  }
  synced_.notify_all();
}

AuditTrail::~AuditTrail() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  buffered_written_.notify_all();
  if (syncer_.joinable()) syncer_.join();  // its last round syncs what is left
  if (sync_fd_ >= 0) ::close(sync_fd_);
}

Result<AuditVerification> VerifyAuditFile(const std::string& path) {
  SIMPLEAD_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  std::vector<std::string_view> lines;
  std::string_view rest = text;
  AuditVerification v;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) {
      lines.push_back(rest);
      v.lines = lines.size();
      v.intact = false;
      v.bad_line = lines.size();
      v.reason = "line " + std::to_string(v.bad_line) + " is torn (no newline at the end of the file)";
      return v;
    }
    lines.push_back(rest.substr(0, nl));
    rest.remove_prefix(nl + 1);
  }
  v.lines = lines.size();
  std::vector<json> objs;
  std::set<uint64_t> later_seqs;
  auto fail = [&](size_t line, std::string why) {
    v.intact = false;
    v.bad_line = line;
    v.reason = "line " + std::to_string(line) + " " + why;
    return v;
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    json obj = json::parse(lines[i], nullptr, false);
    if (obj.is_discarded() || !obj.is_object()) return fail(i + 1, "was edited: it is not valid JSON");
    objs.push_back(std::move(obj));
  }
  for (const auto& o : objs) {
    if (o.contains("sequenceNumber") && o["sequenceNumber"].is_number_unsigned()) {
      later_seqs.insert(o["sequenceNumber"].get<uint64_t>());
    }
  }
  for (size_t i = 0; i < objs.size(); ++i) {
    const json& o = objs[i];
    size_t n = i + 1;
    if (!o.contains("lineSha256") || !o["lineSha256"].is_string() || !o.contains("previousLineSha256") ||
        !o.contains("sequenceNumber") || !o["sequenceNumber"].is_number_unsigned()) {
      return fail(n, "was edited: chain fields are missing");
    }
    if (o["lineSha256"].get<std::string>() != SelfHash(o)) {
      return fail(n, "was edited: its content does not match its lineSha256");
    }
    uint64_t seq = o["sequenceNumber"].get<uint64_t>();
    uint64_t expected = i + 1;
    if (seq != expected) {
      bool expected_appears_later = false;
      for (size_t j = i + 1; j < objs.size(); ++j) {
        if (objs[j]["sequenceNumber"] == expected) expected_appears_later = true;
      }
      if (expected_appears_later || seq < expected) {
        return fail(n, "is out of order: it holds record " + std::to_string(seq) + " where record " +
                           std::to_string(expected) + " belongs");
      }
      return fail(n, "follows a removed line: record " + std::to_string(expected) + " is missing (found record " +
                         std::to_string(seq) + ")");
    }
    std::string want_prev = i == 0 ? std::string(kGenesisHash) : Sha256Hex(lines[i - 1]);
    if (o["previousLineSha256"] != want_prev) {
      if (i == 0) return fail(n, "does not start the chain (previousLineSha256 is not the genesis value)");
      return fail(i, "was edited: the next line's previousLineSha256 does not match it");
    }
  }
  return v;
}

}  // namespace simplead::kms
