// The client side of `simplead-admin kms ...` and `simplead-admin audit ...`.
// argv[0] is the subcommand's own name ("kms" / "audit"), as if it were a
// program: simplead-admin's main calls RunKmsCli(argc - 1, argv + 1).
//
//   kms <Operation> [--key-id ID] [--plaintext TEXT] [--encryption-context k=v,...] ...
//       [--endpoint http://127.0.0.1:PORT] [--user NAME] [--password-file FILE]
//   audit verify FILE
//
// Both print to stdout/stderr and return a process exit code: 0 success,
// 1 the service (or the check) said no, 2 usage or connection error.
#pragma once

namespace simplead::kms {

int RunKmsCli(int argc, char** argv);
int RunAuditCli(int argc, char** argv);

}  // namespace simplead::kms
