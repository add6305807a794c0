#include "lib/kms/metadata_store.h"

#include <nlohmann/json.hpp>

#include "lib/kms/crypto.h"
#include "lib/kms/key_store.h"

namespace simplead::kms {
namespace {

using nlohmann::json;

int64_t Ms(Clock::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
Clock::TimePoint FromMs(int64_t ms) {
  return Clock::TimePoint(std::chrono::duration_cast<Clock::TimePoint::duration>(std::chrono::milliseconds(ms)));
}
json OptMs(const std::optional<Clock::TimePoint>& t) { return t ? json(Ms(*t)) : json(nullptr); }
std::optional<Clock::TimePoint> OptFromMs(const json& j) {
  if (j.is_null()) return std::nullopt;
  return FromMs(j.get<int64_t>());
}

KeyState StateFromName(const std::string& s) {
  if (s == "Enabled") return KeyState::kEnabled;
  if (s == "Disabled") return KeyState::kDisabled;
  if (s == "PendingDeletion") return KeyState::kPendingDeletion;
  return KeyState::kDeleted;
}

json ToJson(const KeyRecord& k) {
  json versions = json::array();
  for (const auto& v : k.versions) {
    versions.push_back({{"version", v.version}, {"wrapped", Base64Encode(v.wrapped)}, {"created", Ms(v.created)}});
  }
  return {{"keyId", k.key_id},
          {"arn", k.arn},
          {"description", k.description},
          {"keyManager", k.key_manager},
          {"origin", k.origin},
          {"state", std::string(KeyStateName(k.state))},
          {"creationDate", Ms(k.creation_date)},
          {"deletionDate", OptMs(k.deletion_date)},
          {"pendingWindowDays", k.pending_window_days},
          {"rotationEnabled", k.rotation_enabled},
          {"rotationPeriodDays", k.rotation_period_days},
          {"nextRotationDate", OptMs(k.next_rotation_date)},
          {"lastRotationDate", OptMs(k.last_rotation_date)},
          {"tags", k.tags},
          {"policy", k.policy},
          {"versions", versions}};
}

Result<KeyRecord> KeyFromJson(const json& j) {
  try {
    KeyRecord k;
    k.key_id = j.at("keyId").get<std::string>();
    k.arn = j.at("arn").get<std::string>();
    k.description = j.at("description").get<std::string>();
    k.key_manager = j.at("keyManager").get<std::string>();
    k.origin = j.at("origin").get<std::string>();
    k.state = StateFromName(j.at("state").get<std::string>());
    k.creation_date = FromMs(j.at("creationDate").get<int64_t>());
    k.deletion_date = OptFromMs(j.at("deletionDate"));
    k.pending_window_days = j.at("pendingWindowDays").get<int>();
    k.rotation_enabled = j.at("rotationEnabled").get<bool>();
    k.rotation_period_days = j.at("rotationPeriodDays").get<int>();
    k.next_rotation_date = OptFromMs(j.at("nextRotationDate"));
    k.last_rotation_date = OptFromMs(j.at("lastRotationDate"));
    k.tags = j.at("tags").get<std::map<std::string, std::string>>();
    k.policy = j.at("policy").get<std::string>();
    for (const auto& v : j.at("versions")) {
      auto wrapped = Base64Decode(v.at("wrapped").get<std::string>());
      if (!wrapped.ok()) return InternalError("KMS metadata: bad wrapped key");
      k.versions.push_back({v.at("version").get<uint32_t>(), *wrapped, FromMs(v.at("created").get<int64_t>())});
    }
    return k;
  } catch (const json::exception& e) {
    return InternalError(std::string("KMS metadata is damaged: ") + e.what());
  }
}

}  // namespace

std::string_view KeyStateName(KeyState s) {
  switch (s) {
    case KeyState::kEnabled: return "Enabled";
    case KeyState::kDisabled: return "Disabled";
    case KeyState::kPendingDeletion: return "PendingDeletion";
    case KeyState::kDeleted: return "Deleted";
  }
  return "Unavailable";
}

Result<std::unique_ptr<FileMetadataStore>> FileMetadataStore::Open(const std::string& dir) {
  SIMPLEAD_RETURN_IF_ERROR(EnsureDirectory(dir));
  std::unique_ptr<FileMetadataStore> store(new FileMetadataStore(dir + "/kms-metadata.json"));
  auto text = ReadWholeFile(store->path_);
  if (!text.ok()) {
    if (text.status().code() == ResultCode::kNoSuchObject) return store;
    return text.status();
  }
  json doc = json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return InternalError(store->path_ + " is not valid JSON");
  try {
    for (const auto& kj : doc.at("keys")) {
      SIMPLEAD_ASSIGN_OR_RETURN(KeyRecord k, KeyFromJson(kj));
      store->keys_[k.key_id] = std::move(k);
    }
    for (const auto& aj : doc.at("aliases")) {
      AliasRecord a{aj.at("name").get<std::string>(), aj.at("targetKeyId").get<std::string>(),
                    FromMs(aj.at("creationDate").get<int64_t>()), FromMs(aj.at("lastUpdatedDate").get<int64_t>())};
      store->aliases_[a.name] = std::move(a);
    }
  } catch (const json::exception& e) {
    return InternalError(store->path_ + " is damaged: " + e.what());
  }
  return store;
}

Result<std::vector<KeyRecord>> FileMetadataStore::LoadKeys() {
  std::vector<KeyRecord> out;
  for (const auto& [id, k] : keys_) out.push_back(k);
  return out;
}

Result<std::vector<AliasRecord>> FileMetadataStore::LoadAliases() {
  std::vector<AliasRecord> out;
  for (const auto& [name, a] : aliases_) out.push_back(a);
  return out;
}

Status FileMetadataStore::PutKey(const KeyRecord& key) {
  auto old = keys_.find(key.key_id);
  std::optional<KeyRecord> previous;
  if (old != keys_.end()) previous = old->second;
  keys_[key.key_id] = key;
  Status st = Flush();
  if (!st.ok()) {  // keep memory equal to disk
    if (previous) keys_[key.key_id] = *previous; else keys_.erase(key.key_id);
  }
  return st;
}

Status FileMetadataStore::PutAlias(const AliasRecord& alias) {
  auto old = aliases_.find(alias.name);
  std::optional<AliasRecord> previous;
  if (old != aliases_.end()) previous = old->second;
  aliases_[alias.name] = alias;
  Status st = Flush();
  if (!st.ok()) {
    if (previous) aliases_[alias.name] = *previous; else aliases_.erase(alias.name);
  }
  return st;
}

Status FileMetadataStore::DeleteAlias(const std::string& name) {
  auto it = aliases_.find(name);
  if (it == aliases_.end()) return Status::Ok();
  AliasRecord previous = it->second;
  aliases_.erase(it);
  Status st = Flush();
  if (!st.ok()) aliases_[name] = previous;
  return st;
}

Status FileMetadataStore::Flush() {
  json keys = json::array();
  for (const auto& [id, k] : keys_) keys.push_back(ToJson(k));
  json aliases = json::array();
  for (const auto& [name, a] : aliases_) {
    aliases.push_back({{"name", a.name},
                       {"targetKeyId", a.target_key_id},
                       {"creationDate", Ms(a.creation_date)},
                       {"lastUpdatedDate", Ms(a.last_updated_date)}});
  }
  json doc = {{"formatVersion", 1}, {"keys", keys}, {"aliases", aliases}};
  return WriteFileAtomically(path_, doc.dump(1) + "\n");
}

}  // namespace simplead::kms
