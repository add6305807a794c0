// Directory writes: add, delete, modify, modify DN. Each is one store
// transaction holding the entry, its index keys, memberOf back-links,
// referential integrity of member values and the changelog record.
#include <algorithm>
#include <unordered_set>

#include "lib/ldap/dn.h"
#include "lib/ldap/ldif.h"
#include "schema/filter_eval.h"
#include "server/backend/directory.h"
#include "server/backend/meta_keys.h"
#include "server/backend/passwords.h"

namespace simplead::backend {

namespace {

// DN-valued attributes kept consistent when their targets move or vanish.
constexpr const char* kReferenceAttributes[] = {"member", "uniqueMember", "memberOf", "manager", "managedBy",
                                                "secretary", "seeAlso"};
// Group membership attributes whose targets carry memberOf back-links.
constexpr const char* kMembershipAttribute = "member";

bool IsPasswordAttribute(std::string_view lower) { return lower == "userpassword" || lower == "unicodepwd"; }

std::string ChangeLdif(std::string_view type, const ldap::Entry* after, const std::vector<ldap::Modification>* mods,
                       std::string_view new_dn) {
  // Secrets never reach the changelog: their values are elided.
  auto redact = [](const ldap::Attribute& a) {
    if (IsPasswordAttribute(ldap::ToLower(a.type))) return ldap::Attribute{a.type, {"*"}};
    return a;
  };
  std::string out = "changetype: " + std::string(type) + "\n";
  if (after && type == "add") {
    for (const auto& a : after->attributes()) {
      for (const auto& v : redact(a).values) out += a.type + ": " + v + "\n";
    }
  } else if (mods) {
    for (const auto& m : *mods) {
      static const char* kOps[] = {"add", "delete", "replace", "increment"};
      out += std::string(kOps[static_cast<int>(m.op)]) + ": " + m.attribute.type + "\n";
      for (const auto& v : redact(m.attribute).values) out += m.attribute.type + ": " + v + "\n";
      out += "-\n";
    }
  } else if (!new_dn.empty()) {
    out += "newdn: " + std::string(new_dn) + "\n";
  }
  return out;
}

// Does the entry hold `value` for `type` under the attribute's equality rule
// (byte equality when the type is unknown)? Used for RDN values.
bool HasEqualValue(const schema::Schema& schema, const schema::AttributeType* at, const ldap::Entry& entry,
                   const std::string& type, const std::string& value) {
  auto normalize = [&](const std::string& v) { return at ? schema.NormalizeEquality(*at, v) : Result<std::string>(v); };
  auto want = normalize(value);
  if (!want.ok()) return false;
  for (const auto& v : entry.Values(type)) {
    auto n = normalize(v);
    if (n.ok() && *n == *want) return true;
  }
  return false;
}

bool ContainsKey(const std::vector<std::string>& values, const std::string& key) {
  for (const auto& v : values) {
    auto k = ldap::NormalizeDn(v);
    if (k.ok() && *k == key) return true;
  }
  return false;
}

}  // namespace

Status Directory::CheckAssertion(const WriteOptions& options, const ldap::Entry& entry,
                                 const EntryAccess& access) const {
  if (!options.assertion) return Status::Ok();
  // Only what the caller may read takes part: no probing of hidden values through the control.
  schema::EvalHooks hooks;
  hooks.can_read = [&](const schema::AttributeType& at) { return CanReadAttribute(access, at); };
  if (schema::Evaluate(*options.assertion, entry, *schema_, hooks) != schema::Tri::kTrue) {
    return Error(ResultCode::kAssertionFailed, "the assertion control's filter does not match the entry");
  }
  return Status::Ok();
}

Status Directory::CheckUniqueness(store::WriteTxn&, const ldap::Entry& entry, store::EntryId self) const {
  if (!options_.ad_mode) return Status::Ok();
  struct Rule {
    const char* attribute;
    ResultCode code;
  };
  // AD answers entryAlreadyExists for a duplicate sAMAccountName and
  // constraintViolation for a duplicate userPrincipalName.
  for (const Rule& rule : {Rule{"sAMAccountName", ResultCode::kEntryAlreadyExists},
                           Rule{"userPrincipalName", ResultCode::kConstraintViolation}}) {
    const auto* at = schema_->FindAttribute(rule.attribute);
    if (!at) continue;
    for (const auto& value : entry.Values(rule.attribute)) {
      auto key = schema_->NormalizeEquality(*at, value);
      if (!key.ok()) return key.status();
      bool clash = false;
      (void)store_->ForEachIndexed(store::IndexKind::kEquality, ldap::ToLower(at->name()), *key,
                                   [&](store::EntryId id) {
                                     clash = clash || id != self;
                                     return !clash;
                                   });
      if (clash) {
        return Error(rule.code, std::string(rule.attribute) + " '" + value + "' is already used by another object");
      }
    }
  }
  return Status::Ok();
}

Status Directory::HashPasswordAttributes(ldap::Entry& entry, bool trusted, const ldap::Entry*, bool) const {
  // unicodePwd ("quoted", UTF-16LE) is AD's way to set the one password; it
  // lands as a verifier in userPassword, as every password does.
  std::vector<std::string> verifiers;
  if (const auto* unicode = entry.Find("unicodePwd")) {
    for (const auto& value : unicode->values) {
      SIMPLEAD_ASSIGN_OR_RETURN(auto password, DecodeUnicodePwd(value));
      SIMPLEAD_RETURN_IF_ERROR(CheckNewPassword(trusted ? Principal::Internal() : Principal{}, entry, password.view(), false));
      SIMPLEAD_ASSIGN_OR_RETURN(auto hash, auth::HashPassword(password.view(), options_.hash_params));
      verifiers.push_back(std::move(hash));
    }
    entry.Remove("unicodePwd");
  }
  if (const auto* user_password = entry.Find("userPassword")) {
    for (const auto& value : user_password->values) {
      if (auth::IsHashedValue(value)) {
        // Pre-hashed values come from imports and admins migrating users.
        verifiers.push_back(value);
        continue;
      }
      SIMPLEAD_RETURN_IF_ERROR(CheckNewPassword(trusted ? Principal::Internal() : Principal{}, entry, value, false));
      SIMPLEAD_ASSIGN_OR_RETURN(auto hash, auth::HashPassword(value, options_.hash_params));
      verifiers.push_back(std::move(hash));
    }
  }
  if (verifiers.empty()) {
    entry.Remove("userPassword");
    return Status::Ok();
  }
  std::vector<std::string> sealed;
  for (const auto& v : verifiers) {
    SIMPLEAD_ASSIGN_OR_RETURN(auto s, sealer_->Seal(v, SecretContextFor(entry, "userPassword")));
    sealed.push_back(std::move(s));
  }
  entry.Set("userPassword", std::move(sealed));
  return Status::Ok();
}

SecretContext Directory::SecretContextFor(const ldap::Entry& entry, std::string_view attribute) const {
  const std::string* uuid = entry.First("entryUUID");
  return SecretContext{{"directory", directory_id_}, {"entry", uuid ? *uuid : ""}, {"attribute", std::string(attribute)}};
}

Status Directory::PrepareNewEntry(const Principal& who, ldap::Entry& entry, bool trusted, store::WriteTxn& txn) {
  // Attributes only the server may set.
  if (!trusted) {
    for (const auto& attribute : entry.attributes()) {
      const auto* at = schema_->FindAttribute(std::string_view(attribute.type).substr(0, attribute.type.find(';')));
      if (at && at->no_user_modification) {
        return Error(ResultCode::kConstraintViolation,
                     "attribute " + at->name() + " is maintained by the server and cannot be set");
      }
      if (attribute.values.empty()) {
        return Error(ResultCode::kProtocolError, "attribute " + attribute.type + " has no values");
      }
    }
  }
  std::vector<std::string> classes;
  for (const auto& c : schema_->ExpandObjectClasses(entry.Values("objectClass"))) classes.push_back(ldap::ToLower(c));
  auto is = [&](std::string_view cls) { return std::find(classes.begin(), classes.end(), cls) != classes.end(); };
  if (!entry.Has("objectGUID") && options_.ad_mode) entry.Set("objectGUID", {NewGuid(random_)});
  if (!entry.Has("entryUUID")) {
    const std::string* guid = entry.First("objectGUID");
    entry.Set("entryUUID", {GuidToString(guid && guid->size() == 16 ? *guid : NewGuid(random_))});
  }
  std::string structural = schema_->StructuralObjectClass(entry.Values("objectClass"));
  if (!structural.empty()) entry.Set("structuralObjectClass", {structural});
  if (options_.ad_mode) {
    const auto& rdn = entry.dn().rdn();
    // AD's own classes carry name and objectCategory; RFC classes (an OU) do not allow them.
    bool ad_class = is("user") || is("group") || is("computer") || is("container") || is("domaindns");
    if (ad_class && !entry.Has("name") && schema_->FindAttribute("name") && !rdn.empty()) {
      entry.Set("name", {rdn.front().value});
    }
    if (!entry.Has("instanceType") && schema_->FindAttribute("instanceType")) entry.Set("instanceType", {"4"});
    bool security_principal = is("user") || is("group") || is("computer");
    if (security_principal && !entry.Has("objectSid") && domain_sid_) {
      entry.Set("objectSid", {domain_sid_->WithRid(AllocateRid(txn)).ToBinary()});
    }
    if (security_principal && !entry.Has("sAMAccountName")) {
      // As AD does for objects created without one.
      std::string generated = "$" + GuidToString(NewGuid(random_)).substr(0, 12);
      entry.Set("sAMAccountName", {generated});
    }
    if (is("computer")) {
      if (!entry.Has("userAccountControl")) entry.Set("userAccountControl", {"4096"});
      if (!entry.Has("primaryGroupID")) entry.Set("primaryGroupID", {"515"});
      if (!entry.Has("sAMAccountType")) entry.Set("sAMAccountType", {"805306369"});
    } else if (is("user")) {
      bool has_password = entry.Has("userPassword") || entry.Has("unicodePwd");
      // New users without a password start disabled, as in AD (514 = 512 | ACCOUNTDISABLE).
      if (!entry.Has("userAccountControl")) entry.Set("userAccountControl", {has_password ? "512" : "514"});
      if (!entry.Has("primaryGroupID")) entry.Set("primaryGroupID", {"513"});
      if (!entry.Has("sAMAccountType")) entry.Set("sAMAccountType", {"805306368"});
      if (!entry.Has("pwdLastSet") && schema_->FindAttribute("pwdLastSet")) {
        entry.Set("pwdLastSet", {has_password ? std::to_string(ToFileTime(clock_.Now())) : "0"});
      }
      if (!entry.Has("accountExpires") && schema_->FindAttribute("accountExpires")) {
        entry.Set("accountExpires", {"9223372036854775807"});
      }
    } else if (is("group")) {
      if (!entry.Has("groupType")) entry.Set("groupType", {"-2147483646"});  // global security group
      if (!entry.Has("sAMAccountType")) entry.Set("sAMAccountType", {"268435456"});
    }
    if (ad_class && !entry.Has("objectCategory") && !structural.empty() && schema_->FindAttribute("objectCategory")) {
      std::string category = structural == "user" || structural == "inetOrgPerson" ? "Person" : structural;
      if (!category.empty()) category[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(category[0])));
      entry.Set("objectCategory", {"CN=" + category + ",CN=Schema,CN=Configuration," + suffix_.ToString()});
    }
  }
  (void)who;
  SIMPLEAD_RETURN_IF_ERROR(HashPasswordAttributes(entry, trusted, nullptr, false));
  return Status::Ok();
}

