// Directory access control: the rules in force (built-in, configured, stored
// on entries), the requester's groups, and the invariants no rule can change.
#include <algorithm>

#include "lib/ldap/dn.h"
#include "server/backend/directory.h"
#include "server/backend/sid.h"

namespace simplead::backend {

namespace {

// Never returned and never matchable by anyone: verifiers and the history behind them.
bool IsSecretAttribute(std::string_view lower_name) {
  return lower_name == "userpassword" || lower_name == "unicodepwd" || lower_name == "ntpwdhistory" ||
         lower_name == "lmpwdhistory" || lower_name == "supplementalcredentials" || lower_name == "dbcspwd" ||
         lower_name == "simpleadpasswordhistory";
}

// Readable by the account itself and administrators only (AD keeps these
// from other users too): they tell an attacker whose account is close to
// lockout or when it last signed in.
constexpr const char* kConfidentialAttributes[] = {
    "badPwdCount",        "badPasswordTime", "lockoutTime",          "lastLogon", "logonCount", "pwdLastSet",
    "lastLogonTimestamp", "pwdChangedTime",  "pwdAccountLockedTime", "pwdFailureTime", "pwdHistory",
    "msDS-UserPasswordExpiryTimeComputed"};

// The built-in group whose members may read but never write (AD has no such
// group; AWS Managed AD users ask for one for LDAP-reading applications).
constexpr const char* kServiceAccountsGroup = "CN=Service Accounts,CN=Users,";

// "attrs=a,b" from the names the schema knows.
std::string AttributeList(const schema::Schema& schema, const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    if (!schema.FindAttribute(name)) continue;
    if (!out.empty()) out += ',';
    out += name;
  }
  return out;
}

// The AD well-known RIDs of accounts and groups that hold administrative
// power: Administrator, Domain Admins, Schema Admins, Enterprise Admins,
// Domain Controllers.
bool IsAdministrativeRid(uint32_t rid) {
  return rid == 500 || rid == 512 || rid == 516 || rid == 518 || rid == 519;
}

}  // namespace

std::vector<std::string> DefaultSelfWritableAttributes() {
  return {"description", "telephoneNumber", "mobile",     "homePhone", "jpegPhoto",
          "preferredLanguage", "loginShell", "gecos"};
}

Directory::AccessContext::AccessContext(const Directory& directory, const Principal& principal)
    : who(principal),
      unrestricted(principal.internal || principal.is_admin),
      policy(directory.CurrentAccessPolicy()) {
  requester.anonymous = principal.IsAnonymous();
  requester.key = principal.normalized_dn;
  requester.groups = [this, &directory]() -> const std::vector<std::string>& {
    if (!groups_) groups_ = directory.GroupsOfPrincipal(who);
    return *groups_;
  };
}

EntryAccess Directory::AccessTo(const AccessContext& ctx, const ldap::Entry& entry, std::string_view key) const {
  if (ctx.unrestricted) return EntryAccess::Unrestricted();
  return ctx.policy->For(ctx.requester, key, entry, *schema_);
}

EntryAccess Directory::AccessTo(const AccessContext& ctx, const store::StoredEntry& stored) const {
  if (ctx.unrestricted) return EntryAccess::Unrestricted();
  return AccessTo(ctx, stored.entry, DnKey(stored.entry.dn()));
}

bool Directory::CanSee(const AccessContext& ctx, const store::StoredEntry& stored) const {
  return AccessTo(ctx, stored).AllowsEntry(kReadRight);
}

bool Directory::CanReadAttribute(const EntryAccess& access, const schema::AttributeType& attr) const {
  std::string name = ldap::ToLower(attr.name());
  if (IsSecretAttribute(name)) return false;
  return access.Allows(kReadRight, name);
}

bool Directory::IsProtectedEntry(const store::StoredEntry& stored) const {
  if (options_.ad_mode) {
    if (const std::string* sid = stored.entry.First("objectSid")) {
      auto parsed = Sid::FromBinary(*sid);
      if (parsed.ok() && !parsed->sub_authorities.empty() && IsAdministrativeRid(parsed->sub_authorities.back())) {
        return true;
      }
    }
  }
  const std::string dn_key = DnKey(stored.entry.dn());  // only once the SID has not decided
  if (options_.ad_mode && dn_key == admin_groups_key_) return true;
  return IsAdminEntry(stored, dn_key);
}

Status Directory::CheckEntryRight(const AccessContext& ctx, const store::StoredEntry& target,
                                  const EntryAccess& access, uint32_t right, std::string_view operation) const {
  if (ctx.unrestricted) return Status::Ok();
  std::string dn = target.entry.dn().ToString();
  if (ctx.who.IsAnonymous()) {
    return Error(ResultCode::kInsufficientAccessRights, std::string(operation) + " requires authentication: bind first");
  }
  if (right != kReadRight && right != kAddRight && IsProtectedEntry(target)) {
    return Error(ResultCode::kInsufficientAccessRights,
                 dn + " is a protected administrative object: only domain administrators may " +
                     std::string(operation) + " it");
  }
  if (!access.AllowsEntry(right)) {
    return Error(ResultCode::kInsufficientAccessRights,
                 "insufficient access rights to " + std::string(operation) + " " + dn);
  }
  return Status::Ok();
}

