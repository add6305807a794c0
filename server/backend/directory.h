// Directory: the backend. It turns LDAP operations into store transactions:
// schema checks, generated attributes (AD and RFC 4512 operational ones),
// index maintenance, memberOf back-links, referential integrity and the
// changelog, each write committed as one atomic transaction.
//
// Thread-safety: safe for concurrent use. Reads run in parallel; writes are
// serialised by one mutex so that each transaction's reads stay valid. All
// methods block (RocksDB, password hashing): call them off the I/O threads.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lib/auth/password_hash.h"
#include "lib/base/clock.h"
#include "lib/base/status.h"
#include "lib/ldap/controls.h"
#include "lib/ldap/ldif.h"
#include "lib/ldap/message.h"
#include "lib/store/store.h"
#include "schema/schema.h"
#include "server/backend/access.h"
#include "server/backend/gram_counts.h"
#include "server/backend/policy.h"
#include "server/backend/secrets.h"
#include "server/backend/sid.h"

namespace simplead::backend {

// Who is asking. Built by Authenticate(); the server itself uses Internal().
struct Principal {
  std::string dn;             // as bound; empty = anonymous
  std::string normalized_dn;  // directory key form
  store::EntryId id = store::kNoEntry;
  bool is_admin = false;
  bool internal = false;      // provisioning and offline tools: no access checks, may set operational attributes
  bool IsAnonymous() const { return dn.empty() && !internal; }
  static Principal Internal() {
    Principal p;
    p.internal = true;
    p.is_admin = true;
    return p;
  }
};

struct IndexSpec {
  bool equality = false;
  bool presence = false;
  bool substring = false;
};

// What users may change on their own entry by default (phone, description...).
std::vector<std::string> DefaultSelfWritableAttributes();

struct DirectoryOptions {
  store::StoreOptions store;
  std::string suffix;                 // "DC=corp,DC=example,DC=com" or "dc=example,dc=com"
  bool ad_mode = true;
  std::string domain_fqdn;            // AD mode: corp.example.com
  std::string netbios;                // AD mode: CORP
  std::map<std::string, IndexSpec> indexes;  // by attribute name; empty: DefaultIndexes()
  size_t server_size_limit = 1000;    // as AD's MaxPageSize
  std::chrono::seconds server_time_limit{120};
  auth::HashParams hash_params;
  std::string replica_id = "000";     // CSN replica id
  // Access control (docs/security.md). The built-in rules give authenticated
  // users read access minus confidential attributes, and self-service of
  // `self_writable_attributes` and their own password; `access_rules` (rule
  // text with an `on "DN"` anchor, else the suffix) are added to them.
  bool default_access_rules = true;
  std::vector<std::string> self_writable_attributes = DefaultSelfWritableAttributes();
  std::vector<std::string> access_rules;
};

std::map<std::string, IndexSpec> DefaultIndexes();

struct SearchParams {
  std::string base;
  ldap::SearchScope scope = ldap::SearchScope::kBase;
  ldap::Filter filter = ldap::Filter::Present("objectClass");
  std::vector<std::string> attributes;
  bool types_only = false;
  int32_t size_limit = 0;  // client's; 0 = none
  int32_t time_limit = 0;  // seconds; 0 = none
  std::optional<ldap::PagedResults> paged;
  std::vector<ldap::SortKey> sort;
  // When non-zero, the search runs only if it is cheap: an indexed candidate
  // set of at most this many ids, without paging or sorting. Otherwise it
  // sends nothing and sets SearchOutcome::too_costly, so that the caller can
  // run it where blocking is allowed (the frontend runs cheap searches on the
  // I/O thread and the rest on its worker pool).
  size_t cheap_only_limit = 0;
};

// One search result as it is sent, in the order added: the stored entry's
// attributes that the requester may see and asked for, borrowed (valid while
// that stored entry is, i.e. during the emit call), and computed operational
// attributes, owned. Move-only: a copy would point into the original's.
class PresentedEntry {
 public:
  explicit PresentedEntry(const ldap::Dn& dn) : dn_(&dn) {}
  PresentedEntry(PresentedEntry&&) noexcept = default;
  PresentedEntry& operator=(PresentedEntry&&) noexcept = default;

