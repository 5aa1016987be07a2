#include "cli/snapshot_filter.h"

#include <CLI/CLI.hpp>
#include <algorithm>

#include "archiver/archiver.h"

namespace lifeboat {

void AddSnapshotFilterOptions(CLI::App* cmd, SnapshotFilterOptions* o) {
  cmd->add_option("--host", o->hosts, "only snapshots of this host (repeatable)");
  cmd->add_option("--tag", o->tags, "only snapshots with these tags: 'a,b' needs both (repeatable)");
  cmd->add_option("--path", o->paths, "only snapshots containing this path (repeatable)");
  cmd->add_option("--source", o->sources,
                  "only snapshots of this source kind: files, stdin, command, postgres, sqlite, "
                  "redis, git (repeatable)");
}

bool MatchesFilter(const SnapshotFilterOptions& o, const Snapshot& s) {
  if (!o.hosts.empty() && std::find(o.hosts.begin(), o.hosts.end(), s.hostname) == o.hosts.end())
    return false;
  if (!o.sources.empty() &&
      std::find(o.sources.begin(), o.sources.end(), s.source) == o.sources.end())
    return false;
  for (const std::string& p : o.paths) {
    std::string want = NormalizeBackupPath(p);
    if (std::find(s.paths.begin(), s.paths.end(), want) == s.paths.end()) return false;
  }
  if (o.tags.empty()) return true;
  for (const std::string& group : o.tags) {
    bool all = true;
    size_t start = 0;
    while (start <= group.size()) {
      size_t comma = group.find(',', start);
      if (comma == std::string::npos) comma = group.size();
      std::string tag = group.substr(start, comma - start);
      if (!tag.empty() && std::find(s.tags.begin(), s.tags.end(), tag) == s.tags.end()) all = false;
      start = comma + 1;
    }
    if (all) return true;
  }
  return false;
}

Result<SnapshotEntry> ResolveSnapshot(Repository& repo, const std::string& ref,
                                      const SnapshotFilterOptions& filter) {
  return repo.FindSnapshot(ref, [&](const Snapshot& s) { return MatchesFilter(filter, s); });
}

}  // namespace lifeboat
