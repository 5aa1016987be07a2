// --host/--tag/--path/--source filters shared by commands that select snapshots
// (snapshots, forget, restore/ls/dump with "latest").
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/snapshot.h"
#include "repo/repository.h"

namespace CLI {
class App;
}

namespace lifeboat {

struct SnapshotFilterOptions {
  std::vector<std::string> hosts;
  std::vector<std::string> tags;   // each entry "a,b" = must have a AND b; entries are OR'ed
  std::vector<std::string> paths;  // snapshot must contain all these paths
  std::vector<std::string> sources;  // source kind is one of these (files, sqlite, ...)
};

void AddSnapshotFilterOptions(CLI::App* cmd, SnapshotFilterOptions* options);
bool MatchesFilter(const SnapshotFilterOptions& options, const Snapshot& snapshot);

// Resolves "latest" (newest snapshot matching the filter) or an id prefix.
Result<SnapshotEntry> ResolveSnapshot(Repository& repo, const std::string& ref,
                                      const SnapshotFilterOptions& filter);

nlohmann::json SnapshotJson(const SnapshotEntry& entry);

}  // namespace lifeboat