  const ldap::Dn& dn() const { return *dn_; }
  const std::vector<const ldap::Attribute*>& attributes() const { return attributes_; }
  // A copy that owns everything, for results kept beyond the call.
  ldap::Entry ToEntry() const;

  void Borrow(const ldap::Attribute& attribute) { attributes_.push_back(&attribute); }
  void AddComputed(ldap::Attribute attribute) { attributes_.push_back(&computed_.emplace_back(std::move(attribute))); }

 private:
  const ldap::Dn* dn_;
  std::vector<const ldap::Attribute*> attributes_;
  std::deque<ldap::Attribute> computed_;  // a deque: growing it moves no element
};

struct SearchOutcome {
  ldap::LdapResult result;
  std::optional<ldap::PagedResults> paged_response;  // set when paging was requested
  std::optional<ResultCode> sort_result;
  size_t entries_returned = 0;
  size_t candidates_examined = 0;  // for logs and the indexed-search test
  bool too_costly = false;          // see SearchParams::cheap_only_limit
};

struct WriteOptions {
  bool permissive_modify = false;
  bool subtree_delete = false;
  std::optional<ldap::Filter> assertion;
  std::optional<std::vector<std::string>> pre_read;
  std::optional<std::vector<std::string>> post_read;
  // The write returns once applied (visible to readers) without waiting for
  // its WAL sync; the caller must wait for WriteOutcome::durable
  // (Directory::WhenDurable) before reporting success. Needs an outcome.
  bool defer_durability = false;
};

struct WriteOutcome {
  std::optional<ldap::Entry> pre_read;
  std::optional<ldap::Entry> post_read;
  store::CommitTicket durable;  // with WriteOptions::defer_durability
};

struct VerifyReport {
  size_t entries = 0;
  std::vector<std::string> problems;  // empty when consistent
};

// AD provisioning parameters (simplead-admin init, first start).
struct ProvisionOptions {
  std::string admin_password;  // Administrator (AD) or the admin DN (plain)
  std::string admin_dn;        // plain mode; default cn=admin,<suffix>
};

class Directory {
 public:
  static Result<std::unique_ptr<Directory>> Open(DirectoryOptions options, std::shared_ptr<const schema::Schema> schema,
                                                 const Clock& clock, std::unique_ptr<SecretSealer> sealer = nullptr);
  ~Directory();

  // True once the suffix entry exists.
  bool IsProvisioned() const;
  // Creates the suffix and (AD mode) the domain skeleton, Administrator,
  // Guest and the well-known groups; (plain mode) the admin entry.
  Status Provision(const ProvisionOptions& options);

  // --- binds
  // Resolves a bind name (DN, UPN "alice@corp.example.com" or down-level
  // "CORP\alice") and checks the password. Failures are kInvalidCredentials
  // with AD's "data 52e"/"data 533"... diagnostics, the same for unknown users.
  Result<Principal> Authenticate(std::string_view name, std::string_view password);
  // Authenticate, when that needs no blocking work: a known account whose
  // verifier is cheap to check (imported {SSHA}) and opens without the key
  // service, and nothing to write (no failed-bind counting, re-hashing or
  // counter reset). Otherwise nullopt, with no side effect: call Authenticate
  // where blocking is allowed. A wrong password also answers nullopt, so that
  // the caller audits and counts it there.
  std::optional<Result<Principal>> AuthenticateIfCheap(std::string_view name, std::string_view password);
  // The entry a bind name resolves to (no password check), for WhoAmI/ACL.
  // When the name is a DN, *dn_key (if given) receives its directory key,
  // which is the entry's: a bind by DN then does not normalise it twice.
  Result<std::shared_ptr<const store::StoredEntry>> ResolveBindName(std::string_view name,
                                                                    std::string* dn_key = nullptr) const;

