// Key metadata (states, dates, aliases, tags, policies) and the wrapped
// backing-key versions, behind an interface so that a RocksDB-backed store
// can replace the file-backed one. The Kms serialises calls into a
// MetadataStore; implementations need not be thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/base/clock.h"
#include "lib/base/status.h"

namespace simplead::kms {

enum class KeyState { kEnabled, kDisabled, kPendingDeletion, kDeleted };
std::string_view KeyStateName(KeyState s);  // AWS's names; kDeleted is internal

struct KeyVersionRecord {
  uint32_t version = 0;
  std::string wrapped;  // backing key wrapped by the KeyStore
  Clock::TimePoint created;
};

struct KeyRecord {
  std::string key_id;  // UUID
  std::string arn;
  std::string description;
  std::string key_manager = "CUSTOMER";  // "AWS" for the service's own keys
  std::string origin = "AWS_KMS";
  KeyState state = KeyState::kEnabled;
  Clock::TimePoint creation_date;
  std::optional<Clock::TimePoint> deletion_date;
  int pending_window_days = 0;
  bool rotation_enabled = false;
  int rotation_period_days = 365;
  std::optional<Clock::TimePoint> next_rotation_date;
  std::optional<Clock::TimePoint> last_rotation_date;
  std::map<std::string, std::string> tags;
  std::string policy;  // JSON document
  std::vector<KeyVersionRecord> versions;  // ascending; empty once destroyed
};

struct AliasRecord {
  std::string name;  // "alias/..."
  std::string target_key_id;
  Clock::TimePoint creation_date;
  Clock::TimePoint last_updated_date;
};

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;
  virtual Result<std::vector<KeyRecord>> LoadKeys() = 0;
  virtual Result<std::vector<AliasRecord>> LoadAliases() = 0;
  // Each call is durable when it returns.
  virtual Status PutKey(const KeyRecord& key) = 0;
  virtual Status PutAlias(const AliasRecord& alias) = 0;
  virtual Status DeleteAlias(const std::string& name) = 0;
};

// One JSON document (`<dir>/kms-metadata.json`, mode 0600) rewritten
// atomically on every change. Fine for hundreds of keys.
class FileMetadataStore final : public MetadataStore {
 public:
  static Result<std::unique_ptr<FileMetadataStore>> Open(const std::string& dir);
  Result<std::vector<KeyRecord>> LoadKeys() override;
  Result<std::vector<AliasRecord>> LoadAliases() override;
  Status PutKey(const KeyRecord& key) override;
  Status PutAlias(const AliasRecord& alias) override;
  Status DeleteAlias(const std::string& name) override;

 private:
  explicit FileMetadataStore(std::string path) : path_(std::move(path)) {}
  Status Flush();
  std::string path_;
  std::map<std::string, KeyRecord> keys_;
  std::map<std::string, AliasRecord> aliases_;
};

}  // namespace simplead::kms
