// The list of commands; each is defined in its own cmd_<verb>.cc.
#pragma once

#include <vector>

#include "cli/global.h"

namespace lifeboat {

inline constexpr const char* kLifeboatVersion = "0.1.0";

void RegisterInit(CLI::App&, GlobalOptions&, CommandRunner*);
void RegisterBackup(CLI::App&, GlobalOptions&, CommandRunner*);
void RegisterSnapshots(CLI::App&, GlobalOptions&, CommandRunner*);
void RegisterKey(CLI::App&, GlobalOptions&, CommandRunner*);
void RegisterUnlock(CLI::App&, GlobalOptions&, CommandRunner*);
void RegisterInspect(CLI::App&, GlobalOptions&, CommandRunner*);  // ls, diff, stats, dump
void RegisterRestore(CLI::App&, GlobalOptions&, CommandRunner*);
void RegisterCheck(CLI::App&, GlobalOptions&, CommandRunner*);
void RegisterForget(CLI::App&, GlobalOptions&, CommandRunner*);  // forget, prune
void RegisterCopy(CLI::App&, GlobalOptions&, CommandRunner*);
void RegisterStatus(CLI::App&, GlobalOptions&, CommandRunner*);  // status --rule 3-2-1
void RegisterPlan(CLI::App&, GlobalOptions&, CommandRunner*);    // plan [--config F]
void RegisterPostgres(CLI::App&, GlobalOptions&, CommandRunner*);  // archive-push, archive-get
void RegisterStreamWal(CLI::App& postgres, GlobalOptions&, CommandRunner*);  // postgres stream-wal
// Subcommands of backup and restore (cmd_backup_postgres.cc, cmd_restore_postgres.cc).
CLI::App* RegisterBackupPostgres(CLI::App& backup, GlobalOptions&, CommandRunner*);
CLI::App* RegisterRestorePostgres(CLI::App& restore, GlobalOptions&, CommandRunner*);
// backup/restore sqlite, redis, git (cmd_backup_sources.cc, cmd_restore_sources.cc).
std::vector<CLI::App*> RegisterBackupSources(CLI::App& backup, GlobalOptions&, CommandRunner*);
std::vector<CLI::App*> RegisterRestoreSources(CLI::App& restore, GlobalOptions&, CommandRunner*);
// MariaDB / MySQL (cmd_backup_mariadb.cc, cmd_restore_mariadb.cc, cmd_mariadb.cc).
CLI::App* RegisterBackupMariaDb(CLI::App& backup, GlobalOptions&, CommandRunner*);
CLI::App* RegisterRestoreMariaDb(CLI::App& restore, GlobalOptions&, CommandRunner*);
void RegisterMariaDb(CLI::App&, GlobalOptions&, CommandRunner*);  // archive-binlogs
void RegisterCache(CLI::App&, GlobalOptions&, CommandRunner*);   // cache [--cleanup]
// The application in lifeboat.toml: run (back up now), drill, runbook
// (cmd_run.cc, cmd_drill.cc, cmd_runbook.cc); status without --rule is its view.
void RegisterRun(CLI::App&, GlobalOptions&, CommandRunner*);
void RegisterDrill(CLI::App&, GlobalOptions&, CommandRunner*);
void RegisterRunbook(CLI::App&, GlobalOptions&, CommandRunner*);
void RegisterAgent(CLI::App&, GlobalOptions&, CommandRunner*);  // agent (agent/)
void RegisterRecover(CLI::App&, GlobalOptions&, CommandRunner*);  // recover --to-time

std::vector<CommandRegistrar> AllCommands();

}  // namespace lifeboat
