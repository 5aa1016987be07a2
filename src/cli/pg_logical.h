// lifeboat backup/restore postgres --logical: a pg_dump custom-format dump of
// one database streamed into a snapshot (source "postgres-logical"), and its
// restore streamed into pg_restore. The options are parsed by
// cmd_backup_postgres.cc / cmd_restore_postgres.cc (one `postgres`
// subcommand each); the bodies live beside the other one-file sources
// (cmd_backup_sources.cc, cmd_restore_sources.cc) whose snapshot plumbing
// they share.
#pragma once

#include <string>
#include <vector>

#include "cli/global.h"
#include "cli/snapshot_filter.h"

namespace lifeboat {

inline constexpr const char* kPgLogicalSource = "postgres-logical";

struct PgLogicalBackupOpts {
  std::string dbname;
  std::vector<std::string> tags;
  std::string host;  // recorded hostname
};

struct PgLogicalRestoreOpts {
  std::string snapshot = "latest";
  std::string dbname;
  bool create = false;
  bool clean = false;
  int jobs = 1;
  SnapshotFilterOptions filter;
};

int RunBackupPostgresLogical(const GlobalOptions& global, const PgLogicalBackupOpts& o);
int RunRestorePostgresLogical(const GlobalOptions& global, const PgLogicalRestoreOpts& o);

// A database name that libpq will not read as a connection string.
Status ValidatePgDbName(const std::string& dbname);

}  // namespace lifeboat
