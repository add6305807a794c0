// Offline tools of the directory: bulk import, export and consistency
// verification.
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "lib/ldap/dn.h"
#include "server/backend/directory.h"
#include "server/backend/meta_keys.h"

namespace simplead::backend {

namespace {


// AD's unique names; the codes AD answers for a duplicate (as CheckUniqueness).
struct UniqueRule {
  const char* attribute;
  ResultCode code;
};
constexpr UniqueRule kUniqueRules[] = {{"sAMAccountName", ResultCode::kEntryAlreadyExists},
                                       {"userPrincipalName", ResultCode::kConstraintViolation}};

// A group's member, to be given a memberOf back-link once every entry exists.
struct BackLink {
  std::string member_key;
  uint32_t group;  // index into ImportGroups
};

struct ImportGroup {
  store::EntryId id;
  std::string dn;   // as the memberOf value
  std::string key;
};

// Gives an imported entry the memberOf values the plan holds for it, next to
// any it carries already (our own export writes them). The plan forgets the
// entry, so what remains at the end names members this import did not add.
void AddPlannedMemberOf(Directory::MemberOfPlan& plan, std::string_view dn, std::vector<ldap::Attribute>& attributes) {
  if (plan.groups_of.empty()) return;
  auto key = ldap::NormalizeDn(dn);
  if (!key.ok()) return;  // AddInTxn reports the DN
  auto it = plan.groups_of.find(*key);
  if (it == plan.groups_of.end()) return;
  const std::vector<uint32_t> groups = std::move(it->second);
  plan.groups_of.erase(it);
  auto member_of = std::find_if(attributes.begin(), attributes.end(),
                                [](const ldap::Attribute& a) { return ldap::EqualsIgnoreCase(a.type, "memberOf"); });
  if (member_of == attributes.end()) member_of = attributes.insert(attributes.end(), ldap::Attribute{"memberOf", {}});
  std::unordered_set<std::string> present;
  for (const auto& v : member_of->values) {
    auto k = ldap::NormalizeDn(v);
    if (k.ok()) present.insert(std::move(*k));
  }
  for (uint32_t group : groups) {
    if (present.insert(plan.group_keys[group]).second) member_of->values.push_back(plan.group_dns[group]);
  }
}

}  // namespace

Result<Directory::MemberOfPlan> Directory::PlanMemberOf(ldap::LdifReader& reader) {
  MemberOfPlan plan;
  // The plan reads members only: a pass that copied every value was as
  // costly as the import's own parse.
  reader.KeepOnly({"member"});
  while (true) {
    SIMPLEAD_ASSIGN_OR_RETURN(auto record, reader.Next());
    if (!record) break;
    auto members = std::find_if(record->attributes.begin(), record->attributes.end(),
                                [](const ldap::Attribute& a) { return ldap::EqualsIgnoreCase(a.type, "member"); });
    if (members == record->attributes.end()) continue;
    auto dn = ldap::Dn::Parse(record->dn);
    if (!dn.ok()) {
      return Status(dn.status().code(),
                    "line " + std::to_string(record->line) + " (" + record->dn + "): " + dn.status().message());
    }
    const auto group = static_cast<uint32_t>(plan.group_dns.size());
    plan.group_dns.push_back(dn->ToString());
    plan.group_keys.push_back(dn->Normalized());
    for (const auto& value : members->values) {
      auto key = ldap::NormalizeDn(value);
      if (key.ok()) plan.groups_of[std::move(*key)].push_back(group);  // AddInTxn rejects a bad one
    }
  }
  return plan;
}

Status Directory::Import(ldap::LdifReader& reader, const std::function<void(size_t)>& progress, size_t* imported,
                         MemberOfPlan* plan) {
  std::lock_guard lock(write_mu_);
  Principal internal = Principal::Internal();
  *imported = 0;
  auto txn = store_->BeginWrite();
  std::string csn = NextCsn();
  uint32_t max_rid = 0;
  bool fresh = !IsProvisioned();
  if (fresh) {
    txn.PutMeta(meta::kSuffix, suffix_.ToString());
    txn.PutMeta(meta::kMode, options_.ad_mode ? "ad" : "plain");
    if (options_.ad_mode) {
      txn.PutMeta(meta::kDomain, options_.domain_fqdn);
      txn.PutMeta(meta::kNetbios, options_.netbios);
    }
    if (directory_id_.empty()) directory_id_ = GuidToString(NewGuid());
    txn.PutMeta(meta::kDirectoryId, directory_id_);
  }
  // Unique names in use, by rule: the store's (one index scan each) and then
  // this import's, so that no entry needs an index read of its own.
  struct InUse {
    const UniqueRule* rule;
    const schema::AttributeType* type;
    std::unordered_set<std::string> values;
  };
  std::vector<InUse> unique;
  if (options_.ad_mode) {
    for (const UniqueRule& rule : kUniqueRules) {
      const auto* at = schema_->FindAttribute(rule.attribute);
      if (!at) continue;
      auto& in_use = unique.emplace_back(InUse{&rule, at, {}});
      SIMPLEAD_RETURN_IF_ERROR(store_->ForEachIndexedPrefix(store::IndexKind::kEquality, ldap::ToLower(at->name()), "",
                                                            [&](std::string_view key, store::EntryId) {
                                                              in_use.values.emplace(key);
                                                              return true;
                                                            }));
    }
  }
  std::vector<ImportGroup> groups;  // entries with members: back-links after all entries exist
  std::vector<BackLink> back_links;
  ImportState state;
  while (true) {
    SIMPLEAD_ASSIGN_OR_RETURN(auto record, reader.Next());
    if (!record) break;
    if (record->kind != ldap::LdifRecord::Kind::kContent && record->kind != ldap::LdifRecord::Kind::kAdd) {
      return Error(ResultCode::kUnwillingToPerform,
                   "line " + std::to_string(record->line) + ": import takes entries, not change records");
    }
    std::string dn = record->dn;
    auto failed = [&](const Status& st) {
      return Status(st.code(), "line " + std::to_string(record->line) + " (" + dn + "): " + st.message());
    };
    if (fresh && options_.ad_mode && !domain_sid_) {
      // The domain SID comes with the imported suffix entry.
      auto key = DnKey(dn);
      if (key.ok() && *key == suffix_key_) {
        for (const auto& a : record->attributes) {
          if (ldap::EqualsIgnoreCase(a.type, "objectSid") && !a.values.empty()) {
            auto sid = Sid::FromBinary(a.values.front());
            if (sid.ok()) domain_sid_ = *sid;
          }
        }
        if (!domain_sid_) domain_sid_ = Sid::NewDomainSid();
        txn.PutMeta(meta::kDomainSid, domain_sid_->ToBinary());
      }
    }
    if (plan) AddPlannedMemberOf(*plan, dn, record->attributes);
    store::StoredEntry added;
    Status st = AddInTxn(internal, ldap::AddRequest{record->dn, std::move(record->attributes)}, txn, csn,
                         /*import=*/true, &added, &state);
    if (!st.ok()) return failed(st);
    for (auto& in_use : unique) {
      for (const auto& value : added.entry.Values(in_use.rule->attribute)) {
        auto key = schema_->NormalizeEquality(*in_use.type, value);
        if (!key.ok()) return failed(key.status());
        if (!in_use.values.insert(std::move(*key)).second) {
          return failed(Error(in_use.rule->code, std::string(in_use.rule->attribute) + " '" + value +
                                                     "' is already used by another object"));
        }
      }
    }
    if (const auto* members = plan ? nullptr : added.entry.Find("member")) {
      uint32_t index = static_cast<uint32_t>(groups.size());
      groups.push_back({added.id, added.entry.dn().ToString(), DnKey(added.entry.dn())});
      for (const auto& v : members->values) {
        auto k = ldap::NormalizeDn(v);
        if (k.ok()) back_links.push_back({std::move(*k), index});
      }
    }
    if (const std::string* sid = added.entry.First("objectSid"); sid && domain_sid_) {
      auto parsed = Sid::FromBinary(*sid);
      if (parsed.ok() && parsed->sub_authorities.size() == domain_sid_->sub_authorities.size() + 1) {
        max_rid = std::max(max_rid, parsed->sub_authorities.back());
      }
    }
    ++*imported;
    if (*imported % kImportBatchEntries == 0) {
      SIMPLEAD_RETURN_IF_ERROR(txn.Commit());
      txn = store_->BeginWrite();
      if (progress) progress(*imported);
    }
  }
  // memberOf back-links, now that every member exists. Each member entry is
  // rewritten once, however many groups name it, in id order, and only its
  // memberOf index keys are touched. With a plan only members this import did
  // not add are left: entries already in the store, or dangling references.
  if (plan) {
    for (size_t g = 0; g < plan->group_dns.size(); ++g) {
      groups.push_back({store::kNoEntry, plan->group_dns[g], plan->group_keys[g]});
    }
    for (auto& [member_key, group_indexes] : plan->groups_of) {
      for (uint32_t g : group_indexes) back_links.push_back({member_key, g});
    }
  }
  std::sort(back_links.begin(), back_links.end(), [](const BackLink& a, const BackLink& b) {
    return a.member_key != b.member_key ? a.member_key < b.member_key : a.group < b.group;
  });
  struct Target {
    store::EntryId id;
    size_t first, last;  // its range in back_links
  };
  std::vector<Target> targets;
  for (size_t i = 0, j = 0; i < back_links.size(); i = j) {
    while (j < back_links.size() && back_links[j].member_key == back_links[i].member_key) ++j;
    SIMPLEAD_ASSIGN_OR_RETURN(auto id, txn.FindId(back_links[i].member_key));
    if (id) {
      targets.push_back({*id, i, j});
      continue;
    }
    if (!options_.ad_mode) continue;  // dangling references are allowed in plain LDAP mode
    const ImportGroup& group = groups[back_links[i].group];
    std::string written = back_links[i].member_key;
    store::EntryId group_id = group.id;
    if (group_id == store::kNoEntry) {  // planned: look the group up by DN
      SIMPLEAD_ASSIGN_OR_RETURN(auto found, txn.FindId(group.key));
      if (found) group_id = *found;
    }
    SIMPLEAD_ASSIGN_OR_RETURN(auto stored_group, txn.Get(group_id));
    for (const auto& v : stored_group ? stored_group->entry.Values("member") : std::vector<std::string>{}) {
      auto k = ldap::NormalizeDn(v);
      if (k.ok() && *k == back_links[i].member_key) written = v;
    }
    return Error(ResultCode::kNoSuchObject, "group " + group.dn + ": member " + written + " does not exist");
  }
  std::sort(targets.begin(), targets.end(), [](const Target& a, const Target& b) { return a.id < b.id; });
  size_t rewritten = 0;
  for (const Target& t : targets) {
    SIMPLEAD_ASSIGN_OR_RETURN(auto target, txn.Get(t.id));
    if (!target) continue;
    std::vector<std::string> values = target->entry.Values("memberOf");
    size_t had = values.size();
    std::unordered_set<std::string> present;  // our own export carries memberOf already
    for (const auto& v : values) {
      auto k = ldap::NormalizeDn(v);
      if (k.ok()) present.insert(std::move(*k));
    }
    for (size_t k = t.first; k < t.last; ++k) {
      const ImportGroup& group = groups[back_links[k].group];
      if (present.insert(group.key).second) values.push_back(group.dn);
    }
    if (values.size() == had) continue;
    ldap::Entry old_links(target->entry.dn(), {});
    if (had > 0) old_links.Set("memberOf", target->entry.Values("memberOf"));
    ldap::Entry new_links(target->entry.dn(), {{"memberOf", values}});
    ApplyIndexDiff(txn, t.id, &old_links, &new_links);
    target->entry.Set("memberOf", std::move(values));
    txn.UpdateEntry(t.id, target->parent, target->entry);
    if (++rewritten % kImportBatchEntries == 0) {
      SIMPLEAD_RETURN_IF_ERROR(txn.Commit());
      txn = store_->BeginWrite();
    }
  }
  if (max_rid >= next_rid_ && max_rid >= 1100) {
    next_rid_ = max_rid + 1;
    txn.PutMeta(meta::kNextRid, std::to_string(next_rid_));
  }
  txn.PutMeta(meta::kContextCsn, csn);
  SIMPLEAD_RETURN_IF_ERROR(txn.Commit());
  if (progress) progress(*imported);
  return store_->Flush();
}

Status Directory::Export(std::ostream& out) {
  SIMPLEAD_ASSIGN_OR_RETURN(auto root, store_->FindId(suffix_key_));
  if (!root) return Error(ResultCode::kNoSuchObject, "the directory is empty");
  out << "version: 1\n\n";
  // Tree order, so that an import meets every parent before its children.
  std::vector<store::EntryId> stack{*root};
  while (!stack.empty()) {
    store::EntryId id = stack.back();
    stack.pop_back();
    SIMPLEAD_ASSIGN_OR_RETURN(auto stored, store_->Get(id));
    if (!stored) continue;
    ldap::Entry entry = stored->entry;
    // Verifiers leave sealed to this directory; export them opened so that the
    // LDIF imports anywhere (it is as sensitive as a password-hash dump).
    if (auto* pw = entry.Find("userPassword")) {
      for (auto& v : pw->values) {
        auto opened = sealer_->Open(v, SecretContextFor(entry, "userPassword"));
        if (!opened.ok()) return Status(opened.status().code(), "cannot open a verifier of " + entry.dn().ToString() +
                                                                    ": " + opened.status().message());
        v = std::string(opened->view());
      }
    }
    out << ldap::ToLdif(entry);
    std::vector<store::EntryId> children;
    SIMPLEAD_RETURN_IF_ERROR(store_->ForEachChild(id, [&](store::EntryId c) {
      children.push_back(c);
      return true;
    }));
    std::sort(children.rbegin(), children.rend());  // pop in ascending id order
    for (auto c : children) stack.push_back(c);
  }
  return out.good() ? Status::Ok() : InternalError("write error during export");
}

Status Directory::Verify(VerifyReport* report) {
  report->problems.clear();
  report->entries = 0;
  auto problem = [&](std::string text) {
    if (report->problems.size() < 1000) report->problems.push_back(std::move(text));
  };
  std::unordered_map<store::EntryId, std::string> dn_of;
  std::unordered_map<std::string, store::EntryId> id_of_key;
  std::set<std::tuple<store::IndexKind, std::string, std::string, store::EntryId>> expected;
  SIMPLEAD_RETURN_IF_ERROR(store_->ForEachEntry([&](const store::StoredEntry& e) {
    ++report->entries;
    std::string key = DnKey(e.entry.dn());
    dn_of[e.id] = e.entry.dn().ToString();
    id_of_key[key] = e.id;
    auto found = store_->FindId(key);
    if (!found.ok() || !found->has_value() || **found != e.id) problem("dn2id does not map " + dn_of[e.id] + " to its entry");
    for (const auto& k : IndexKeysOf(e.entry)) expected.emplace(k.kind, std::string(k.attribute), k.key, e.id);
    return true;
  }));
  // Every entry's parent exists and lists it as a child.
  SIMPLEAD_RETURN_IF_ERROR(store_->ForEachEntry([&](const store::StoredEntry& e) {
    if (e.parent == store::kNoEntry) {
      if (DnKey(e.entry.dn()) != suffix_key_) problem(dn_of[e.id] + " has no parent");
      return true;
    }
    if (!dn_of.count(e.parent)) {
      problem(dn_of[e.id] + " has a missing parent");
      return true;
    }
    bool listed = false;
    (void)store_->ForEachChild(e.parent, [&](store::EntryId c) {
      listed = listed || c == e.id;
      return !listed;
    });
    if (!listed) problem(dn_of[e.id] + " is not listed as a child of its parent");
    // memberOf <-> member agree.
    for (const auto& group_dn : e.entry.Values("memberOf")) {
      auto gk = DnKey(group_dn);
      auto it = gk.ok() ? id_of_key.find(*gk) : id_of_key.end();
      if (it == id_of_key.end()) {
        problem(dn_of[e.id] + " has memberOf " + group_dn + " which does not exist");
        continue;
      }
      auto group = store_->Get(it->second);
      bool back = false;
      if (group.ok() && group->has_value()) {
        std::string self = DnKey(e.entry.dn());
        for (const auto& m : (*group)->entry.Values("member")) {
          auto mk = DnKey(m);
          back = back || (mk.ok() && *mk == self);
        }
      }
      if (!back) problem(dn_of[e.id] + " has memberOf " + group_dn + " but is not among its members");
    }
    for (const auto& member_dn : e.entry.Values("member")) {
      auto mk = DnKey(member_dn);
      auto it = mk.ok() ? id_of_key.find(*mk) : id_of_key.end();
      if (it == id_of_key.end()) {
        if (options_.ad_mode) problem(dn_of[e.id] + " has member " + member_dn + " which does not exist");
        continue;
      }
      auto member = store_->Get(it->second);
      bool back = false;
      std::string self = DnKey(e.entry.dn());
      if (member.ok() && member->has_value()) {
        for (const auto& g : (*member)->entry.Values("memberOf")) {
          auto k = DnKey(g);
          back = back || (k.ok() && *k == self);
        }
      }
      if (!back) problem(member_dn + " is a member of " + dn_of[e.id] + " but lacks the memberOf back-link");
    }
    return true;
  }));
  // Index keys: none missing, none stray.
  std::set<std::string> attributes;
  for (const auto& [kind, attr, key, id] : expected) attributes.insert(attr);
  for (const auto& [name, spec] : indexes_) attributes.insert(name);
  size_t seen = 0;
  for (const auto& attr : attributes) {
    for (auto kind : {store::IndexKind::kEquality, store::IndexKind::kPresence, store::IndexKind::kSubstring}) {
      SIMPLEAD_RETURN_IF_ERROR(store_->ForEachIndexedPrefix(kind, attr, "", [&](std::string_view key, store::EntryId id) {
        ++seen;
        if (!expected.count({kind, attr, std::string(key), id})) {
          problem("stray index key " + attr + " for entry id " + std::to_string(id));
        }
        return true;
      }));
    }
  }
  if (seen != expected.size()) {
    for (const auto& [kind, attr, key, id] : expected) {
      bool present = false;
      (void)store_->ForEachIndexed(kind, attr, key, [&](store::EntryId x) {
        present = present || x == id;
        return !present;
      });
      if (!present) problem("missing index key " + attr + " for " + dn_of[id]);
    }
  }
  return Status::Ok();
}

namespace {
constexpr const char* kSecretAttributes[] = {"userPassword", "simpleadPasswordHistory"};
}

Status Directory::ForEachSecret(const std::function<void(const ldap::Entry&, std::string_view sealed)>& fn) {
  return store_->ForEachEntry([&](const store::StoredEntry& e) {
    for (const char* attr : kSecretAttributes) {
      for (const auto& v : e.entry.Values(attr)) fn(e.entry, v);
    }
    return true;
  });
}

Status Directory::RewrapSecrets(const RewrapFn& rewrap, size_t* rewrapped) {
  *rewrapped = 0;
  std::vector<store::EntryId> ids;
  SIMPLEAD_RETURN_IF_ERROR(store_->ForEachEntry([&](const store::StoredEntry& e) {
    for (const char* attr : kSecretAttributes) {
      if (e.entry.Has(attr)) {
        ids.push_back(e.id);
        break;
      }
    }
    return true;
  }));
  constexpr size_t kBatch = 200;
  for (size_t start = 0; start < ids.size(); start += kBatch) {
    // Short transactions: writers and binds interleave with the rewrap.
    std::unique_lock lock(write_mu_);
    auto txn = store_->BeginWrite();
    for (size_t i = start; i < std::min(ids.size(), start + kBatch); ++i) {
      SIMPLEAD_ASSIGN_OR_RETURN(auto current, txn.Get(ids[i]));
      if (!current) continue;
      ldap::Entry updated = current->entry;
      for (const char* attr : kSecretAttributes) {
        std::vector<std::string> values = updated.Values(attr);
        for (auto& v : values) {
          SIMPLEAD_ASSIGN_OR_RETURN(v, rewrap(v, SecretContextFor(updated, "userPassword")));
          ++*rewrapped;
        }
        if (!values.empty()) updated.Set(attr, values);
      }
      txn.UpdateEntry(current->id, current->parent, updated);
    }
    // Group commit: the fsync runs after the lock is released.
    SIMPLEAD_ASSIGN_OR_RETURN(store::CommitTicket ticket, txn.CommitDeferred());
    lock.unlock();
    SIMPLEAD_RETURN_IF_ERROR(store_->WaitDurable(ticket));
  }
  return Status::Ok();
}

}  // namespace simplead::backend