  // --- reads
  Status Search(const Principal& who, const SearchParams& params,
                const std::function<bool(const PresentedEntry&)>& emit, const std::atomic<bool>* abandoned,
                SearchOutcome* outcome);
  // compareTrue / compareFalse as a non-ok Status carrying those codes is
  // awkward; returns the result code to send.
  Result<ResultCode> Compare(const Principal& who, std::string_view dn, std::string_view attribute,
                             std::string_view value);
  // The entry as `who` may see it with the requested attribute selection, for pre/post-read and tools.
  Result<std::optional<ldap::Entry>> Read(const Principal& who, std::string_view dn,
                                          const std::vector<std::string>& attributes);

  // --- writes
  Status Add(const Principal& who, ldap::AddRequest request, const WriteOptions& options, WriteOutcome* outcome);
  Status Delete(const Principal& who, std::string_view dn, const WriteOptions& options, WriteOutcome* outcome);
  Status Modify(const Principal& who, ldap::ModifyRequest request, const WriteOptions& options, WriteOutcome* outcome);
  Status ModifyDn(const Principal& who, ldap::ModifyDnRequest request, const WriteOptions& options,
                  WriteOutcome* outcome);
  // Runs done(OK) once a write made with defer_durability is durable, or
  // done(the error) if its WAL sync failed (Store::WhenDurable); done must
  // not block.
  void WhenDurable(store::CommitTicket ticket, std::function<void(Status)> done);
  // RFC 3062: `target` empty means the bound user. Returns the generated
  // password when `new_password` is empty.
  Result<std::optional<std::string>> ModifyPassword(const Principal& who, std::string_view target,
                                                    const std::optional<std::string>& old_password,
                                                    const std::optional<std::string>& new_password);

  // --- tools
  // Which groups of an import name each member: read from a first pass over
  // the LDIF, so that Import writes each member's memberOf with the member
  // instead of rewriting every member once all groups exist.
  struct MemberOfPlan {
    std::vector<std::string> group_dns;  // as memberOf values, in file order
    std::vector<std::string> group_keys;  // their DN keys
    std::unordered_map<std::string, std::vector<uint32_t>> groups_of;  // member DN key -> indexes into group_dns
  };
  // Fails on what the import itself would fail on first (a malformed record
  // or DN), naming the line; nothing is written. Reads `reader` to its end,
  // keeping only member values (LdifReader::KeepOnly).
  static Result<MemberOfPlan> PlanMemberOf(ldap::LdifReader& reader);
  // An import commits every this many entries. Larger batches carry fewer
  // RocksDB writes: an index key common to many entries (an objectClass, a
  // frequent trigram) gets one merge operand per batch. Against 2,000: a 10k
  // import ran 11 % fewer instructions (memtable inserts 57 % fewer), a 100k
  // import about 3 % less CPU, for about 35 MiB more peak memory.
  static constexpr size_t kImportBatchEntries = 10000;
  // Offline bulk load: entries are trusted (operational attributes kept,
  // pre-hashed passwords kept as-is), indexes and memberOf built. With a plan
  // of the same LDIF (PlanMemberOf), members get their memberOf as they are
  // added; without one (a stream read once), after every entry exists.
  Status Import(ldap::LdifReader& reader, const std::function<void(size_t)>& progress, size_t* imported,
                MemberOfPlan* plan = nullptr);
  Status Export(std::ostream& out);
  Status Verify(VerifyReport* report);
  Status Backup(const std::string& dir) { return store_->Checkpoint(dir); }
  // Re-seals every stored secret value with `rewrap` (e.g. onto the newest
  // key version), a batch of entries per transaction; binds keep working
  // throughout because old and new values both open. *rewrapped counts values.
  using RewrapFn = std::function<Result<std::string>(std::string_view sealed, const SecretContext& context)>;
  Status RewrapSecrets(const RewrapFn& rewrap, size_t* rewrapped);
  // Visits every stored secret value with its context (verify, audits).
  Status ForEachSecret(const std::function<void(const ldap::Entry&, std::string_view sealed)>& fn);

