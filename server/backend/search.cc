// Directory reads: candidate selection from indexes, scope, filter
// evaluation, attribute selection, paging, sorting and limits.
#include <algorithm>
#include <deque>
#include <unordered_set>

#include "lib/ldap/dn.h"
#include "schema/filter_eval.h"
#include "server/backend/directory.h"
#include "server/backend/meta_keys.h"

namespace simplead::backend {

namespace {

using IdList = std::vector<store::EntryId>;

IdList Intersect(const IdList& a, const IdList& b) {
  IdList out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

IdList Union(const IdList& a, const IdList& b) {
  IdList out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

void SortUnique(IdList& ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
}

constexpr size_t kInChainLimit = 100000;
// A cheap-only search reads index lists of at most this many ids (well under
// a millisecond) before it gives up and asks for the worker pool.
constexpr size_t kCheapIndexReadLimit = 1024;
// A substring search reads a gram last seen listing more ids than this (a
// bitmap chunk, posting.h) only if the other grams left more than
// kFewGramCandidates candidates: fetching and checking a few entries costs
// less than reading the dense list.
constexpr size_t kDenseGramIds = 4096;
constexpr size_t kFewGramCandidates = 4;

std::string EncodeCookie(store::EntryId last, uint64_t fingerprint) {
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((last >> shift) & 0xff));
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((fingerprint >> shift) & 0xff));
  return out;
}

bool DecodeCookie(std::string_view cookie, store::EntryId* last, uint64_t* fingerprint) {
  if (cookie.size() != 16) return false;
  *last = 0;
  *fingerprint = 0;
  for (int i = 0; i < 8; ++i) *last = (*last << 8) | static_cast<uint8_t>(cookie[i]);
  for (int i = 8; i < 16; ++i) *fingerprint = (*fingerprint << 8) | static_cast<uint8_t>(cookie[i]);
  return true;
}

uint64_t Fingerprint(const SearchParams& params) {
  // FNV-1a over what defines the result set: a cookie is only valid for the
  // same search (RFC 2696 §3).
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;
    h *= 1099511628211ULL;
  };
  mix(params.base);
  mix(std::to_string(static_cast<int>(params.scope)));
  mix(ldap::FilterToString(params.filter));
  return h;
}

}  // namespace

bool Directory::InChain(const ldap::Entry& entry, const schema::AttributeType& attr,
                        std::string_view target_dn) const {
  auto target = DnKey(target_dn);
  if (!target.ok()) return false;
  std::unordered_set<std::string> seen;
  std::deque<std::string> queue;
  auto push_values = [&](const ldap::Entry& e) {
    for (const auto& v : e.Values(attr.name())) {
      auto key = DnKey(v);
      if (key.ok() && seen.insert(*key).second) queue.push_back(*key);
    }
  };
  push_values(entry);
  while (!queue.empty() && seen.size() < kInChainLimit) {
    std::string key = std::move(queue.front());
    queue.pop_front();
    if (key == *target) return true;
    auto id = store_->FindId(key);
    if (!id.ok() || !id->has_value()) continue;
    auto next = store_->Get(**id);
    if (next.ok() && next->has_value()) push_values((*next)->entry);
  }
  return false;
}

