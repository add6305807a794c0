#include "lib/kms/kms.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "lib/kms/crypto.h"

namespace simplead::kms {
namespace {

using nlohmann::json;
using std::chrono::hours;

constexpr std::string_view kArnPrefix = "arn:simplead:kms:";
constexpr std::string_view kAlgorithm = "SYMMETRIC_DEFAULT";
constexpr size_t kBackingKeySize = 32;

Clock::TimePoint PlusDays(Clock::TimePoint t, int64_t days) { return t + hours(24 * days); }

std::string VersionAad(const std::string& key_id, uint32_t version) {
  return "simplead-kms-backing-key:" + key_id + ":" + std::to_string(version);
}

json ContextJson(const EncryptionContext& ctx) {
  json j = json::object();
  for (const auto& [k, v] : ctx) j[k] = v;
  return j;
}

bool IsReservedAlias(std::string_view name) {
  return name.rfind("alias/aws/", 0) == 0 || name.rfind("alias/simplead/", 0) == 0;
}

Status ValidateAliasName(std::string_view name) {
  if (name.size() < 7 || name.size() > 256 || name.rfind("alias/", 0) != 0) {
    return KmsStatus(KmsError::kInvalidAliasName, "alias name must start with 'alias/' and be 7-256 characters");
  }
  for (char c : name.substr(6)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' || c == '_' ||
              c == '-';
    if (!ok) return KmsStatus(KmsError::kInvalidAliasName, "alias name may hold only [a-zA-Z0-9/_-] after 'alias/'");
  }
  return Status::Ok();
}

Status ValidateTags(const std::map<std::string, std::string>& tags) {
  for (const auto& [k, v] : tags) {
    if (k.empty() || k.size() > 128) return KmsStatus(KmsError::kTag, "tag keys must be 1-128 characters");
    if (v.size() > 256) return KmsStatus(KmsError::kTag, "tag values must be at most 256 characters");
    if (k.rfind("aws:", 0) == 0) return KmsStatus(KmsError::kTag, "tag keys starting with 'aws:' are reserved");
  }
  return Status::Ok();
}

}  // namespace

struct Kms::Call {
  const Caller& caller;
  std::string event_name;
  bool read_only = false;
  json params = json::object();
  json response = nullptr;
  json additional = nullptr;
  std::vector<std::string> resource_arns;
};

Kms::Kms(const KmsOptions& options, std::unique_ptr<KeyStore> key_store, std::unique_ptr<MetadataStore> metadata,
         AuditTrail& audit, const Clock& clock)
    : options_(options), key_store_(std::move(key_store)), metadata_(std::move(metadata)), audit_(audit),
      clock_(clock) {}

Result<std::unique_ptr<Kms>> Kms::Open(const KmsOptions& options, std::unique_ptr<KeyStore> key_store,
                                       std::unique_ptr<MetadataStore> metadata, AuditTrail& audit,
                                       const Clock& clock) {
  if (!key_store || !metadata) return InternalError("Kms::Open needs a key store and a metadata store");
  std::unique_ptr<Kms> kms(new Kms(options, std::move(key_store), std::move(metadata), audit, clock));
  SIMPLEAD_ASSIGN_OR_RETURN(std::vector<KeyRecord> keys, kms->metadata_->LoadKeys());
  for (auto& k : keys) kms->keys_[k.key_id] = std::move(k);
  SIMPLEAD_ASSIGN_OR_RETURN(std::vector<AliasRecord> aliases, kms->metadata_->LoadAliases());
  for (auto& a : aliases) kms->aliases_[a.name] = std::move(a);
  return kms;
}

Caller Kms::ServiceCaller() const {
  Caller c;
  c.type = "AWSService";
  c.principal_id = "simplead";
  c.arn = "arn:simplead:iam::" + options_.domain + ":service/simplead";
  c.user_name = "simplead";
  c.source_ip = "simplead.internal";
  c.user_agent = "simplead";
  return c;
}

std::string Kms::KeyArn(std::string_view key_id) const {
  return std::string(kArnPrefix) + options_.domain + ":key/" + std::string(key_id);
}

// ---- auditing --------------------------------------------------------------

Status Kms::FinishStatus(Call& call, Status status) {
  AuditEvent e;
  e.event_source = "kms.simplead";
  e.event_name = call.event_name;
  e.user_identity = {call.caller.type, call.caller.principal_id, call.caller.arn, call.caller.user_name};
  e.source_ip = call.caller.source_ip;
  e.user_agent = call.caller.user_agent;
  e.request_parameters = call.params;
  e.response_elements = status.ok() ? call.response : json(nullptr);
  e.additional_event_data = call.additional;
  e.read_only = call.read_only;
  for (const auto& arn : call.resource_arns) e.resources.emplace_back(arn, "AWS::KMS::Key");
  if (!status.ok()) {
    e.error_code = KmsErrorName(status);
    e.error_message = KmsErrorMessage(status);
  }
  auto appended = audit_.Append(e);
  if (!appended.ok()) {
    return KmsStatus(KmsError::kInternal,
                     "the call was refused because the audit trail cannot be written (" +
                         appended.status().message() + ")");
  }
  return status;
}

template <typename T>
Result<T> Kms::Finish(Call& call, Result<T> result) {
  Status st = FinishStatus(call, result.status());
  if (!st.ok()) return st;
  return result;
}

Status Kms::AuditRejectedCall(const Caller& caller, std::string_view event_name, const Status& error) {
  std::lock_guard lock(mu_);
  Call call{caller, std::string(event_name)};
  return FinishStatus(call, error);
}

// ---- key records -------------------------------------------------------------

Status Kms::Save(KeyRecord& key, KeyRecord updated) {
  Status st = metadata_->PutKey(updated);
  if (!st.ok()) return KmsStatus(KmsError::kInternal, "cannot persist key metadata: " + st.message());
  key = std::move(updated);
  return Status::Ok();
}

Status Kms::AddVersion(KeyRecord& key) {
  SIMPLEAD_ASSIGN_OR_RETURN(SecureBytes material, RandomSecureBytes(kBackingKeySize));
  uint32_t version = key.versions.empty() ? 1 : key.versions.back().version + 1;
  auto wrapped = key_store_->Wrap(material, VersionAad(key.key_id, version));
  if (!wrapped.ok()) return KmsStatus(KmsError::kInternal, "key store: " + wrapped.status().message());
  key.versions.push_back({version, *wrapped, clock_.Now()});
  return Status::Ok();
}

Result<SecureBytes> Kms::Material(const KeyRecord& key, uint32_t version) {
  for (const auto& v : key.versions) {
    if (v.version == version) {
      auto material = key_store_->Unwrap(v.wrapped, VersionAad(key.key_id, version));
      if (!material.ok()) return KmsStatus(KmsError::kInternal, "key store: " + material.status().message());
      return material;
    }
  }
  return KmsStatus(KmsError::kInvalidCiphertext, "the ciphertext names a key version that does not exist");
}

Status Kms::ApplyTime(KeyRecord& key) {
  auto now = clock_.Now();
  if (key.state == KeyState::kPendingDeletion && key.deletion_date && *key.deletion_date <= now) {
    KeyRecord updated = key;
    updated.state = KeyState::kDeleted;
    for (auto& v : updated.versions) WipeString(v.wrapped);
    updated.versions.clear();
    SIMPLEAD_RETURN_IF_ERROR(Save(key, std::move(updated)));
    for (auto it = aliases_.begin(); it != aliases_.end();) {
      if (it->second.target_key_id == key.key_id) {
        (void)metadata_->DeleteAlias(it->first);  // a stale alias resolves to a deleted key anyway
        it = aliases_.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (key.state == KeyState::kEnabled && key.rotation_enabled && key.next_rotation_date &&
      *key.next_rotation_date <= now) {
    KeyRecord updated = key;
    SIMPLEAD_RETURN_IF_ERROR(AddVersion(updated));
    updated.last_rotation_date = now;
    updated.next_rotation_date = PlusDays(now, updated.rotation_period_days);
    SIMPLEAD_RETURN_IF_ERROR(Save(key, std::move(updated)));
  }
  return Status::Ok();
}

Result<KeyRecord*> Kms::Resolve(std::string_view key_id) {
  if (key_id.empty()) return KmsStatus(KmsError::kValidation, "KeyId is required");
  std::string id(key_id);
  if (id.rfind(kArnPrefix, 0) == 0) {
    std::string rest = id.substr(kArnPrefix.size());
    size_t colon = rest.find(':');
    if (colon == std::string::npos || rest.substr(0, colon) != options_.domain) {
      return KmsStatus(KmsError::kNotFound, "Key '" + id + "' does not exist");
    }
    rest = rest.substr(colon + 1);
    if (rest.rfind("key/", 0) == 0) {
      id = rest.substr(4);
    } else if (rest.rfind("alias/", 0) == 0) {
      id = rest;
    } else {
      return KmsStatus(KmsError::kNotFound, "Key '" + std::string(key_id) + "' does not exist");
    }
  }
  if (id.rfind("alias/", 0) == 0) {
    auto a = aliases_.find(id);
    if (a == aliases_.end()) return KmsStatus(KmsError::kNotFound, "Alias '" + id + "' does not exist");
    id = a->second.target_key_id;
  }
  auto it = keys_.find(id);
  if (it == keys_.end()) return KmsStatus(KmsError::kNotFound, "Key '" + std::string(key_id) + "' does not exist");
  SIMPLEAD_RETURN_IF_ERROR(ApplyTime(it->second));
  if (it->second.state == KeyState::kDeleted) {
    return KmsStatus(KmsError::kNotFound,
                     "Key '" + it->second.arn + "' was deleted at " + Iso8601(*it->second.deletion_date) +
                         ": its key material is destroyed and its ciphertexts can no longer be decrypted");
  }
  return &it->second;
}

Status Kms::Authorize(const Caller& caller, const KeyRecord& key, std::string_view action) {
  if (KeyPolicyAllows(key.policy, caller, action)) return Status::Ok();
  return KmsStatus(KmsError::kAccessDenied, "User: " + caller.arn + " is not authorized to perform: " +
                                                std::string(action) + " on resource: " + key.arn);
}

Status Kms::RequireEnabled(const KeyRecord& key) {
  if (key.state == KeyState::kDisabled) return KmsStatus(KmsError::kDisabled, key.arn + " is disabled.");
  if (key.state == KeyState::kPendingDeletion) {
    return KmsStatus(KmsError::kInvalidState, key.arn + " is pending deletion.");
  }
  return Status::Ok();
}

KeyMetadata Kms::MetadataOf(const KeyRecord& k) const {
  KeyMetadata m;
  m.key_id = k.key_id;
  m.arn = k.arn;
  m.description = k.description;
  m.enabled = k.state == KeyState::kEnabled;
  m.key_state = std::string(KeyStateName(k.state));
  m.creation_date = k.creation_date;
  if (k.state == KeyState::kPendingDeletion) {
    m.deletion_date = k.deletion_date;
    m.pending_deletion_window_in_days = k.pending_window_days;
  }
  m.key_manager = k.key_manager;
  m.origin = k.origin;
  m.current_key_version = k.versions.empty() ? 0 : k.versions.back().version;
  return m;
}

size_t Kms::AliasCount(const std::string& key_id) const {
  return static_cast<size_t>(std::count_if(aliases_.begin(), aliases_.end(),
                                           [&](const auto& a) { return a.second.target_key_id == key_id; }));
}

Result<KeyState> Kms::KeyStateOf(std::string_view key_id) {
  std::lock_guard lock(mu_);
  SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * k, Resolve(key_id));
  return k->state;
}

Result<uint32_t> Kms::CurrentKeyVersionOf(std::string_view key_id) {
  std::lock_guard lock(mu_);
  SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * k, Resolve(key_id));
  return k->versions.empty() ? 0u : k->versions.back().version;
}

// ---- key management ------------------------------------------------------------

Result<KeyMetadata> Kms::CreateKey(const Caller& caller, const CreateKeyRequest& r) {
  std::lock_guard lock(mu_);
  Call call{caller, "CreateKey"};
  call.params = {{"description", r.description}, {"keyUsage", r.key_usage}, {"keySpec", r.key_spec},
                 {"origin", r.origin}};
  auto result = [&]() -> Result<KeyMetadata> {
    if (!options_.key_creator_arns.empty() && !caller.is_service() &&
        std::find(options_.key_creator_arns.begin(), options_.key_creator_arns.end(), caller.arn) ==
            options_.key_creator_arns.end()) {
      return KmsStatus(KmsError::kAccessDenied, "User: " + caller.arn + " is not authorized to perform: kms:CreateKey");
    }
    if (r.key_usage != "ENCRYPT_DECRYPT") return KmsStatus(KmsError::kValidation, "KeyUsage must be ENCRYPT_DECRYPT");
    if (r.key_spec != "SYMMETRIC_DEFAULT") return KmsStatus(KmsError::kValidation, "KeySpec must be SYMMETRIC_DEFAULT");
    if (r.origin != "AWS_KMS") return KmsStatus(KmsError::kValidation, "Origin must be AWS_KMS");
    if (r.description.size() > 8192) return KmsStatus(KmsError::kValidation, "Description is over 8192 characters");
    if (!r.policy.empty()) {
      Status p = ValidateKeyPolicy(r.policy);
      if (!p.ok()) return KmsStatus(KmsError::kMalformedPolicy, p.message());
    }
    SIMPLEAD_RETURN_IF_ERROR(ValidateTags(r.tags));
    if (r.tags.size() > kMaxTagsPerKey) return KmsStatus(KmsError::kTag, "at most 50 tags per key");
    size_t live = static_cast<size_t>(std::count_if(
        keys_.begin(), keys_.end(), [](const auto& k) { return k.second.state != KeyState::kDeleted; }));
    if (live >= options_.max_keys) {
      return KmsStatus(KmsError::kLimitExceeded,
                       "this directory already holds its quota of " + std::to_string(options_.max_keys) + " keys");
    }
    KeyRecord k;
    k.key_id = NewUuid();
    k.arn = KeyArn(k.key_id);
    k.description = r.description;
    k.key_manager = caller.is_service() ? "AWS" : "CUSTOMER";
    k.origin = r.origin;
    k.state = KeyState::kEnabled;
    k.creation_date = clock_.Now();
    k.rotation_period_days = options_.default_rotation_period_days;
    k.tags = r.tags;
    k.policy = r.policy.empty() ? DefaultKeyPolicy(caller, options_.admin_arns, ServiceCaller().arn) : r.policy;
    SIMPLEAD_RETURN_IF_ERROR(AddVersion(k));
    Status st = metadata_->PutKey(k);
    if (!st.ok()) return KmsStatus(KmsError::kInternal, "cannot persist key metadata: " + st.message());
    auto [it, inserted] = keys_.emplace(k.key_id, std::move(k));
    call.resource_arns.push_back(it->second.arn);
    call.response = {{"keyMetadata",
                      {{"keyId", it->second.key_id}, {"arn", it->second.arn}, {"keyState", "Enabled"},
                       {"keyManager", it->second.key_manager}}}};
    return MetadataOf(it->second);
  }();
  return Finish(call, std::move(result));
}

Result<KeyMetadata> Kms::DescribeKey(const Caller& caller, std::string_view key_id) {
  std::lock_guard lock(mu_);
  Call call{caller, "DescribeKey", true};
  call.params = {{"keyId", key_id}};
  auto result = [&]() -> Result<KeyMetadata> {
    SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * k, Resolve(key_id));
    call.resource_arns.push_back(k->arn);
    SIMPLEAD_RETURN_IF_ERROR(Authorize(caller, *k, "kms:DescribeKey"));
    return MetadataOf(*k);
  }();
  return Finish(call, std::move(result));
}

Result<std::vector<KeyListEntry>> Kms::ListKeys(const Caller& caller) {
  std::lock_guard lock(mu_);
  Call call{caller, "ListKeys", true};
  auto result = [&]() -> Result<std::vector<KeyListEntry>> {
    std::vector<KeyListEntry> out;
    for (auto& [id, k] : keys_) {
      SIMPLEAD_RETURN_IF_ERROR(ApplyTime(k));
      if (k.state != KeyState::kDeleted) out.push_back({k.key_id, k.arn});
    }
    return out;
  }();
  return Finish(call, std::move(result));
}

// ---- cryptographic operations ------------------------------------------------

Result<EncryptResult> Kms::EncryptLocked(const Caller& caller, Call& call, std::string_view key_id,
                                         std::string_view plaintext, const EncryptionContext& context,
                                         std::string_view action) {
  SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * k, Resolve(key_id));
  call.resource_arns.push_back(k->arn);
  SIMPLEAD_RETURN_IF_ERROR(Authorize(caller, *k, action));
  SIMPLEAD_RETURN_IF_ERROR(RequireEnabled(*k));
  const KeyVersionRecord& current = k->versions.back();
  SIMPLEAD_ASSIGN_OR_RETURN(SecureBytes material, Material(*k, current.version));
  auto id = ParseUuid(k->key_id);
  if (!id.ok()) return KmsStatus(KmsError::kInternal, "stored key id is not a UUID");
  auto blob = SealBlob(material, *id, current.version, plaintext, context);
  if (!blob.ok()) return KmsStatus(KmsError::kInternal, blob.status().message());
  return EncryptResult{*blob, k->arn, current.version};
}

