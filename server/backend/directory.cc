#include "server/backend/directory.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <unordered_set>

#include "lib/ldap/dn.h"
#include "schema/filter_eval.h"
#include "server/backend/meta_keys.h"

namespace simplead::backend {


std::map<std::string, IndexSpec> DefaultIndexes() {
  IndexSpec eq{true, false, false};
  IndexSpec eq_sub{true, false, true};
  IndexSpec eq_pres{true, true, false};
  return {
      {"objectclass", eq},        {"cn", eq_sub},
      {"sn", eq_sub},             {"givenname", eq_sub},
      {"uid", eq_sub},            {"mail", eq_sub},
      {"displayname", eq_sub},    {"samaccountname", eq_sub},
      {"userprincipalname", eq_sub}, {"member", eq},
      {"memberof", eq},           {"uniquemember", eq},
      {"memberuid", eq},          {"uidnumber", eq},
      {"gidnumber", eq},          {"entryuuid", eq},
      {"objectguid", eq},         {"objectsid", eq},
      {"serviceprincipalname", eq}, {"ou", eq},
      {"dc", eq},                 {"employeeid", eq},
      {"msds-psoappliesto", eq},  {"userpassword", IndexSpec{false, true, false}},
      {"telephonenumber", eq_pres}, {"simpleadaccessrule", IndexSpec{false, true, false}},
  };
}

Directory::Directory(DirectoryOptions options, std::shared_ptr<const schema::Schema> schema, const Clock& clock,
                     std::unique_ptr<store::Store> store, std::unique_ptr<SecretSealer> sealer)
    : options_(std::move(options)),
      schema_(std::move(schema)),
      clock_(clock),
      store_(std::move(store)),
      sealer_(std::move(sealer)) {}

Directory::~Directory() = default;

Result<std::unique_ptr<Directory>> Directory::Open(DirectoryOptions options,
                                                   std::shared_ptr<const schema::Schema> schema, const Clock& clock,
                                                   std::unique_ptr<SecretSealer> sealer) {
  if (!schema) return InternalError("no schema");
  SIMPLEAD_ASSIGN_OR_RETURN(auto suffix, ldap::Dn::Parse(options.suffix));
  if (suffix.empty()) return Error(ResultCode::kInvalidDnSyntax, "the directory suffix must not be empty");
  SIMPLEAD_ASSIGN_OR_RETURN(auto store, store::Store::Open(options.store));
  // A data dir remembers its suffix and mode: refuse to serve it as another.
  SIMPLEAD_ASSIGN_OR_RETURN(auto stored_suffix, store->GetMeta(meta::kSuffix));
  if (stored_suffix && ldap::NormalizeDn(*stored_suffix).ok() &&
      *ldap::NormalizeDn(*stored_suffix) != suffix.Normalized()) {
    return Status(ResultCode::kOther, "data dir " + options.store.path + " holds the directory " + *stored_suffix +
                                          ", not " + options.suffix);
  }
  SIMPLEAD_ASSIGN_OR_RETURN(auto stored_mode, store->GetMeta(meta::kMode));
  if (stored_mode && *stored_mode != (options.ad_mode ? "ad" : "plain")) {
    return Status(ResultCode::kOther, "data dir " + options.store.path + " was created in " + *stored_mode +
                                          " mode; start it with the same --domain/--suffix choice");
  }
  if (!sealer) sealer = std::make_unique<PlainSealer>();
  auto dir = std::unique_ptr<Directory>(
      new Directory(std::move(options), std::move(schema), clock, std::move(store), std::move(sealer)));
  dir->suffix_ = suffix;
  dir->suffix_key_ = suffix.Normalized();
  auto specs = dir->options_.indexes.empty() ? DefaultIndexes() : dir->options_.indexes;
  specs["simpleadaccessrule"].presence = true;  // the access rules are found through it, whatever the config says
  for (auto& [name, spec] : specs) {
    const auto* at = dir->schema_->FindAttribute(name);
    dir->indexes_[ldap::ToLower(at ? at->name() : name)] = spec;
  }
  for (const auto& [oid, attr] : dir->schema_->attributes_by_oid()) {
    auto it = dir->indexes_.find(ldap::ToLower(attr.name()));
    if (it != dir->indexes_.end()) dir->index_by_type_[&attr] = {it->first, &it->second};
  }
  SIMPLEAD_ASSIGN_OR_RETURN(auto sid_bytes, dir->store_->GetMeta(meta::kDomainSid));
  if (sid_bytes) {
    auto sid = Sid::FromBinary(*sid_bytes);
    if (sid.ok()) dir->domain_sid_ = *sid;
  }
  // Computed once: a filter on a supertype cannot use the supertype's own index.
  for (const auto& [oid, attr] : dir->schema_->attributes_by_oid()) {
    for (const auto& [other_oid, other] : dir->schema_->attributes_by_oid()) {
      if (&other != &attr && dir->schema_->IsSubtypeOf(other, attr)) {
        dir->has_subtypes_.insert(&attr);
        break;
      }
    }
  }
  SIMPLEAD_ASSIGN_OR_RETURN(auto directory_id, dir->store_->GetMeta(meta::kDirectoryId));
  if (directory_id) dir->directory_id_ = *directory_id;
  if (dir->options_.ad_mode) {
    dir->admin_groups_key_ = ldap::Dn::Parse("CN=Domain Admins,CN=Users," + dir->options_.suffix)->Normalized();
  }
  SIMPLEAD_RETURN_IF_ERROR(dir->LoadAccessRules());
  return dir;
}

bool Directory::IsProvisioned() const {
  auto id = store_->FindId(suffix_key_);
  return id.ok() && id->has_value();
}

// NormalizeDn's fast path builds no Dn for the plain DNs clients send (a
// bind's name, a search base).
Result<std::string> Directory::DnKey(std::string_view dn) const { return ldap::NormalizeDn(dn); }

std::string Directory::DnKey(const ldap::Dn& dn) const { return dn.Normalized(); }

std::string Directory::context_csn() const {
  auto csn = store_->GetMeta(meta::kContextCsn);
  return csn.ok() && csn->has_value() ? **csn : "";
}

std::string Directory::NextCsn() {
  // YYYYmmddHHMMSS.uuuuuuZ#counter#replica#mod, as OpenLDAP's entryCSN.
  auto now = clock_.Now();
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  std::string base = GeneralizedTime(now);  // ...HHMMSS.0Z
  base = base.substr(0, 14);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lldZ", static_cast<long long>(micros));
  std::string time = base + frac;
  std::lock_guard lock(csn_mu_);
  if (time <= last_csn_time_) {
    time = last_csn_time_;
    ++csn_counter_;
  } else {
    last_csn_time_ = time;
    csn_counter_ = 0;
  }
  char tail[32];
  std::snprintf(tail, sizeof tail, "#%06x#%s#000000", csn_counter_, options_.replica_id.c_str());
  return time + tail;
}

void Directory::StampCreate(ldap::Entry& entry, const Principal& who, const std::string& csn) const {
  std::string now = GeneralizedTime(clock_.Now());
  std::string creator = who.internal ? (options_.ad_mode ? "" : "") : who.dn;
  auto set_default = [&](std::string_view type, std::string value) {
    if (!entry.Has(type)) entry.Set(type, {std::move(value)});
  };
  set_default("createTimestamp", now);
  set_default("modifyTimestamp", now);
  set_default("creatorsName", creator.empty() ? suffix_.ToString() : creator);
  set_default("modifiersName", creator.empty() ? suffix_.ToString() : creator);
  entry.Set("entryCSN", {csn});
  if (options_.ad_mode) {
    set_default("whenCreated", now);
    set_default("whenChanged", now);
  }
}

void Directory::StampModify(ldap::Entry& entry, const Principal& who, const std::string& csn) const {
  std::string now = GeneralizedTime(clock_.Now());
  entry.Set("modifyTimestamp", {now});
  entry.Set("modifiersName", {who.internal || who.dn.empty() ? suffix_.ToString() : who.dn});
  entry.Set("entryCSN", {csn});
  if (options_.ad_mode) entry.Set("whenChanged", {now});
}

const IndexSpec* Directory::IndexFor(const schema::AttributeType& attr) const {
  auto it = indexes_.find(ldap::ToLower(attr.name()));
  return it == indexes_.end() ? nullptr : &it->second;
}

const Directory::IndexedType* Directory::IndexedTypeOf(std::string_view type, const schema::AttributeType** at) const {
  // Options ("cn;lang-en") index under the base type.
  const schema::AttributeType* found = schema_->FindAttribute(type.substr(0, type.find(';')));
  if (at) *at = found;
  if (!found) return nullptr;
  auto indexed = index_by_type_.find(found);
  return indexed == index_by_type_.end() ? nullptr : &indexed->second;
}

std::string_view Directory::IndexNameOf(std::string_view type) const {
  const IndexedType* indexed = IndexedTypeOf(type);
  return indexed ? indexed->first : std::string_view();
}

void Directory::AppendIndexKeys(const ldap::Attribute& attribute, std::vector<IndexKey>* out,
                                const std::vector<std::string_view>* only) const {
  const schema::AttributeType* at = nullptr;
  const IndexedType* indexed = IndexedTypeOf(attribute.type, &at);
  if (!indexed) return;
  std::string_view name = indexed->first;
  if (only && std::find(only->begin(), only->end(), name) == only->end()) return;
  const IndexSpec& spec = *indexed->second;
  if (spec.presence) out->push_back({store::IndexKind::kPresence, name, ""});
  if (!spec.equality && !spec.substring) return;
  std::vector<std::string> expanded;
  const std::vector<std::string>* values = &attribute.values;
  if (name == "objectclass") {
    expanded = schema_->ExpandObjectClasses(attribute.values);
    values = &expanded;
  }
  for (const auto& value : *values) {
    if (spec.equality) {
      auto norm = schema_->NormalizeEquality(*at, value);
      if (norm.ok()) out->push_back({store::IndexKind::kEquality, name, std::move(*norm)});
    }
    if (spec.substring) {
      auto norm = schema_->NormalizeSubstring(*at, value);
      if (norm.ok()) {
        const std::string& v = *norm;
        for (size_t i = 0; i + 3 <= v.size(); ++i) out->push_back({store::IndexKind::kSubstring, name, v.substr(i, 3)});
      }
    }
  }
}

std::vector<Directory::IndexKey> Directory::UnsortedIndexKeysOf(const ldap::Entry& entry,
                                                                const std::vector<std::string_view>* only) const {
  // A vector, not a set: ~50 keys per entry, most of them 3-byte n-grams
  // that fit the small-string buffer.
  std::vector<IndexKey> keys;
  keys.reserve(64);
  for (const auto& attribute : entry.attributes()) AppendIndexKeys(attribute, &keys, only);
  return keys;
}

std::vector<Directory::IndexKey> Directory::IndexKeysOf(const ldap::Entry& entry,
                                                        const std::vector<std::string_view>* only) const {
  std::vector<IndexKey> keys = UnsortedIndexKeysOf(entry, only);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

std::vector<std::string_view> Directory::IndexesTouched(const ldap::Entry& before, const ldap::Entry& after) const {
  // By index, not by attribute: "cn" and "cn;lang-en" (or an alias) share
  // the index "cn", so one of them changing means recomputing both.
  std::vector<std::string_view> touched;
  auto touch = [&](std::string_view type) {
    std::string_view name = IndexNameOf(type);
    if (!name.empty() && std::find(touched.begin(), touched.end(), name) == touched.end()) touched.push_back(name);
  };
  for (const auto& attribute : before.attributes()) {
    const ldap::Attribute* now = after.Find(attribute.type);
    if (now == nullptr || now->values != attribute.values) touch(attribute.type);
  }
  for (const auto& attribute : after.attributes()) {
    if (before.Find(attribute.type) == nullptr) touch(attribute.type);
  }
  return touched;
}

void Directory::ApplyIndexDiff(store::WriteTxn& txn, store::EntryId id, const ldap::Entry* before,
                               const ldap::Entry* after) const {
  if (!before || !after) {
    // An add or a delete needs no diff, so no sorted key lists: the
    // transaction folds a key named twice for one id into one op. Sorting
    // ~60 keys per entry was 5 % of an import.
    for (const IndexKey& k : UnsortedIndexKeysOf(before ? *before : *after)) {
      if (after) {
        txn.AddIndexKey(k.kind, k.attribute, k.key, id);
      } else {
        txn.RemoveIndexKey(k.kind, k.attribute, k.key, id);
      }
    }
    return;
  }
  // An update recomputes only the indexes it touched: a modify of one
  // attribute no longer normalises (and n-grams) every indexed value of the
  // entry twice. Keys carry their index's name, so the others cannot differ.
  const std::vector<std::string_view> touched = IndexesTouched(*before, *after);
  if (touched.empty()) return;
  std::vector<IndexKey> old_keys = IndexKeysOf(*before, &touched);
  std::vector<IndexKey> new_keys = IndexKeysOf(*after, &touched);
  // One merge walk over the two sorted lists.
  auto o = old_keys.begin();
  auto n = new_keys.begin();
  while (o != old_keys.end() || n != new_keys.end()) {
    if (n == new_keys.end() || (o != old_keys.end() && *o < *n)) {
      txn.RemoveIndexKey(o->kind, o->attribute, o->key, id);
      ++o;
    } else if (o == old_keys.end() || *n < *o) {
      txn.AddIndexKey(n->kind, n->attribute, n->key, id);
      ++n;
    } else {
      ++o;
      ++n;
    }
  }
}

std::string Directory::NoSuchObjectMatched(const ldap::Dn& dn, const AccessContext* ctx) const {
  // The deepest existing ancestor, as RFC 4511 §4.1.9 asks for matchedDN;
  // with a requester, the deepest one they may see (no existence leak).
  for (ldap::Dn cur = dn.Parent(); !cur.empty(); cur = cur.Parent()) {
    auto id = store_->FindId(DnKey(cur));
    if (!id.ok() || !id->has_value()) continue;
    auto stored = store_->Get(**id);
    if (!stored.ok() || !stored->has_value()) continue;
    if (ctx && !CanSee(*ctx, **stored)) continue;
    return (*stored)->entry.dn().ToString();
  }
  return "";
}

Status Directory::NoSuchObject(const ldap::Dn& dn, std::string_view what) const {
  return Status(ResultCode::kNoSuchObject, std::string(what) + " " + dn.ToString() + " does not exist",
                NoSuchObjectMatched(dn, nullptr));
}

uint32_t Directory::AllocateRid(store::WriteTxn& txn) {
  // Called with write_mu_ held. A RID handed out by a transaction that then
  // fails is skipped, never reused.
  if (next_rid_ == 0) {
    next_rid_ = 1100;
    auto stored = store_->GetMeta(meta::kNextRid);
    if (stored.ok() && stored->has_value()) next_rid_ = static_cast<uint32_t>(std::stoul(**stored));
  }
  uint32_t rid = next_rid_++;
  txn.PutMeta(meta::kNextRid, std::to_string(next_rid_));
  return rid;
}

bool Directory::IsAdminEntry(const store::StoredEntry& stored, std::string_view dn_key) const {
  const ldap::Entry& e = stored.entry;
  if (options_.ad_mode) {
    if (const std::string* sid = e.First("objectSid")) {
      auto parsed = Sid::FromBinary(*sid);
      if (parsed.ok() && !parsed->sub_authorities.empty() && parsed->sub_authorities.back() == 500) return true;
    }
    for (const auto& group : GroupsOf(e, 1000)) {
      if (group == admin_groups_key_) return true;
    }
    return false;
  }
  std::lock_guard lock(admin_mu_);
  if (!admin_key_) {
    auto admin = store_->GetMeta(meta::kAdminDn);
    if (!admin.ok() || !admin->has_value()) return false;  // not provisioned (yet): ask again next time
    admin_key_ = std::move(**admin);
  }
  return *admin_key_ == dn_key;
}

std::vector<std::string> Directory::GroupsOf(const ldap::Entry& entry, size_t limit) const {
  std::vector<std::string> result;
  std::unordered_set<std::string> seen;
  std::deque<std::string> queue;
  for (const auto& v : entry.Values("memberOf")) {
    auto key = DnKey(v);
    if (key.ok() && seen.insert(*key).second) queue.push_back(*key);
  }
  while (!queue.empty() && result.size() < limit) {
    std::string key = queue.front();
    queue.pop_front();
    result.push_back(key);
    auto id = store_->FindId(key);
    if (!id.ok() || !id->has_value()) continue;
    auto group = store_->Get(**id);
    if (!group.ok() || !group->has_value()) continue;
    for (const auto& v : (*group)->entry.Values("memberOf")) {
      auto k = DnKey(v);
      if (k.ok() && seen.insert(*k).second) queue.push_back(*k);
    }
  }
  return result;
}

}  // namespace simplead::backend
