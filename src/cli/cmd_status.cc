// lifeboat status --rule 3-2-1: whether every backed-up source has enough
// copies, on enough kinds of media, with one off-site, across several
// repositories.
//
// Counting (stated in the output too): the live data on the server is copy 1,
// on media "disk" at site "onsite". Each repository that holds the source's
// latest snapshot adds one copy, on that repository's media and site (from
// its config: lifeboat init --media/--site). A snapshot is the same as the
// latest one when it has the same host, the same paths and the same time
// (what `lifeboat copy` preserves), so copies made by any means count.
// A source is host + paths, as restic groups them; its latest snapshot is the
// newest in any of the repositories.
//
// The rule holds for a source with >= 3 copies (live + 2 repositories), >= 2
// distinct media, >= 1 copy at a site other than "onsite". Exit status 0 when
// it holds for every source, 1 otherwise or when a repository cannot be read.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <map>

#include "appconfig/rule_321.h"
#include "cli/app_status.h"
#include "cli/commands.h"
#include "model/time_format.h"

namespace lifeboat {
namespace {

struct StatusOpts {
  std::string rule;  // empty: 3-2-1, or the app view (see RegisterStatus)
  std::vector<std::string> repos;
  std::string config;
};

struct RepoInfo {
  std::string location;  // as given by the user
  std::string media, site;
  std::string error;  // non-empty: could not be read
  std::vector<SnapshotEntry> snapshots;
};

struct SourceKey {
  std::string host;
  std::vector<std::string> paths;  // sorted
  auto operator<=>(const SourceKey&) const = default;
};

SourceKey KeyOf(const Snapshot& s) {
  SourceKey k{s.hostname, s.paths};
  std::sort(k.paths.begin(), k.paths.end());
  return k;
}

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

std::string Plural(int n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

RepoInfo ReadRepo(const GlobalOptions& global, const std::string& location,
                  const std::string& password) {
  RepoInfo info;
  info.location = location;
  auto fail = [&](const Status& s) {
    info.error = s.message();
    return info;
  };
  auto backend = OpenStorageAt(global, location);
  if (!backend.ok()) return fail(backend.status());
  auto repo = Repository::Open(std::move(*backend), password);
  if (!repo.ok()) return fail(repo.status());
  info.media =
      (*repo)->config().media.empty() ? DefaultMediaFor(location) : (*repo)->config().media;
  info.site = (*repo)->config().site;
  auto all = (*repo)->ListSnapshots();
  if (!all.ok()) return fail(all.status());
  info.snapshots = std::move(*all);
  return info;
}

int RunStatus(const GlobalOptions& global, const StatusOpts& opts) {
  // Without --rule and without repositories: the application's view.
  if (!opts.config.empty() || (opts.rule.empty() && opts.repos.empty() && global.repo.empty())) {
    return RunAppStatus(global, opts.config);
  }
  StatusOpts o = opts;
  if (o.rule.empty()) o.rule = "3-2-1";
  if (o.rule != "3-2-1") {
    return ReportError(global, Status(Code::kInvalidArgument, "unknown rule '" + o.rule + "'",
                                      "the only rule is 3-2-1"));
  }
  std::vector<std::string> locations;
  for (const std::string& r : o.repos.empty() ? std::vector<std::string>{global.repo} : o.repos) {
    if (r.empty()) continue;
    if (std::find(locations.begin(), locations.end(), r) == locations.end()) locations.push_back(r);
  }
  if (locations.empty()) {
    return ReportError(global, Status(Code::kInvalidArgument, "no repository given",
                                      "name every repository holding copies: status --repo A "
                                      "--repo B ..."));
  }
  // One password for all of them, from the usual sources (asked once).
  auto password = GetPassword(global, false, "enter password for the repositories: ");
  if (!password.ok()) return ReportError(global, password.status());

  std::vector<RepoInfo> repos;
  bool unreadable = false;
  for (const std::string& location : locations) {
    repos.push_back(ReadRepo(global, location, *password));
    if (!repos.back().error.empty()) {
      unreadable = true;
      ReportError(global,
                  Status(Code::kIoError,
                         "repository '" + location + "' cannot be read: " + repos.back().error,
                         "its copies are not counted"));
    }
  }

  // The latest snapshot of each source, in any repository.
  std::map<SourceKey, const SnapshotEntry*> latest;
  for (const RepoInfo& r : repos) {
    for (const SnapshotEntry& e : r.snapshots) {
      const SnapshotEntry*& slot = latest[KeyOf(e.snapshot)];
      if (!slot || e.snapshot.time_ns > slot->snapshot.time_ns) slot = &e;
    }
  }

  nlohmann::json jrepos = nlohmann::json::array();
  for (const RepoInfo& r : repos) {
    nlohmann::json j = {{"repository", r.location}};
    if (r.error.empty()) {
      j["media"] = r.media;
      j["site"] = r.site;
      j["snapshots"] = r.snapshots.size();
    } else {
      j["error"] = r.error;
    }
    jrepos.push_back(j);
  }
  const std::string counting = fmt::format(
      "the live data on the server counts as copy 1 (media '{}', site '{}'); each repository "
      "holding a source's latest snapshot (same host, paths and time) adds one copy",
      kLiveDataMedia, kOnsiteSite);
  Say(global, Rule321Statement());
  Say(global, "counting: " + counting);
  Say(global, "\nrepositories:");
  for (const RepoInfo& r : repos) {
    if (r.error.empty()) {
      Say(global,
          fmt::format("  {}  media {}, site {}, {}", r.location, r.media, r.site,
                      Plural(static_cast<int>(r.snapshots.size()), "snapshot", "snapshots")));
    } else {
      Say(global, fmt::format("  {}  UNREADABLE: {}", r.location, r.error));
    }
  }

  bool all_ok = !unreadable && !latest.empty();
  nlohmann::json jsources = nlohmann::json::array();
  for (const auto& [key, newest] : latest) {
    const int64_t time_ns = newest->snapshot.time_ns;
    std::vector<std::string> holders;
    std::vector<CopyHolder> copy_holders;
    nlohmann::json jcopies = nlohmann::json::array();
    for (const RepoInfo& r : repos) {
      const SnapshotEntry* copy = nullptr;
      int64_t newest_here = 0;
      for (const SnapshotEntry& e : r.snapshots) {
        if (KeyOf(e.snapshot) != key) continue;
        newest_here = std::max(newest_here, e.snapshot.time_ns);
        if (e.snapshot.time_ns == time_ns) copy = &e;
      }
      if (!copy) {
        if (newest_here > 0) {
          jcopies.push_back({{"repository", r.location},
                             {"has_latest", false},
                             {"newest_time", FormatTimeRfc3339(newest_here)}});
        }
        continue;
      }
      holders.push_back(r.location);
      copy_holders.push_back({r.location, r.media, r.site});
      jcopies.push_back({{"repository", r.location},
                         {"has_latest", true},
                         {"id", copy->id.Hex()},
                         {"media", r.media},
                         {"site", r.site}});
    }
    const Rule321Result rule = EvaluateRule321(copy_holders);
    const int copies = rule.copies;
    const std::vector<std::string>& missing = rule.missing;
    const std::vector<std::string>& offsite = rule.offsite;
    const bool ok = rule.ok();
    all_ok = all_ok && ok;

    const std::vector<std::string>& media_list = rule.media;
    jsources.push_back({{"host", key.host},
                        {"paths", key.paths},
                        {"latest_id", newest->id.Hex()},
                        {"latest_time", FormatTimeRfc3339(time_ns)},
                        {"copies", copies},
                        {"repositories", holders},
                        {"media", media_list},
                        {"offsite", offsite},
                        {"repository_copies", jcopies},
                        {"ok", ok},
                        {"missing", missing}});
    Say(global, fmt::format("\nsource host {}, paths {}: latest {} ({})", key.host,
                            Join(key.paths, " "), FormatLocalTime(time_ns), newest->id.Short()));
    Say(global, fmt::format("  copies:   {} (live data + {})", copies,
                            holders.empty() ? std::string("no repository") : Join(holders, ", ")));
    for (const auto& j : jcopies) {
      if (!j["has_latest"].get<bool>()) {
        Say(global,
            fmt::format("            {} has only an older snapshot ({})",
                        j["repository"].get<std::string>(), j["newest_time"].get<std::string>()));
      }
    }
    Say(global, "  media:    " + Join(media_list, ", "));
    Say(global, "  off-site: " + (offsite.empty() ? std::string("none") : Join(offsite, ", ")));
    Say(global, ok ? "  3-2-1:    OK" : "  3-2-1:    NOT MET: " + Join(missing, "; "));
  }
  if (latest.empty()) Say(global, "\nno snapshots in any repository: nothing is protected");
  if (global.json) {
    PrintJson({{"message_type", "status"},
               {"rule", o.rule},
               {"counting", counting},
               {"ok", all_ok},
               {"repositories", jrepos},
               {"sources", jsources}});
  } else {
    Say(global, all_ok ? "\nthe 3-2-1 rule holds for every source"
                       : "\nthe 3-2-1 rule does NOT hold for every source");
  }
  return all_ok ? kExitOk : kExitFatal;
}

}  // namespace

void RegisterStatus(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  auto o = std::make_shared<StatusOpts>();
  CLI::App* cmd = app.add_subcommand(
      "status",
      "the application's recovery objectives from lifeboat.toml (RPO, copies, last drill vs "
      "RTO), or with --rule 3-2-1 / --repo the rule across repositories; exit 0 when all "
      "hold, else 1");
  cmd->add_option("--rule", o->rule, "the rule to check (only 3-2-1)");
  cmd->add_option("--config", o->config,
                  "the application view over this lifeboat.toml (the default when neither "
                  "--rule nor a repository is given: LIFEBOAT_CONFIG, else ./lifeboat.toml)");
  cmd->add_option("--repo", o->repos,
                  "a repository holding copies (repeat for each; default: the global --repo). "
                  "All are opened with the same password sources");
  cmd->callback(
      [&global, o, selected] { *selected = [&global, o] { return RunStatus(global, *o); }; });
}

}  // namespace lifeboat