std::optional<std::vector<store::EntryId>> Directory::Candidates(const ldap::Filter& filter, size_t depth,
                                                                 CandidateBudget* budget) const {
  using T = ldap::Filter::Type;
  if (depth > 32) return std::nullopt;
  // With a budget, a list that outgrows it ends the read early (the caller
  // then discards the candidates).
  auto within_budget = [budget](const IdList& ids) {
    if (!budget || ids.size() <= budget->max_ids) return true;
    budget->exceeded = true;
    return false;
  };
  auto collect = [&](store::IndexKind kind, const std::string& attr, const std::string& key) {
    IdList ids;
    (void)store_->ForEachIndexed(kind, attr, key, [&](store::EntryId id) {
      ids.push_back(id);
      return within_budget(ids);
    });
    SortUnique(ids);
    return ids;
  };
  // An attribute with subtypes (name > cn) is matched through its subtypes,
  // which its own index does not cover.
  auto indexed_attr = [&](const std::string& type) -> const schema::AttributeType* {
    const auto* at = schema_->FindAttribute(type);
    if (!at || has_subtypes_.count(at)) return nullptr;
    return at;
  };
  switch (filter.type) {
    case T::kEquality:
    case T::kApprox: {
      const auto* at = indexed_attr(filter.attribute);
      const IndexSpec* spec = at ? IndexFor(*at) : nullptr;
      if (!spec || !spec->equality) return std::nullopt;
      std::string value = filter.value;
      if (ldap::ToLower(at->name()) == "objectclass") {
        // Index keys hold the class names expanded by the schema; normalise the same way.
        auto expanded = schema_->ExpandObjectClasses({value});
        if (!expanded.empty()) value = expanded.front();
        if (!schema_->FindObjectClass(filter.value)) return IdList{};
      }
      auto key = schema_->NormalizeEquality(*at, value);
      if (!key.ok()) return IdList{};  // an invalid assertion matches nothing
      return collect(store::IndexKind::kEquality, ldap::ToLower(at->name()), *key);
    }
    case T::kPresent: {
      const auto* at = indexed_attr(filter.attribute);
      const IndexSpec* spec = at ? IndexFor(*at) : nullptr;
      if (!spec || !spec->presence) return std::nullopt;
      return collect(store::IndexKind::kPresence, ldap::ToLower(at->name()), "");
    }
    case T::kSubstrings: {
      const auto* at = indexed_attr(filter.attribute);
      const IndexSpec* spec = at ? IndexFor(*at) : nullptr;
      if (!spec) return std::nullopt;
      std::string name = ldap::ToLower(at->name());
      std::optional<IdList> result;
      if (spec->substring) {
        std::vector<std::string> parts;
        if (filter.initial) parts.push_back(*filter.initial);
        for (const auto& a : filter.any) parts.push_back(a);
        if (filter.final) parts.push_back(*filter.final);
        std::set<std::string> grams;
        for (const auto& part : parts) {
          auto norm = schema_->NormalizeSubstring(*at, part);
          if (!norm.ok()) continue;
          for (size_t i = 0; i + 3 <= norm->size(); ++i) grams.insert(norm->substr(i, 3));
        }
        // The rarest list is materialised and every other one only narrows
        // it by membership tests. The lists are read in at most two batches:
        // grams with no remembered count or a small one first, then, only if
        // those leave more than a few candidates, the ones remembered as
        // dense (a "ser" in every "user123": 16 KiB of bitmap per 100,000
        // ids that would narrow nothing).
        std::vector<std::string> rare;
        std::vector<std::string> dense;
        for (const auto& gram : grams) {
          auto count = gram_counts_.Find(name, gram);
          (count && *count > kDenseGramIds ? dense : rare).push_back(gram);
        }
        if (rare.empty()) rare.swap(dense);
        const size_t limit = budget ? budget->max_ids : SIZE_MAX;
        std::optional<IdList> ids;  // materialised from the first batch's rarest list
        bool over_budget = false;
        // Reads the lists of `keys` and narrows `ids` by them; false if they
        // cannot be read or the first list is longer than the budget.
        auto narrow = [&](const std::vector<std::string>& keys) {
          std::vector<store::PostingList> lists;
          if (!store_->ReadIndexed(store::IndexKind::kSubstring, name, keys, &lists).ok()) return false;
          std::vector<std::pair<size_t, const store::PostingList*>> ranked;
          for (size_t i = 0; i < lists.size(); ++i) {
            auto count = lists[i].Count();
            if (count) gram_counts_.Record(name, keys[i], *count);
            ranked.emplace_back(count.value_or(SIZE_MAX), &lists[i]);
          }
          std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
          size_t next = 0;
          if (!ids) {
            IdList first;
            if (!ranked.front().second->AppendTo(&first, limit)) {
              over_budget = true;
              return false;
            }
            ids = std::move(first);
            next = 1;
          }
          for (size_t i = next; i < ranked.size() && ids->size() > 1; ++i) {
            std::erase_if(*ids, [&](store::EntryId id) { return ranked[i].second->Contains(id) == false; });
          }
          return true;
        };
        if (!rare.empty() && narrow(rare)) {
          // Unreadable dense lists still leave a superset of the matches.
          if (ids->size() > kFewGramCandidates && !dense.empty()) (void)narrow(dense);
          result = std::move(ids);
        } else if (over_budget) {
          // Longer than the budget, or unreadable: no cheap plan, and without
          // a budget the unindexed walk still answers correctly.
          if (budget) budget->exceeded = true;
          return std::nullopt;
        }
      }
      if (!result && spec->equality && filter.initial && !filter.initial->empty()) {
        auto norm = schema_->NormalizeSubstring(*at, *filter.initial);
        auto eq_norm = schema_->NormalizeEquality(*at, *filter.initial);
        // A prefix scan of the equality index is exact only when both rules normalise alike.
        if (norm.ok() && eq_norm.ok() && *norm == *eq_norm) {
          IdList ids;
          (void)store_->ForEachIndexedPrefix(store::IndexKind::kEquality, name, *norm,
                                             [&](std::string_view, store::EntryId id) {
                                               ids.push_back(id);
                                               return within_budget(ids);
                                             });
          SortUnique(ids);
          result = ids;
        }
      }
      return result;
    }
    case T::kExtensible: {
      if (filter.matching_rule != ldap::oid::kMatchingRuleInChain || filter.dn_attributes) return std::nullopt;
      if (budget) {  // a walk of unknown length
        budget->exceeded = true;
        return std::nullopt;
      }
      const auto* at = schema_->FindAttribute(filter.attribute);
      if (!at) return IdList{};
      std::string name = ldap::ToLower(at->name());
      const IndexSpec* spec = IndexFor(*at);
      if (!spec || !spec->equality) return std::nullopt;
      // Entries whose <attr> reaches the target: walk the equality index
      // outwards from the target, each DN at most once (cycles end).
      auto target = DnKey(filter.value);
      if (!target.ok()) return IdList{};
      IdList result;
      std::unordered_set<std::string> seen{*target};
      std::deque<std::string> queue{*target};
      while (!queue.empty() && seen.size() < kInChainLimit) {
        std::string key = std::move(queue.front());
        queue.pop_front();
        for (store::EntryId id : collect(store::IndexKind::kEquality, name, key)) {
          result.push_back(id);
          auto stored = store_->Get(id);
          if (!stored.ok() || !stored->has_value()) continue;
          std::string k = DnKey((*stored)->entry.dn());
          if (seen.insert(k).second) queue.push_back(std::move(k));
        }
      }
      SortUnique(result);
      return result;
    }
    case T::kAnd: {
      // Use the most selective indexed child; intersect others only while the set is large.
      std::vector<std::pair<size_t, const ldap::Filter*>> ranked;
      for (const auto& child : filter.children) {
        size_t estimate = SIZE_MAX - 1;
        if (child.type == T::kEquality) {
          const auto* at = indexed_attr(child.attribute);
          const IndexSpec* spec = at ? IndexFor(*at) : nullptr;
          if (spec && spec->equality && ldap::ToLower(at->name()) != "objectclass") {
            auto key = schema_->NormalizeEquality(*at, child.value);
            if (key.ok()) {
              size_t limit = budget ? budget->max_ids + 1 : 100000;
              auto count = store_->CountIndexed(store::IndexKind::kEquality, ldap::ToLower(at->name()), *key, limit);
              if (count.ok()) estimate = *count;
            }
          }
        }
        ranked.push_back({estimate, &child});
      }
      std::stable_sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.first < b.first; });
      std::optional<IdList> result;
      for (const auto& [estimate, child] : ranked) {
        if (result && result->size() <= 64) break;  // few enough: the filter checks the rest
        auto ids = Candidates(*child, depth + 1, budget);
        if (budget && budget->exceeded) return std::nullopt;
        if (!ids) continue;
        result = result ? Intersect(*result, *ids) : std::move(*ids);
      }
      return result;
    }
    case T::kOr: {
      IdList result;
      for (const auto& child : filter.children) {
        auto ids = Candidates(child, depth + 1, budget);
        if (!ids || (budget && budget->exceeded)) return std::nullopt;
        result = Union(result, *ids);
      }
      return result;
    }
    default:
      return std::nullopt;
  }
}