Status Directory::UpdateBackLinks(store::WriteTxn& txn, const Principal& who, const ldap::Entry* before,
                                  const ldap::Entry* after, const std::string& csn) {
  auto keys_of = [&](const ldap::Entry* e) {
    std::map<std::string, std::string> keys;  // key -> DN as written
    if (!e) return keys;
    for (const auto& v : e->Values(kMembershipAttribute)) {
      auto k = ldap::NormalizeDn(v);
      if (k.ok()) keys.emplace(*k, v);
    }
    return keys;
  };
  auto old_keys = keys_of(before);
  auto new_keys = keys_of(after);
  const ldap::Entry* group = after ? after : before;
  std::string group_dn = group->dn().ToString();
  std::string group_key = DnKey(group->dn());
  auto update_target = [&](const std::string& member_key, bool add) -> Status {
    SIMPLEAD_ASSIGN_OR_RETURN(auto id, txn.FindId(member_key));
    if (!id) {
      if (add && options_.ad_mode) {
        return Error(ResultCode::kNoSuchObject, "member " + new_keys[member_key] + " does not exist");
      }
      return Status::Ok();  // dangling references are allowed in plain LDAP mode
    }
    SIMPLEAD_ASSIGN_OR_RETURN(auto target, txn.Get(*id));
    if (!target) return Status::Ok();
    ldap::Entry updated = target->entry;
    std::vector<std::string> member_of = updated.Values("memberOf");
    bool present = ContainsKey(member_of, group_key);
    if (add == present) return Status::Ok();  // already as wanted (re-import, repair)
    std::erase_if(member_of, [&](const std::string& v) {
      auto k = ldap::NormalizeDn(v);
      return k.ok() && *k == group_key;
    });
    if (add) member_of.push_back(group_dn);
    updated.Set("memberOf", member_of);
    (void)who;
    (void)csn;
    ApplyIndexDiff(txn, *id, &target->entry, &updated);
    txn.UpdateEntry(*id, target->parent, updated);
    return Status::Ok();
  };
  for (const auto& [key, dn] : old_keys) {
    if (!new_keys.count(key)) SIMPLEAD_RETURN_IF_ERROR(update_target(key, false));
  }
  for (const auto& [key, dn] : new_keys) {
    if (!old_keys.count(key)) SIMPLEAD_RETURN_IF_ERROR(update_target(key, true));
  }
  return Status::Ok();
}

