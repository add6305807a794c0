// Kms: the key management service, with AWS KMS's operations as typed C++
// calls (the JSON 1.1 mapping is kms_json.h; the HTTP server is http_api.h).
//
// Keys (CMKs) have a UUID key id and an ARN arn:simplead:kms:<domain>:key/<id>,
// a state (Enabled, Disabled, PendingDeletion) and one or more backing-key
// versions, stored only wrapped by the KeyStore. Rotation adds a version and
// keeps the key id; every version stays for decryption. Deletion waits out
// its window (checked lazily against the injected Clock) and then destroys
// the material: the key's ciphertexts are gone for good.
//
// Every call, success or failure, appends one line to the AuditTrail before
// it returns; if that line cannot be written the call fails (fail closed).
// Errors are KMS statuses (kms_error.h). Key ids accept a UUID, a key ARN,
// an alias name ("alias/x") or an alias ARN.
//
// Kms is safe for concurrent use (one mutex; calls are short except for
// the key store and the fsync of the audit line: run them off I/O threads).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/clock.h"
#include "lib/base/secure_bytes.h"
#include "lib/base/status.h"
#include "lib/kms/audit.h"
#include "lib/kms/envelope.h"
#include "lib/kms/key_store.h"
#include "lib/kms/kms_error.h"
#include "lib/kms/metadata_store.h"
#include "lib/kms/policy.h"

namespace simplead::kms {

struct KmsOptions {
  std::string domain = "local";           // the <domain> part of ARNs
  size_t max_keys = 1000;                 // keys per directory (quota)
  int default_rotation_period_days = 365;
  std::vector<std::string> admin_arns;    // allowed everything by default key policies
  // Who may CreateKey; empty means every authenticated caller.
  std::vector<std::string> key_creator_arns;
};

inline constexpr size_t kMaxEncryptBytes = 4096;
inline constexpr size_t kMaxAliasesPerKey = 50;
inline constexpr size_t kMaxTagsPerKey = 50;

struct KeyMetadata {
  std::string key_id;
  std::string arn;
  std::string description;
  bool enabled = false;
  std::string key_state;  // Enabled | Disabled | PendingDeletion
  Clock::TimePoint creation_date;
  std::optional<Clock::TimePoint> deletion_date;
  int pending_deletion_window_in_days = 0;
  std::string key_manager;
  std::string origin;
  std::string key_usage = "ENCRYPT_DECRYPT";
  std::string key_spec = "SYMMETRIC_DEFAULT";
  uint32_t current_key_version = 0;
};

struct CreateKeyRequest {
  std::string description;
  std::string policy;  // empty: the default key policy
  std::map<std::string, std::string> tags;
  std::string key_usage = "ENCRYPT_DECRYPT";
  std::string key_spec = "SYMMETRIC_DEFAULT";
  std::string origin = "AWS_KMS";
};

struct EncryptResult {
  std::string ciphertext_blob;
  std::string key_arn;
  uint32_t key_version = 0;
};

struct DecryptResult {
  SecureBytes plaintext;
  std::string key_arn;
  uint32_t key_version = 0;
};

struct ReEncryptResult {
  std::string ciphertext_blob;
  std::string source_key_arn;
  std::string key_arn;
  uint32_t source_key_version = 0;
  uint32_t key_version = 0;
};

// Exactly one of key_spec ("AES_256", "AES_128") and number_of_bytes (1-1024).
struct DataKeySpec {
  std::optional<std::string> key_spec;
  std::optional<int64_t> number_of_bytes;
};

struct DataKeyResult {
  std::string ciphertext_blob;
  SecureBytes plaintext;  // empty for GenerateDataKeyWithoutPlaintext
  std::string key_arn;
  uint32_t key_version = 0;
};

struct RotationStatus {
  bool enabled = false;
  int rotation_period_in_days = 0;
  std::optional<Clock::TimePoint> next_rotation_date;
  std::string key_arn;
};

struct DeletionSchedule {
  std::string key_arn;
  Clock::TimePoint deletion_date;
  std::string key_state;
  int pending_window_in_days = 0;
};

struct AliasEntry {
  std::string alias_name;
  std::string alias_arn;
  std::string target_key_id;
  Clock::TimePoint creation_date;
  Clock::TimePoint last_updated_date;
};

struct KeyListEntry {
  std::string key_id;
  std::string key_arn;
};

class Kms {
 public:
  // Loads key metadata; the trail and the clock must outlive the Kms.
  static Result<std::unique_ptr<Kms>> Open(const KmsOptions& options, std::unique_ptr<KeyStore> key_store,
                                           std::unique_ptr<MetadataStore> metadata, AuditTrail& audit,
                                           const Clock& clock);

  // The server's own identity: may use the reserved alias prefixes.
  Caller ServiceCaller() const;

  Result<KeyMetadata> CreateKey(const Caller& caller, const CreateKeyRequest& request);
  Result<KeyMetadata> DescribeKey(const Caller& caller, std::string_view key_id);
  Result<std::vector<KeyListEntry>> ListKeys(const Caller& caller);