ldap::Entry PresentedEntry::ToEntry() const {
  std::vector<ldap::Attribute> copies;
  copies.reserve(attributes_.size());
  for (const ldap::Attribute* a : attributes_) copies.push_back(*a);
  return ldap::Entry(*dn_, std::move(copies));
}

PresentedEntry Directory::Present(const AccessContext& ctx, const store::StoredEntry& stored,
                                  const std::vector<std::string>& attributes) const {
  return Present(AccessTo(ctx, stored), stored, attributes);
}

PresentedEntry Directory::Present(const EntryAccess& access, const store::StoredEntry& stored,
                                  const std::vector<std::string>& attributes) const {
  const ldap::Entry& entry = stored.entry;
  bool all_user = attributes.empty();
  bool all_operational = false;
  std::vector<const schema::AttributeType*> named;
  std::vector<std::string> named_unknown;
  for (const auto& a : attributes) {
    if (a == "*") {
      all_user = true;
    } else if (a == "+") {
      all_operational = true;
    } else if (a == "1.1") {
      continue;
    } else if (const auto* at = schema_->FindAttribute(a.substr(0, a.find(';')))) {
      named.push_back(at);
    } else {
      named_unknown.push_back(ldap::ToLower(a));
    }
  }
  auto is_named = [&](const schema::AttributeType* at) {
    for (const auto* n : named) {
      if (n == at || schema_->IsSubtypeOf(*at, *n)) return true;
    }
    return false;
  };
  auto wanted = [&](const schema::AttributeType* at) {
    if (is_named(at)) return true;
    // AD returns its own system attributes (memberOf, objectGUID, whenCreated...) with the user
    // attributes, as AD clients expect; RFC operational attributes still need "+".
    bool operational = at->IsOperational() && !(options_.ad_mode && at->oid.rfind("1.2.840.113556.", 0) == 0);
    return operational ? all_operational : all_user;
  };
  PresentedEntry out(entry.dn());
  for (const auto& attribute : entry.attributes()) {
    const auto* at = schema_->FindAttribute(std::string_view(attribute.type).substr(0, attribute.type.find(';')));
    if (!at) continue;
    if (!wanted(at) || !CanReadAttribute(access, *at)) continue;
    out.Borrow(attribute);
  }
  // Computed operational attributes.
  auto computed = [&](std::string_view name, std::function<std::vector<std::string>()> values) {
    const auto* at = schema_->FindAttribute(name);
    bool want = at ? (all_operational || is_named(at)) : all_operational;
    if (!want) {
      for (const auto& n : named_unknown) want = want || n == ldap::ToLower(name);
    }
    if (!want) return;
    auto v = values();
    if (v.empty()) return;
    out.AddComputed(ldap::Attribute{std::string(name), std::move(v)});
  };
  computed("entryDN", [&] { return std::vector<std::string>{entry.dn().ToString()}; });
  computed("subschemaSubentry", [&] { return std::vector<std::string>{"cn=Subschema"}; });
  computed("hasSubordinates", [&] {
    auto has = store_->HasChildren(stored.id);
    return std::vector<std::string>{has.ok() && *has ? "TRUE" : "FALSE"};
  });
  if (!entry.Has("structuralObjectClass")) {
    computed("structuralObjectClass", [&] {
      std::string s = schema_->StructuralObjectClass(entry.Values("objectClass"));
      return s.empty() ? std::vector<std::string>{} : std::vector<std::string>{s};
    });
  }
  // Only a root (no parent) can be the suffix: most entries skip the DN normalisation.
  if (stored.id != store::kNoEntry && stored.parent == store::kNoEntry && DnKey(entry.dn()) == suffix_key_) {
    computed("contextCSN", [&] {
      std::string csn = context_csn();
      return csn.empty() ? std::vector<std::string>{} : std::vector<std::string>{csn};
    });
  }
  return out;
}

