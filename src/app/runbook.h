// `lifeboat runbook`: a Markdown recovery runbook for one application —
// prerequisites (where each repository's password and the storage
// credentials come from, by file or command name, never their values), then
// per component in restore order the exact lifeboat commands with the real
// repository URLs and options, and the durations the last drill measured.
// The commands are the ones `lifeboat drill` runs (component_kind.h), with
// the live targets instead of the sandbox.
//
// Thread-safety: a pure function.
#pragma once

#include <optional>
#include <string>

#include "app/drill_report.h"
#include "appconfig/app_config.h"

namespace lifeboat {

struct RunbookOptions {
  std::string lifeboat = "lifeboat";  // the program name/path printed in commands
  // Files components are restored below this root (their snapshot paths are
  // recreated there); PostgreSQL data directories go to
  // ROOT/var/lib/postgresql/lifeboat-NAME.
  std::string restore_root = "/";
  // The last drill's summary (from its snapshot's source_info) and when it ran.
  std::optional<std::map<std::string, std::string>> last_drill;
  int64_t last_drill_time_ns = 0;
  int64_t generated_ns = 0;
};

// The restore target the runbook uses for a component.
RestoreTarget RunbookTarget(const ComponentConfig& component, const std::string& restore_root);

std::string BuildRunbook(const AppConfig& app, const RunbookOptions& options);

}  // namespace lifeboat