  const schema::Schema& schema() const { return *schema_; }
  const DirectoryOptions& options() const { return options_; }
  const std::string& suffix_normalized() const { return suffix_key_; }
  std::string context_csn() const;
  store::Store& store() { return *store_; }
  SecretSealer& sealer() { return *sealer_; }

  // Directory key of a DN: attribute types resolved to canonical lower-case
  // names, values normalised by their equality rule.
  Result<std::string> DnKey(std::string_view dn) const;
  std::string DnKey(const ldap::Dn& dn) const;

 private:
  class AccessContext;  // below, with the access-control helpers
  Directory(DirectoryOptions options, std::shared_ptr<const schema::Schema> schema, const Clock& clock,
            std::unique_ptr<store::Store> store, std::unique_ptr<SecretSealer> sealer);

  struct IndexKey {
    store::IndexKind kind;
    std::string_view attribute;  // a key of indexes_: lives as long as the directory
    std::string key;
    auto operator<=>(const IndexKey&) const = default;
  };
  // Sorted, without duplicates; with `only`, just the keys of those indexes.
  std::vector<IndexKey> IndexKeysOf(const ldap::Entry& entry,
                                    const std::vector<std::string_view>* only = nullptr) const;
  // The same keys unsorted, a key possibly more than once.
  std::vector<IndexKey> UnsortedIndexKeysOf(const ldap::Entry& entry,
                                            const std::vector<std::string_view>* only = nullptr) const;
  // Appends one attribute's keys (unsorted, may repeat) to *out, unless
  // `only` is given and does not list the attribute's index.
  void AppendIndexKeys(const ldap::Attribute& attribute, std::vector<IndexKey>* out,
                       const std::vector<std::string_view>* only = nullptr) const;
  using IndexedType = std::pair<std::string_view, const IndexSpec*>;  // index name (a key of indexes_), spec
  // The index of an attribute type (options ignored), or null; *at, if
  // given, is its schema type (null if unknown).
  const IndexedType* IndexedTypeOf(std::string_view type, const schema::AttributeType** at = nullptr) const;
  // The index an attribute type is indexed under, or "".
  std::string_view IndexNameOf(std::string_view type) const;
  // The indexes whose keys may differ between two versions of an entry: those
  // of every attribute added, removed or with other values.
  std::vector<std::string_view> IndexesTouched(const ldap::Entry& before, const ldap::Entry& after) const;
  void ApplyIndexDiff(store::WriteTxn& txn, store::EntryId id, const ldap::Entry* before,
                      const ldap::Entry* after) const;
  const IndexSpec* IndexFor(const schema::AttributeType& attr) const;

  std::string NextCsn();
  void StampCreate(ldap::Entry& entry, const Principal& who, const std::string& csn) const;
  void StampModify(ldap::Entry& entry, const Principal& who, const std::string& csn) const;
  std::string NoSuchObjectMatched(const ldap::Dn& dn, const AccessContext* ctx) const;
  Status NoSuchObject(const ldap::Dn& dn, std::string_view what) const;

  // Bounds the index reads of one Candidates call (cheap-only searches): a
  // posting list longer than max_ids, or an in-chain walk, sets exceeded and
  // the candidates are then incomplete.
  struct CandidateBudget {
    size_t max_ids = 0;
    bool exceeded = false;
  };
  // Candidate ids for a filter from indexes; nullopt means "not indexable".
  std::optional<std::vector<store::EntryId>> Candidates(const ldap::Filter& filter, size_t depth,
                                                        CandidateBudget* budget = nullptr) const;
  bool InChain(const ldap::Entry& entry, const schema::AttributeType& attr, std::string_view target_dn) const;
  // The attribute selection of a search result (types_only is the
  // encoder's business: the attributes are the same).
  PresentedEntry Present(const AccessContext& ctx, const store::StoredEntry& stored,
                         const std::vector<std::string>& attributes) const;
  PresentedEntry Present(const EntryAccess& access, const store::StoredEntry& stored,
                         const std::vector<std::string>& attributes) const;