Status Directory::RewriteReferences(store::WriteTxn& txn, const std::string& old_dn_key, const std::string& old_dn,
                                    const std::string& new_dn, const std::string& csn) {
  (void)old_dn;
  (void)csn;
  std::set<store::EntryId> referrers;
  for (const char* attribute : kReferenceAttributes) {
    const auto* at = schema_->FindAttribute(attribute);
    if (!at) continue;
    const IndexSpec* spec = IndexFor(*at);
    if (!spec || !spec->equality) continue;
    (void)store_->ForEachIndexed(store::IndexKind::kEquality, ldap::ToLower(at->name()), old_dn_key,
                                 [&](store::EntryId id) {
                                   referrers.insert(id);
                                   return true;
                                 });
  }
  for (store::EntryId id : referrers) {
    SIMPLEAD_ASSIGN_OR_RETURN(auto stored, txn.Get(id));
    if (!stored) continue;
    ldap::Entry updated = stored->entry;
    bool changed = false;
    for (auto& attribute : updated.mutable_attributes()) {
      bool is_reference = false;
      for (const char* name : kReferenceAttributes) is_reference = is_reference || ldap::EqualsIgnoreCase(name, attribute.type);
      if (!is_reference) continue;
      std::vector<std::string> kept;
      for (auto& v : attribute.values) {
        auto k = ldap::NormalizeDn(v);
        if (k.ok() && *k == old_dn_key) {
          changed = true;
          if (!new_dn.empty()) kept.push_back(new_dn);
        } else {
          kept.push_back(v);
        }
      }
      attribute.values = std::move(kept);
    }
    std::erase_if(updated.mutable_attributes(), [](const ldap::Attribute& a) { return a.values.empty(); });
    if (!changed) continue;
    ApplyIndexDiff(txn, id, &stored->entry, &updated);
    txn.UpdateEntry(id, stored->parent, updated);
  }
  return Status::Ok();
}

Status Directory::FinishDurability(store::CommitTicket ticket, const WriteOptions& options, WriteOutcome* outcome) {
  if (options.defer_durability && outcome != nullptr) {
    outcome->durable = ticket;
    return Status::Ok();
  }
  return store_->WaitDurable(ticket);
}

void Directory::WhenDurable(store::CommitTicket ticket, std::function<void(Status)> done) {
  store_->WhenDurable(ticket, std::move(done));
}

Status Directory::Add(const Principal& who, ldap::AddRequest request, const WriteOptions& options,
                      WriteOutcome* outcome) {
  std::unique_lock lock(write_mu_);
  auto txn = store_->BeginWrite();
  std::string csn = NextCsn();
  store::StoredEntry added;
  SIMPLEAD_RETURN_IF_ERROR(AddInTxn(who, std::move(request), txn, csn, /*import=*/false, &added));
  txn.PutMeta(meta::kContextCsn, csn);
  // Group commit: durable after the lock is released (FinishDurability below).
  SIMPLEAD_ASSIGN_OR_RETURN(store::CommitTicket ticket, txn.CommitDeferred());
  AfterCommit(added.entry.Has("simpleadAccessRule"), added.entry.Has(kMembershipAttribute));
  if (outcome && options.post_read) {
    outcome->post_read = Present(AccessContext(*this, who), added, *options.post_read).ToEntry();
  }
  lock.unlock();
  return FinishDurability(ticket, options, outcome);
}

