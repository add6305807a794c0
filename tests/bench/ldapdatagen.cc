// ldapdatagen: writes the benchmark data set as LDIF, the same for any server.
// Users 1..N, then groups M..1 (children before parents, so a server that
// checks member references on import sees every target first). Group g holds
// the users n with (n-1) % M == g-1 and, when nesting is on, the groups 2g and
// 2g+1: a binary tree of depth log2(M). Output is streamed: memory stays
// constant whatever N. With the same --seed the output is byte-identical.
#include <openssl/evp.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>

#include "tests/bench/naming.h"

namespace simplead::bench {
namespace {

constexpr std::array kGivenNames = {"James",  "Mary",   "Robert", "Patricia", "John",    "Jennifer", "Michael",
                                    "Linda",  "David",  "Elena",  "William",  "Barbara", "Richard",  "Susan",
                                    "Joseph", "Jessica", "Thomas", "Sarah",   "Amir",    "Karen",    "Wei",
                                    "Nancy",  "Ingrid", "Lisa",   "Daniel",   "Fatima",  "Paul",     "Sofia"};
constexpr std::array kSurnames = {"Smith",  "Johnson", "Williams", "Brown",  "Jones",   "Garcia", "Miller",
                                  "Davis",  "Martin",  "Lopez",    "Wilson", "Anderson", "Thomas", "Taylor",
                                  "Moore",  "Jackson", "Lee",      "Perez",  "Nguyen",  "Harris", "Clark",
                                  "Lewis",  "Young",   "Walker",   "Hall",   "Allen",   "Novak",  "Kowalski"};

struct Options {
  Naming naming;
  std::string style = "plain";
  uint64_t users = 10000;
  int64_t groups = -1;  // -1: users / 100, at least 1
  bool nesting = true;
  std::string password_scheme = "ssha";
  uint64_t seed = 1;
  std::string skeleton = "all";  // all: suffix and containers; containers: no suffix entry; none
  bool entries = true;
  std::string output = "-";
};

// Buffers LDIF and writes it in large blocks.
class Writer {
 public:
  explicit Writer(FILE* out) : out_(out) { buffer_.reserve(kFlushAt + 4096); }
  ~Writer() { Flush(); }
  void Line(std::string_view attr, std::string_view value) {
    buffer_ += attr;
    buffer_ += ": ";
    buffer_ += value;
    buffer_ += '\n';
  }
  void EndEntry() {
    buffer_ += '\n';
    if (buffer_.size() >= kFlushAt) Flush();
  }
  bool Flush() {
    if (!buffer_.empty() && std::fwrite(buffer_.data(), 1, buffer_.size(), out_) != buffer_.size()) failed_ = true;
    buffer_.clear();
    return !failed_;
  }
  bool failed() const { return failed_ || std::ferror(out_); }

 private:
  static constexpr size_t kFlushAt = 1 << 20;
  FILE* out_;
  std::string buffer_;
  bool failed_ = false;
};

// {SSHA}: base64(SHA-1(password || salt) || salt), an 8-byte salt from `rng`.
std::string Ssha(std::string_view password, std::mt19937_64& rng) {
  unsigned char buf[20 + 8];
  uint64_t salt = rng();
  unsigned char* salt_bytes = buf + 20;
  for (int i = 0; i < 8; ++i) salt_bytes[i] = static_cast<unsigned char>(salt >> (8 * i));
  std::string input(password);
  input.append(reinterpret_cast<const char*>(salt_bytes), 8);
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), buf, &len, EVP_sha1(), nullptr);
  unsigned char b64[64];
  int n = EVP_EncodeBlock(b64, buf, sizeof(buf));
  return "{SSHA}" + std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
}

