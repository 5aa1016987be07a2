// lifeboat run [COMPONENT...] [--config F]: backs up each component of the
// application now, into the first of its repositories (tagged app=APP and
// component=NAME), then copies the new snapshot to each of its other
// repositories (the Copier sends only what they lack). Each backup and copy
// is lifeboat's own command run as a child (app/component_kind.h), so a
// failing component never blocks the others. One line per component and
// repository (or JSON lines with --json, then a summary); exit 1 when any
// part failed. A failed backup fires a backup_failed alert; a backup that
// changed far more than the component's recent snapshots did fires a
// change_rate alert (app/change_rate.h; the backup itself counts as done).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <iostream>
#include <optional>

#include "app/alert.h"
#include "app/change_rate.h"
#include "app/component_kind.h"
#include "cli/app_support.h"
#include "cli/commands.h"
#include "repo/repository.h"

namespace lifeboat {
namespace {

struct RunOpts {
  std::string config;
  std::vector<std::string> components;
};

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Compares the new snapshot `id` in `repo_config` with the component's
// earlier snapshots there. Problems reading the repository are warnings:
// the backup is done either way.
std::optional<ChangeRateDecision> CheckChangeRate(const GlobalOptions& global, const AppConfig& app,
                                                  const ComponentConfig& c,
                                                  const RepositoryConfig& repo_config,
                                                  const std::string& id) {
  if (!c.change_alert.enabled) return std::nullopt;
  auto repo = OpenConfiguredRepository(global, repo_config);
  Result<std::vector<SnapshotEntry>> list =
      repo.ok() ? (*repo)->ListSnapshots() : Result<std::vector<SnapshotEntry>>(repo.status());
  if (!list.ok()) {
    std::cerr << "lifeboat: warning: " << c.name << ": change rate not checked: "
              << list.status().message() << "\n";
    return std::nullopt;
  }
  const std::vector<std::string> tags = ComponentTags(app, c);
  const SnapshotEntry* now = nullptr;
  std::vector<const SnapshotEntry*> earlier;
  for (const SnapshotEntry& e : *list) {
    if (e.id.Hex() == id) {
      now = &e;
      continue;
    }
    bool match = std::all_of(tags.begin(), tags.end(), [&e](const std::string& t) {
      return std::find(e.snapshot.tags.begin(), e.snapshot.tags.end(), t) != e.snapshot.tags.end();
    });
    if (match) earlier.push_back(&e);
  }
  if (!now) return std::nullopt;
  std::vector<const SnapshotEntry*> before;
  for (const SnapshotEntry* e : earlier) {
    if (e->snapshot.time_ns < now->snapshot.time_ns) before.push_back(e);
  }
  std::sort(before.begin(), before.end(), [](const SnapshotEntry* a, const SnapshotEntry* b) {
    return a->snapshot.time_ns > b->snapshot.time_ns;
  });
  std::vector<ChangeFigures> history;
  for (const SnapshotEntry* e : before) history.push_back(FiguresOf(e->snapshot.summary));
  return EvaluateChangeRate(FiguresOf(now->snapshot.summary), history, c.change_alert);
}

int RunRun(const GlobalOptions& global, const RunOpts& o) {
  auto app = LoadAppConfigForCli(o.config);
  if (!app.ok()) return ReportError(global, app.status());
  auto selected = SelectComponents(*app, o.components, /*restore_order=*/false);
  if (!selected.ok()) return ReportError(global, selected.status());

  // SIGTERM / SIGINT (the agent stopping, Ctrl-C) reach the backup or copy
  // running in our process group as well: we wait for it to wind down and
  // release its locks, then start nothing more. Dying at once would leave
  // it running on its own, holding its repository locks.
  InstallInterruptHandler();
  bool all_ok = true;
  nlohmann::json jcomponents = nlohmann::json::array();
  auto line = [&global](const nlohmann::json& j, const std::string& text) {
    if (global.json) PrintJson(j);
    else if (!global.quiet || !j.value("ok", true)) std::cout << text << std::endl;
  };
  for (const ComponentConfig* c : *selected) {
    if (Interrupted()) break;
    nlohmann::json jc = {{"component", c->name}, {"kind", c->kind}};
    nlohmann::json jrepos = nlohmann::json::array();
    const ComponentKind* kind = FindComponentKind(c->kind);
    auto fail_component = [&](const std::string& repo_name, const std::string& message) {
      all_ok = false;
      nlohmann::json j = {{"message_type", "run_item"}, {"component", c->name},
                          {"repository", repo_name},    {"action", "backup"},
                          {"ok", false},                {"error", message}};
      jrepos.push_back(j);
      line(j, fmt::format("{} -> {}: FAILED: {}", c->name, repo_name, message));
      if (app->alerts && !Interrupted()) {
        Alert a{app->app_name, AlertKind::kBackupFailed, c->name,
                "backup of " + c->name + " failed: " + message, NowNs(),
                {{"repository", repo_name}}};
        for (const std::string& p : SendAlert(*app->alerts, a).problems) {
          std::cerr << "lifeboat: alert not delivered: " << p << "\n";
        }
      }
    };
    if (!kind) {
      fail_component("-", UnsupportedKind(*c).message());
      jc["ok"] = false;
      jc["repositories"] = jrepos;
      jcomponents.push_back(jc);
      continue;
    }
    const RepositoryConfig* first = app->FindRepository(c->repositories.front());
    auto t0 = std::chrono::steady_clock::now();
    ChildRun backup = RunLifeboatOn(*first, kind->BackupArgs(*app, *c));
    const double backup_seconds = Since(t0);
    std::string snapshot = backup.summary.is_object() ? backup.summary.value("snapshot_id", "") : "";
    // Exit 3: saved, but some files could not be read: copy it, report failure.
    if ((!backup.ok() && backup.process.exit_code != kExitIncomplete) || snapshot.empty()) {
      fail_component(first->name, backup.error.empty() ? "no snapshot was saved" : backup.error);
      jc["ok"] = false;
      jc["repositories"] = jrepos;
      jcomponents.push_back(jc);
      continue;
    }
    bool component_ok = backup.ok();
    {
      nlohmann::json j = {{"message_type", "run_item"},
                          {"component", c->name},
                          {"repository", first->name},
                          {"action", "backup"},
                          {"ok", backup.ok()},
                          {"snapshot_id", snapshot},
                          {"seconds", backup_seconds},
                          {"data_added", backup.summary.value("data_added", 0)}};
      if (!backup.ok()) j["error"] = "some files could not be read: " + backup.error;
      jrepos.push_back(j);
      line(j, fmt::format("{} -> {}: snapshot {} saved in {}, {} added{}", c->name, first->name,
                          snapshot.substr(0, 8), FormatSeconds(backup_seconds),
                          FormatBytes(backup.summary.value("data_added", uint64_t{0})),
                          backup.ok() ? "" : " (INCOMPLETE: some files could not be read)"));
      if (!backup.ok()) all_ok = false;
      if (backup.ok()) {
        auto rate = CheckChangeRate(global, *app, *c, *first, snapshot);
        if (rate && rate->fire) {
          const std::string message = fmt::format(
              "suspicious change rate in {}: snapshot {} has {} (compared with the {} previous "
              "snapshots)",
              c->name, snapshot.substr(0, 8), rate->message, rate->history);
          nlohmann::json details = {{"snapshot", snapshot},
                                    {"repository", first->name},
                                    {"files_changed", backup.summary.value("files_new", uint64_t{0}) +
                                                          backup.summary.value("files_changed", uint64_t{0})},
                                    {"bytes_added", backup.summary.value("data_added", uint64_t{0})},
                                    {"median_files", rate->median_files},
                                    {"median_bytes", rate->median_bytes},
                                    {"files_threshold", rate->files_threshold},
                                    {"bytes_threshold", rate->bytes_threshold},
                                    {"history", rate->history}};
          nlohmann::json jw = {{"message_type", "run_warning"}, {"component", c->name},
                               {"kind", "change_rate"},         {"message", message},
                               {"details", details}};
          if (global.json) PrintJson(jw);
          else std::cerr << "lifeboat: warning: " << message << "\n";
          if (app->alerts) {
            Alert a{app->app_name, AlertKind::kChangeRate, c->name, message, NowNs(), details};
            for (const std::string& p : SendAlert(*app->alerts, a).problems) {
              std::cerr << "lifeboat: alert not delivered: " << p << "\n";
            }
          }
        }
      }
    }
    for (size_t i = 1; i < c->repositories.size(); ++i) {
      const RepositoryConfig* dst = app->FindRepository(c->repositories[i]);
      if (Interrupted()) {
        component_ok = false;
        all_ok = false;
        nlohmann::json j = {{"message_type", "run_item"},
                            {"component", c->name},
                            {"repository", dst->name},
                            {"action", "copy"},
                            {"ok", false},
                            {"error", "interrupted before the copy"}};
        line(j, fmt::format("{} -> {}: NOT COPIED: interrupted", c->name, dst->name));
        jrepos.push_back(j);
        continue;
      }
      std::vector<std::string> args = {"copy", "--from-repo", first->url};
      if (!first->password_file.empty()) {
        args.insert(args.end(), {"--from-password-file", first->password_file});
      } else {
        args.insert(args.end(), {"--from-password-command", first->password_command});
      }
      for (const auto& [key, value] : first->options) {
        args.insert(args.end(), {"--from-option", key + "=" + value});
      }
      args.push_back(snapshot);
      auto t1 = std::chrono::steady_clock::now();
      ChildRun copy = RunLifeboatOn(*dst, args);
      const double copy_seconds = Since(t1);
      nlohmann::json j = {{"message_type", "run_item"}, {"component", c->name},
                          {"repository", dst->name},    {"action", "copy"},
                          {"ok", copy.ok()},            {"seconds", copy_seconds}};
      if (copy.ok()) {
        uint64_t sent = copy.summary.is_object() ? copy.summary.value("bytes_sent", uint64_t{0}) : 0;
        j["bytes_sent"] = sent;
        line(j, fmt::format("{} -> {}: copied in {}, {} sent", c->name, dst->name,
                            FormatSeconds(copy_seconds), FormatBytes(sent)));
      } else {
        component_ok = false;
        all_ok = false;
        j["error"] = copy.error;
        line(j, fmt::format("{} -> {}: COPY FAILED: {}", c->name, dst->name, copy.error));
      }
      jrepos.push_back(j);
    }
    jc["ok"] = component_ok;
    jc["snapshot_id"] = snapshot;
    jc["repositories"] = jrepos;
    jcomponents.push_back(jc);
  }
  const bool interrupted = Interrupted();  // the flag stays set once raised
  if (interrupted) all_ok = false;
  if (global.json) {
    PrintJson({{"message_type", "summary"},
               {"app", app->app_name},
               {"ok", all_ok},
               {"interrupted", interrupted},
               {"components", jcomponents}});
  } else if (interrupted) {
    std::cerr << "lifeboat: run: interrupted; components not reached were not backed up\n";
  } else if (!all_ok) {
    std::cerr << "lifeboat: run: some backups or copies failed (see above)\n";
  }
  return all_ok ? kExitOk : kExitFatal;
}

}  // namespace

void RegisterRun(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  auto o = std::make_shared<RunOpts>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "back up the application's components now (lifeboat.toml): each into its first "
      "repository, then copied to the others; exit 1 when any part failed");
  cmd->add_option("components", o->components, "components to back up (default: all)");
  cmd->add_option("--config", o->config,
                  "the application file (default: LIFEBOAT_CONFIG, else ./lifeboat.toml)");
  cmd->callback([&global, o, selected] { *selected = [&global, o] { return RunRun(global, *o); }; });
}

}  // namespace lifeboat