  // --- access control (access.cc has the rule engine; this is the glue)
  // One operation's view: who asks, the rules in force when it started, and
  // the requester's groups resolved at most once. Not copyable: the
  // requester's group callback points into it.
  class AccessContext {
   public:
    AccessContext(const Directory& directory, const Principal& who);
    AccessContext(const AccessContext&) = delete;
    AccessContext& operator=(const AccessContext&) = delete;
    const Principal& who;
    bool unrestricted;  // the server itself and administrators
    std::shared_ptr<const AccessPolicy> policy;
    AccessRequester requester;

   private:
    std::shared_ptr<const std::vector<std::string>> groups_;
  };
  EntryAccess AccessTo(const AccessContext& ctx, const ldap::Entry& entry, std::string_view key) const;
  EntryAccess AccessTo(const AccessContext& ctx, const store::StoredEntry& stored) const;
  bool CanSee(const AccessContext& ctx, const store::StoredEntry& stored) const;
  // Verifiers are never readable, whatever the rules say.
  bool CanReadAttribute(const EntryAccess& access, const schema::AttributeType& attr) const;
  // `right` on the entry as a whole (add under it, delete it, rename it),
  // refusing non-administrators on protected entries (administrators and
  // their groups, as AD's AdminSDHolder) for anything but reading.
  Status CheckEntryRight(const AccessContext& ctx, const store::StoredEntry& target, const EntryAccess& access,
                         uint32_t right, std::string_view operation) const;
  bool IsProtectedEntry(const store::StoredEntry& stored) const;
  // The requester's transitive groups, cached until membership changes.
  std::shared_ptr<const std::vector<std::string>> GroupsOfPrincipal(const Principal& who) const;
  // Built-in and configured rules plus every simpleadAccessRule value.
  Status LoadAccessRules();
  std::shared_ptr<const AccessPolicy> CurrentAccessPolicy() const;
  // After a committed write: refresh what the write may have changed.
  void AfterCommit(bool rules_changed, bool membership_changed);
  // A write's end, after the writer lock is released: waits for the WAL
  // sync, or hands the ticket to the caller (WriteOptions::defer_durability).
  Status FinishDurability(store::CommitTicket ticket, const WriteOptions& options, WriteOutcome* outcome);
  Status NoSuchObject(const AccessContext& ctx, const ldap::Dn& dn, std::string_view what) const;
  // Every simpleadAccessRule value parses (21 naming the problem otherwise).
  Status ValidateAccessRules(const ldap::Entry& entry) const;

