// `lifeboat status` without --rule: the application's view over lifeboat.toml
// (cmd_status.cc dispatches here). Per component: the age of the newest
// recoverable point against the RPO (files: the newest snapshot tagged
// component=NAME; postgres: the newest base backup — archived WAL is not
// consulted, so the real recovery point may be newer), the copies per
// repository with the 3-2-1 rule (appconfig/rule_321.h, media and site from
// the config), and the last drill's result and measured time against the RTO
// (newest "drill" snapshot). Exit 0 when every objective holds, else 1.
#pragma once

#include <string>

#include "cli/global.h"

namespace lifeboat {

int RunAppStatus(const GlobalOptions& global, const std::string& config_flag);

}  // namespace lifeboat