Status Directory::AddInTxn(const Principal& who, ldap::AddRequest request, store::WriteTxn& txn,
                           const std::string& csn, bool import, store::StoredEntry* added, ImportState* state) {
  SIMPLEAD_ASSIGN_OR_RETURN(auto dn, ldap::Dn::Parse(request.dn));
  if (dn.empty()) return Error(ResultCode::kUnwillingToPerform, "cannot add the root DSE");
  ldap::Entry entry(dn, std::move(request.attributes));
  // Merge repeated attribute descriptions, as clients may send them.
  {
    std::vector<ldap::Attribute> merged;
    for (auto& a : entry.mutable_attributes()) {
      auto it = std::find_if(merged.begin(), merged.end(),
                             [&](const ldap::Attribute& m) { return ldap::EqualsIgnoreCase(m.type, a.type); });
      if (it == merged.end()) {
        merged.push_back(std::move(a));
      } else {
        for (auto& v : a.values) it->values.push_back(std::move(v));
      }
    }
    entry.mutable_attributes() = std::move(merged);
  }
  // RDN values belong in the entry (RFC 4511 §4.7): add them when missing.
  for (const auto& ava : dn.rdn()) {
    const auto* at = schema_->FindAttribute(ava.type);
    if (!at) return Error(ResultCode::kUndefinedAttributeType, "unknown RDN attribute type " + ava.type);
    if (!HasEqualValue(*schema_, at, entry, ava.type, ava.value)) entry.AddValue(ava.type, ava.value);
  }
  std::string key = DnKey(dn);
  SIMPLEAD_ASSIGN_OR_RETURN(auto existing, txn.FindId(key));
  ldap::Dn parent_dn = dn.Parent();
  std::string parent_key = DnKey(parent_dn);
  store::EntryId parent_id = store::kNoEntry;
  bool is_suffix = key == suffix_key_;
  if (!is_suffix && state && !state->parent_key.empty() && state->parent_key == parent_key) {
    // An import adding under the same parent as the entry before: the parent
    // passed every check below then, and nothing removes it mid-import.
    parent_id = state->parent_id;
  } else if (!is_suffix) {
    if (!dn.IsDescendantOf(suffix_)) {
      return Error(ResultCode::kNoSuchObject, "entry " + dn.ToString() + " is outside the naming context " +
                                                  suffix_.ToString());
    }
    std::optional<store::StoredEntry> parent;
    SIMPLEAD_ASSIGN_OR_RETURN(auto found_parent, txn.FindId(parent_key));
    if (found_parent) {
      SIMPLEAD_ASSIGN_OR_RETURN(parent, txn.Get(*found_parent));
    }
    AccessContext ctx(*this, who);
    std::optional<EntryAccess> access;
    if (parent) access = AccessTo(ctx, *parent);
    if (!parent || !access->AllowsEntry(kReadRight)) return NoSuchObject(ctx, parent_dn, "parent entry");
    SIMPLEAD_RETURN_IF_ERROR(CheckEntryRight(ctx, *parent, *access, kAddRight, "add entries under"));
    if (!ctx.unrestricted && entry.Has("simpleadAccessRule")) {
      return Error(ResultCode::kInsufficientAccessRights, "only administrators may set simpleadAccessRule");
    }
    if (options_.ad_mode) {
      // AD's structure rules: accounts and groups are leaves (possSuperiors).
      std::string parent_class = ldap::ToLower(schema_->StructuralObjectClass(parent->entry.Values("objectClass")));
      if (parent_class == "user" || parent_class == "group" || parent_class == "computer" ||
          parent_class == "person" || parent_class == "inetorgperson") {
        return Error(ResultCode::kNamingViolation,
                     "entries cannot be created under a " + parent_class + " (" + parent_dn.ToString() + ")");
      }
    }
    parent_id = parent->id;
    if (state) {
      state->parent_key = parent_key;
      state->parent_id = parent_id;
    }
  } else if (!who.internal) {
    return Error(ResultCode::kUnwillingToPerform, "the suffix entry is created by provisioning");
  }
  if (existing) return Error(ResultCode::kEntryAlreadyExists, "entry " + dn.ToString() + " already exists");

  if (import) {
    // Our own export carries entryCSN and memberOf; keep them as they were.
    if (!entry.Has("entryCSN")) entry.Set("entryCSN", {csn});
  }
  SIMPLEAD_RETURN_IF_ERROR(PrepareNewEntry(who, entry, who.internal, txn));
  if (!import || !entry.Has("createTimestamp")) StampCreate(entry, who, import ? *entry.First("entryCSN") : csn);
  SIMPLEAD_RETURN_IF_ERROR(schema_->ValidateEntry(entry));
  SIMPLEAD_RETURN_IF_ERROR(ValidateAccessRules(entry));
  if (!import) SIMPLEAD_RETURN_IF_ERROR(CheckUniqueness(txn, entry, store::kNoEntry));
  store::EntryId id = store_->AllocateId();
  txn.PutEntry(id, parent_id, key, entry);
  ApplyIndexDiff(txn, id, nullptr, &entry);
  if (!import) {
    SIMPLEAD_RETURN_IF_ERROR(UpdateBackLinks(txn, who, nullptr, &entry, csn));
    // An import writes no change records: they would all share its one CSN,
    // the changelog's key, and overwrite one another.
    const std::string* uuid = entry.First("entryUUID");
    txn.AppendChange({csn, "add", entry.dn().ToString(), uuid ? *uuid : "", ChangeLdif("add", &entry, nullptr, "")});
  }
  *added = store::StoredEntry{id, parent_id, std::move(entry)};
  return Status::Ok();
}

