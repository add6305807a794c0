#include "lib/kms/policy.h"

#include <nlohmann/json.hpp>

namespace simplead::kms {
namespace {

using nlohmann::json;

std::vector<std::string> StringOrList(const json& j) {
  std::vector<std::string> out;
  if (j.is_string()) out.push_back(j.get<std::string>());
  if (j.is_array()) {
    for (const auto& e : j) {
      if (e.is_string()) out.push_back(e.get<std::string>());
    }
  }
  return out;
}

bool PrincipalMatches(const json& principal, const Caller& caller) {
  std::vector<std::string> ids;
  if (principal.is_string()) {
    ids.push_back(principal.get<std::string>());
  } else if (principal.is_object() && principal.contains("AWS")) {
    ids = StringOrList(principal["AWS"]);
  }
  for (const auto& id : ids) {
    if (id == "*" || (!caller.arn.empty() && id == caller.arn) ||
        (!caller.principal_id.empty() && id == caller.principal_id)) {
      return true;
    }
  }
  return false;
}

bool ActionMatches(const json& actions, std::string_view action) {
  for (const auto& pattern : StringOrList(actions)) {
    if (pattern == "*" || pattern == action) return true;
    if (!pattern.empty() && pattern.back() == '*' &&
        action.substr(0, pattern.size() - 1) == std::string_view(pattern).substr(0, pattern.size() - 1)) {
      return true;
    }
  }
  return false;
}

}  // namespace

Status ValidateKeyPolicy(std::string_view policy_json) {
  json doc = json::parse(policy_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return Error(ResultCode::kConstraintViolation, "policy is not JSON");
  if (!doc.contains("Statement") || !doc["Statement"].is_array() || doc["Statement"].empty()) {
    return Error(ResultCode::kConstraintViolation, "policy needs a non-empty Statement array");
  }
  for (const auto& s : doc["Statement"]) {
    if (!s.is_object()) return Error(ResultCode::kConstraintViolation, "policy statement is not an object");
    std::string effect = s.value("Effect", "");
    if (effect != "Allow" && effect != "Deny") {
      return Error(ResultCode::kConstraintViolation, "policy statement Effect must be Allow or Deny");
    }
    if (!s.contains("Principal") || !s.contains("Action") || StringOrList(s["Action"]).empty()) {
      return Error(ResultCode::kConstraintViolation, "policy statement needs Principal and Action");
    }
  }
  return Status::Ok();
}

bool KeyPolicyAllows(std::string_view policy_json, const Caller& caller, std::string_view action) {
  json doc = json::parse(policy_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("Statement") || !doc["Statement"].is_array()) {
    return false;
  }
  bool allowed = false;
  for (const auto& s : doc["Statement"]) {
    if (!s.is_object() || !s.contains("Principal") || !s.contains("Action")) continue;
    if (!PrincipalMatches(s["Principal"], caller) || !ActionMatches(s["Action"], action)) continue;
    std::string effect = s.value("Effect", "");
    if (effect == "Deny") return false;
    if (effect == "Allow") allowed = true;
  }
  return allowed;
}

std::string DefaultKeyPolicy(const Caller& creator, const std::vector<std::string>& admin_arns,
                             const std::string& service_arn) {
  json principals = json::array();
  if (!creator.arn.empty()) principals.push_back(creator.arn);
  for (const auto& a : admin_arns) {
    if (a != creator.arn) principals.push_back(a);
  }
  if (service_arn != creator.arn) principals.push_back(service_arn);
  json doc = {{"Version", "2012-10-17"},
              {"Id", "key-default-1"},
              {"Statement",
               {{{"Sid", "Enable key administrators and the creator"},
                 {"Effect", "Allow"},
                 {"Principal", {{"AWS", principals}}},
                 {"Action", "kms:*"},
                 {"Resource", "*"}}}}};
  return doc.dump();
}

}  // namespace simplead::kms