// The suffix entry (--skeleton all) and the parents of the user and group DNs
// (all, containers), e.g. ou=people and ou=groups.
void WriteSkeleton(const Options& o, Writer& w) {
  const Naming& nm = o.naming;
  if (o.skeleton == "none") return;
  if (o.skeleton == "all") {
    auto [type, value] = FirstRdn(nm.suffix);
    const bool dc = type == "dc" || type == "DC";
    w.Line("dn", nm.suffix);
    w.Line("objectClass", "top");
    if (nm.style == Style::kAd) {
      w.Line("objectClass", "domain");
      w.Line("dc", value);
    } else {
      if (dc) w.Line("objectClass", "dcObject");
      w.Line("objectClass", "organization");
      if (dc) w.Line("dc", value);
      w.Line("o", value);
    }
    w.EndEntry();
  }
  std::string parents[2] = {Expand(nm.user_dn_template, 1, nm.suffix), Expand(nm.group_dn_template, 1, nm.suffix)};
  for (auto& p : parents) p = p.substr(p.find(',') + 1);
  for (int i = 0; i < 2; ++i) {
    if (parents[i] == nm.suffix || (i == 1 && parents[1] == parents[0])) continue;
    auto [type, value] = FirstRdn(parents[i]);
    w.Line("dn", parents[i]);
    w.Line("objectClass", "top");
    if (type == "ou" || type == "OU") {
      w.Line("objectClass", "organizationalUnit");
      w.Line("ou", value);
    } else {
      w.Line("objectClass", "container");
      w.Line("cn", value);
    }
    w.EndEntry();
  }
}

void WriteUser(const Options& o, uint64_t n, std::mt19937_64& rng, const std::string& domain, Writer& w) {
  const Naming& nm = o.naming;
  std::string name = Expand(nm.name_template, n, nm.suffix);
  std::string given = kGivenNames[rng() % kGivenNames.size()];
  std::string sn = kSurnames[rng() % kSurnames.size()];
  std::string password = Expand(nm.password_template, n, nm.suffix);
  w.Line("dn", Expand(nm.user_dn_template, n, nm.suffix));
  w.Line("objectClass", "top");
  w.Line("objectClass", "person");
  w.Line("objectClass", "organizationalPerson");
  if (nm.style == Style::kAd) {
    w.Line("objectClass", "user");
  } else {
    w.Line("objectClass", "inetOrgPerson");
    w.Line("objectClass", "posixAccount");
    w.Line("uid", name);
  }
  w.Line("cn", name);
  w.Line("sn", sn);
  w.Line("givenName", given);
  w.Line("displayName", given + " " + sn);
  w.Line("mail", name + "@" + domain);
  if (nm.style == Style::kAd) {
    w.Line("sAMAccountName", name);
    w.Line("userPrincipalName", name + "@" + domain);
    w.Line("userAccountControl", "512");
  } else {
    w.Line("uidNumber", std::to_string(10000 + n));
    w.Line("gidNumber", "10000");
    w.Line("homeDirectory", "/home/" + name);
    w.Line("loginShell", "/bin/bash");
  }
  w.Line("userPassword", o.password_scheme == "ssha" ? Ssha(password, rng) : password);
  w.EndEntry();
}

void WriteGroup(const Options& o, uint64_t g, uint64_t groups, Writer& w) {
  const Naming& nm = o.naming;
  std::string name = "group" + std::to_string(g);
  w.Line("dn", Expand(nm.group_dn_template, g, nm.suffix));
  w.Line("objectClass", "top");
  w.Line("objectClass", nm.style == Style::kAd ? "group" : "groupOfNames");
  w.Line("cn", name);
  if (nm.style == Style::kAd) {
    w.Line("sAMAccountName", name);
    w.Line("groupType", "-2147483646");  // global security group
  }
  w.Line("description", "Benchmark group " + std::to_string(g));
  bool any = false;
  for (uint64_t n = g; n <= o.users; n += groups) {
    w.Line("member", Expand(nm.user_dn_template, n, nm.suffix));
    any = true;
  }
  if (o.nesting) {
    for (uint64_t child : {2 * g, 2 * g + 1}) {
      if (child > groups) continue;
      w.Line("member", Expand(nm.group_dn_template, child, nm.suffix));
      any = true;
    }
  }
  // groupOfNames needs a member; an empty AD group is fine.
  if (!any && nm.style == Style::kPlain) w.Line("member", nm.admin_dn);
  w.EndEntry();
}