Result<DecryptResult> Kms::DecryptLocked(const Caller& caller, Call& call, std::string_view blob,
                                         const EncryptionContext& context, std::string_view key_id,
                                         std::string_view action) {
  auto header = ParseBlobHeader(blob);
  if (!header.ok()) return KmsStatus(KmsError::kInvalidCiphertext, header.status().message());
  std::string blob_key_id = FormatUuid(header->key_id);
  auto found = keys_.find(blob_key_id);
  if (found == keys_.end()) {
    return KmsStatus(KmsError::kInvalidCiphertext, "the ciphertext does not name a key of this KMS");
  }
  SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * k, Resolve(blob_key_id));
  call.resource_arns.push_back(k->arn);
  if (!key_id.empty()) {
    SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * named, Resolve(key_id));
    if (named != k) {
      return KmsStatus(KmsError::kIncorrectKey, "the ciphertext was encrypted under another key than " + named->arn);
    }
  }
  SIMPLEAD_RETURN_IF_ERROR(Authorize(caller, *k, action));
  SIMPLEAD_RETURN_IF_ERROR(RequireEnabled(*k));
  SIMPLEAD_ASSIGN_OR_RETURN(SecureBytes material, Material(*k, header->key_version));
  auto plaintext = OpenBlob(material, blob, context);
  if (!plaintext.ok()) {
    return KmsStatus(KmsError::kInvalidCiphertext,
                     "the ciphertext or its encryption context does not match what was encrypted");
  }
  call.additional = {{"keyVersion", header->key_version},
                     {"encryptionContextSha256", Sha256Hex(CanonicalContext(context))}};
  return DecryptResult{std::move(*plaintext), k->arn, header->key_version};
}