Status Directory::Delete(const Principal& who, std::string_view dn_text, const WriteOptions& options,
                         WriteOutcome* outcome) {
  SIMPLEAD_ASSIGN_OR_RETURN(auto dn, ldap::Dn::Parse(dn_text));
  std::unique_lock lock(write_mu_);
  SIMPLEAD_ASSIGN_OR_RETURN(auto id, store_->FindId(DnKey(dn)));
  std::optional<store::StoredEntry> target;
  if (id) {
    SIMPLEAD_ASSIGN_OR_RETURN(target, store_->Get(*id));
  }
  AccessContext ctx(*this, who);
  std::optional<EntryAccess> access;
  if (target) access = AccessTo(ctx, *target);
  if (!target || !access->AllowsEntry(kReadRight)) return NoSuchObject(ctx, dn, "entry");
  SIMPLEAD_RETURN_IF_ERROR(CheckEntryRight(ctx, *target, *access, kDeleteRight, "delete"));
  SIMPLEAD_RETURN_IF_ERROR(CheckAssertion(options, target->entry, *access));
  if (DnKey(dn) == suffix_key_) return Error(ResultCode::kUnwillingToPerform, "the suffix entry cannot be deleted");
  // The subtree, parents before children; deleted children first.
  std::vector<store::StoredEntry> doomed{*target};
  for (size_t i = 0; i < doomed.size(); ++i) {
    (void)store_->ForEachChild(doomed[i].id, [&](store::EntryId child) {
      auto stored = store_->Get(child);
      if (stored.ok() && stored->has_value()) doomed.push_back(**stored);
      return doomed.size() < 1000000;
    });
    if (doomed.size() > 1 && !options.subtree_delete) {
      return Error(ResultCode::kNotAllowedOnNonLeaf,
                   "entry " + dn.ToString() + " has children; delete them first or use the subtree delete control");
    }
  }
  // A subtree delete needs the right on every entry in it.
  for (size_t i = 1; i < doomed.size() && !ctx.unrestricted; ++i) {
    SIMPLEAD_RETURN_IF_ERROR(CheckEntryRight(ctx, doomed[i], AccessTo(ctx, doomed[i]), kDeleteRight, "delete"));
  }
  if (outcome && options.pre_read) outcome->pre_read = Present(*access, *target, *options.pre_read).ToEntry();
  auto txn = store_->BeginWrite();
  std::string csn = NextCsn();
  bool membership_changed = false;
  for (auto it = doomed.rbegin(); it != doomed.rend(); ++it) {
    // Re-read: an earlier step of this transaction may have changed it (back-links).
    SIMPLEAD_ASSIGN_OR_RETURN(auto current, txn.Get(it->id));
    if (!current) continue;
    std::string key = DnKey(current->entry.dn());
    SIMPLEAD_RETURN_IF_ERROR(UpdateBackLinks(txn, who, &current->entry, nullptr, csn));
    membership_changed = membership_changed || current->entry.Has(kMembershipAttribute) ||
                         current->entry.Has("memberOf");
    ApplyIndexDiff(txn, current->id, &current->entry, nullptr);
    txn.DeleteEntry(current->id, current->parent, key);
    SIMPLEAD_RETURN_IF_ERROR(RewriteReferences(txn, key, current->entry.dn().ToString(), "", csn));
    const std::string* uuid = current->entry.First("entryUUID");
    txn.AppendChange({csn, "delete", current->entry.dn().ToString(), uuid ? *uuid : "", "changetype: delete\n"});
  }
  txn.PutMeta(meta::kContextCsn, csn);
  // Group commit: durable after the lock is released (FinishDurability below).
  SIMPLEAD_ASSIGN_OR_RETURN(store::CommitTicket ticket, txn.CommitDeferred());
  AfterCommit(/*rules_changed=*/true, membership_changed);
  lock.unlock();
  return FinishDurability(ticket, options, outcome);
}

