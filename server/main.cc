// simplead: the directory server daemon.
#include <CLI/CLI.hpp>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "server/config.h"
#include "server/server.h"
#include "server/version.h"

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
