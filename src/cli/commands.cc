#include "cli/commands.h"

namespace lifeboat {

std::vector<CommandRegistrar> AllCommands() {
  return {RegisterInit, RegisterBackup, RegisterSnapshots, RegisterKey, RegisterUnlock};
}

}  // namespace lifeboat
