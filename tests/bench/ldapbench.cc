// ldapbench: a load generator for any LDAP server, on libldap's asynchronous
// API. Each thread runs an event loop (poll + ldap_result with a zero timeout)
// over the connections it owns; every connection keeps up to --depth requests
// in flight. Requests run for --warmup then --duration seconds; only
// successful responses that arrive inside the measured window count towards
// ops/s and latency, but errors count whenever they happen. Every result code is
// checked; anything other than success (and, for searches, a result set of
// the expected size) is an error, reported per code. Exit status: 0 clean,
// 1 set-up failure, 2 errors seen, 3 no request succeeded at all (warm-up,
// window and drain included: a functional failure, not a speed threshold).
#include <ldap.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <latch>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/bench/histogram.h"
#include "tests/bench/naming.h"

namespace simplead::bench {
namespace {

using Clock = std::chrono::steady_clock;

enum class Workload { kBind, kSearchEq, kSearchSub, kReadBase, kModify, kAddDelete, kMixed, kConnect };
constexpr std::array<std::pair<const char*, Workload>, 8> kWorkloads = {{{"bind", Workload::kBind},
                                                                         {"search-eq", Workload::kSearchEq},
                                                                         {"search-sub", Workload::kSearchSub},
                                                                         {"read-base", Workload::kReadBase},
                                                                         {"modify", Workload::kModify},
                                                                         {"add-delete", Workload::kAddDelete},
                                                                         {"mixed", Workload::kMixed},
                                                                         {"connect", Workload::kConnect}}};

enum class Op { kBind, kSearchEq, kSearchSub, kReadBase, kModify, kAdd, kDelete, kConnect, kCount };
constexpr std::array<const char*, static_cast<size_t>(Op::kCount)> kOpNames = {
    "bind", "search-eq", "search-sub", "read-base", "modify", "add", "delete", "connect"};

struct Config {
  std::string url = "ldap://127.0.0.1:389";
  std::string bind_dn;
  std::string password;
  std::string workload_name = "search-eq";
  Workload workload = Workload::kSearchEq;
  int connections = 4;
  int depth = 4;
  int threads = 1;
  double duration = 10;
  double warmup = 1;
  double drain = 5;
  std::string style_name = "plain";
  Naming naming;
  std::string base;
  std::string eq_attr;
  std::string sub_kind = "any";
  std::vector<std::string> attrs;
  uint64_t users = 10000;
  int mix_search = 70;
  int mix_bind = 20;
  int server_pid = 0;
  uint64_t seed = 1;
  bool json = false;
};

// Times shared by all threads, fixed before any request is sent.
struct Window {
  Clock::time_point measure_start;
  Clock::time_point measure_end;
  Clock::time_point give_up;  // end of the drain period
};

struct Stats {
  LatencyHistogram latency;
  std::array<uint64_t, static_cast<size_t>(Op::kCount)> ops{};
  uint64_t entries = 0;
  std::map<std::string, uint64_t> errors;
  uint64_t error_total = 0;
  uint64_t successes_any_time = 0;  // including warm-up and drain

