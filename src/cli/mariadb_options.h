// Connection options shared by `backup mariadb`, `restore mariadb` and
// `mariadb archive-binlogs` (defined in cmd_mariadb.cc): --host, --port,
// --user, --socket and the password from --mariadb-password-file or
// LIFEBOAT_MARIADB_PASSWORD (never from the command line).
#pragma once

#include <string>

#include "base/result.h"
#include "mariadb/client.h"

namespace CLI {
class App;
}

namespace lifeboat {

struct MariaDbCliOptions {
  std::string host;
  int port = 0;
  std::string user;
  std::string socket;
  std::string password_file;
};

void AddMariaDbConnectionOptions(CLI::App* cmd, MariaDbCliOptions* o);

// The connection the options describe, with the password read from the
// file (trailing newline removed) or the environment.
Result<MariaDbConnection> ResolveMariaDbConnection(const MariaDbCliOptions& o);

}  // namespace lifeboat