  Result<EncryptResult> Encrypt(const Caller& caller, std::string_view key_id, const SecureBytes& plaintext,
                                const EncryptionContext& context);
  // key_id is optional: the blob names its key and version.
  Result<DecryptResult> Decrypt(const Caller& caller, std::string_view ciphertext_blob,
                                const EncryptionContext& context, std::string_view key_id = {});
  Result<ReEncryptResult> ReEncrypt(const Caller& caller, std::string_view ciphertext_blob,
                                    const EncryptionContext& source_context, std::string_view destination_key_id,
                                    const EncryptionContext& destination_context,
                                    std::string_view source_key_id = {});
  Result<DataKeyResult> GenerateDataKey(const Caller& caller, std::string_view key_id, const DataKeySpec& spec,
                                        const EncryptionContext& context);
  Result<DataKeyResult> GenerateDataKeyWithoutPlaintext(const Caller& caller, std::string_view key_id,
                                                        const DataKeySpec& spec, const EncryptionContext& context);
  Result<SecureBytes> GenerateRandom(const Caller& caller, int64_t number_of_bytes);

  Status EnableKey(const Caller& caller, std::string_view key_id);
  Status DisableKey(const Caller& caller, std::string_view key_id);
  // rotation_period_days: 90-2560; default KmsOptions::default_rotation_period_days.
  Status EnableKeyRotation(const Caller& caller, std::string_view key_id,
                           std::optional<int64_t> rotation_period_days = std::nullopt);
  Status DisableKeyRotation(const Caller& caller, std::string_view key_id);
  Result<RotationStatus> GetKeyRotationStatus(const Caller& caller, std::string_view key_id);
  // Returns the key ARN; the new version is current from now on.
  Result<std::string> RotateKeyOnDemand(const Caller& caller, std::string_view key_id);
  // pending_window_in_days: 7-30, default 30.
  Result<DeletionSchedule> ScheduleKeyDeletion(const Caller& caller, std::string_view key_id,
                                               std::optional<int64_t> pending_window_in_days = std::nullopt);
  // PendingDeletion -> Disabled. Returns the key ARN.
  Result<std::string> CancelKeyDeletion(const Caller& caller, std::string_view key_id);

  Status CreateAlias(const Caller& caller, std::string_view alias_name, std::string_view target_key_id);
  Status DeleteAlias(const Caller& caller, std::string_view alias_name);
  Result<std::vector<AliasEntry>> ListAliases(const Caller& caller, std::string_view key_id = {});

  Status TagResource(const Caller& caller, std::string_view key_id, const std::map<std::string, std::string>& tags);
  Status UntagResource(const Caller& caller, std::string_view key_id, const std::vector<std::string>& tag_keys);
  Result<std::map<std::string, std::string>> ListResourceTags(const Caller& caller, std::string_view key_id);

  Result<std::string> GetKeyPolicy(const Caller& caller, std::string_view key_id);
  Status PutKeyPolicy(const Caller& caller, std::string_view key_id, std::string_view policy);

  // Audits a call rejected before it reached an operation (malformed JSON,
  // unknown operation, failed authentication) and returns `error`, or the
  // audit failure if the line could not be written.
  Status AuditRejectedCall(const Caller& caller, std::string_view event_name, const Status& error);

  // Not an AWS operation and not audited: the state of a key, for caches
  // (SecretSealer) that must stop using a key the moment it is disabled.
  Result<KeyState> KeyStateOf(std::string_view key_id);
  // Not audited either: the key's newest backing-key version (0 once
  // destroyed), so such a cache can tell when a rotation outdated an entry.
  Result<uint32_t> CurrentKeyVersionOf(std::string_view key_id);

  const KmsOptions& options() const { return options_; }
  std::string KeyArn(std::string_view key_id) const;

 private:
  struct Call;  // one audited call in progress
  Kms(const KmsOptions& options, std::unique_ptr<KeyStore> key_store, std::unique_ptr<MetadataStore> metadata,
      AuditTrail& audit, const Clock& clock);

  template <typename T>
  Result<T> Finish(Call& call, Result<T> result);
  Status FinishStatus(Call& call, Status status);

  // All below require mu_.
  Result<KeyRecord*> Resolve(std::string_view key_id);
  Status Authorize(const Caller& caller, const KeyRecord& key, std::string_view action);
  Status RequireEnabled(const KeyRecord& key);
  Status ApplyTime(KeyRecord& key);  // deletion window and automatic rotation
  Status AddVersion(KeyRecord& key);
  Status Save(KeyRecord& key, KeyRecord updated);
  Result<SecureBytes> Material(const KeyRecord& key, uint32_t version);
  KeyMetadata MetadataOf(const KeyRecord& key) const;
  Result<EncryptResult> EncryptLocked(const Caller& caller, Call& call, std::string_view key_id,
                                      std::string_view plaintext, const EncryptionContext& context,
                                      std::string_view action);
  Result<DecryptResult> DecryptLocked(const Caller& caller, Call& call, std::string_view blob,
                                      const EncryptionContext& context, std::string_view key_id,
                                      std::string_view action);
  Result<DataKeyResult> DataKeyLocked(const Caller& caller, Call& call, std::string_view key_id,
                                      const DataKeySpec& spec, const EncryptionContext& context,
                                      bool with_plaintext, std::string_view action);
  size_t AliasCount(const std::string& key_id) const;

  const KmsOptions options_;
  std::unique_ptr<KeyStore> key_store_;
  std::unique_ptr<MetadataStore> metadata_;
  AuditTrail& audit_;
  const Clock& clock_;

  std::mutex mu_;
  std::map<std::string, KeyRecord> keys_;       // by key id
  std::map<std::string, AliasRecord> aliases_;  // by alias name
};

}  // namespace simplead::kms