  void Merge(const Stats& o) {
    latency.Merge(o.latency);
    for (size_t i = 0; i < ops.size(); ++i) ops[i] += o.ops[i];
    entries += o.entries;
    for (const auto& [k, v] : o.errors) errors[k] += v;
    error_total += o.error_total;
    successes_any_time += o.successes_any_time;
  }
};

std::string CodeKey(int code) { return std::to_string(code) + " " + ldap_err2string(code); }

LDAP* Open(const std::string& url, int* rc) {
  LDAP* ld = nullptr;
  *rc = ldap_initialize(&ld, url.c_str());
  if (*rc != LDAP_SUCCESS) return nullptr;
  int version = LDAP_VERSION3;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
  ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  timeval connect_timeout{5, 0};
  ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &connect_timeout);
  return ld;
}

// The socket of a connected handle, with Nagle off (requests are small and
// pipelined) and lber's read-ahead layer on top: without it libldap reads
// each PDU in two small read()s, which made the client cost as much per
// operation as the server.
int SocketOf(LDAP* ld) {
  int fd = -1;
  if (ldap_get_option(ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  Sockbuf* sb = nullptr;
  if (ldap_get_option(ld, LDAP_OPT_SOCKBUF, &sb) == LDAP_OPT_SUCCESS && sb != nullptr) {
    ber_sockbuf_add_io(sb, &ber_sockbuf_io_readahead, LBER_SBIOD_LEVEL_PROVIDER, nullptr);
  }
  return fd;
}

// Whether lber holds received bytes not yet parsed: then ldap_result can
// proceed without waiting for the socket.
bool BufferedData(LDAP* ld) {
  Sockbuf* sb = nullptr;
  if (ldap_get_option(ld, LDAP_OPT_SOCKBUF, &sb) != LDAP_OPT_SUCCESS || sb == nullptr) return true;
  return ber_sockbuf_ctrl(sb, LBER_SB_OPT_DATA_READY, nullptr) > 0;
}

int BindSync(LDAP* ld, const std::string& dn, const std::string& password) {
  berval cred{static_cast<ber_len_t>(password.size()), const_cast<char*>(password.data())};
  return ldap_sasl_bind_s(ld, dn.empty() ? nullptr : dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
}

// One thread's connections and request slots, and its event loop.
class Worker {
 public:
  Worker(const Config& cfg, int index, const Window& window)
      : cfg_(cfg), index_(index), window_(window), rng_(cfg.seed * 7919 + static_cast<uint64_t>(index)) {
    attrs_.reserve(cfg.attrs.size() + 1);
    for (const auto& a : cfg.attrs) attrs_.push_back(const_cast<char*>(a.c_str()));
    attrs_.push_back(nullptr);
  }
  ~Worker() {
    for (Conn& c : conns_) {
      if (c.ld != nullptr) ldap_unbind_ext(c.ld, nullptr, nullptr);
    }
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Opens the connections of connection groups `groups` (each: one admin
  // connection with --depth slots, or --depth single-request connections).
  bool Setup(const std::vector<int>& groups, std::string* error) {
    const bool needs_admin = cfg_.workload != Workload::kBind && cfg_.workload != Workload::kConnect;
    const bool needs_binder = cfg_.workload == Workload::kBind || cfg_.workload == Workload::kMixed ||
                              cfg_.workload == Workload::kConnect;
    for (size_t g = 0; g < groups.size(); ++g) {
      int admin = -1;
      if (needs_admin) {
        admin = AddConnection(cfg_.bind_dn, cfg_.password, error);
        if (admin < 0) return false;
      }
      for (int d = 0; d < cfg_.depth; ++d) {
        Slot s;
        s.admin = admin;
        if (cfg_.workload == Workload::kConnect) {
          conns_.push_back(Conn{});
          s.binder = static_cast<int>(conns_.size()) - 1;
        } else if (needs_binder) {
          s.binder = AddConnection(cfg_.bind_dn, cfg_.password, error);
          if (s.binder < 0) return false;
        }
        slots_.push_back(std::move(s));
      }
    }
    return true;
  }

  void Run() {
    for (size_t i = 0; i < slots_.size(); ++i) Issue(static_cast<int>(i));
    std::vector<pollfd> fds;
    std::vector<int> fd_conn;
    while (true) {
      const auto now = Clock::now();
      size_t in_flight = 0;
      for (const Conn& c : conns_) in_flight += c.in_flight.size();
      if (now >= window_.measure_end && in_flight == 0) break;
      if (now >= window_.give_up) {
        for (Conn& c : conns_) {
          for (size_t i = 0; i < c.in_flight.size(); ++i) CountError("timeout: no response before the drain ended");
          c.in_flight.clear();
        }
        break;
      }
      fds.clear();
      fd_conn.clear();
      for (size_t i = 0; i < conns_.size(); ++i) {
        if (conns_[i].fd >= 0 && !conns_[i].in_flight.empty()) {
          fds.push_back(pollfd{conns_[i].fd, POLLIN, 0});
          fd_conn.push_back(static_cast<int>(i));
        }
      }
      int n = poll(fds.data(), fds.size(), 20);
      if (n <= 0) continue;
      for (size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents != 0) Drain(fd_conn[i]);
      }
    }
  }

  const Stats& stats() const { return stats_; }

 private:
  struct Conn {
    LDAP* ld = nullptr;
    int fd = -1;
    std::vector<std::pair<int, int>> in_flight;  // (msgid, slot)
    // Bumped whenever `ld` is replaced: a new handle may reuse the old
    // address, so a pointer comparison cannot tell that the connection changed.
    uint64_t generation = 0;
  };
  struct Slot {
    int admin = -1;   // connection bound as --bind-dn
    int binder = -1;  // connection for user binds (bind, mixed, connect)
    Op op = Op::kBind;
    Clock::time_point start;
    uint64_t entries = 0;
    std::string added_dn;  // add-delete: the entry to delete next
  };

  int AddConnection(const std::string& dn, const std::string& password, std::string* error) {
    int rc = 0;
    LDAP* ld = Open(cfg_.url, &rc);
    if (ld == nullptr) {
      *error = "ldap_initialize(" + cfg_.url + "): " + ldap_err2string(rc);
      return -1;
    }
    rc = BindSync(ld, dn, password);
    if (rc != LDAP_SUCCESS) {
      *error = "bind as '" + dn + "' on " + cfg_.url + ": " + CodeKey(rc);
      ldap_unbind_ext(ld, nullptr, nullptr);
      return -1;
    }
    conns_.push_back(Conn{ld, SocketOf(ld), {}});
    return static_cast<int>(conns_.size()) - 1;
  }

  uint64_t RandomUser() { return 1 + rng_() % cfg_.users; }
  std::string UserName(uint64_t n) { return Expand(cfg_.naming.name_template, n, cfg_.naming.suffix); }
  std::string UserDn(uint64_t n) { return Expand(cfg_.naming.user_dn_template, n, cfg_.naming.suffix); }

  Op ChooseOp() {
    switch (cfg_.workload) {
      case Workload::kBind: return Op::kBind;
      case Workload::kSearchEq: return Op::kSearchEq;
      case Workload::kSearchSub: return Op::kSearchSub;
      case Workload::kReadBase: return Op::kReadBase;
      case Workload::kModify: return Op::kModify;
      case Workload::kAddDelete: return Op::kAdd;
      case Workload::kConnect: return Op::kConnect;
      case Workload::kMixed: {
        int r = static_cast<int>(rng_() % 100);
        if (r < cfg_.mix_search) return Op::kSearchEq;
        if (r < cfg_.mix_search + cfg_.mix_bind) return Op::kBind;
        return Op::kModify;
      }
    }
    return Op::kSearchEq;
  }

  void Issue(int si) { Send(si, ChooseOp()); }

  void Send(int si, Op op) {
    Slot& s = slots_[si];
    const int ci = (op == Op::kBind || op == Op::kConnect) ? s.binder : s.admin;
    Conn& c = conns_[ci];
    s.op = op;
    s.entries = 0;
    s.start = Clock::now();
    int msgid = -1;
    int rc = LDAP_SUCCESS;
    switch (op) {
      case Op::kConnect: {
        if (c.ld != nullptr) ldap_unbind_ext(c.ld, nullptr, nullptr);
        c.ld = Open(cfg_.url, &rc);
        c.fd = -1;
        ++c.generation;
        if (c.ld == nullptr) break;
        [[fallthrough]];
      }
      case Op::kBind: {
        uint64_t n = RandomUser();
        std::string dn = UserDn(n);
        std::string password = Expand(cfg_.naming.password_template, n, cfg_.naming.suffix);
        berval cred{static_cast<ber_len_t>(password.size()), password.data()};
        rc = ldap_sasl_bind(c.ld, dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, &msgid);
        if (op == Op::kConnect && rc == LDAP_SUCCESS) c.fd = SocketOf(c.ld);
        break;
      }
      case Op::kSearchEq: {
        std::string filter = "(" + eq_attr() + "=" + UserName(RandomUser()) + ")";
        rc = ldap_search_ext(c.ld, cfg_.base.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(), attrs(), 0, nullptr,
                             nullptr, nullptr, 0, &msgid);
        break;
      }
      case Op::kSearchSub: {
        // A number with as many digits as --users, so each pattern matches about one entry.
        uint64_t low = cfg_.users >= 10 ? cfg_.users / 10 + 1 : 1;
        uint64_t n = low + rng_() % (cfg_.users - low + 1);
        std::string name = UserName(n);
        std::string filter = cfg_.sub_kind == "initial" ? "(cn=" + name + "*)" : "(cn=*" + name.substr(1) + "*)";
        rc = ldap_search_ext(c.ld, cfg_.base.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(), attrs(), 0, nullptr,
                             nullptr, nullptr, 0, &msgid);
        break;
      }
      case Op::kReadBase: {
        std::string dn = UserDn(RandomUser());
        rc = ldap_search_ext(c.ld, dn.c_str(), LDAP_SCOPE_BASE, "(objectClass=*)", attrs(), 0, nullptr, nullptr,
                             nullptr, 0, &msgid);
        break;
      }
      case Op::kModify: {
        std::string dn = UserDn(RandomUser());
        std::string value = "ldapbench " + std::to_string(++sequence_);
        char* values[] = {value.data(), nullptr};
        LDAPMod mod{};
        mod.mod_op = LDAP_MOD_REPLACE;
        mod.mod_type = const_cast<char*>("description");
        mod.mod_values = values;
        LDAPMod* mods[] = {&mod, nullptr};
        rc = ldap_modify_ext(c.ld, dn.c_str(), mods, nullptr, nullptr, &msgid);
        break;
      }
      case Op::kAdd: {
        // Short, unique names: sAMAccountName is limited to 20 characters.
        std::string id = "t" + std::to_string(index_) + "s" + std::to_string(si) + "n" + std::to_string(++sequence_);
        std::string name = Expand(cfg_.naming.name_template, id, cfg_.naming.suffix);
        s.added_dn = Expand(cfg_.naming.user_dn_template, id, cfg_.naming.suffix);
        rc = SendAdd(c.ld, s.added_dn, name, &msgid);
        break;
      }
      case Op::kDelete:
        rc = ldap_delete_ext(c.ld, s.added_dn.c_str(), nullptr, nullptr, &msgid);
        break;
      case Op::kCount: break;
    }
    if (rc != LDAP_SUCCESS) {
      // The request never left: count it; a slot whose connection failed stays idle.
      CountError(std::string("client: ") + kOpNames[static_cast<size_t>(op)] + ": " + CodeKey(rc));
      return;
    }
    c.in_flight.emplace_back(msgid, si);
  }

  int SendAdd(LDAP* ld, const std::string& dn, const std::string& name, int* msgid) {
    const bool ad = cfg_.naming.style == Style::kAd;
    std::vector<std::pair<std::string, std::vector<std::string>>> attrs = {
        {"objectClass", {"top", "person", "organizationalPerson", ad ? "user" : "inetOrgPerson"}},
        {"cn", {name}},
        {"sn", {"Bench"}},
        {ad ? "sAMAccountName" : "uid", {name}},
        {"description", {"added by ldapbench"}}};
    auto [rdn_type, rdn_value] = FirstRdn(dn);
    bool rdn_present = false;
    for (auto& a : attrs) {
      if (strcasecmp(a.first.c_str(), rdn_type.c_str()) == 0) rdn_present = true;
    }
    if (!rdn_present) attrs.push_back({rdn_type, {rdn_value}});
    std::vector<LDAPMod> mods(attrs.size());
    std::vector<std::vector<char*>> values(attrs.size());
    std::vector<LDAPMod*> mod_ptrs;
    for (size_t i = 0; i < attrs.size(); ++i) {
      for (auto& v : attrs[i].second) values[i].push_back(v.data());
      values[i].push_back(nullptr);
      mods[i].mod_op = LDAP_MOD_ADD;
      mods[i].mod_type = attrs[i].first.data();
      mods[i].mod_values = values[i].data();
      mod_ptrs.push_back(&mods[i]);
    }
    mod_ptrs.push_back(nullptr);
    return ldap_add_ext(ld, dn.c_str(), mod_ptrs.data(), nullptr, nullptr, msgid);
  }

  // Reads every complete message that is ready on connection `ci`.
  void Drain(int ci) {
    LDAP* ld = conns_[ci].ld;
    const uint64_t generation = conns_[ci].generation;
    auto same_connection = [&] { return conns_[ci].generation == generation && conns_[ci].fd >= 0; };
    for (int guard = 0; guard < 100000 && same_connection() && !conns_[ci].in_flight.empty(); ++guard) {
      LDAPMessage* msg = nullptr;
      timeval zero{0, 0};
      int rc = ldap_result(ld, LDAP_RES_ANY, LDAP_MSG_ONE, &zero, &msg);
      if (rc == 0) return;
      if (rc < 0) {
        int code = LDAP_SERVER_DOWN;
        ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &code);
        ConnectionLost(ci, code);
        return;
      }
      const int msgid = ldap_msgid(msg);
      int code = LDAP_SUCCESS;
      const bool final = rc != LDAP_RES_SEARCH_ENTRY && rc != LDAP_RES_SEARCH_REFERENCE && rc != LDAP_RES_INTERMEDIATE;
      if (final) {
        int parse_rc = ldap_parse_result(ld, msg, &code, nullptr, nullptr, nullptr, nullptr, 0);
        if (parse_rc != LDAP_SUCCESS) code = parse_rc;
      }
      ldap_msgfree(msg);
      auto& in_flight = conns_[ci].in_flight;
      auto it = std::find_if(in_flight.begin(), in_flight.end(), [&](const auto& p) { return p.first == msgid; });
      if (it == in_flight.end()) continue;  // e.g. an unsolicited notice
      const int si = it->second;
      if (rc == LDAP_RES_SEARCH_ENTRY) ++slots_[si].entries;
      if (final) {
        in_flight.erase(it);
        Complete(si, code);
      }
      // Nothing buffered: go back to poll() instead of paying for ldap_result's own.
      // (A connect slot may have replaced the handle meanwhile, or failed to
      // reconnect, leaving a handle without a socket that lber must not probe.)
      if (!same_connection() || !BufferedData(ld)) return;
    }
  }

  void ConnectionLost(int ci, int code) {
    Conn& c = conns_[ci];
    for (size_t i = 0; i < c.in_flight.size(); ++i) CountError("connection lost: " + CodeKey(code));
    c.in_flight.clear();
    c.fd = -1;  // its slots stay idle from now on
  }

  void Complete(int si, int code) {
    const auto now = Clock::now();
    Slot& s = slots_[si];
    const Op op = s.op;
    bool ok = code == LDAP_SUCCESS;
    if (!ok) {
      CountError(std::string(kOpNames[static_cast<size_t>(op)]) + ": " + CodeKey(code));
    } else if (((op == Op::kSearchEq || op == Op::kReadBase) && s.entries != 1) ||
               (op == Op::kSearchSub && s.entries == 0)) {
      CountError(std::string(kOpNames[static_cast<size_t>(op)]) + ": unexpected number of entries (" +
                 std::to_string(s.entries) + ")");
      ok = false;
    }
    if (ok) ++stats_.successes_any_time;
    // Only successes count as throughput: a server that fails fast must not look fast.
    if (ok && now >= window_.measure_start && now < window_.measure_end) {
      ++stats_.ops[static_cast<size_t>(op)];
      stats_.entries += s.entries;
      stats_.latency.Record(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now - s.start).count()));
    }
    if (op == Op::kConnect) {
      Conn& c = conns_[s.binder];
      ldap_unbind_ext(c.ld, nullptr, nullptr);  // connect-bind-unbind
      c.ld = nullptr;
      c.fd = -1;
      ++c.generation;
    }
    if (op == Op::kAdd && ok) {
      Send(si, Op::kDelete);  // always, even after the window: leave the data set as it was
    } else if (now < window_.measure_end) {
      Issue(si);
    }
  }

  void CountError(const std::string& key) {
    ++stats_.errors[key];
    ++stats_.error_total;
  }

  std::string eq_attr() const { return cfg_.eq_attr; }
  char** attrs() { return cfg_.attrs.empty() ? nullptr : attrs_.data(); }

  const Config& cfg_;
  const int index_;
  const Window& window_;
  std::mt19937_64 rng_;
  std::vector<char*> attrs_;
  std::vector<Conn> conns_;
  std::vector<Slot> slots_;
  uint64_t sequence_ = 0;
  Stats stats_;
};

struct ProcessSample {
  bool ok = false;
  double cpu_seconds = 0;
  long rss_kib = 0;
  long hwm_kib = 0;
};

ProcessSample SampleProcess(int pid) {
  ProcessSample s;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return s;
  size_t paren = line.rfind(')');
  if (paren == std::string::npos) return s;
  std::istringstream rest(line.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // Fields after the command: state is field 3, utime 14, stime 15.
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  s.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kib = std::stol(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) s.hwm_kib = std::stol(line.substr(6));
  }
  s.ok = true;
  return s;
}

double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

int Run(int argc, char** argv) {
  Config cfg;
  CLI::App app{"ldapbench: LDAP load generator (libldap, asynchronous)"};
  std::vector<std::string> names;
  for (const auto& [name, w] : kWorkloads) names.push_back(name);
  app.add_option("workload", cfg.workload_name, "Workload")->check(CLI::IsMember(names))->capture_default_str();
  app.add_option("-H,--url", cfg.url, "Server URL")->capture_default_str();
  app.add_option("-D,--bind-dn", cfg.bind_dn, "DN for searches and writes (default: the style's administrator)");
  app.add_option("-w,--password", cfg.password, "Password of --bind-dn");
  app.add_option("-c,--connections", cfg.connections, "Connections (bind/connect: connections x depth)")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("-d,--depth", cfg.depth, "Outstanding requests per connection")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("-T,--threads", cfg.threads, "Client threads (each runs an event loop)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("-t,--duration", cfg.duration, "Measured seconds")->check(CLI::Range(0.1, 86400.0))->capture_default_str();
  app.add_option("--warmup", cfg.warmup, "Seconds of load before measuring")->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  app.add_option("--drain", cfg.drain, "Seconds to wait for outstanding responses at the end")->capture_default_str();
  app.add_option("--style", cfg.style_name, "Naming defaults: plain (uid=...) or ad (CN=..., sAMAccountName)")
      ->check(CLI::IsMember({"ad", "plain"}))
      ->capture_default_str();
  app.add_option("--suffix", cfg.naming.suffix, "Naming context (default per --style)");
  app.add_option("--base", cfg.base, "Search base (default: the suffix)");
  app.add_option("--users", cfg.users, "Users in the data set (user1..userN)")->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->capture_default_str();
  app.add_option("--name-template", cfg.naming.name_template, "User name, as ldapdatagen (default user{n})");
  app.add_option("--user-dn-template", cfg.naming.user_dn_template,
                 "User DN, e.g. 'uid=user{n},ou=people,{suffix}' (default per --style)");
  app.add_option("--password-template", cfg.naming.password_template, "Password of user n (default Pass{n}!word)");
  app.add_option("--eq-attr", cfg.eq_attr, "Attribute for search-eq, compared with the user name (default uid / "
                                            "sAMAccountName)");
  app.add_option("--sub-kind", cfg.sub_kind, "search-sub filter: any (cn=*ser123*) or initial (cn=user123*)")
      ->check(CLI::IsMember({"any", "initial"}))
      ->capture_default_str();
  app.add_option("--attrs", cfg.attrs, "Attributes to return (default: all user attributes)")->delimiter(',');
  app.add_option("--mix-search", cfg.mix_search, "mixed: percent equality searches")->check(CLI::Range(0, 100))
      ->capture_default_str();
  app.add_option("--mix-bind", cfg.mix_bind, "mixed: percent binds (the rest: modifies)")->check(CLI::Range(0, 100))
      ->capture_default_str();
  app.add_option("--server-pid", cfg.server_pid, "Report this process's CPU time and RSS from /proc");
  app.add_option("--seed", cfg.seed, "Random seed")->capture_default_str();
  app.add_flag("--json", cfg.json, "Print one JSON object on stdout (the human line goes to stderr)");
  CLI11_PARSE(app, argc, argv);

  for (const auto& [name, w] : kWorkloads) {
    if (cfg.workload_name == name) cfg.workload = w;
  }
  if (cfg.mix_search + cfg.mix_bind > 100) {
    std::cerr << "ldapbench: --mix-search + --mix-bind exceeds 100\n";
    return 1;
  }
  cfg.naming.style = *ParseStyle(cfg.style_name);
  FillDefaults(cfg.naming);
  if (cfg.bind_dn.empty()) cfg.bind_dn = cfg.naming.admin_dn;
  if (cfg.base.empty()) cfg.base = cfg.naming.suffix;
  if (cfg.eq_attr.empty()) cfg.eq_attr = LoginAttribute(cfg.naming.style);
  cfg.threads = std::min(cfg.threads, cfg.connections);

  // A server that goes away must show up as errors, not kill the client.
  signal(SIGPIPE, SIG_IGN);
  // Initialise libldap's global state before threads use it.
  int debug = 0;
  ldap_set_option(nullptr, LDAP_OPT_DEBUG_LEVEL, &debug);

  Window window;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < cfg.threads; ++t) workers.push_back(std::make_unique<Worker>(cfg, t, window));
  std::vector<std::string> setup_errors(cfg.threads);
  std::latch ready(cfg.threads);
  std::latch go(1);
  std::vector<std::thread> threads;
  std::vector<char> setup_ok(cfg.threads, 0);
  for (int t = 0; t < cfg.threads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<int> groups;
      for (int g = t; g < cfg.connections; g += cfg.threads) groups.push_back(g);
      setup_ok[t] = workers[t]->Setup(groups, &setup_errors[t]);
      ready.count_down();
      go.wait();
      if (setup_ok[t]) workers[t]->Run();
    });
  }
  ready.wait();
  bool all_ok = true;
  for (int t = 0; t < cfg.threads; ++t) {
    if (!setup_ok[t]) {
      std::cerr << "ldapbench: " << setup_errors[t] << "\n";
      all_ok = false;
    }
  }
  const auto start = Clock::now();
  auto seconds = [](double s) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); };
  window.measure_start = all_ok ? start + seconds(cfg.warmup) : start;
  window.measure_end = all_ok ? window.measure_start + seconds(cfg.duration) : start;
  window.give_up = window.measure_end + seconds(cfg.drain);
  go.count_down();
  if (!all_ok) {
    for (auto& th : threads) th.join();
    return 1;
  }

  std::this_thread::sleep_until(window.measure_start);
  ProcessSample server_before = cfg.server_pid > 0 ? SampleProcess(cfg.server_pid) : ProcessSample{};
  double client_before = SelfCpuSeconds();
  std::this_thread::sleep_until(window.measure_end);
  ProcessSample server_after = cfg.server_pid > 0 ? SampleProcess(cfg.server_pid) : ProcessSample{};
  double client_after = SelfCpuSeconds();
  for (auto& th : threads) th.join();

  Stats total;
  for (auto& w : workers) total.Merge(w->stats());
  const uint64_t ops = total.latency.count();
  const double ops_per_s = static_cast<double>(ops) / cfg.duration;
  const double client_cpu = client_after - client_before;
  const bool server_ok = server_before.ok && server_after.ok;
  const double server_cpu = server_after.cpu_seconds - server_before.cpu_seconds;
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  const bool single_request_conns = cfg.workload == Workload::kBind || cfg.workload == Workload::kConnect;

  nlohmann::json j;
  j["workload"] = cfg.workload_name;
  j["url"] = cfg.url;
  j["users"] = cfg.users;
  j["connections"] = single_request_conns ? cfg.connections * cfg.depth : cfg.connections;
  j["depth"] = single_request_conns ? 1 : cfg.depth;
  j["threads"] = cfg.threads;
  j["duration_s"] = cfg.duration;
  j["ops"] = ops;
  j["ops_per_s"] = ops_per_s;
  for (size_t i = 0; i < total.ops.size(); ++i) {
    if (total.ops[i] != 0) j["ops_by_type"][kOpNames[i]] = total.ops[i];
  }
  j["entries_per_op"] = ops == 0 ? 0.0 : static_cast<double>(total.entries) / static_cast<double>(ops);
  j["latency_us"] = {{"mean", total.latency.mean() / 1000.0},
                     {"p50", us(total.latency.Percentile(0.50))},
                     {"p90", us(total.latency.Percentile(0.90))},
                     {"p99", us(total.latency.Percentile(0.99))},
                     {"p999", us(total.latency.Percentile(0.999))},
                     {"max", us(total.latency.max())}};
  j["errors"] = {{"total", total.error_total}, {"by_kind", total.errors}};
  j["client"] = {{"cpu_s", client_cpu}, {"cpu_pct", 100.0 * client_cpu / cfg.duration}};
  if (server_ok) {
    j["server"] = {{"pid", cfg.server_pid},
                   {"cpu_s", server_cpu},
                   {"cpu_pct", 100.0 * server_cpu / cfg.duration},
                   {"cpu_us_per_op", ops == 0 ? 0.0 : 1e6 * server_cpu / static_cast<double>(ops)},
                   {"rss_kib", server_after.rss_kib},
                   {"hwm_kib", server_after.hwm_kib}};
  }

  char line[512];
  std::snprintf(line, sizeof(line),
                "%-10s %10.0f ops/s  p50 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms  errors %llu  "
                "(%d conn x %d, %d thr, %.1f entries/op)",
                cfg.workload_name.c_str(), ops_per_s, us(total.latency.Percentile(0.5)) / 1000,
                us(total.latency.Percentile(0.99)) / 1000, us(total.latency.Percentile(0.999)) / 1000,
                us(total.latency.max()) / 1000, static_cast<unsigned long long>(total.error_total),
                j["connections"].get<int>(), j["depth"].get<int>(), cfg.threads, j["entries_per_op"].get<double>());
  std::ostream& human = cfg.json ? std::cerr : std::cout;
  human << line << "\n";
  std::snprintf(line, sizeof(line), "           client cpu %.0f%%", 100.0 * client_cpu / cfg.duration);
  human << line;
  if (server_ok) {
    std::snprintf(line, sizeof(line), "  server cpu %.0f%% (%.1f us/op)  rss %.1f MiB (peak %.1f MiB)",
                  100.0 * server_cpu / cfg.duration,
                  ops == 0 ? 0.0 : 1e6 * server_cpu / static_cast<double>(ops), server_after.rss_kib / 1024.0,
                  server_after.hwm_kib / 1024.0);
    human << line;
  } else if (cfg.server_pid > 0) {
    human << "  (server pid " << cfg.server_pid << " not readable)";
  }
  human << "\n";
  if (client_cpu / cfg.duration > 0.9 * cfg.threads) {
    human << "           warning: the client used >90% of its threads' CPU; it may be the bottleneck (add -T)\n";
  }
  for (const auto& [kind, count] : total.errors) human << "           error x" << count << ": " << kind << "\n";
  if (cfg.json) std::cout << j.dump() << std::endl;
  if (total.error_total != 0) return 2;
  if (total.successes_any_time == 0) return 3;
  return 0;
}

}  // namespace
}  // namespace simplead::bench

int main(int argc, char** argv) { return simplead::bench::Run(argc, argv); }