Status Directory::Modify(const Principal& who, ldap::ModifyRequest request, const WriteOptions& options,
                         WriteOutcome* outcome) {
  SIMPLEAD_ASSIGN_OR_RETURN(auto dn, ldap::Dn::Parse(request.dn));
  std::unique_lock lock(write_mu_);
  std::string key = DnKey(dn);
  SIMPLEAD_ASSIGN_OR_RETURN(auto id, store_->FindId(key));
  std::optional<store::StoredEntry> target;
  if (id) {
    SIMPLEAD_ASSIGN_OR_RETURN(target, store_->Get(*id));
  }
  AccessContext ctx(*this, who);
  std::optional<EntryAccess> access;
  if (target) access = AccessTo(ctx, *target);
  if (!target || !access->AllowsEntry(kReadRight)) return NoSuchObject(ctx, dn, "entry");
  bool self = !who.IsAnonymous() && who.normalized_dn == key;
  bool privileged = ctx.unrestricted;  // may also store pre-hashed passwords
  // A password written by someone else with the right to is a reset: no old password needed.
  bool reset = privileged;
  bool rules_changed = false;
  if (!privileged) {
    if (who.IsAnonymous()) {
      return Error(ResultCode::kInsufficientAccessRights, "modify requires authentication: bind first");
    }
    bool protected_target = !self && IsProtectedEntry(*target);
    for (const auto& change : request.changes) {
      const auto* at = schema_->FindAttribute(std::string_view(change.attribute.type).substr(0, change.attribute.type.find(';')));
      std::string lower = ldap::ToLower(at ? at->name() : change.attribute.type);
      if (lower == "simpleadaccessrule") {
        return Error(ResultCode::kInsufficientAccessRights, "only administrators may change simpleadAccessRule");
      }
      if (protected_target) {
        return Error(ResultCode::kInsufficientAccessRights,
                     target->entry.dn().ToString() +
                         " is a protected administrative object: only domain administrators may modify it");
      }
      if (!access->Allows(kWriteRight, lower)) {
        return Error(ResultCode::kInsufficientAccessRights, "insufficient access rights to modify " +
                                                                change.attribute.type + " of " +
                                                                target->entry.dn().ToString());
      }
      if (IsPasswordAttribute(lower) && !self) reset = true;
    }
  }
  SIMPLEAD_RETURN_IF_ERROR(CheckAssertion(options, target->entry, *access));
  if (outcome && options.pre_read) outcome->pre_read = Present(*access, *target, *options.pre_read).ToEntry();

  ldap::Entry updated = target->entry;
  std::vector<std::string> new_passwords;  // cleartext, hashed below
  bool password_removed = false;
  for (auto& change : request.changes) {
    const std::string& type = change.attribute.type;
    const auto* at = schema_->FindAttribute(std::string_view(type).substr(0, type.find(';')));
    if (!at) return Error(ResultCode::kUndefinedAttributeType, "unknown attribute type " + type);
    std::string lower = ldap::ToLower(at->name());
    if (at->no_user_modification && !who.internal) {
      return Error(ResultCode::kConstraintViolation,
                   "attribute " + at->name() + " is maintained by the server and cannot be modified");
    }
    if (IsPasswordAttribute(lower)) {
      SIMPLEAD_RETURN_IF_ERROR(ApplyPasswordChange(who, *target, change, reset, &new_passwords,
                                                   &password_removed, &updated));
      continue;
    }
    auto normalize = [&](const std::string& v) -> Result<std::string> {
      SIMPLEAD_RETURN_IF_ERROR(schema_->CheckSyntax(*at, v));
      return schema_->NormalizeEquality(*at, v);
    };
    std::vector<std::string> current = updated.Values(type);
    using Op = ldap::Modification::Op;
    switch (change.op) {
      case Op::kAdd: {
        if (change.attribute.values.empty()) {
          return Error(ResultCode::kProtocolError, "modify/add of " + type + " without values");
        }
        for (const auto& v : change.attribute.values) {
          SIMPLEAD_ASSIGN_OR_RETURN(auto nv, normalize(v));
          bool exists = false;
          for (const auto& c : current) {
            auto nc = schema_->NormalizeEquality(*at, c);
            exists = exists || (nc.ok() && *nc == nv);
          }
          if (exists) {
            if (options.permissive_modify) continue;
            return Error(ResultCode::kAttributeOrValueExists, "attribute " + type + " already has value " + v);
          }
          current.push_back(v);
        }
        updated.Set(type, current);
        break;
      }
      case Op::kDelete: {
        if (current.empty()) {
          if (options.permissive_modify) break;
          return Error(ResultCode::kNoSuchAttribute, "entry has no " + type + " attribute");
        }
        if (change.attribute.values.empty()) {
          updated.Remove(type);
          break;
        }
        for (const auto& v : change.attribute.values) {
          auto nv = schema_->NormalizeEquality(*at, v);
          auto it = std::find_if(current.begin(), current.end(), [&](const std::string& c) {
            auto nc = schema_->NormalizeEquality(*at, c);
            return nv.ok() && nc.ok() && *nc == *nv;
          });
          if (it == current.end()) {
            if (options.permissive_modify) continue;
            return Error(ResultCode::kNoSuchAttribute, "attribute " + type + " has no value " + v);
          }
          current.erase(it);
        }
        updated.Set(type, current);
        break;
      }
      case Op::kReplace: {
        std::vector<std::string> values;
        std::set<std::string> seen;
        for (const auto& v : change.attribute.values) {
          SIMPLEAD_ASSIGN_OR_RETURN(auto nv, normalize(v));
          if (!seen.insert(nv).second) {
            return Error(ResultCode::kAttributeOrValueExists, "duplicate value " + v + " for " + type);
          }
          values.push_back(v);
        }
        updated.Set(type, values);
        break;
      }
      case Op::kIncrement: {
        if (current.empty()) return Error(ResultCode::kNoSuchAttribute, "entry has no " + type + " to increment");
        if (change.attribute.values.size() != 1) {
          return Error(ResultCode::kProtocolError, "increment of " + type + " needs exactly one value");
        }
        long long delta = 0, value = 0;
        try {
          size_t used = 0;
          delta = std::stoll(change.attribute.values[0], &used);
          if (used != change.attribute.values[0].size()) throw std::invalid_argument("trailing");
          value = std::stoll(current[0], &used);
          if (used != current[0].size()) throw std::invalid_argument("trailing");
        } catch (const std::exception&) {
          return Error(ResultCode::kConstraintViolation, "increment applies to integer values only (" + type + ")");
        }
        updated.Set(type, {std::to_string(value + delta)});
        break;
      }
    }
  }
  // RDN values stay (RFC 4511 §4.6).
  for (const auto& ava : dn.rdn()) {
    const auto* at = schema_->FindAttribute(ava.type);
    if (!HasEqualValue(*schema_, at, updated, ava.type, ava.value)) {
      return Error(ResultCode::kNotAllowedOnRdn, "cannot remove the RDN value " + ava.type + "=" + ava.value);
    }
  }
  // The structural class is fixed for an entry's life.
  std::string old_structural = schema_->StructuralObjectClass(target->entry.Values("objectClass"));
  std::string new_structural = schema_->StructuralObjectClass(updated.Values("objectClass"));
  if (!ldap::EqualsIgnoreCase(old_structural, new_structural)) {
    return Error(ResultCode::kObjectClassModsProhibited,
                 "the structural object class " + old_structural + " cannot be changed");
  }
  auto txn = store_->BeginWrite();
  if (!new_passwords.empty()) {
    std::vector<std::string> sealed = password_removed ? std::vector<std::string>{} : updated.Values("userPassword");
    // Remember the verifiers being replaced, newest first, as long as the policy asks.
    size_t history_length = EffectivePolicy(target->entry).history_length;
    if (history_length > 0 && password_removed) {
      std::vector<std::string> history = target->entry.Values("userPassword");
      for (const auto& h : target->entry.Values("simpleadPasswordHistory")) history.push_back(h);
      if (history.size() > history_length) history.resize(history_length);
      updated.Set("simpleadPasswordHistory", history);
    }
    for (const auto& p : new_passwords) {
      if (!(auth::IsHashedValue(p) && privileged)) {
        SIMPLEAD_RETURN_IF_ERROR(CheckNewPassword(who, target->entry, p, true));
      }
      SIMPLEAD_ASSIGN_OR_RETURN(auto hash, auth::IsHashedValue(p) && privileged
                                               ? Result<std::string>(p)
                                               : auth::HashPassword(p, options_.hash_params));
      SIMPLEAD_ASSIGN_OR_RETURN(auto s, sealer_->Seal(hash, SecretContextFor(updated, "userPassword")));
      sealed.push_back(std::move(s));
    }
    updated.Set("userPassword", sealed);
    if (updated.Has("pwdLastSet")) {
      // An admin reset leaves pwdLastSet as the admin set it (0 = must change); a self change stamps now.
      updated.Set("pwdLastSet", {std::to_string(ToFileTime(clock_.Now()))});
    }
    if (ldap::EqualsIgnoreCase(updated.Values("userAccountControl").empty() ? "" : updated.Values("userAccountControl")[0], "514") &&
        options_.ad_mode) {
      // Leave disabled accounts disabled: setting a password does not enable.
    }
  } else if (password_removed) {
    updated.Remove("userPassword");
  }
  std::string csn = NextCsn();
  StampModify(updated, who, csn);
  SIMPLEAD_RETURN_IF_ERROR(schema_->ValidateEntry(updated));
  SIMPLEAD_RETURN_IF_ERROR(ValidateAccessRules(updated));
  SIMPLEAD_RETURN_IF_ERROR(CheckUniqueness(txn, updated, *id));
  ApplyIndexDiff(txn, *id, &target->entry, &updated);
  txn.UpdateEntry(*id, target->parent, updated);
  SIMPLEAD_RETURN_IF_ERROR(UpdateBackLinks(txn, who, &target->entry, &updated, csn));
  const std::string* uuid = updated.First("entryUUID");
  txn.AppendChange({csn, "modify", updated.dn().ToString(), uuid ? *uuid : "",
                    ChangeLdif("modify", nullptr, &request.changes, "")});
  txn.PutMeta(meta::kContextCsn, csn);
  // Group commit: durable after the lock is released (FinishDurability below).
  SIMPLEAD_ASSIGN_OR_RETURN(store::CommitTicket ticket, txn.CommitDeferred());
  rules_changed = target->entry.Has("simpleadAccessRule") || updated.Has("simpleadAccessRule");
  AfterCommit(rules_changed, target->entry.Values(kMembershipAttribute) != updated.Values(kMembershipAttribute));
  if (outcome && options.post_read) {
    outcome->post_read =
        Present(AccessContext(*this, who), {*id, target->parent, updated}, *options.post_read).ToEntry();
  }
  lock.unlock();
  return FinishDurability(ticket, options, outcome);
}