Result<EncryptResult> Kms::Encrypt(const Caller& caller, std::string_view key_id, const SecureBytes& plaintext,
                                   const EncryptionContext& context) {
  std::lock_guard lock(mu_);
  Call call{caller, "Encrypt", true};
  call.params = {{"keyId", key_id}, {"encryptionContext", ContextJson(context)}, {"encryptionAlgorithm", kAlgorithm}};
  auto result = [&]() -> Result<EncryptResult> {
    if (plaintext.empty() || plaintext.size() > kMaxEncryptBytes) {
      return KmsStatus(KmsError::kValidation, "Plaintext must be 1 to 4096 bytes long (got " +
                                                  std::to_string(plaintext.size()) + ")");
    }
    auto r = EncryptLocked(caller, call, key_id, plaintext.view(), context, "kms:Encrypt");
    if (r.ok()) {
      call.additional = {{"keyVersion", r->key_version},
                         {"encryptionContextSha256", Sha256Hex(CanonicalContext(context))}};
    }
    return r;
  }();
  return Finish(call, std::move(result));
}

Result<DecryptResult> Kms::Decrypt(const Caller& caller, std::string_view ciphertext_blob,
                                   const EncryptionContext& context, std::string_view key_id) {
  std::lock_guard lock(mu_);
  Call call{caller, "Decrypt", true};
  call.params = {{"encryptionContext", ContextJson(context)}, {"encryptionAlgorithm", kAlgorithm}};
  if (!key_id.empty()) call.params["keyId"] = key_id;
  auto result = DecryptLocked(caller, call, ciphertext_blob, context, key_id, "kms:Decrypt");
  return Finish(call, std::move(result));
}