Result<std::optional<ldap::Entry>> Directory::Read(const Principal& who, std::string_view dn,
                                                   const std::vector<std::string>& attributes) {
  SIMPLEAD_ASSIGN_OR_RETURN(auto key, DnKey(dn));
  SIMPLEAD_ASSIGN_OR_RETURN(auto id, store_->FindId(key));
  if (!id) return std::optional<ldap::Entry>{};
  SIMPLEAD_ASSIGN_OR_RETURN(auto stored, store_->Get(*id));
  if (!stored) return std::optional<ldap::Entry>{};
  AccessContext ctx(*this, who);
  EntryAccess access = AccessTo(ctx, *stored);
  if (!access.AllowsEntry(kReadRight)) return std::optional<ldap::Entry>{};
  return std::optional<ldap::Entry>(Present(access, *stored, attributes).ToEntry());
}

Status Directory::Search(const Principal& who, const SearchParams& params,
                         const std::function<bool(const PresentedEntry&)>& emit, const std::atomic<bool>* abandoned,
                         SearchOutcome* outcome) {
  using Scope = ldap::SearchScope;
  auto started = std::chrono::steady_clock::now();
  SIMPLEAD_ASSIGN_OR_RETURN(auto base_dn, ldap::Dn::Parse(params.base));
  std::string base_key = DnKey(base_dn);
  SIMPLEAD_ASSIGN_OR_RETURN(auto base_id, store_->FindId(base_key));
  std::shared_ptr<const store::StoredEntry> base_entry;
  if (base_id) {
    SIMPLEAD_ASSIGN_OR_RETURN(base_entry, store_->GetShared(*base_id));
  }
  AccessContext ctx(*this, who);
  if (!base_entry || !CanSee(ctx, *base_entry)) {
    // Invisible answers as absent; matchedDN only names what the caller may see.
    return NoSuchObject(ctx, base_dn, "search base");
  }

  // Paging state.
  uint64_t fingerprint = Fingerprint(params);
  store::EntryId resume_after = 0;
  size_t page_size = 0;
  if (params.paged) {
    page_size = static_cast<size_t>(std::max(0, params.paged->size));
    if (!params.paged->cookie.empty()) {
      uint64_t got = 0;
      if (!DecodeCookie(params.paged->cookie, &resume_after, &got) || got != fingerprint) {
        return Error(ResultCode::kUnwillingToPerform, "paged results cookie is invalid for this search");
      }
    }
    outcome->paged_response = ldap::PagedResults{0, ""};
    if (page_size == 0) {  // RFC 2696: size 0 abandons the paged search
      outcome->result = {ResultCode::kSuccess, "", "", {}};
      return Status::Ok();
    }
    page_size = std::min(page_size, options_.server_size_limit);
  }
  size_t size_limit = options_.server_size_limit;
  if (params.size_limit > 0) size_limit = std::min(size_limit, static_cast<size_t>(params.size_limit));
  if (params.paged) size_limit = params.size_limit > 0 ? static_cast<size_t>(params.size_limit) : SIZE_MAX;
  auto time_limit = options_.server_time_limit;
  if (params.time_limit > 0) time_limit = std::min(time_limit, std::chrono::seconds(params.time_limit));
  auto deadline = started + time_limit;

  // Candidates, ascending ids.
  IdList candidates;
  bool cheap_only = params.cheap_only_limit > 0;
  if (cheap_only && (params.paged || !params.sort.empty())) {
    outcome->too_costly = true;
    return Status::Ok();
  }
  if (params.scope == Scope::kBase) {
    candidates = {*base_id};
  } else if (CandidateBudget budget{kCheapIndexReadLimit}; cheap_only) {
    auto indexed = Candidates(params.filter, 0, &budget);
    if (!indexed || budget.exceeded) {  // a long index read or an unindexed walk
      outcome->too_costly = true;
      return Status::Ok();
    }
    candidates = std::move(*indexed);
  } else if (auto indexed = Candidates(params.filter, 0)) {
    candidates = std::move(*indexed);
  } else {
    std::vector<store::EntryId> stack{*base_id};
    if (params.scope == Scope::kSubtree) candidates.push_back(*base_id);
    bool one_level = params.scope == Scope::kOneLevel;
    while (!stack.empty()) {
      store::EntryId id = stack.back();
      stack.pop_back();
      (void)store_->ForEachChild(id, [&](store::EntryId child) {
        candidates.push_back(child);
        if (!one_level) stack.push_back(child);
        return true;
      });
    }
    SortUnique(candidates);
  }
  if (cheap_only && candidates.size() > params.cheap_only_limit) {
    outcome->too_costly = true;
    return Status::Ok();
  }

  // Every stored entry lies under the suffix: a search from there needs no
  // per-candidate DN comparison (the common case of clients that search the
  // whole naming context).
  bool base_is_suffix = base_key == suffix_key_;
  auto in_scope = [&](const store::StoredEntry& stored) {
    switch (params.scope) {
      case Scope::kBase:
        return stored.id == *base_id;
      case Scope::kOneLevel:
        return stored.parent == *base_id;
      case Scope::kSubtree:
      case Scope::kChildren: {
        if (stored.id == *base_id) return params.scope == Scope::kSubtree;
        if (base_is_suffix) return true;
        std::string key = DnKey(stored.entry.dn());
        return key.size() > base_key.size() + 1 && key.compare(key.size() - base_key.size(), base_key.size(),
                                                                base_key) == 0 &&
               key[key.size() - base_key.size() - 1] == ',';
      }
    }
    return false;
  };

  schema::EvalHooks hooks;
  // Filters see only what the caller may read: an unreadable attribute's
  // items are Undefined, so probing confidential values matches nothing.
  const EntryAccess* current = nullptr;
  hooks.can_read = [&](const schema::AttributeType& at) { return current && CanReadAttribute(*current, at); };
  hooks.in_chain = [&](const ldap::Entry& e, const schema::AttributeType& at, std::string_view target) {
    return InChain(e, at, target);
  };

  bool sorting = !params.sort.empty();
  std::vector<store::StoredEntry> sorted_matches;
  size_t returned = 0;
  store::EntryId last_id = 0;
  bool more = false;
  outcome->result = {ResultCode::kSuccess, "", "", {}};
  auto it = std::upper_bound(candidates.begin(), candidates.end(), sorting ? 0 : resume_after);
  for (; it != candidates.end(); ++it) {
    if (abandoned && abandoned->load()) return Status::Ok();
    if (std::chrono::steady_clock::now() > deadline) {
      outcome->result = {ResultCode::kTimeLimitExceeded, "", "time limit exceeded", {}};
      break;
    }
    ++outcome->candidates_examined;
    auto stored = store_->GetShared(*it);  // the cached record, not a copy
    if (!stored.ok() || !*stored) continue;
    const store::StoredEntry& se = **stored;
    if (!in_scope(se)) continue;
    EntryAccess access = AccessTo(ctx, se);
    if (!access.AllowsEntry(kReadRight)) continue;
    current = &access;
    bool matches = schema::Evaluate(params.filter, se.entry, *schema_, hooks) == schema::Tri::kTrue;
    current = nullptr;
    if (!matches) continue;
    if (sorting) {
      sorted_matches.push_back(se);
      // Sorting on a value you may not read would leak its order: sort as if absent.
      const auto* sort_at = schema_->FindAttribute(params.sort.front().attribute);
      if (sort_at && !CanReadAttribute(access, *sort_at)) sorted_matches.back().entry.Remove(sort_at->name());
      continue;
    }
    if (params.paged && returned == page_size) {
      more = true;
      break;
    }
    if (returned == size_limit) {
      outcome->result = {ResultCode::kSizeLimitExceeded, "", "size limit exceeded", {}};
      break;
    }
    if (!emit(Present(access, se, params.attributes))) return Status::Ok();
    ++returned;
    last_id = se.id;
  }

  if (sorting) {
    // RFC 2891: order by the first sort key's ordering (or equality) rule.
    const auto& key = params.sort.front();
    const auto* at = schema_->FindAttribute(key.attribute);
    if (!at) {
      outcome->sort_result = ResultCode::kNoSuchAttribute;
    } else {
      outcome->sort_result = ResultCode::kSuccess;
      auto sort_value = [&](const store::StoredEntry& e) -> const std::string* { return e.entry.First(at->name()); };
      std::stable_sort(sorted_matches.begin(), sorted_matches.end(), [&](const auto& a, const auto& b) {
        const std::string* va = sort_value(a);
        const std::string* vb = sort_value(b);
        if (!va || !vb) return va != nullptr && vb == nullptr;  // entries without the value sort last
        auto cmp = schema_->CompareOrdering(*at, *va, *vb);
        int c = cmp.ok() ? *cmp : va->compare(*vb);
        return key.reverse ? c > 0 : c < 0;
      });
    }
    size_t offset = static_cast<size_t>(resume_after);
    for (size_t i = offset; i < sorted_matches.size(); ++i) {
      if (abandoned && abandoned->load()) return Status::Ok();
      if (params.paged && returned == page_size) {
        more = true;
        last_id = i;
        break;
      }
      if (returned == size_limit) {
        outcome->result = {ResultCode::kSizeLimitExceeded, "", "size limit exceeded", {}};
        break;
      }
      if (!emit(Present(ctx, sorted_matches[i], params.attributes))) return Status::Ok();
      ++returned;
    }
  }
  outcome->entries_returned = returned;
  if (params.paged && more) outcome->paged_response->cookie = EncodeCookie(last_id, fingerprint);
  return Status::Ok();
}