Status Directory::ModifyDn(const Principal& who, ldap::ModifyDnRequest request, const WriteOptions& options,
                           WriteOutcome* outcome) {
  SIMPLEAD_ASSIGN_OR_RETURN(auto dn, ldap::Dn::Parse(request.dn));
  SIMPLEAD_ASSIGN_OR_RETURN(auto rdn_dn, ldap::Dn::Parse(request.new_rdn));
  if (rdn_dn.size() != 1) return Error(ResultCode::kInvalidDnSyntax, "new RDN must be exactly one RDN");
  std::unique_lock lock(write_mu_);
  std::string key = DnKey(dn);
  SIMPLEAD_ASSIGN_OR_RETURN(auto id, store_->FindId(key));
  std::optional<store::StoredEntry> target;
  if (id) {
    SIMPLEAD_ASSIGN_OR_RETURN(target, store_->Get(*id));
  }
  AccessContext ctx(*this, who);
  std::optional<EntryAccess> access;
  if (target) access = AccessTo(ctx, *target);
  if (!target || !access->AllowsEntry(kReadRight)) return NoSuchObject(ctx, dn, "entry");
  SIMPLEAD_RETURN_IF_ERROR(CheckEntryRight(ctx, *target, *access, kWriteRight, "rename"));
  SIMPLEAD_RETURN_IF_ERROR(CheckAssertion(options, target->entry, *access));
  if (key == suffix_key_) return Error(ResultCode::kUnwillingToPerform, "the suffix entry cannot be renamed");
  ldap::Dn new_parent = dn.Parent();
  store::EntryId new_parent_id = target->parent;
  if (request.new_superior) {
    SIMPLEAD_ASSIGN_OR_RETURN(new_parent, ldap::Dn::Parse(*request.new_superior));
    SIMPLEAD_ASSIGN_OR_RETURN(auto pid, store_->FindId(DnKey(new_parent)));
    std::optional<store::StoredEntry> parent_entry;
    if (pid) {
      SIMPLEAD_ASSIGN_OR_RETURN(parent_entry, store_->Get(*pid));
    }
    std::optional<EntryAccess> parent_access;
    if (parent_entry) parent_access = AccessTo(ctx, *parent_entry);
    if (!parent_entry || !parent_access->AllowsEntry(kReadRight)) return NoSuchObject(ctx, new_parent, "new superior");
    new_parent_id = *pid;
    if (new_parent.IsDescendantOrSelf(dn)) {
      return Error(ResultCode::kUnwillingToPerform, "cannot move an entry below itself");
    }
    // Moving takes the entry out of one place and into another: delete here, add there.
    SIMPLEAD_RETURN_IF_ERROR(CheckEntryRight(ctx, *target, *access, kDeleteRight, "move"));
    SIMPLEAD_RETURN_IF_ERROR(CheckEntryRight(ctx, *parent_entry, *parent_access, kAddRight, "move entries under"));
  }
  ldap::Dn new_dn = new_parent.Child(rdn_dn.rdn());
  std::string new_key = DnKey(new_dn);
  if (new_key != key) {
    SIMPLEAD_ASSIGN_OR_RETURN(auto clash, store_->FindId(new_key));
    if (clash) return Error(ResultCode::kEntryAlreadyExists, "entry " + new_dn.ToString() + " already exists");
  }
  if (outcome && options.pre_read) outcome->pre_read = Present(*access, *target, *options.pre_read).ToEntry();

  ldap::Entry updated = target->entry;
  updated.set_dn(new_dn);
  if (request.delete_old_rdn) {
    for (const auto& ava : dn.rdn()) {
      const auto* at = schema_->FindAttribute(ava.type);
      if (!at) continue;
      auto want = schema_->NormalizeEquality(*at, ava.value);
      std::vector<std::string> values = updated.Values(ava.type);
      std::erase_if(values, [&](const std::string& v) {
        auto n = schema_->NormalizeEquality(*at, v);
        return n.ok() && want.ok() && *n == *want;
      });
      updated.Set(ava.type, values);
    }
  }
  for (const auto& ava : rdn_dn.rdn()) {
    const auto* at = schema_->FindAttribute(ava.type);
    if (!at) return Error(ResultCode::kUndefinedAttributeType, "unknown RDN attribute type " + ava.type);
    if (at->no_user_modification) {
      return Error(ResultCode::kConstraintViolation, "attribute " + at->name() + " cannot be an RDN");
    }
    if (!HasEqualValue(*schema_, at, updated, ava.type, ava.value)) {
      if (at->single_value && updated.Has(ava.type)) updated.Remove(ava.type);
      updated.AddValue(ava.type, ava.value);
    }
  }
  if (options_.ad_mode && updated.Has("name")) updated.Set("name", {rdn_dn.rdn().front().value});
  std::string csn = NextCsn();
  StampModify(updated, who, csn);
  SIMPLEAD_RETURN_IF_ERROR(schema_->ValidateEntry(updated));

  auto txn = store_->BeginWrite();
  ApplyIndexDiff(txn, *id, &target->entry, &updated);
  txn.DeleteEntry(*id, target->parent, key);
  txn.PutEntry(*id, new_parent_id, new_key, updated);
  SIMPLEAD_RETURN_IF_ERROR(RewriteReferences(txn, key, dn.ToString(), new_dn.ToString(), csn));
  // Descendants move with it: new DNs, same ids and parents.
  std::vector<store::EntryId> stack;
  (void)store_->ForEachChild(*id, [&](store::EntryId c) {
    stack.push_back(c);
    return true;
  });
  size_t moved = 0;
  while (!stack.empty() && moved < 10000000) {
    store::EntryId child = stack.back();
    stack.pop_back();
    ++moved;
    SIMPLEAD_ASSIGN_OR_RETURN(auto stored, txn.Get(child));
    if (!stored) continue;
    ldap::Dn old_child_dn = stored->entry.dn();
    ldap::Dn new_child_dn = old_child_dn.Rebase(dn, new_dn);
    ldap::Entry moved_entry = stored->entry;
    moved_entry.set_dn(new_child_dn);
    std::string old_child_key = DnKey(old_child_dn);
    txn.DeleteEntry(child, stored->parent, old_child_key);
    txn.PutEntry(child, stored->parent, DnKey(new_child_dn), moved_entry);
    SIMPLEAD_RETURN_IF_ERROR(
        RewriteReferences(txn, old_child_key, old_child_dn.ToString(), new_child_dn.ToString(), csn));
    (void)store_->ForEachChild(child, [&](store::EntryId c) {
      stack.push_back(c);
      return true;
    });
  }
  const std::string* uuid = updated.First("entryUUID");
  txn.AppendChange({csn, "modrdn", dn.ToString(), uuid ? *uuid : "", ChangeLdif("modrdn", nullptr, nullptr, new_dn.ToString())});
  txn.PutMeta(meta::kContextCsn, csn);
  // Group commit: durable after the lock is released (FinishDurability below).
  SIMPLEAD_ASSIGN_OR_RETURN(store::CommitTicket ticket, txn.CommitDeferred());
  // Rules anchor at DNs and groups are named by DN: both may have moved.
  AfterCommit(/*rules_changed=*/true, /*membership_changed=*/true);
  if (outcome && options.post_read) {
    outcome->post_read =
        Present(AccessContext(*this, who), {*id, new_parent_id, updated}, *options.post_read).ToEntry();
  }
  lock.unlock();
  return FinishDurability(ticket, options, outcome);
}

}  // namespace simplead::backend
