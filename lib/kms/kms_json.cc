#include "lib/kms/kms_json.h"

#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "lib/kms/crypto.h"

namespace simplead::kms {
namespace {

using nlohmann::json;

// Thrown only inside this file, for requests that fail before an operation.
struct BadRequest {
  Status status;
};

[[noreturn]] void Reject(std::string message) { throw BadRequest{KmsStatus(KmsError::kValidation, message)}; }

double EpochSeconds(Clock::TimePoint t) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count()) /
         1000.0;
}

std::string Str(const json& req, const char* field, bool required) {
  if (!req.contains(field) || req[field].is_null()) {
    if (required) Reject(std::string(field) + " is required");
    return "";
  }
  if (!req[field].is_string()) Reject(std::string(field) + " must be a string");
  return req[field].get<std::string>();
}

std::optional<int64_t> Int(const json& req, const char* field) {
  if (!req.contains(field) || req[field].is_null()) return std::nullopt;
  if (!req[field].is_number_integer()) Reject(std::string(field) + " must be an integer");
  return req[field].get<int64_t>();
}

std::string Blob(const json& req, const char* field) {
  std::string text = Str(req, field, true);
  auto raw = Base64Decode(text);
  if (!raw.ok()) Reject(std::string(field) + " is not valid base64");
  return *raw;
}

EncryptionContext Context(const json& req, const char* field) {
  EncryptionContext ctx;
  if (!req.contains(field) || req[field].is_null()) return ctx;
  if (!req[field].is_object()) Reject(std::string(field) + " must be an object of strings");
  for (const auto& [k, v] : req[field].items()) {
    if (!v.is_string()) Reject(std::string(field) + " values must be strings");
    ctx[k] = v.get<std::string>();
  }
  return ctx;
}

std::map<std::string, std::string> Tags(const json& req) {
  std::map<std::string, std::string> tags;
  if (!req.contains("Tags") || req["Tags"].is_null()) return tags;
  if (!req["Tags"].is_array()) Reject("Tags must be a list of {TagKey, TagValue}");
  for (const auto& t : req["Tags"]) {
    if (!t.is_object()) Reject("Tags must be a list of {TagKey, TagValue}");
    tags[Str(t, "TagKey", true)] = Str(t, "TagValue", false);
  }
  return tags;
}

json MetadataJson(const KeyMetadata& m) {
  json j = {{"KeyId", m.key_id},
            {"Arn", m.arn},
            {"CreationDate", EpochSeconds(m.creation_date)},
            {"Enabled", m.enabled},
            {"Description", m.description},
            {"KeyUsage", m.key_usage},
            {"KeyState", m.key_state},
            {"Origin", m.origin},
            {"KeyManager", m.key_manager},
            {"KeySpec", m.key_spec},
            {"CustomerMasterKeySpec", m.key_spec},
            {"EncryptionAlgorithms", {"SYMMETRIC_DEFAULT"}},
            {"MultiRegion", false},
            {"CurrentKeyVersion", m.current_key_version}};
  if (m.deletion_date) {
    j["DeletionDate"] = EpochSeconds(*m.deletion_date);
    j["PendingDeletionWindowInDays"] = m.pending_deletion_window_in_days;
  }
  return j;
}

using Handler = std::function<Result<json>(Kms&, const Caller&, const json&)>;

template <typename T, typename Fn>
Result<json> Map(Result<T> r, Fn fn) {
  if (!r.ok()) return r.status();
  return fn(*r);
}

Result<json> FromStatus(Status st) {
  if (!st.ok()) return st;
  return json::object();
}

