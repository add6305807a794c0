// Offline tools of the directory: bulk import, export and consistency
// verification.
#include <algorithm>
#include <unordered_map>

#include "lib/ldap/dn.h"
#include "server/backend/directory.h"
#include "server/backend/meta_keys.h"

namespace simplead::backend {

namespace {
constexpr size_t kImportBatch = 2000;
}

Status Directory::Import(ldap::LdifReader& reader, const std::function<void(size_t)>& progress, size_t* imported) {
  std::lock_guard lock(write_mu_);
  Principal internal = Principal::Internal();
  *imported = 0;
  std::vector<store::EntryId> groups;  // entries with members: back-links after all entries exist
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
  while (true) {
    SIMPLEAD_ASSIGN_OR_RETURN(auto record, reader.Next());
    if (!record) break;
    if (record->kind != ldap::LdifRecord::Kind::kContent && record->kind != ldap::LdifRecord::Kind::kAdd) {
      return Error(ResultCode::kUnwillingToPerform,
                   "line " + std::to_string(record->line) + ": import takes entries, not change records");
    }
    std::string dn = record->dn;
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
    store::StoredEntry added;
    Status st = AddInTxn(internal, ldap::AddRequest{record->dn, std::move(record->attributes)}, txn, csn,
                         /*import=*/true, &added);
    if (!st.ok()) {
      return Status(st.code(), "line " + std::to_string(record->line) + " (" + dn + "): " + st.message());
    }
    if (added.entry.Has("member")) groups.push_back(added.id);
    if (const std::string* sid = added.entry.First("objectSid"); sid && domain_sid_) {
      auto parsed = Sid::FromBinary(*sid);
      if (parsed.ok() && parsed->sub_authorities.size() == domain_sid_->sub_authorities.size() + 1) {
        max_rid = std::max(max_rid, parsed->sub_authorities.back());
      }
    }
    ++*imported;
    if (*imported % kImportBatch == 0) {
      SIMPLEAD_RETURN_IF_ERROR(txn.Commit());
      txn = store_->BeginWrite();
      if (progress) progress(*imported);
    }
  }
  // memberOf back-links, now that every member exists.
  for (size_t i = 0; i < groups.size(); ++i) {
    SIMPLEAD_ASSIGN_OR_RETURN(auto group, txn.Get(groups[i]));
    if (group) {
      Status st = UpdateBackLinks(txn, internal, nullptr, &group->entry, csn);
      if (!st.ok()) return Status(st.code(), "group " + group->entry.dn().ToString() + ": " + st.message());
    }
    if ((i + 1) % kImportBatch == 0) {
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
    for (const auto& k : IndexKeysOf(e.entry)) expected.insert({k.kind, k.attribute, k.key, e.id});
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
    std::lock_guard lock(write_mu_);
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
      txn.PutEntry(current->id, current->parent, DnKey(updated.dn()), updated);
    }
    SIMPLEAD_RETURN_IF_ERROR(txn.Commit());
  }
  return Status::Ok();
}

}  // namespace simplead::backend
