// Search (RFC 4511 §4.5) with paged results (RFC 2696) and server-side
// sorting (RFC 2891); the root DSE and cn=Subschema are answered here.
#include "lib/ldap/codec.h"
#include "lib/ldap/dn.h"
#include "lib/net/offload.h"
#include "schema/filter_eval.h"
#include "server/frontend/frontend.h"

namespace simplead::frontend {

namespace {

// Searches with at most this many indexed candidates run on the I/O thread.
constexpr size_t kInlineSearchCandidates = 16;

// Attribute selection for the two special entries, which live outside the store.
ldap::Entry Select(const ldap::Entry& entry, const std::vector<std::string>& attributes, bool types_only,
                   const std::vector<std::string>& operational) {
  bool all_user = attributes.empty();
  bool all_op = false;
  std::vector<std::string> named;
  for (const auto& a : attributes) {
    if (a == "*") all_user = true;
    else if (a == "+") all_op = true;
    else named.push_back(ldap::ToLower(a));
  }
  std::vector<ldap::Attribute> out;
  for (const auto& attr : entry.attributes()) {
    std::string lower = ldap::ToLower(attr.type);
    bool is_op = std::find(operational.begin(), operational.end(), lower) != operational.end();
    bool want = std::find(named.begin(), named.end(), lower) != named.end() || (is_op ? all_op : all_user);
    if (want) out.push_back(types_only ? ldap::Attribute{attr.type, {}} : attr);
  }
  return ldap::Entry(entry.dn(), std::move(out));
}

}  // namespace

boost::asio::awaitable<ldap::LdapResult> Frontend::Search(Context& ctx, ldap::SearchRequest request,
                                                          const std::vector<ldap::Control>& controls) {
  ctx.target_dn = request.base;
  backend::SearchParams params;
  std::optional<ldap::Filter> assertion;
  for (const auto& c : controls) {
    if (c.oid == ldap::oid::kPagedResults) {
      auto paged = ldap::DecodePagedResults(c.value.value_or(""));
      if (!paged.ok()) co_return ToLdapResult(paged.status());
      params.paged = *paged;
    } else if (c.oid == ldap::oid::kServerSortRequest) {
      auto keys = ldap::DecodeSortRequest(c.value.value_or(""));
      if (!keys.ok()) co_return ToLdapResult(keys.status());
      params.sort = *keys;
    } else if (c.oid == ldap::oid::kAssertion) {
      auto filter = ldap::DecodeAssertion(c.value.value_or(""));
      if (!filter.ok()) co_return ToLdapResult(filter.status());
      assertion = *filter;
    } else if (c.oid == ldap::oid::kManageDsaIt) {
      // nothing stored is a referral
    } else if (c.critical) {
      co_return ldap::LdapResult{ResultCode::kUnavailableCriticalExtension, "",
                                 "critical control " + c.oid + " is not supported for search", {}};
    }
  }
  auto send_entry = [session = ctx.session, id = ctx.op->message_id](const ldap::Entry& e, bool types_only) {
    session->Send(ldap::EncodeSearchEntry(id, e.dn().ToString(), e.attributes(), types_only));
  };

  // The root DSE and the subschema entry: base-scope reads anyone may do.
  auto base_key = ldap::NormalizeDn(request.base);
  if (!base_key.ok()) co_return ToLdapResult(base_key.status());
  bool root_dse = base_key->empty();
  bool subschema = *base_key == "cn=subschema";
  if (root_dse || subschema) {
    if (request.scope != ldap::SearchScope::kBase) {
      if (root_dse) {
        co_return ldap::LdapResult{ResultCode::kNoSuchObject, "",
                                   "the root DSE has no subordinates; search below a naming context", {}};
      }
      co_return ldap::LdapResult{};  // cn=Subschema has no children
    }
    ldap::Entry entry = root_dse ? RootDse() : Subschema();
    if (!schema::Matches(request.filter, entry, directory_.schema())) co_return ldap::LdapResult{};
    if (assertion && !schema::Matches(*assertion, entry, directory_.schema())) {
      co_return ldap::LdapResult{ResultCode::kAssertionFailed, "", "assertion failed", {}};
    }
    std::vector<std::string> operational =
        root_dse ? std::vector<std::string>{}
                 : std::vector<std::string>{"attributetypes", "objectclasses", "ldapsyntaxes", "matchingrules",
                                            "createtimestamp", "modifytimestamp"};
    send_entry(Select(entry, request.attributes, request.types_only, operational), false);
    co_return ldap::LdapResult{};
  }

  params.base = request.base;
  params.scope = request.scope;
  params.filter = std::move(request.filter);
  params.attributes = std::move(request.attributes);
  params.types_only = request.types_only;
  params.size_limit = request.size_limit;
  params.time_limit = request.time_limit;
  backend::Principal who = PrincipalOf(*ctx.session);
  if (assertion) {
    auto base = co_await net::Offload(pool_, [&] { return directory_.Read(who, params.base, {"*", "+"}); });
    if (base.ok() && base->has_value() && !schema::Matches(*assertion, **base, directory_.schema())) {
      co_return ldap::LdapResult{ResultCode::kAssertionFailed, "", "the assertion control's filter does not match",
                                 {}};
    }
  }
  backend::SearchOutcome outcome;
  auto session = ctx.session;
  auto op = ctx.op;
  std::chrono::seconds write_timeout{60};
  Status st;
  bool inline_run = !params.paged && params.sort.empty();
  if (inline_run) {
    // A cheap search (base scope, or an indexed filter with a handful of
    // candidates, usually from the entry cache) runs here: the hop to the
    // worker pool and back costs more than the search. It sends at most
    // kInlineSearchCandidates entries, so it never waits for room (waiting on
    // this thread could stall the writer that makes the room). Anything
    // costlier answers too_costly without sending and goes to the pool.
    params.cheap_only_limit = params.scope == ldap::SearchScope::kBase ? 0 : kInlineSearchCandidates;
    st = directory_.Search(
        who, params,
        [&](const backend::PresentedEntry& e) {
          if (op->abandoned.load() || session->IsClosed()) return false;
          session->Send(ldap::EncodeSearchEntry(op->message_id, e.dn().ToString(), e.attributes(), params.types_only));
          return true;
        },
        &op->abandoned, &outcome);
    params.cheap_only_limit = 0;
  }
  if (!inline_run || outcome.too_costly) {
    outcome = {};
    st = co_await net::Offload(pool_, [&] {
      return directory_.Search(
          who, params,
          [&](const backend::PresentedEntry& e) {
            if (op->abandoned.load() || session->IsClosed()) return false;
            session->Send(
                ldap::EncodeSearchEntry(op->message_id, e.dn().ToString(), e.attributes(), params.types_only));
            // Backpressure: a client that stops reading holds a worker only this long.
            return session->WaitForRoom(std::chrono::steady_clock::now() + write_timeout);
          },
          &op->abandoned, &outcome);
    });
  }
  if (!st.ok()) co_return ToLdapResult(st);
  if (outcome.paged_response) {
    ctx.response_controls.push_back({ldap::oid::kPagedResults, false, ldap::EncodePagedResults(*outcome.paged_response)});
  }
  if (outcome.sort_result) {
    ctx.response_controls.push_back({ldap::oid::kServerSortResponse, false, ldap::EncodeSortResponse(*outcome.sort_result)});
  }
  if (log_) {  // the access log's fields; not built when nobody reads them
    ctx.detail = "scope=" + std::to_string(static_cast<int>(params.scope)) + " filter=\"" +
                 ldap::FilterToString(params.filter) + "\" entries=" + std::to_string(outcome.entries_returned) +
                 " candidates=" + std::to_string(outcome.candidates_examined);
  }
  co_return outcome.result;
}

}  // namespace simplead::frontend