Result<ReEncryptResult> Kms::ReEncrypt(const Caller& caller, std::string_view ciphertext_blob,
                                       const EncryptionContext& source_context, std::string_view destination_key_id,
                                       const EncryptionContext& destination_context,
                                       std::string_view source_key_id) {
  std::lock_guard lock(mu_);
  Call call{caller, "ReEncrypt", true};
  call.params = {{"destinationKeyId", destination_key_id},
                 {"sourceEncryptionContext", ContextJson(source_context)},
                 {"destinationEncryptionContext", ContextJson(destination_context)},
                 {"sourceEncryptionAlgorithm", kAlgorithm},
                 {"destinationEncryptionAlgorithm", kAlgorithm}};
  if (!source_key_id.empty()) call.params["sourceKeyId"] = source_key_id;
  auto result = [&]() -> Result<ReEncryptResult> {
    SIMPLEAD_ASSIGN_OR_RETURN(DecryptResult d, DecryptLocked(caller, call, ciphertext_blob, source_context,
                                                             source_key_id, "kms:ReEncryptFrom"));
    SIMPLEAD_ASSIGN_OR_RETURN(EncryptResult e, EncryptLocked(caller, call, destination_key_id, d.plaintext.view(),
                                                             destination_context, "kms:ReEncryptTo"));
    call.additional = {{"sourceKeyVersion", d.key_version}, {"keyVersion", e.key_version}};
    return ReEncryptResult{e.ciphertext_blob, d.key_arn, e.key_arn, d.key_version, e.key_version};
  }();
  return Finish(call, std::move(result));
}

