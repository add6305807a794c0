// adconnector: the AD Connector proxy daemon and its small admin commands.
//   adconnector --config adconnector.toml          run the daemon
//   adconnector init --config adconnector.toml     seal the service-account password and exit
//   adconnector status --data-dir DIR              upstream states of the running daemon
//   adconnector rotate-service-account --data-dir DIR --password-file F
#include <malloc.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "connector/config.h"
#include "connector/connector.h"

int main(int argc, char** argv) {
  using namespace simplead;
  using namespace simplead::connector;
  // Freed heap memory is overwritten, so a password that passed through a
  // library buffer (BER encoders, decoded PDUs) does not linger after the
  // request in a core dump.
  mallopt(M_PERTURB, 0x5a);

  ConnectorConfig config;
  CLI::App app{"adconnector: an AD Connector proxy. Apps bind to it with their corporate credentials\n"
               "(DN, alice@corp.example.com or CORP\\alice); it forwards sign-ins and read-only look-ups\n"
               "to the on-premises directory servers, caching nothing.",
               "adconnector"};
  app.set_version_flag("--version", std::string(kVersion));
  AddConnectorOptions(app, config);
  app.require_subcommand(0, 1);
  app.fallthrough();
  auto* init = app.add_subcommand("init", "Seal the service-account password into the data dir and exit");
  auto* status = app.add_subcommand("status", "Show the running daemon's upstreams: state, RTT, last error");
  std::string new_password_file;
  auto* rotate = app.add_subcommand("rotate-service-account",
                                    "Seal a new service-account password and make the running daemon use it");
  rotate->add_option("--password-file", new_password_file, "File with the new password")->required();
  CLI11_PARSE(app, argc, argv);

  if (*status) {
    auto reply = ControlRequest(config.data_dir, "status");
    if (!reply.ok()) {
      std::cerr << "adconnector: " << reply.status().message() << "\n";
      return 1;
    }
    std::cout << *reply;
    return reply->find("\nok\n") != std::string::npos || reply->rfind("ok\n", 0) == 0 ? 0 : 1;
  }
  if (*rotate) {
    Status st = SealServicePassword(config.data_dir, config.service_dn, new_password_file, /*force=*/true);
    if (!st.ok()) {
      std::cerr << "adconnector: " << st.message() << "\n";
      return 1;
    }
    auto reply = ControlRequest(config.data_dir, "reload-service-account");
    if (!reply.ok()) {
      std::cout << "sealed; the daemon is not running, it will use the new password when it starts\n";
      return 0;
    }
    std::cout << *reply;
    return *reply == "ok\n" ? 0 : 1;
  }

  Status st = Finalize(config);
  if (!st.ok()) {
    std::cerr << "adconnector: " << st.message() << "\n";
    return 2;
  }
  if (*init) {
    st = SealServicePassword(config.data_dir, config.service_dn, config.service_password_file, /*force=*/true);
    if (!st.ok()) {
      std::cerr << "adconnector: " << st.message() << "\n";
      return 1;
    }
    std::cout << "sealed the service-account password in " << config.data_dir << "; delete "
              << config.service_password_file << " now\n";
    return 0;
  }
  auto log = spdlog::stderr_color_mt("adconnector");
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  log->set_level(spdlog::level::from_str(config.log_level));
  log->flush_on(spdlog::level::info);
  auto connector = Connector::Create(config, log);
  if (!connector.ok()) {
    std::cerr << "adconnector: " << connector.status().message() << "\n";
    return 1;
  }
  return (*connector)->Run();
}
