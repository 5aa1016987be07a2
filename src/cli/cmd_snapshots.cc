// lifeboat snapshots: lists snapshots, filtered by host, tag and path.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>

#include "cli/commands.h"
#include "cli/snapshot_filter.h"
#include "model/time_format.h"

namespace lifeboat {

nlohmann::json SnapshotJson(const SnapshotEntry& e) {
  const Snapshot& s = e.snapshot;
  nlohmann::json j = {{"id", e.id.Hex()},
                      {"short_id", e.id.Short()},
                      {"time", FormatTimeRfc3339(s.time_ns)},
                      {"hostname", s.hostname},
                      {"username", s.username},
                      {"paths", s.paths},
                      {"tags", s.tags},
                      {"tree", s.tree.Hex()},
                      {"kind", std::string(BackupKindName(s.kind))},
                      {"source", s.source},
                      {"program_version", s.program_version},
                      {"summary",
                       {{"files_new", s.summary.files_new},
                        {"files_changed", s.summary.files_changed},
                        {"files_unmodified", s.summary.files_unmodified},
                        {"total_files_processed", s.summary.files_total},
                        {"total_bytes_processed", s.summary.bytes_total},
                        {"data_added", s.summary.bytes_added},
                        {"data_added_stored", s.summary.bytes_added_stored},
                        {"errors", s.summary.errors},
                        {"duration_seconds", s.summary.duration_seconds}}}};
  if (s.parent) j["parent"] = s.parent->Hex();
  if (s.original) j["original"] = s.original->Hex();
  if (!s.source_info.empty()) j["source_info"] = s.source_info;
  return j;
}

void RegisterSnapshots(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  auto filter = std::make_shared<SnapshotFilterOptions>();
  CLI::App* cmd = app.add_subcommand("snapshots", "list snapshots");
  AddSnapshotFilterOptions(cmd, filter.get());
  cmd->callback([&global, filter, selected] {
    *selected = [&global, filter]() -> int {
      auto repo = OpenRepository(global);
      if (!repo.ok()) return ReportError(global, repo.status());
      int unreadable = 0;
      auto all = (*repo)->ListSnapshots([&](const std::string& name, const Status& s) {
        ++unreadable;
        ReportError(global, s.WithContext("snapshot " + name.substr(0, 8) + " is unreadable"));
      });
      if (!all.ok()) return ReportError(global, all.status());
      std::vector<SnapshotEntry> shown;
      for (auto& e : *all)
        if (MatchesFilter(*filter, e.snapshot)) shown.push_back(e);
      if (global.json) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& e : shown) arr.push_back(SnapshotJson(e));
        PrintJson(arr);
        return unreadable ? kExitFatal : kExitOk;
      }
      std::string header = fmt::format("{:<9} {:<19}  {:<16} {:<12} {:<12} {:>10}  {}", "ID",
                                       "Time", "Host", "Kind", "Tags", "Size", "Paths");
      Say(global, header);
      Say(global, std::string(header.size() + 10, '-'));
      for (const auto& e : shown) {
        const Snapshot& s = e.snapshot;
        std::string tags;
        for (const auto& t : s.tags) tags += (tags.empty() ? "" : ",") + t;
        std::string paths;
        for (const auto& p : s.paths) paths += (paths.empty() ? "" : " ") + p;
        Say(global, fmt::format("{:<9} {:<19}  {:<16} {:<12} {:<12} {:>10}  {}", e.id.Short(),
                                FormatLocalTime(s.time_ns), s.hostname, BackupKindName(s.kind),
                                tags, FormatBytes(s.summary.bytes_total), paths));
      }
      Say(global, std::string(header.size() + 10, '-'));
      Say(global, fmt::format("{} snapshots", shown.size()));
      return unreadable ? kExitFatal : kExitOk;
    };
  });
}

}  // namespace lifeboat