Result<DataKeyResult> Kms::DataKeyLocked(const Caller& caller, Call& call, std::string_view key_id,
                                         const DataKeySpec& spec, const EncryptionContext& context,
                                         bool with_plaintext, std::string_view action) {
  size_t n = 0;
  if (spec.key_spec && spec.number_of_bytes) {
    return KmsStatus(KmsError::kValidation, "specify either KeySpec or NumberOfBytes, not both");
  }
  if (spec.key_spec) {
    if (*spec.key_spec == "AES_256") {
      n = 32;
    } else if (*spec.key_spec == "AES_128") {
      n = 16;
    } else {
      return KmsStatus(KmsError::kValidation, "KeySpec must be AES_256 or AES_128");
    }
  } else if (spec.number_of_bytes) {
    if (*spec.number_of_bytes < 1 || *spec.number_of_bytes > 1024) {
      return KmsStatus(KmsError::kValidation, "NumberOfBytes must be between 1 and 1024");
    }
    n = static_cast<size_t>(*spec.number_of_bytes);
  } else {
    return KmsStatus(KmsError::kValidation, "specify KeySpec or NumberOfBytes");
  }
  SIMPLEAD_ASSIGN_OR_RETURN(SecureBytes data_key, RandomSecureBytes(n));
  SIMPLEAD_ASSIGN_OR_RETURN(EncryptResult e, EncryptLocked(caller, call, key_id, data_key.view(), context, action));
  call.additional = {{"keyVersion", e.key_version},
                     {"encryptionContextSha256", Sha256Hex(CanonicalContext(context))}};
  DataKeyResult r{e.ciphertext_blob, {}, e.key_arn, e.key_version};
  if (with_plaintext) r.plaintext = std::move(data_key);
  return r;
}

Result<DataKeyResult> Kms::GenerateDataKey(const Caller& caller, std::string_view key_id, const DataKeySpec& spec,
                                           const EncryptionContext& context) {
  std::lock_guard lock(mu_);
  Call call{caller, "GenerateDataKey", true};
  call.params = {{"keyId", key_id}, {"encryptionContext", ContextJson(context)}};
  if (spec.key_spec) call.params["keySpec"] = *spec.key_spec;
  if (spec.number_of_bytes) call.params["numberOfBytes"] = *spec.number_of_bytes;
  auto result = DataKeyLocked(caller, call, key_id, spec, context, true, "kms:GenerateDataKey");
  return Finish(call, std::move(result));
}

Result<DataKeyResult> Kms::GenerateDataKeyWithoutPlaintext(const Caller& caller, std::string_view key_id,
                                                           const DataKeySpec& spec,
                                                           const EncryptionContext& context) {
  std::lock_guard lock(mu_);
  Call call{caller, "GenerateDataKeyWithoutPlaintext", true};
  call.params = {{"keyId", key_id}, {"encryptionContext", ContextJson(context)}};
  if (spec.key_spec) call.params["keySpec"] = *spec.key_spec;
  if (spec.number_of_bytes) call.params["numberOfBytes"] = *spec.number_of_bytes;
  auto result =
      DataKeyLocked(caller, call, key_id, spec, context, false, "kms:GenerateDataKeyWithoutPlaintext");
  return Finish(call, std::move(result));
}

Result<SecureBytes> Kms::GenerateRandom(const Caller& caller, int64_t number_of_bytes) {
  std::lock_guard lock(mu_);
  Call call{caller, "GenerateRandom", true};
  call.params = {{"numberOfBytes", number_of_bytes}};
  auto result = [&]() -> Result<SecureBytes> {
    if (number_of_bytes < 1 || number_of_bytes > 1024) {
      return KmsStatus(KmsError::kValidation, "NumberOfBytes must be between 1 and 1024");
    }
    return RandomSecureBytes(static_cast<size_t>(number_of_bytes));
  }();
  return Finish(call, std::move(result));
}

// ---- state machine -------------------------------------------------------------

Status Kms::EnableKey(const Caller& caller, std::string_view key_id) {
  std::lock_guard lock(mu_);
  Call call{caller, "EnableKey"};
  call.params = {{"keyId", key_id}};
  Status st = [&]() -> Status {
    SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * k, Resolve(key_id));
    call.resource_arns.push_back(k->arn);
    SIMPLEAD_RETURN_IF_ERROR(Authorize(caller, *k, "kms:EnableKey"));
    if (k->state == KeyState::kPendingDeletion) {
      return KmsStatus(KmsError::kInvalidState, k->arn + " is pending deletion; cancel the deletion first.");
    }
    if (k->state == KeyState::kEnabled) return Status::Ok();
    KeyRecord u = *k;
    u.state = KeyState::kEnabled;
    return Save(*k, std::move(u));
  }();
  return FinishStatus(call, st);
}