Result<ResultCode> Directory::Compare(const Principal& who, std::string_view dn, std::string_view attribute,
                                      std::string_view value) {
  SIMPLEAD_ASSIGN_OR_RETURN(auto parsed, ldap::Dn::Parse(dn));
  SIMPLEAD_ASSIGN_OR_RETURN(auto id, store_->FindId(DnKey(parsed)));
  std::optional<store::StoredEntry> stored;
  if (id) {
    SIMPLEAD_ASSIGN_OR_RETURN(stored, store_->Get(*id));
  }
  AccessContext ctx(*this, who);
  std::optional<EntryAccess> access;
  if (stored) access = AccessTo(ctx, *stored);
  if (!stored || !access->AllowsEntry(kReadRight)) return NoSuchObject(ctx, parsed, "entry");
  const auto* at = schema_->FindAttribute(attribute);
  if (!at) return Error(ResultCode::kUndefinedAttributeType, "unknown attribute type " + std::string(attribute));
  if (!CanReadAttribute(*access, *at)) {
    return Error(ResultCode::kInsufficientAccessRights, "no compare access to " + at->name());
  }
  auto wanted = schema_->NormalizeEquality(*at, value);
  if (!wanted.ok()) return wanted.status();
  bool any = false;
  for (const auto& attribute_values : stored->entry.attributes()) {
    const auto* other = schema_->FindAttribute(
        std::string_view(attribute_values.type).substr(0, attribute_values.type.find(';')));
    if (!other || !(other == at || schema_->IsSubtypeOf(*other, *at))) continue;
    any = true;
    for (const auto& v : attribute_values.values) {
      auto norm = schema_->NormalizeEquality(*other, v);
      if (norm.ok() && *norm == *wanted) return ResultCode::kCompareTrue;
    }
  }
  if (!any && ldap::ToLower(at->name()) != "objectclass") {
    return Error(ResultCode::kNoSuchAttribute, "entry has no " + at->name() + " attribute");
  }
  return ResultCode::kCompareFalse;
}

}  // namespace simplead::backend
