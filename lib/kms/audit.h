// AuditTrail: an append-only file of JSON lines with CloudTrail's field names
// (eventVersion, eventTime, eventSource, eventName, userIdentity,
// sourceIPAddress, userAgent, requestParameters, responseElements, errorCode,
// errorMessage, requestID, eventID, readOnly, resources) chained by SHA-256:
// every line carries sequenceNumber, previousLineSha256 (of the raw bytes of
// the line before; 64 zeros for the first) and lineSha256 (of the line's own
// JSON without that field). Append() returns only once the line is durable
// (fdatasync); when it fails the caller must fail the operation (fail closed).
// Concurrent appends share one fdatasync (group commit): each writes its line
// in chain order, then the first to find no sync running syncs every line
// written so far for all of them. If that sync fails, every unsynced line is
// cut off the file and the chain resumes from the last durable one; their
// appends all fail.
// AppendBuffered() is the relaxed form for events whose operation has already
// happened and cannot be failed by the trail (the directory's writes and
// binds): the line is written in chain order before it returns and made
// durable by a background sync within `buffered_sync_delay` (or earlier, by
// the next Append's sync), so a directory write pays one fsync (its own
// commit), not two. A failed background sync cuts its lines off like any
// other and the next AppendBuffered returns that failure.
// Used by the KMS (eventSource "kms.simplead") and by the LDAP server for its
// security events (eventSource "ldap"). Never put a secret in an event.
// AuditTrail is safe for concurrent use.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "lib/base/clock.h"
#include "lib/base/status.h"
#include "lib/kms/crypto.h"

namespace simplead::kms {

struct AuditIdentity {
  std::string type = "SimpleADUser";  // CloudTrail's userIdentity.type
  std::string principal_id;
  std::string arn;
  std::string user_name;
};

struct AuditEvent {
  std::string event_source;  // "kms.simplead" or "ldap"
  std::string event_name;    // "Encrypt", "Bind", ...
  AuditIdentity user_identity;
  std::string source_ip;
  std::string user_agent;
  nlohmann::json request_parameters = nlohmann::json::object();
  nlohmann::json response_elements = nullptr;
  nlohmann::json additional_event_data = nullptr;
  std::string error_code;     // empty on success
  std::string error_message;  // empty on success
  std::string request_id;     // generated when empty
  bool read_only = false;
  std::vector<std::pair<std::string, std::string>> resources;  // {ARN, type}
};

class AuditTrail {
 public:
  // Opens (creating, mode 0600) the trail and resumes its chain from the
  // last line. Fails if the last line is torn or not part of a chain.
  // `buffered_sync_delay` bounds how long a buffered line may stay unsynced.
  static Result<std::unique_ptr<AuditTrail>> Open(
      const std::string& path, const Clock& clock,
      std::chrono::milliseconds buffered_sync_delay = std::chrono::milliseconds(50));

  // Appends one line and fsyncs it. Returns the eventID on success.
  Result<std::string> Append(const AuditEvent& event);
  // Appends one line and returns once it is written; a background sync
  // makes it durable within buffered_sync_delay. Fails if the line cannot be
  // written, or (having written it) once after a background sync failed and
  // its lines were cut off.
  Result<std::string> AppendBuffered(const AuditEvent& event);
  // Buffered lines written but not yet synced.
  size_t BufferedUnsynced();

  const std::string& path() const { return path_; }

  ~AuditTrail();
  AuditTrail(const AuditTrail&) = delete;
  AuditTrail& operator=(const AuditTrail&) = delete;

 private:
  struct Pending;  // an append whose line is written but not yet durable

  AuditTrail(std::string path, const Clock& clock, std::chrono::milliseconds buffered_sync_delay)
      : path_(std::move(path)), clock_(clock), buffered_sync_delay_(buffered_sync_delay) {}
  // The event's fields, without the ids and the chain.
  nlohmann::json BuildLine(const AuditEvent& event) const;
  // Adds the ids and the chain to `line` and writes it; on success the line
  // is pending (in pending_) and its eventID is returned. Requires mu_ (held
  // by `lock`).
  Result<std::string> WriteLine(nlohmann::json line, std::unique_lock<std::mutex>& lock,
                                std::shared_ptr<Pending>* pending);
  // Requires mu_ (held by `lock`): syncs every line written so far, or cuts
  // them all off when the sync fails. Releases mu_ during the fdatasync.
  void SyncPending(std::unique_lock<std::mutex>& lock);
  // The background sync of buffered lines; runs until stopping_.
  void SyncBufferedLines();

  std::string path_;
  const Clock& clock_;
  std::mutex mu_;
  std::condition_variable synced_;
  uint64_t last_sequence_ = 0;
  std::string last_line_hash_;
  UuidSource uuids_;  // eventID and requestID
  std::deque<std::shared_ptr<Pending>> pending_;  // file order
  bool syncing_ = false;
  int sync_fd_ = -1;  // the descriptor of the newest line: the next line's, and the group sync's
  uint64_t sync_inode_ = 0;  // what it is open on
  uint64_t sync_dev_ = 0;
  const std::chrono::milliseconds buffered_sync_delay_;
  size_t buffered_pending_ = 0;  // buffered lines among pending_
  Status buffered_failure_;      // of the last background sync, reported once
  bool stopping_ = false;
  std::condition_variable buffered_written_;
  std::thread syncer_;  // started by the first AppendBuffered; joined by the destructor
};

struct AuditVerification {
  bool intact = true;
  size_t lines = 0;     // lines read
  size_t bad_line = 0;  // 1-based; 0 when intact
  std::string reason;   // "line 7 was edited: ..."
};

// Checks the whole chain and names the first line that was edited, removed
// or reordered. Fails only if the file cannot be read.
Result<AuditVerification> VerifyAuditFile(const std::string& path);

inline constexpr char kGenesisHash[] = "0000000000000000000000000000000000000000000000000000000000000000";

}  // namespace simplead::kms