Status Kms::DisableKey(const Caller& caller, std::string_view key_id) {
  std::lock_guard lock(mu_);
  Call call{caller, "DisableKey"};
  call.params = {{"keyId", key_id}};
  Status st = [&]() -> Status {
    SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * k, Resolve(key_id));
    call.resource_arns.push_back(k->arn);
    SIMPLEAD_RETURN_IF_ERROR(Authorize(caller, *k, "kms:DisableKey"));
    if (k->state == KeyState::kPendingDeletion) {
      return KmsStatus(KmsError::kInvalidState, k->arn + " is pending deletion.");
    }
    if (k->state == KeyState::kDisabled) return Status::Ok();
    KeyRecord u = *k;
    u.state = KeyState::kDisabled;
    return Save(*k, std::move(u));
  }();
  return FinishStatus(call, st);
}

Status Kms::EnableKeyRotation(const Caller& caller, std::string_view key_id,
                              std::optional<int64_t> rotation_period_days) {
  std::lock_guard lock(mu_);
  Call call{caller, "EnableKeyRotation"};
  call.params = {{"keyId", key_id}};
  if (rotation_period_days) call.params["rotationPeriodInDays"] = *rotation_period_days;
  Status st = [&]() -> Status {
    int64_t period = rotation_period_days.value_or(options_.default_rotation_period_days);
    if (period < 90 || period > 2560) {
      return KmsStatus(KmsError::kValidation, "RotationPeriodInDays must be between 90 and 2560");
    }
    SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * k, Resolve(key_id));
    call.resource_arns.push_back(k->arn);
    SIMPLEAD_RETURN_IF_ERROR(Authorize(caller, *k, "kms:EnableKeyRotation"));
    SIMPLEAD_RETURN_IF_ERROR(RequireEnabled(*k));
    KeyRecord u = *k;
    u.rotation_enabled = true;
    u.rotation_period_days = static_cast<int>(period);
    u.next_rotation_date = PlusDays(clock_.Now(), period);
    return Save(*k, std::move(u));
  }();
  return FinishStatus(call, st);
}

Status Kms::DisableKeyRotation(const Caller& caller, std::string_view key_id) {
  std::lock_guard lock(mu_);
  Call call{caller, "DisableKeyRotation"};
  call.params = {{"keyId", key_id}};
  Status st = [&]() -> Status {
    SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * k, Resolve(key_id));
    call.resource_arns.push_back(k->arn);
    SIMPLEAD_RETURN_IF_ERROR(Authorize(caller, *k, "kms:DisableKeyRotation"));
    SIMPLEAD_RETURN_IF_ERROR(RequireEnabled(*k));
    KeyRecord u = *k;
    u.rotation_enabled = false;
    u.next_rotation_date.reset();
    return Save(*k, std::move(u));
  }();
  return FinishStatus(call, st);
}

Result<RotationStatus> Kms::GetKeyRotationStatus(const Caller& caller, std::string_view key_id) {
  std::lock_guard lock(mu_);
  Call call{caller, "GetKeyRotationStatus", true};
  call.params = {{"keyId", key_id}};
  auto result = [&]() -> Result<RotationStatus> {
    SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * k, Resolve(key_id));
    call.resource_arns.push_back(k->arn);
    SIMPLEAD_RETURN_IF_ERROR(Authorize(caller, *k, "kms:GetKeyRotationStatus"));
    return RotationStatus{k->rotation_enabled, k->rotation_period_days, k->next_rotation_date, k->arn};
  }();
  return Finish(call, std::move(result));
}

Result<std::string> Kms::RotateKeyOnDemand(const Caller& caller, std::string_view key_id) {
  std::lock_guard lock(mu_);
  Call call{caller, "RotateKeyOnDemand"};
  call.params = {{"keyId", key_id}};
  auto result = [&]() -> Result<std::string> {
    SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * k, Resolve(key_id));
    call.resource_arns.push_back(k->arn);
    SIMPLEAD_RETURN_IF_ERROR(Authorize(caller, *k, "kms:RotateKeyOnDemand"));
    SIMPLEAD_RETURN_IF_ERROR(RequireEnabled(*k));
    KeyRecord u = *k;
    SIMPLEAD_RETURN_IF_ERROR(AddVersion(u));
    u.last_rotation_date = clock_.Now();
    SIMPLEAD_RETURN_IF_ERROR(Save(*k, std::move(u)));
    call.response = {{"keyId", k->arn}};
    call.additional = {{"keyVersion", k->versions.back().version}};
    return k->arn;
  }();
  return Finish(call, std::move(result));
}

