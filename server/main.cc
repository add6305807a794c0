// simplead: the directory server daemon.
#include <CLI/CLI.hpp>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "server/config.h"
#include "server/server.h"
#include "server/version.h"

#ifdef SIMPLEAD_JEMALLOC
// Read by jemalloc at start-up (MALLOC_CONF in the environment still wins):
// pages freed by evictions and bursts of writes go back to the kernel within a
// second, purged by a background thread, instead of after ten seconds of
// allocation activity. At 100,000 users RSS after writes was 10-20 MiB lower,
// CPU per operation within the noise (docs/performance.md, 000000).
extern "C" {
const char* malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";
}
#endif

int main(int argc, char** argv) {
  using namespace simplead;
  server::ServerConfig config;
  CLI::App app{"simplead: an AD-shaped LDAPv3 directory server on RocksDB.\n"
               "Start it with --domain corp.example.com (Active Directory layout) or --suffix dc=example,dc=com\n"
               "(plain LDAP). The first start creates the directory in --data-dir.",
               "simplead"};
  app.set_version_flag("--version", std::string(server::kVersion));
  server::AddServerOptions(app, config);
  CLI11_PARSE(app, argc, argv);
  Status st = server::Finalize(config);
  if (!st.ok()) {
    std::cerr << "simplead: " << st.message() << "\n";
    return 2;
  }
  auto log = spdlog::stderr_color_mt("simplead");
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  log->set_level(spdlog::level::from_str(config.log_level));
  log->flush_on(spdlog::level::info);
  auto server = server::Server::Create(config, log);
  if (!server.ok()) {
    std::cerr << "simplead: " << server.status().message() << "\n";
    return 1;
  }
  return (*server)->Run();
}
