#include "cli/commands.h"

namespace lifeboat {

std::vector<CommandRegistrar> AllCommands() {
  return {RegisterInit,  RegisterBackup, RegisterSnapshots, RegisterInspect, RegisterRestore,
          RegisterCheck, RegisterForget, RegisterKey,       RegisterUnlock, RegisterCopy,
          RegisterStatus, RegisterPlan, RegisterCache, RegisterPostgres, RegisterRun, RegisterDrill,
          RegisterRunbook, RegisterRecover, RegisterMariaDb, RegisterAgent};
}

}  // namespace lifeboat