Result<DeletionSchedule> Kms::ScheduleKeyDeletion(const Caller& caller, std::string_view key_id,
                                                  std::optional<int64_t> pending_window_in_days) {
  std::lock_guard lock(mu_);
  Call call{caller, "ScheduleKeyDeletion"};
  call.params = {{"keyId", key_id}};
  if (pending_window_in_days) call.params["pendingWindowInDays"] = *pending_window_in_days;
  auto result = [&]() -> Result<DeletionSchedule> {
    int64_t days = pending_window_in_days.value_or(30);
    if (days < 7 || days > 30) {
      return KmsStatus(KmsError::kValidation, "PendingWindowInDays must be between 7 and 30 (got " +
                                                  std::to_string(days) + ")");
    }
    SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * k, Resolve(key_id));
    call.resource_arns.push_back(k->arn);
    SIMPLEAD_RETURN_IF_ERROR(Authorize(caller, *k, "kms:ScheduleKeyDeletion"));
    if (k->state == KeyState::kPendingDeletion) {
      return KmsStatus(KmsError::kInvalidState, k->arn + " is already pending deletion.");
    }
    KeyRecord u = *k;
    u.state = KeyState::kPendingDeletion;
    u.deletion_date = PlusDays(clock_.Now(), days);
    u.pending_window_days = static_cast<int>(days);
    SIMPLEAD_RETURN_IF_ERROR(Save(*k, std::move(u)));
    call.response = {{"keyId", k->arn}, {"deletionDate", Iso8601(*k->deletion_date)}, {"keyState", "PendingDeletion"}};
    return DeletionSchedule{k->arn, *k->deletion_date, "PendingDeletion", static_cast<int>(days)};
  }();
  return Finish(call, std::move(result));
}

Result<std::string> Kms::CancelKeyDeletion(const Caller& caller, std::string_view key_id) {
  std::lock_guard lock(mu_);
  Call call{caller, "CancelKeyDeletion"};
  call.params = {{"keyId", key_id}};
  auto result = [&]() -> Result<std::string> {
    SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * k, Resolve(key_id));
    call.resource_arns.push_back(k->arn);
    SIMPLEAD_RETURN_IF_ERROR(Authorize(caller, *k, "kms:CancelKeyDeletion"));
    if (k->state != KeyState::kPendingDeletion) {
      return KmsStatus(KmsError::kInvalidState, k->arn + " is not pending deletion.");
    }
    KeyRecord u = *k;
    u.state = KeyState::kDisabled;
    u.deletion_date.reset();
    u.pending_window_days = 0;
    SIMPLEAD_RETURN_IF_ERROR(Save(*k, std::move(u)));
    call.response = {{"keyId", k->arn}};
    return k->arn;
  }();
  return Finish(call, std::move(result));
}

// ---- aliases -------------------------------------------------------------------

Status Kms::CreateAlias(const Caller& caller, std::string_view alias_name, std::string_view target_key_id) {
  std::lock_guard lock(mu_);
  Call call{caller, "CreateAlias"};
  call.params = {{"aliasName", alias_name}, {"targetKeyId", target_key_id}};
  Status st = [&]() -> Status {
    SIMPLEAD_RETURN_IF_ERROR(ValidateAliasName(alias_name));
    if (IsReservedAlias(alias_name) && !caller.is_service()) {
      return KmsStatus(KmsError::kInvalidAliasName,
                       "alias names starting with alias/aws/ or alias/simplead/ are reserved for the service");
    }
    if (std::string_view(target_key_id).rfind("alias/", 0) == 0) {
      return KmsStatus(KmsError::kValidation, "TargetKeyId must be a key id or key ARN, not an alias");
    }
    SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * k, Resolve(target_key_id));
    call.resource_arns.push_back(k->arn);
    SIMPLEAD_RETURN_IF_ERROR(Authorize(caller, *k, "kms:CreateAlias"));
    if (aliases_.count(std::string(alias_name)) != 0) {
      return KmsStatus(KmsError::kAlreadyExists, "Alias " + std::string(alias_name) + " already exists");
    }
    if (k->state == KeyState::kPendingDeletion) {
      return KmsStatus(KmsError::kInvalidState, k->arn + " is pending deletion.");
    }
    if (AliasCount(k->key_id) >= kMaxAliasesPerKey) {
      return KmsStatus(KmsError::kLimitExceeded, k->arn + " already has 50 aliases");
    }
    auto now = clock_.Now();
    AliasRecord a{std::string(alias_name), k->key_id, now, now};
    Status put = metadata_->PutAlias(a);
    if (!put.ok()) return KmsStatus(KmsError::kInternal, "cannot persist alias: " + put.message());
    aliases_[a.name] = std::move(a);
    return Status::Ok();
  }();
  return FinishStatus(call, st);
}

Status Kms::DeleteAlias(const Caller& caller, std::string_view alias_name) {
  std::lock_guard lock(mu_);
  Call call{caller, "DeleteAlias"};
  call.params = {{"aliasName", alias_name}};
  Status st = [&]() -> Status {
    SIMPLEAD_RETURN_IF_ERROR(ValidateAliasName(alias_name));
    if (IsReservedAlias(alias_name) && !caller.is_service()) {
      return KmsStatus(KmsError::kInvalidAliasName, "aliases under alias/aws/ and alias/simplead/ are the service's");
    }
    auto it = aliases_.find(std::string(alias_name));
    if (it == aliases_.end()) {
      return KmsStatus(KmsError::kNotFound, "Alias " + std::string(alias_name) + " does not exist");
    }
    auto key = keys_.find(it->second.target_key_id);
    if (key != keys_.end()) {
      call.resource_arns.push_back(key->second.arn);
      SIMPLEAD_RETURN_IF_ERROR(Authorize(caller, key->second, "kms:DeleteAlias"));
    }
    Status del = metadata_->DeleteAlias(it->first);
    if (!del.ok()) return KmsStatus(KmsError::kInternal, "cannot persist alias deletion: " + del.message());
    aliases_.erase(it);
    return Status::Ok();
  }();
  return FinishStatus(call, st);
}