const std::map<std::string, Handler, std::less<>>& Handlers() {
  static const auto* handlers = new std::map<std::string, Handler, std::less<>>{
      {"CreateKey",
       [](Kms& k, const Caller& c, const json& r) {
         CreateKeyRequest req;
         req.description = Str(r, "Description", false);
         req.policy = Str(r, "Policy", false);
         req.tags = Tags(r);
         if (r.contains("KeyUsage")) req.key_usage = Str(r, "KeyUsage", true);
         if (r.contains("KeySpec")) req.key_spec = Str(r, "KeySpec", true);
         if (r.contains("Origin")) req.origin = Str(r, "Origin", true);
         return Map(k.CreateKey(c, req), [](const KeyMetadata& m) { return json{{"KeyMetadata", MetadataJson(m)}}; });
       }},
      {"DescribeKey",
       [](Kms& k, const Caller& c, const json& r) {
         return Map(k.DescribeKey(c, Str(r, "KeyId", true)),
                    [](const KeyMetadata& m) { return json{{"KeyMetadata", MetadataJson(m)}}; });
       }},
      {"ListKeys",
       [](Kms& k, const Caller& c, const json&) {
         return Map(k.ListKeys(c), [](const std::vector<KeyListEntry>& keys) {
           json list = json::array();
           for (const auto& e : keys) list.push_back({{"KeyId", e.key_id}, {"KeyArn", e.key_arn}});
           return json{{"Keys", list}, {"Truncated", false}};
         });
       }},
      {"Encrypt",
       [](Kms& k, const Caller& c, const json& r) {
         std::string key_id = Str(r, "KeyId", true);
         SecureBytes plaintext(Blob(r, "Plaintext"));
         return Map(k.Encrypt(c, key_id, plaintext, Context(r, "EncryptionContext")), [](const EncryptResult& e) {
           return json{{"CiphertextBlob", Base64Encode(e.ciphertext_blob)},
                       {"KeyId", e.key_arn},
                       {"EncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
         });
       }},
      {"Decrypt",
       [](Kms& k, const Caller& c, const json& r) {
         return Map(k.Decrypt(c, Blob(r, "CiphertextBlob"), Context(r, "EncryptionContext"), Str(r, "KeyId", false)),
                    [](const DecryptResult& d) {
                      return json{{"Plaintext", Base64Encode(d.plaintext.view())},
                                  {"KeyId", d.key_arn},
                                  {"EncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
                    });
       }},
      {"ReEncrypt",
       [](Kms& k, const Caller& c, const json& r) {
         return Map(k.ReEncrypt(c, Blob(r, "CiphertextBlob"), Context(r, "SourceEncryptionContext"),
                                Str(r, "DestinationKeyId", true), Context(r, "DestinationEncryptionContext"),
                                Str(r, "SourceKeyId", false)),
                    [](const ReEncryptResult& e) {
                      return json{{"CiphertextBlob", Base64Encode(e.ciphertext_blob)},
                                  {"SourceKeyId", e.source_key_arn},
                                  {"KeyId", e.key_arn},
                                  {"SourceEncryptionAlgorithm", "SYMMETRIC_DEFAULT"},
                                  {"DestinationEncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
                    });
       }},
      {"GenerateDataKey",
       [](Kms& k, const Caller& c, const json& r) {
         DataKeySpec spec;
         if (r.contains("KeySpec")) spec.key_spec = Str(r, "KeySpec", true);
         spec.number_of_bytes = Int(r, "NumberOfBytes");
         return Map(k.GenerateDataKey(c, Str(r, "KeyId", true), spec, Context(r, "EncryptionContext")),
                    [](const DataKeyResult& d) {
                      return json{{"CiphertextBlob", Base64Encode(d.ciphertext_blob)},
                                  {"Plaintext", Base64Encode(d.plaintext.view())},
                                  {"KeyId", d.key_arn}};
                    });
       }},
      {"GenerateDataKeyWithoutPlaintext",
       [](Kms& k, const Caller& c, const json& r) {
         DataKeySpec spec;
         if (r.contains("KeySpec")) spec.key_spec = Str(r, "KeySpec", true);
         spec.number_of_bytes = Int(r, "NumberOfBytes");
         return Map(k.GenerateDataKeyWithoutPlaintext(c, Str(r, "KeyId", true), spec, Context(r, "EncryptionContext")),
                    [](const DataKeyResult& d) {
                      return json{{"CiphertextBlob", Base64Encode(d.ciphertext_blob)}, {"KeyId", d.key_arn}};
                    });
       }},
      {"GenerateRandom",
       [](Kms& k, const Caller& c, const json& r) {
         auto n = Int(r, "NumberOfBytes");
         if (!n) Reject("NumberOfBytes is required");
         return Map(k.GenerateRandom(c, *n),
                    [](const SecureBytes& b) { return json{{"Plaintext", Base64Encode(b.view())}}; });
       }},
      {"EnableKey",
       [](Kms& k, const Caller& c, const json& r) { return FromStatus(k.EnableKey(c, Str(r, "KeyId", true))); }},
      {"DisableKey",
       [](Kms& k, const Caller& c, const json& r) { return FromStatus(k.DisableKey(c, Str(r, "KeyId", true))); }},
      {"EnableKeyRotation",
       [](Kms& k, const Caller& c, const json& r) {
         return FromStatus(k.EnableKeyRotation(c, Str(r, "KeyId", true), Int(r, "RotationPeriodInDays")));
       }},
      {"DisableKeyRotation",
       [](Kms& k, const Caller& c, const json& r) {
         return FromStatus(k.DisableKeyRotation(c, Str(r, "KeyId", true)));
       }},
      {"GetKeyRotationStatus",
       [](Kms& k, const Caller& c, const json& r) {
         return Map(k.GetKeyRotationStatus(c, Str(r, "KeyId", true)), [](const RotationStatus& s) {
           json j = {{"KeyRotationEnabled", s.enabled}, {"KeyId", s.key_arn}};
           if (s.enabled) {
             j["RotationPeriodInDays"] = s.rotation_period_in_days;
             if (s.next_rotation_date) j["NextRotationDate"] = EpochSeconds(*s.next_rotation_date);
           }
           return j;
         });
       }},
      {"RotateKeyOnDemand",
       [](Kms& k, const Caller& c, const json& r) {
         return Map(k.RotateKeyOnDemand(c, Str(r, "KeyId", true)),
                    [](const std::string& arn) { return json{{"KeyId", arn}}; });
       }},
      {"ScheduleKeyDeletion",
       [](Kms& k, const Caller& c, const json& r) {
         return Map(k.ScheduleKeyDeletion(c, Str(r, "KeyId", true), Int(r, "PendingWindowInDays")),
                    [](const DeletionSchedule& d) {
                      return json{{"KeyId", d.key_arn},
                                  {"DeletionDate", EpochSeconds(d.deletion_date)},
                                  {"KeyState", d.key_state},
                                  {"PendingWindowInDays", d.pending_window_in_days}};
                    });
       }},
      {"CancelKeyDeletion",
       [](Kms& k, const Caller& c, const json& r) {
         return Map(k.CancelKeyDeletion(c, Str(r, "KeyId", true)),
                    [](const std::string& arn) { return json{{"KeyId", arn}}; });
       }},
      {"CreateAlias",
       [](Kms& k, const Caller& c, const json& r) {
         return FromStatus(k.CreateAlias(c, Str(r, "AliasName", true), Str(r, "TargetKeyId", true)));
       }},
      {"DeleteAlias",
       [](Kms& k, const Caller& c, const json& r) { return FromStatus(k.DeleteAlias(c, Str(r, "AliasName", true))); }},
      {"ListAliases",
       [](Kms& k, const Caller& c, const json& r) {
         return Map(k.ListAliases(c, Str(r, "KeyId", false)), [](const std::vector<AliasEntry>& aliases) {
           json list = json::array();
           for (const auto& a : aliases) {
             list.push_back({{"AliasName", a.alias_name},
                             {"AliasArn", a.alias_arn},
                             {"TargetKeyId", a.target_key_id},
                             {"CreationDate", EpochSeconds(a.creation_date)},
                             {"LastUpdatedDate", EpochSeconds(a.last_updated_date)}});
           }
           return json{{"Aliases", list}, {"Truncated", false}};
         });
       }},
      {"TagResource",
       [](Kms& k, const Caller& c, const json& r) {
         return FromStatus(k.TagResource(c, Str(r, "KeyId", true), Tags(r)));
       }},
      {"UntagResource",
       [](Kms& k, const Caller& c, const json& r) {
         std::vector<std::string> keys;
         if (!r.contains("TagKeys") || !r["TagKeys"].is_array()) Reject("TagKeys must be a list of strings");
         for (const auto& t : r["TagKeys"]) {
           if (!t.is_string()) Reject("TagKeys must be a list of strings");
           keys.push_back(t.get<std::string>());
         }
         return FromStatus(k.UntagResource(c, Str(r, "KeyId", true), keys));
       }},
      {"ListResourceTags",
       [](Kms& k, const Caller& c, const json& r) {
         return Map(k.ListResourceTags(c, Str(r, "KeyId", true)), [](const std::map<std::string, std::string>& tags) {
           json list = json::array();
           for (const auto& [tk, tv] : tags) list.push_back({{"TagKey", tk}, {"TagValue", tv}});
           return json{{"Tags", list}, {"Truncated", false}};
         });
       }},
      {"GetKeyPolicy",
       [](Kms& k, const Caller& c, const json& r) {
         return Map(k.GetKeyPolicy(c, Str(r, "KeyId", true)),
                    [](const std::string& p) { return json{{"Policy", p}, {"PolicyName", "default"}}; });
       }},
      {"PutKeyPolicy",
       [](Kms& k, const Caller& c, const json& r) {
         return FromStatus(k.PutKeyPolicy(c, Str(r, "KeyId", true), Str(r, "Policy", true)));
       }},
  };
  return *handlers;
}

}  // namespace

JsonResponse KmsJsonError(const Status& error) {
  std::string name = KmsErrorName(error);
  json body = {{"__type", name}, {"message", KmsErrorMessage(error)}};
  return {KmsHttpStatus(name), body.dump(), name};
}

JsonResponse HandleKmsJson(Kms& kms, const Caller& caller, std::string_view operation, std::string_view body) {
  const auto& handlers = Handlers();
  auto it = handlers.find(operation);
  if (it == handlers.end()) {
    Status st = kms.AuditRejectedCall(
        caller, operation, KmsStatus(KmsError::kUnknownOperation, "unknown operation '" + std::string(operation) + "'"));
    return KmsJsonError(st);
  }
  json request = body.empty() ? json::object() : json::parse(body, nullptr, false);
  if (request.is_discarded() || !request.is_object()) {
    Status st = kms.AuditRejectedCall(caller, operation,
                                      KmsStatus(KmsError::kSerialization, "the request body is not a JSON object"));
    return KmsJsonError(st);
  }
  try {
    auto result = it->second(kms, caller, request);
    if (!result.ok()) return KmsJsonError(result.status());
    return {200, result->dump(), ""};
  } catch (const BadRequest& bad) {
    return KmsJsonError(kms.AuditRejectedCall(caller, operation, bad.status));
  } catch (const json::exception& e) {
    return KmsJsonError(
        kms.AuditRejectedCall(caller, operation, KmsStatus(KmsError::kSerialization, e.what())));
  }
}

const std::vector<std::string>& KmsOperationNames() {
  static const auto* names = [] {
    auto* v = new std::vector<std::string>();
    for (const auto& [name, h] : Handlers()) v->push_back(name);
    return v;
  }();
  return *names;
}

}  // namespace simplead::kms