  // Writes (hold write_mu_).
  // What an import carries from one entry to the next: the last parent that
  // passed the checks (imports come sorted by parent).
  struct ImportState {
    std::string parent_key;
    store::EntryId parent_id = store::kNoEntry;
  };
  Status AddInTxn(const Principal& who, ldap::AddRequest request, store::WriteTxn& txn, const std::string& csn,
                  bool import, store::StoredEntry* added, ImportState* state = nullptr);
  Status PrepareNewEntry(const Principal& who, ldap::Entry& entry, bool trusted, store::WriteTxn& txn);
  Status HashPasswordAttributes(ldap::Entry& entry, bool trusted, const ldap::Entry* before, bool self_change) const;
  Status CheckUniqueness(store::WriteTxn& txn, const ldap::Entry& entry, store::EntryId self) const;
  Status UpdateBackLinks(store::WriteTxn& txn, const Principal& who, const ldap::Entry* before,
                         const ldap::Entry* after, const std::string& csn);
  Status RewriteReferences(store::WriteTxn& txn, const std::string& old_dn_key, const std::string& old_dn,
                           const std::string& new_dn, const std::string& csn);
  Status CheckAssertion(const WriteOptions& options, const ldap::Entry& entry, const EntryAccess& access) const;
  Status PutWithIndexes(store::WriteTxn& txn, const store::StoredEntry& before_or_empty, store::EntryId id,
                        store::EntryId parent, const ldap::Entry& after, bool existed);
  uint32_t AllocateRid(store::WriteTxn& txn);
  SecretContext SecretContextFor(const ldap::Entry& entry, std::string_view attribute) const;
  // Does `password` match one of the entry's verifiers? kUnavailable when a
  // verifier cannot be opened because its key is disabled.
  Result<bool> VerifyEntryPassword(const ldap::Entry& entry, std::string_view password) const;
  Status ApplyPasswordChange(const Principal& who, const store::StoredEntry& target,
                             const ldap::Modification& change, bool privileged,
                             std::vector<std::string>* new_passwords, bool* password_removed,
                             ldap::Entry* updated) const;
  // The policy in force for an account: a fine-grained settings object that
  // applies to it or one of its groups (lowest precedence wins), else the domain's.
  PasswordPolicy EffectivePolicy(const ldap::Entry& account) const;
  // Length, complexity and (for changes) history and minimum age of a new password.
  Status CheckNewPassword(const Principal& who, const ldap::Entry& account, std::string_view password,
                          bool is_change) const;
  bool TracksLockout(const ldap::Entry& account) const;
  void RecordBadPassword(store::EntryId id, const PasswordPolicy& policy);
  Result<std::shared_ptr<const store::StoredEntry>> FindByIndex(std::string_view attribute, std::string_view value) const;
  // Authenticate's body; with cheap_only it stops before any blocking work
  // and sets *too_costly instead.
  Result<Principal> AuthenticateImpl(std::string_view name, std::string_view password, bool cheap_only,
                                     bool* too_costly);
  // `dn_key` is DnKey(stored.entry.dn()), which every caller already has.
  bool IsAdminEntry(const store::StoredEntry& stored, std::string_view dn_key) const;
  std::vector<std::string> GroupsOf(const ldap::Entry& entry, size_t limit) const;  // transitive memberOf keys

  DirectoryOptions options_;
  std::shared_ptr<const schema::Schema> schema_;
  const Clock& clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<SecretSealer> sealer_;
  ldap::Dn suffix_;
  std::string suffix_key_;
  std::string admin_groups_key_;   // AD: Domain Admins; plain: none
  std::map<std::string, IndexSpec> indexes_;  // canonical lower-case name -> spec
  // indexes_ by attribute type (name and spec point into indexes_), built at Open.
  std::map<const schema::AttributeType*, IndexedType> index_by_type_;
  std::set<const schema::AttributeType*> has_subtypes_;  // attributes others derive from (name > cn)
  std::mutex write_mu_;
  RandomPool random_;  // GUIDs of new entries; guarded by write_mu_
  std::mutex csn_mu_;
  std::string last_csn_time_;
  uint32_t csn_counter_ = 0;
  std::optional<Sid> domain_sid_;
  uint32_t next_rid_ = 0;  // guarded by write_mu_
  std::string directory_id_;  // stable id of this directory, part of every secret's context
  std::vector<AccessRule> fixed_access_rules_;  // built-in and configured
  mutable std::mutex access_mu_;
  std::shared_ptr<const AccessPolicy> access_policy_;  // guarded by access_mu_
  size_t bad_stored_rules_ = 0;                        // guarded by access_mu_
  // Plain mode: the administrator's DN key (meta kAdminDn), read once, as
  // every bind asks; set by Provision, which is the only writer.
  mutable std::mutex admin_mu_;
  mutable std::optional<std::string> admin_key_;  // guarded by admin_mu_
  mutable GramCounts gram_counts_;  // substring searches: which gram lists are dense
  mutable std::mutex groups_mu_;
  uint64_t membership_generation_ = 0;  // guarded by groups_mu_; bumped after membership commits
  mutable std::map<std::string, std::pair<uint64_t, std::shared_ptr<const std::vector<std::string>>>> group_cache_;
};

}  // namespace simplead::backend