Result<std::vector<AliasEntry>> Kms::ListAliases(const Caller& caller, std::string_view key_id) {
  std::lock_guard lock(mu_);
  Call call{caller, "ListAliases", true};
  if (!key_id.empty()) call.params = {{"keyId", key_id}};
  auto result = [&]() -> Result<std::vector<AliasEntry>> {
    std::string only;
    if (!key_id.empty()) {
      SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * k, Resolve(key_id));
      call.resource_arns.push_back(k->arn);
      SIMPLEAD_RETURN_IF_ERROR(Authorize(caller, *k, "kms:ListAliases"));
      only = k->key_id;
    } else {
      for (auto& [id, k] : keys_) SIMPLEAD_RETURN_IF_ERROR(ApplyTime(k));
    }
    std::vector<AliasEntry> out;
    for (const auto& [name, a] : aliases_) {
      if (!only.empty() && a.target_key_id != only) continue;
      out.push_back({a.name, std::string(kArnPrefix) + options_.domain + ":" + a.name, a.target_key_id,
                     a.creation_date, a.last_updated_date});
    }
    return out;
  }();
  return Finish(call, std::move(result));
}

// ---- tags and policies ------------------------------------------------------------

Status Kms::TagResource(const Caller& caller, std::string_view key_id, const std::map<std::string, std::string>& tags) {
  std::lock_guard lock(mu_);
  Call call{caller, "TagResource"};
  json keys = json::array();
  for (const auto& [k, v] : tags) keys.push_back(k);
  call.params = {{"keyId", key_id}, {"tagKeys", keys}};  // tag values may be sensitive labels: keys only
  Status st = [&]() -> Status {
    SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * k, Resolve(key_id));
    call.resource_arns.push_back(k->arn);
    SIMPLEAD_RETURN_IF_ERROR(Authorize(caller, *k, "kms:TagResource"));
    if (k->state == KeyState::kPendingDeletion) return KmsStatus(KmsError::kInvalidState, k->arn + " is pending deletion.");
    SIMPLEAD_RETURN_IF_ERROR(ValidateTags(tags));
    KeyRecord u = *k;
    for (const auto& [tk, tv] : tags) u.tags[tk] = tv;
    if (u.tags.size() > kMaxTagsPerKey) return KmsStatus(KmsError::kTag, "at most 50 tags per key");
    return Save(*k, std::move(u));
  }();
  return FinishStatus(call, st);
}

Status Kms::UntagResource(const Caller& caller, std::string_view key_id, const std::vector<std::string>& tag_keys) {
  std::lock_guard lock(mu_);
  Call call{caller, "UntagResource"};
  call.params = {{"keyId", key_id}, {"tagKeys", tag_keys}};
  Status st = [&]() -> Status {
    SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * k, Resolve(key_id));
    call.resource_arns.push_back(k->arn);
    SIMPLEAD_RETURN_IF_ERROR(Authorize(caller, *k, "kms:UntagResource"));
    if (k->state == KeyState::kPendingDeletion) return KmsStatus(KmsError::kInvalidState, k->arn + " is pending deletion.");
    KeyRecord u = *k;
    for (const auto& tk : tag_keys) u.tags.erase(tk);
    return Save(*k, std::move(u));
  }();
  return FinishStatus(call, st);
}

Result<std::map<std::string, std::string>> Kms::ListResourceTags(const Caller& caller, std::string_view key_id) {
  std::lock_guard lock(mu_);
  Call call{caller, "ListResourceTags", true};
  call.params = {{"keyId", key_id}};
  auto result = [&]() -> Result<std::map<std::string, std::string>> {
    SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * k, Resolve(key_id));
    call.resource_arns.push_back(k->arn);
    SIMPLEAD_RETURN_IF_ERROR(Authorize(caller, *k, "kms:ListResourceTags"));
    return k->tags;
  }();
  return Finish(call, std::move(result));
}

Result<std::string> Kms::GetKeyPolicy(const Caller& caller, std::string_view key_id) {
  std::lock_guard lock(mu_);
  Call call{caller, "GetKeyPolicy", true};
  call.params = {{"keyId", key_id}, {"policyName", "default"}};
  auto result = [&]() -> Result<std::string> {
    SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * k, Resolve(key_id));
    call.resource_arns.push_back(k->arn);
    SIMPLEAD_RETURN_IF_ERROR(Authorize(caller, *k, "kms:GetKeyPolicy"));
    return k->policy;
  }();
  return Finish(call, std::move(result));
}

Status Kms::PutKeyPolicy(const Caller& caller, std::string_view key_id, std::string_view policy) {
  std::lock_guard lock(mu_);
  Call call{caller, "PutKeyPolicy"};
  call.params = {{"keyId", key_id}, {"policyName", "default"}};
  Status st = [&]() -> Status {
    SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord * k, Resolve(key_id));
    call.resource_arns.push_back(k->arn);
    SIMPLEAD_RETURN_IF_ERROR(Authorize(caller, *k, "kms:PutKeyPolicy"));
    if (k->key_manager == "AWS" && !caller.is_service()) {
      return KmsStatus(KmsError::kAccessDenied, "the policy of a service key cannot be changed");
    }
    Status p = ValidateKeyPolicy(policy);
    if (!p.ok()) return KmsStatus(KmsError::kMalformedPolicy, p.message());
    KeyRecord u = *k;
    u.policy = std::string(policy);
    return Save(*k, std::move(u));
  }();
  return FinishStatus(call, st);
}

}  // namespace simplead::kms
