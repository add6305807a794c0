// Applying the password policy: which policy governs an account, checks on
// new passwords (quality, history, minimum age) and the bad-password counter
// behind lockout.
#include <algorithm>

#include "lib/ldap/dn.h"
#include "server/backend/directory.h"
#include "server/backend/passwords.h"

namespace simplead::backend {

namespace {

long long IntOf(const ldap::Entry& e, std::string_view attr, long long fallback) {
  const std::string* v = e.First(attr);
  if (!v) return fallback;
  try {
    return std::stoll(*v);
  } catch (const std::exception&) {
    return fallback;
  }
}

}  // namespace

PasswordPolicy Directory::EffectivePolicy(const ldap::Entry& account) const {
  PasswordPolicy defaults;
  defaults.source = "built-in defaults";
  PasswordPolicy policy = defaults;
  if (options_.ad_mode) {  // a plain directory has no domain policy: no lookup per bind
    auto suffix_id = store_->FindId(suffix_key_);
    if (suffix_id.ok() && suffix_id->has_value()) {
      auto domain = store_->GetShared(**suffix_id);
      if (domain.ok() && *domain) policy = DomainPolicy((*domain)->entry, defaults);
    }
  }
  // Fine-grained settings objects naming the account or any of its groups.
  const auto* applies = schema_->FindAttribute("msDS-PSOAppliesTo");
  if (!options_.ad_mode || !applies) return policy;
  std::vector<std::string> keys = GroupsOf(account, 1000);
  keys.push_back(DnKey(account.dn()));
  std::optional<std::pair<long long, PasswordPolicy>> best;
  std::set<store::EntryId> seen;
  for (const auto& key : keys) {
    (void)store_->ForEachIndexed(store::IndexKind::kEquality, ldap::ToLower(applies->name()), key,
                                 [&](store::EntryId id) {
                                   if (!seen.insert(id).second) return true;
                                   auto pso = store_->GetShared(id);
                                   if (!pso.ok() || !*pso) return true;
                                   long long precedence =
                                       IntOf((*pso)->entry, "msDS-PasswordSettingsPrecedence", INT64_MAX);
                                   if (!best || precedence < best->first) {
                                     best = {precedence, SettingsObjectPolicy((*pso)->entry)};
                                   }
                                   return true;
                                 });
  }
  return best ? best->second : policy;
}

Status Directory::CheckNewPassword(const Principal& who, const ldap::Entry& account, std::string_view password,
                                   bool is_change) const {
  SIMPLEAD_RETURN_IF_ERROR(CheckPasswordAcceptable(password));
  if (who.internal) return Status::Ok();
  PasswordPolicy policy = EffectivePolicy(account);
  std::vector<std::string> names;
  if (const std::string* sam = account.First("sAMAccountName")) names.push_back(*sam);
  if (const std::string* uid = account.First("uid")) names.push_back(*uid);
  SIMPLEAD_RETURN_IF_ERROR(CheckPasswordQuality(policy, password, names));
  if (!is_change) return Status::Ok();
  bool self = who.normalized_dn == DnKey(account.dn());
  if (self && !who.is_admin && policy.min_age.count() > 0) {
    long long last_set = IntOf(account, "pwdLastSet", 0);
    if (last_set > 0 && ToFileTime(clock_.Now()) < last_set + policy.min_age.count() * 10'000'000LL) {
      return Error(ResultCode::kConstraintViolation,
                   std::string(kPasswordTooYoung) + ": the minimum password age is " +
                       std::to_string(policy.min_age.count()) + " s (policy " + policy.source + ")");
    }
  }
  if (policy.history_length > 0) {
    // The current password and the remembered ones may not be reused.
    std::vector<std::string> old = account.Values("userPassword");
    for (const auto& h : account.Values("simpleadPasswordHistory")) old.push_back(h);
    size_t checked = 0;
    for (const auto& sealed : old) {
      if (checked++ > policy.history_length) break;
      auto verifier = sealer_->Open(sealed, SecretContextFor(account, "userPassword"));
      if (!verifier.ok()) continue;
      auto match = auth::VerifyPassword(password, verifier->view());
      if (match.ok() && *match) {
        return Error(ResultCode::kConstraintViolation,
                     std::string(kPasswordInHistory) + ": the last " + std::to_string(policy.history_length) +
                         " passwords cannot be reused (policy " + policy.source + ")");
      }
    }
  }
  return Status::Ok();
}

bool Directory::TracksLockout(const ldap::Entry& account) const {
  if (!options_.ad_mode || !schema_->FindAttribute("badPwdCount")) return false;
  for (const auto& c : schema_->ExpandObjectClasses(account.Values("objectClass"))) {
    if (ldap::EqualsIgnoreCase(c, "user")) return true;
  }
  return false;
}

void Directory::RecordBadPassword(store::EntryId id, const PasswordPolicy& policy) {
  std::lock_guard lock(write_mu_);
  auto txn = store_->BeginWrite();
  auto current = txn.Get(id);
  if (!current.ok() || !current->has_value()) return;
  ldap::Entry updated = (*current)->entry;
  if (!TracksLockout(updated)) return;
  long long now = ToFileTime(clock_.Now());
  long long last_bad = IntOf(updated, "badPasswordTime", 0);
  long long count = IntOf(updated, "badPwdCount", 0);
  // Failures older than the observation window no longer count.
  if (last_bad > 0 && now - last_bad > policy.observation_window.count() * 10'000'000LL) count = 0;
  ++count;
  updated.Set("badPwdCount", {std::to_string(count)});
  updated.Set("badPasswordTime", {std::to_string(now)});
  if (policy.lockout_threshold > 0 && static_cast<size_t>(count) >= policy.lockout_threshold) {
    updated.Set("lockoutTime", {std::to_string(now)});
  }
  ApplyIndexDiff(txn, id, &(*current)->entry, &updated);
  txn.UpdateEntry(id, (*current)->parent, updated);
  // Not synced: a failed bind for a real account must cost what one for an
  // unknown name costs (no timing oracle), and a crash may forget a count.
  (void)txn.Commit(/*sync=*/false);
}

}  // namespace simplead::backend