std::shared_ptr<const std::vector<std::string>> Directory::GroupsOfPrincipal(const Principal& who) const {
  static const auto kNone = std::make_shared<const std::vector<std::string>>();
  if (who.IsAnonymous() || who.id == store::kNoEntry) return kNone;
  uint64_t generation = 0;
  {
    std::lock_guard lock(groups_mu_);
    generation = membership_generation_;
    auto it = group_cache_.find(who.normalized_dn);
    if (it != group_cache_.end() && it->second.first == generation) return it->second.second;
  }
  auto stored = store_->Get(who.id);
  if (!stored.ok() || !stored->has_value()) return kNone;
  auto groups = std::make_shared<const std::vector<std::string>>(GroupsOf((*stored)->entry, 1000));
  std::lock_guard lock(groups_mu_);
  if (group_cache_.size() > 10000) group_cache_.clear();  // bounded; refilled on demand
  // Stamped with the generation read before the walk: a commit in between makes it stale at once.
  group_cache_[who.normalized_dn] = {generation, groups};
  return groups;
}

std::shared_ptr<const AccessPolicy> Directory::CurrentAccessPolicy() const {
  std::lock_guard lock(access_mu_);
  return access_policy_;
}

Status Directory::LoadAccessRules() {
  if (fixed_access_rules_.empty()) {
    auto dn_key = [this](std::string_view dn) { return DnKey(dn); };
    std::vector<std::string> texts;
    if (options_.default_access_rules) {
      std::vector<std::string> confidential(std::begin(kConfidentialAttributes), std::end(kConfidentialAttributes));
      std::string hidden = AttributeList(*schema_, confidential);
      texts.push_back("allow read" + (hidden.empty() ? "" : " attrs!=" + hidden) + " by authenticated");
      if (!hidden.empty()) texts.push_back("allow read attrs=" + hidden + " by self");
      std::vector<std::string> writable = options_.self_writable_attributes;
      for (const auto& name : writable) {
        if (!schema_->FindAttribute(name)) {
          return Error(ResultCode::kUndefinedAttributeType, "self-writable attribute " + name + " is not in the schema");
        }
      }
      writable.push_back("userPassword");
      writable.push_back("unicodePwd");
      texts.push_back("allow write attrs=" + AttributeList(*schema_, writable) + " by self");
      if (options_.ad_mode) {
        texts.push_back("deny write,add,delete by group=\"" + std::string(kServiceAccountsGroup) + options_.suffix +
                        "\"");
      }
    }
    for (const auto& text : texts) {
      SIMPLEAD_ASSIGN_OR_RETURN(auto rule, ParseAccessRule(text, *schema_, dn_key, options_.suffix));
      rule.origin = "built-in";
      fixed_access_rules_.push_back(std::move(rule));
    }
    for (const auto& text : options_.access_rules) {
      auto rule = ParseAccessRule(text, *schema_, dn_key, options_.suffix);
      if (!rule.ok()) return Status(rule.status().code(), "configured " + rule.status().message());
      rule->origin = "config";
      fixed_access_rules_.push_back(std::move(*rule));
    }
  }
  std::vector<AccessRule> rules = fixed_access_rules_;
  size_t bad = 0;
  std::vector<store::EntryId> holders;
  SIMPLEAD_RETURN_IF_ERROR(
      store_->ForEachIndexed(store::IndexKind::kPresence, "simpleadaccessrule", "", [&](store::EntryId id) {
        holders.push_back(id);
        return holders.size() < 100000;
      }));
  for (store::EntryId id : holders) {
    SIMPLEAD_ASSIGN_OR_RETURN(auto stored, store_->Get(id));
    if (!stored) continue;
    std::string holder = stored->entry.dn().ToString();
    auto dn_key = [this](std::string_view dn) { return DnKey(dn); };
    for (const auto& text : stored->entry.Values("simpleadAccessRule")) {
      auto rule = ParseAccessRule(text, *schema_, dn_key, holder, /*allow_on=*/false);
      if (!rule.ok()) {
        // Fail closed: a rule we cannot read might have been a deny.
        ++bad;
        rule = ParseAccessRule("deny all by anyone", *schema_, dn_key, holder, false);
        if (!rule.ok()) return rule.status();
      }
      rule->origin = holder;
      rules.push_back(std::move(*rule));
    }
  }
  auto policy = std::make_shared<const AccessPolicy>(std::move(rules));
  std::lock_guard lock(access_mu_);
  access_policy_ = std::move(policy);
  bad_stored_rules_ = bad;
  return Status::Ok();
}

void Directory::AfterCommit(bool rules_changed, bool membership_changed) {
  if (membership_changed) {
    std::lock_guard lock(groups_mu_);
    ++membership_generation_;
  }
  if (rules_changed) (void)LoadAccessRules();  // on failure the previous rules stay in force
}

Status Directory::ValidateAccessRules(const ldap::Entry& entry) const {
  auto dn_key = [this](std::string_view dn) { return DnKey(dn); };
  std::string holder = entry.dn().ToString();
  for (const auto& text : entry.Values("simpleadAccessRule")) {
    auto rule = ParseAccessRule(text, *schema_, dn_key, holder, /*allow_on=*/false);
    if (!rule.ok()) return rule.status();
  }
  return Status::Ok();
}

Status Directory::NoSuchObject(const AccessContext& ctx, const ldap::Dn& dn, std::string_view what) const {
  return Status(ResultCode::kNoSuchObject, std::string(what) + " " + dn.ToString() + " does not exist",
                NoSuchObjectMatched(dn, &ctx));
}

}  // namespace simplead::backend