int Run(int argc, char** argv) {
  Options o;
  CLI::App app{"ldapdatagen: benchmark users and (nested) groups as LDIF, the same for any LDAP server"};
  app.add_option("--users", o.users, "Number of users (user1..userN)")->capture_default_str();
  app.add_option("--groups", o.groups, "Number of groups (default: users/100, at least 1)");
  app.add_flag("!--no-nesting", o.nesting, "Do not nest groups (default: group g contains groups 2g and 2g+1)");
  app.add_option("--style", o.style, "ad: user/group objects with sAMAccountName; plain: inetOrgPerson+posixAccount")
      ->check(CLI::IsMember({"ad", "plain"}))
      ->capture_default_str();
  app.add_option("--suffix", o.naming.suffix, "Naming context (default dc=example,dc=com; ad: DC=corp,DC=example,DC=com)");
  app.add_option("--name-template", o.naming.name_template, "User name (uid, sAMAccountName, cn); default user{n}");
  app.add_option("--user-dn-template", o.naming.user_dn_template,
                 "User DN, e.g. 'uid=user{n},ou=people,{suffix}' (default depends on --style)");
  app.add_option("--group-dn-template", o.naming.group_dn_template, "Group DN, e.g. 'cn=group{n},ou=groups,{suffix}'");
  app.add_option("--password-template", o.naming.password_template, "Password of user n (default Pass{n}!word)");
  app.add_option("--password-scheme", o.password_scheme, "ssha: pre-hashed {SSHA} userPassword; cleartext")
      ->transform(CLI::Transformer({{"{SSHA}", "ssha"}, {"SSHA", "ssha"}}))
      ->check(CLI::IsMember({"ssha", "cleartext"}))
      ->capture_default_str();
  app.add_option("--seed", o.seed, "Seed of names and salts: same seed, same output")->capture_default_str();
  app.add_option("--skeleton", o.skeleton,
                 "all: the suffix entry and the user/group containers; containers: only the containers; none")
      ->check(CLI::IsMember({"all", "containers", "none"}))
      ->capture_default_str();
  app.add_flag("--skeleton-only", [&](int64_t) { o.entries = false; }, "Write only the --skeleton entries, no users or groups");
  app.add_option("-o,--output", o.output, "Output file, - for stdout")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  o.naming.style = *ParseStyle(o.style);
  FillDefaults(o.naming);
  uint64_t groups = o.groups < 0 ? std::max<uint64_t>(1, o.users / 100) : static_cast<uint64_t>(o.groups);
  std::string domain = SuffixToDomain(o.naming.suffix);
  if (domain.empty()) domain = "example.com";

  FILE* out = o.output == "-" ? stdout : std::fopen(o.output.c_str(), "w");
  if (out == nullptr) {
    std::cerr << "ldapdatagen: cannot open " << o.output << "\n";
    return 1;
  }
  bool ok = false;
  {
    Writer w(out);
    std::mt19937_64 rng(o.seed);
    WriteSkeleton(o, w);
    if (o.entries) {
      for (uint64_t n = 1; n <= o.users; ++n) WriteUser(o, n, rng, domain, w);
      for (uint64_t g = groups; g >= 1; --g) WriteGroup(o, g, groups, w);
    }
    ok = w.Flush() && !w.failed();
  }
  if (out != stdout) ok = std::fclose(out) == 0 && ok;
  else ok = std::fflush(out) == 0 && ok;
  if (!ok) {
    std::cerr << "ldapdatagen: write error on " << o.output << "\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace simplead::bench

int main(int argc, char** argv) { return simplead::bench::Run(argc, argv); }
