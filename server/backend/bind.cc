// Authentication: bind-name resolution (DN, UPN, down-level), password
// verification with AD-style diagnostics, and password changes.
#include <openssl/sha.h>

#include <algorithm>

#include "lib/ldap/dn.h"
#include "server/backend/directory.h"
#include "server/backend/meta_keys.h"
#include "server/backend/passwords.h"

namespace simplead::backend {

namespace {

// AD's answers (the "data" field is the Win32 error a client library shows).
constexpr const char* kBadCredentials =
    "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563";
constexpr const char* kAccountDisabled =
    "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 533, v4563";
constexpr const char* kAccountExpired =
    "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 701, v4563";
constexpr const char* kLockedOut =
    "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 775, v4563";
constexpr const char* kPasswordExpired =
    "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 532, v4563";
constexpr const char* kMustChange =
    "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 773, v4563";

constexpr long long kUacAccountDisable = 0x2;
constexpr long long kUacDontExpirePassword = 0x10000;

long long IntValue(const ldap::Entry& e, std::string_view attr, long long fallback) {
  const std::string* v = e.First(attr);
  if (!v) return fallback;
  try {
    return std::stoll(*v);
  } catch (const std::exception&) {
    return fallback;
  }
}

// The cached record is shared, not copied: a bind only reads it.
std::shared_ptr<const store::StoredEntry> NoEntry() { return nullptr; }

}  // namespace

Result<std::shared_ptr<const store::StoredEntry>> Directory::FindByIndex(std::string_view attribute,
                                                                         std::string_view value) const {
  const auto* at = schema_->FindAttribute(attribute);
  if (!at) return NoEntry();
  auto key = schema_->NormalizeEquality(*at, value);
  if (!key.ok()) return NoEntry();
  std::vector<store::EntryId> ids;
  SIMPLEAD_RETURN_IF_ERROR(store_->ForEachIndexed(store::IndexKind::kEquality, ldap::ToLower(at->name()), *key,
                                                  [&](store::EntryId id) {
                                                    ids.push_back(id);
                                                    return ids.size() < 2;
                                                  }));
  if (ids.size() != 1) return NoEntry();  // none, or ambiguous
  return store_->GetShared(ids.front());
}

Result<std::shared_ptr<const store::StoredEntry>> Directory::ResolveBindName(std::string_view name,
                                                                             std::string* dn_key) const {
  if (name.find('=') != std::string_view::npos) {
    auto key = DnKey(name);
    if (!key.ok()) return NoEntry();
    SIMPLEAD_ASSIGN_OR_RETURN(auto id, store_->FindId(*key));
    if (!id) return NoEntry();
    SIMPLEAD_ASSIGN_OR_RETURN(auto found, store_->GetShared(*id));
    if (found && dn_key) *dn_key = std::move(*key);
    return found;
  }
  if (!options_.ad_mode) {
    // Plain mode: a bare name is a uid, as nslcd-style tools expect.
    return FindByIndex("uid", name);
  }
  if (size_t slash = name.find('\\'); slash != std::string_view::npos) {
    std::string_view domain = name.substr(0, slash);
    if (!ldap::EqualsIgnoreCase(domain, options_.netbios) && !ldap::EqualsIgnoreCase(domain, options_.domain_fqdn)) {
      return NoEntry();
    }
    return FindByIndex("sAMAccountName", name.substr(slash + 1));
  }
  if (name.find('@') != std::string_view::npos) {
    SIMPLEAD_ASSIGN_OR_RETURN(auto by_upn, FindByIndex("userPrincipalName", name));
    if (by_upn) return by_upn;
    // The implicit UPN: sAMAccountName@<domain>.
    size_t at = name.rfind('@');
    if (ldap::EqualsIgnoreCase(name.substr(at + 1), options_.domain_fqdn)) {
      return FindByIndex("sAMAccountName", name.substr(0, at));
    }
    return NoEntry();
  }
  return FindByIndex("sAMAccountName", name);
}

Result<bool> Directory::VerifyEntryPassword(const ldap::Entry& entry, std::string_view password) const {
  bool matched = false;
  for (const auto& sealed : entry.Values("userPassword")) {
    auto verifier = sealer_->Open(sealed, SecretContextFor(entry, "userPassword"));
    if (!verifier.ok()) {
      if (verifier.status().code() == ResultCode::kUnavailable) return verifier.status();
      continue;  // a verifier that does not open (tampered, moved) never matches
    }
    auto ok = auth::VerifyPassword(password, verifier->view());
    if (ok.ok() && *ok) matched = true;
  }
  return matched;
}

Result<Principal> Directory::Authenticate(std::string_view name, std::string_view password) {
  bool too_costly = false;
  return AuthenticateImpl(name, password, /*cheap_only=*/false, &too_costly);
}

std::optional<Result<Principal>> Directory::AuthenticateIfCheap(std::string_view name, std::string_view password) {
  bool too_costly = false;
  auto result = AuthenticateImpl(name, password, /*cheap_only=*/true, &too_costly);
  if (too_costly || !result.ok()) return std::nullopt;
  return result;
}

Result<Principal> Directory::AuthenticateImpl(std::string_view name, std::string_view password, bool cheap_only,
                                              bool* too_costly) {
  Status bad(ResultCode::kInvalidCredentials, kBadCredentials);
  // In cheap-only mode every path that would block or write gives up here.
  auto give_up = [&] {
    *too_costly = true;
    return Status(ResultCode::kBusy, "needs the worker pool");
  };
  std::string resolved_key;  // the entry's DN key when `name` is a DN
  SIMPLEAD_ASSIGN_OR_RETURN(auto resolved, ResolveBindName(name, &resolved_key));
  if (cheap_only && (!resolved || !resolved->entry.Has("userPassword"))) return give_up();
  if (!resolved || !resolved->entry.Has("userPassword")) {
    // Same answer and about the same time as a wrong password. A real
    // account's first failed bind also pays a KMS call for its data key (then
    // caches it): a decoy data key per unknown name costs the same, cached
    // the same way, so timing does not tell which names exist.
    unsigned char digest[SHA256_DIGEST_LENGTH];
    std::string folded = ldap::ToLower(name);
    SHA256(reinterpret_cast<const unsigned char*>(folded.data()), folded.size(), digest);
    std::string decoy_id;
    for (unsigned char b : digest) decoy_id += "0123456789abcdef"[b >> 4], decoy_id += "0123456789abcdef"[b & 15];
    (void)sealer_->Seal("decoy", SecretContext{{"directory", directory_id_},
                                                {"entry", "unknown:" + decoy_id},
                                                {"attribute", "userPassword"}});
    auth::SimulateVerify(options_.hash_params);
    return bad;
  }
  const ldap::Entry& entry = resolved->entry;
  PasswordPolicy policy = EffectivePolicy(entry);
  long long now = ToFileTime(clock_.Now());
  long long locked_at = IntValue(entry, "lockoutTime", 0);
  bool lockout_expired = false;
  if (locked_at > 0 && policy.lockout_threshold > 0) {
    // A zero duration means "until an administrator unlocks" (lockoutTime: 0).
    bool still_locked = policy.lockout_duration.count() == 0 ||
                        now < locked_at + policy.lockout_duration.count() * 10'000'000LL;
    if (still_locked) {
      if (cheap_only) return give_up();
      auth::SimulateVerify(options_.hash_params);
      return Status(ResultCode::kInvalidCredentials, kLockedOut);
    }
    lockout_expired = true;
  }
  // Each verifier is opened once: the same plaintext answers "does it match"
  // and "does it need re-hashing" (opening is a KMS data-key lookup).
  bool matched = false;
  bool rehash = false;
  SecretContext secret_context = SecretContextFor(entry, "userPassword");
  for (const auto& sealed : entry.Values("userPassword")) {
    Result<SecureBytes> verifier = SecureBytes();
    if (cheap_only) {
      auto opened = sealer_->OpenWithoutKeyService(sealed, secret_context);
      if (!opened) return give_up();
      verifier = std::move(*opened);
    } else {
      verifier = sealer_->Open(sealed, secret_context);
    }
    if (!verifier.ok()) {
      if (verifier.status().code() == ResultCode::kUnavailable) return verifier.status();
      continue;  // a verifier that does not open (tampered, moved) never matches
    }
    if (cheap_only && !auth::IsCheapToVerify(verifier->view())) return give_up();
    auto ok = auth::VerifyPassword(password, verifier->view());
    if (ok.ok() && *ok) matched = true;
    if (auth::NeedsRehash(verifier->view(), options_.hash_params)) rehash = true;
  }
  if (cheap_only && !matched) return give_up();  // counted and audited on the pool
  if (!matched) {
    if (TracksLockout(entry)) RecordBadPassword(resolved->id, policy);
    return bad;
  }
  long long uac = IntValue(entry, "userAccountControl", 0);
  if (uac & kUacAccountDisable) return Status(ResultCode::kInvalidCredentials, kAccountDisabled);
  long long expires = IntValue(entry, "accountExpires", 0);
  if (expires > 0 && expires != 9223372036854775807LL && ToFileTime(clock_.Now()) > expires) {
    return Status(ResultCode::kInvalidCredentials, kAccountExpired);
  }
  if (options_.ad_mode && entry.Has("pwdLastSet") && IntValue(entry, "pwdLastSet", 1) == 0 &&
      !(uac & kUacDontExpirePassword)) {
    return Status(ResultCode::kInvalidCredentials, kMustChange);
  }
  if (options_.ad_mode && policy.max_age.count() > 0 && !(uac & kUacDontExpirePassword)) {
    long long last_set = IntValue(entry, "pwdLastSet", 0);
    if (last_set > 0 && now > last_set + policy.max_age.count() * 10'000'000LL) {
      return Status(ResultCode::kInvalidCredentials, kPasswordExpired);
    }
  }
  bool reset_counters = IntValue(entry, "badPwdCount", 0) != 0 || lockout_expired;
  if (cheap_only && (rehash || reset_counters)) return give_up();
  // Upgrade imported or weaker verifiers now that we know the password.
  if (rehash || reset_counters) {
    std::optional<std::string> hash;
    if (rehash) {
      auto h = auth::HashPassword(password, options_.hash_params);
      if (h.ok()) hash = *h;
    }
    std::unique_lock lock(write_mu_);
    auto txn = store_->BeginWrite();
    auto current = txn.Get(resolved->id);
    if (current.ok() && current->has_value()) {
      ldap::Entry updated = (*current)->entry;
      if (hash) {
        auto sealed = sealer_->Seal(*hash, SecretContextFor(updated, "userPassword"));
        if (sealed.ok()) updated.Set("userPassword", {*sealed});
      }
      if (reset_counters && TracksLockout(updated)) {
        updated.Set("badPwdCount", {"0"});
        if (updated.Has("lockoutTime")) updated.Set("lockoutTime", {"0"});
      }
      ApplyIndexDiff(txn, resolved->id, &(*current)->entry, &updated);
      txn.UpdateEntry(resolved->id, (*current)->parent, updated);
      // Best effort: the bind succeeds either way. Group commit: the fsync
      // runs after the lock is released.
      auto ticket = txn.CommitDeferred();
      lock.unlock();
      if (ticket.ok()) (void)store_->WaitDurable(*ticket);
    }
  }
  Principal principal;
  principal.dn = resolved->dn_text.empty() ? entry.dn().ToString() : resolved->dn_text;
  principal.normalized_dn = resolved_key.empty() ? DnKey(entry.dn()) : std::move(resolved_key);
  principal.id = resolved->id;
  principal.is_admin = IsAdminEntry(*resolved, principal.normalized_dn);
  return principal;
}

Status Directory::ApplyPasswordChange(const Principal& who, const store::StoredEntry& target,
                                      const ldap::Modification& change, bool privileged,
                                      std::vector<std::string>* new_passwords, bool* password_removed,
                                      ldap::Entry* updated) const {
  (void)who;
  (void)updated;
  bool unicode = ldap::EqualsIgnoreCase(change.attribute.type, "unicodePwd");
  auto cleartext = [&](const std::string& value) -> Result<std::string> {
    if (!unicode) return value;
    SIMPLEAD_ASSIGN_OR_RETURN(auto decoded, DecodeUnicodePwd(value));
    return std::string(decoded.view());
  };
  using Op = ldap::Modification::Op;
  switch (change.op) {
    case Op::kReplace:
      if (unicode && !privileged) {
        return Error(ResultCode::kInsufficientAccessRights,
                     "changing your own unicodePwd takes a delete of the old value and an add of the new one");
      }
      *password_removed = true;
      new_passwords->clear();
      for (const auto& v : change.attribute.values) {
        SIMPLEAD_ASSIGN_OR_RETURN(auto p, cleartext(v));
        new_passwords->push_back(std::move(p));
      }
      if (new_passwords->empty() && !privileged) {
        return Error(ResultCode::kInsufficientAccessRights, "only administrators can remove a password");
      }
      return Status::Ok();
    case Op::kDelete: {
      if (change.attribute.values.empty()) {
        if (!privileged) return Error(ResultCode::kInsufficientAccessRights, "only administrators can remove a password");
        *password_removed = true;
        return Status::Ok();
      }
      for (const auto& v : change.attribute.values) {
        SIMPLEAD_ASSIGN_OR_RETURN(auto old_password, cleartext(v));
        SIMPLEAD_ASSIGN_OR_RETURN(bool matches, VerifyEntryPassword(target.entry, old_password));
        if (!matches) {
          return Error(ResultCode::kConstraintViolation,
                       "0000056B: the old password is not correct (delete of " + change.attribute.type + ")");
        }
      }
      *password_removed = true;
      return Status::Ok();
    }
    case Op::kAdd:
      if (!privileged && !*password_removed) {
        return Error(ResultCode::kInsufficientAccessRights,
                     "adding a password requires deleting the old one in the same request");
      }
      for (const auto& v : change.attribute.values) {
        SIMPLEAD_ASSIGN_OR_RETURN(auto p, cleartext(v));
        new_passwords->push_back(std::move(p));
      }
      return Status::Ok();
    case Op::kIncrement:
      return Error(ResultCode::kConstraintViolation, "passwords cannot be incremented");
  }
  return Status::Ok();
}

Result<std::optional<std::string>> Directory::ModifyPassword(const Principal& who, std::string_view target,
                                                             const std::optional<std::string>& old_password,
                                                             const std::optional<std::string>& new_password) {
  if (who.IsAnonymous()) {
    return Error(ResultCode::kUnwillingToPerform, "password modify requires an authenticated connection");
  }
  std::string target_dn = who.dn;
  if (!target.empty()) {
    // The identity may be a DN ("dn:" prefix allowed, RFC 4513 authzId) or a bind name.
    std::string_view id = target;
    if (id.substr(0, 3) == "dn:") id.remove_prefix(3);
    SIMPLEAD_ASSIGN_OR_RETURN(auto resolved, ResolveBindName(id));
    if (!resolved) return Error(ResultCode::kNoSuchObject, "no such user: " + std::string(target));
    target_dn = resolved->entry.dn().ToString();
  }
  auto key = DnKey(target_dn);
  if (!key.ok()) return key.status();
  // Someone else's password: Modify's access check decides (administrators,
  // delegated OU administrators with write on userPassword).
  bool self = *key == who.normalized_dn;
  std::optional<std::string> generated;
  std::string password;
  if (new_password) {
    password = *new_password;
  } else {
    generated = auth::GeneratePassword(16);
    password = *generated;
  }
  ldap::ModifyRequest request;
  request.dn = target_dn;
  if (self && !who.is_admin) {
    if (!old_password) {
      return Error(ResultCode::kUnwillingToPerform, "changing your own password requires the old password");
    }
    request.changes.push_back({ldap::Modification::Op::kDelete, {"userPassword", {*old_password}}});
    request.changes.push_back({ldap::Modification::Op::kAdd, {"userPassword", {password}}});
  } else {
    if (self && old_password) {
      SIMPLEAD_ASSIGN_OR_RETURN(auto stored, store_->FindId(*key));
      if (stored) {
        SIMPLEAD_ASSIGN_OR_RETURN(auto entry, store_->Get(*stored));
        if (entry) {
          SIMPLEAD_ASSIGN_OR_RETURN(bool ok, VerifyEntryPassword(entry->entry, *old_password));
          if (!ok) return Error(ResultCode::kConstraintViolation, "the old password is not correct");
        }
      }
    }
    request.changes.push_back({ldap::Modification::Op::kReplace, {"userPassword", {password}}});
  }
  WipeString(password);
  Principal actor = who;
  SIMPLEAD_RETURN_IF_ERROR(Modify(actor, std::move(request), {}, nullptr));
  return generated;
}

}  // namespace simplead::backend
