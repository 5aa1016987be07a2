#include "cli/app_status.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <utility>
#include <iostream>
#include <map>
#include <set>

#include "app/drill_report.h"
#include "appconfig/rule_321.h"
#include "cli/app_support.h"
#include "mariadb/binlog_archive.h"
#include "mariadb/binlog_time.h"
#include "model/time_format.h"
#include "policy/duration.h"
#include "walarchive/wal_archive.h"
#include "walarchive/wal_prefetch.h"
#include "walarchive/wal_records.h"

namespace lifeboat {
namespace {

struct RepoView {
  const RepositoryConfig* config = nullptr;
  std::string error;
  std::vector<SnapshotEntry> snapshots;
  std::unique_ptr<Repository> repo;  // open when error is empty
};

// Binlogs larger than this are not fetched just to tell the time.
inline constexpr uint64_t kMaxBinlogForStatus = 64ull << 20;

// MariaDB: the time the archived binlogs reach, following the chain from
// the dump's binlog position: the last event of the newest archived file
// in that chain (one object fetched, up to kMaxBinlogForStatus). nullopt
// when it cannot be told cheaply.
std::optional<std::pair<int64_t, std::string>> ArchivedBinlogTime(Repository& repo,
                                                                  const Snapshot& dump) {
  auto get = [&dump](const char* k) {
    auto it = dump.source_info.find(k);
    return it == dump.source_info.end() ? std::string() : it->second;
  };
  const std::string start = get("binlog_file");
  const std::string server = get("server_id");
  if (start.empty() || server.empty() ||
      server.find_first_not_of("0123456789") != std::string::npos || server.size() > 19) {
    return std::nullopt;
  }
  const uint64_t server_id = std::strtoull(server.c_str(), nullptr, 10);
  auto archived = ListBinlogs(repo, server_id);
  if (!archived.ok()) return std::nullopt;
  auto chain = BinlogReplayChain(*archived, start, std::nullopt);
  if (!chain.ok() || chain->empty()) return std::nullopt;
  const std::string& last = chain->back();
  for (const BinlogEntry& e : *archived) {
    if (e.name == last && e.stored > kMaxBinlogForStatus) return std::nullopt;
  }
  auto bytes = GetBinlog(repo, server_id, last);
  if (!bytes.ok()) return std::nullopt;
  auto seconds = BinlogLastEventTime(*bytes);
  if (!seconds) return std::nullopt;
  return std::make_pair(*seconds * 1000000000, last);
}

// PostgreSQL: the time the archived WAL reaches after a base backup: the
// newest commit, abort or restore point in the newest segment of the
// unbroken run of archived segments from the backup's first one (or in the
// stream-wal partial that follows it), looking back at most a few segments
// when the newest records none. nullopt when it cannot be told.
std::optional<std::pair<int64_t, std::string>> ArchivedWalTime(Repository& repo,
                                                               const Snapshot& base) {
  constexpr int kSegmentsToRead = 4;
  auto get = [&base](const char* k) {
    auto it = base.source_info.find(k);
    return it == base.source_info.end() ? std::string() : it->second;
  };
  const std::string sys = get("system_identifier"), start = get("start_wal_file");
  const std::string seg_text = get("wal_segment_size");
  if (sys.empty() || sys.size() > 20 || sys.find_first_not_of("0123456789") != std::string::npos ||
      start.size() != 24 || !ValidateWalFileName(start).ok()) {
    return std::nullopt;
  }
  const uint64_t system_id = std::strtoull(sys.c_str(), nullptr, 10);
  uint64_t segment_size = 16u << 20;
  if (!seg_text.empty() && seg_text.size() < 12 &&
      seg_text.find_first_not_of("0123456789") == std::string::npos) {
    segment_size = std::strtoull(seg_text.c_str(), nullptr, 10);
  }
  auto archived = ListWal(repo, system_id);
  if (!archived.ok()) return std::nullopt;
  std::set<std::string> names;
  bool partial_after = false;
  for (const WalEntry& e : *archived) names.insert(e.name);
  std::vector<std::string> chain;
  for (std::string cur = start; names.count(cur); cur = NextWalSegment(cur, segment_size)) {
    chain.push_back(cur);
    if (chain.size() > (1u << 22)) break;
  }
  if (!chain.empty()) {
    const std::string next = NextWalSegment(chain.back(), segment_size) + ".";
    for (auto it = names.lower_bound(next); it != names.end() && it->rfind(next, 0) == 0; ++it) {
      partial_after = partial_after || ParseStreamPartialName(*it, nullptr, nullptr);
    }
    // LoadWal of the segment name serves its newest stream partial.
    if (partial_after) chain.push_back(next.substr(0, 24));
  }
  for (int i = 0; i < kSegmentsToRead && !chain.empty(); ++i) {
    const std::string name = chain.back();
    chain.pop_back();
    auto bytes = LoadWal(repo, system_id, name);
    if (!bytes.ok()) return std::nullopt;
    if (auto ns = LastWalRecordTime(*bytes)) return std::make_pair(*ns, name);
  }
  return std::nullopt;
}

bool HasTags(const Snapshot& s, const std::vector<std::string>& tags) {
  return std::all_of(tags.begin(), tags.end(), [&s](const std::string& t) {
    return std::find(s.tags.begin(), s.tags.end(), t) != s.tags.end();
  });
}

std::string Dur(int64_t seconds) { return seconds > 0 ? FormatDurationSeconds(seconds) : "none"; }

}  // namespace

int RunAppStatus(const GlobalOptions& global, const std::string& config_flag) {
  auto app = LoadAppConfigForCli(config_flag);
  if (!app.ok()) return ReportError(global, app.status());
  const int64_t now = NowNs();
  bool all_ok = true;

  std::vector<RepoView> repos;
  nlohmann::json jrepos = nlohmann::json::array();
  for (const RepositoryConfig& rc : app->repositories) {
    RepoView v;
    v.config = &rc;
    auto repo = OpenConfiguredRepository(global, rc);
    if (repo.ok()) {
      auto list = (*repo)->ListSnapshots();
      if (list.ok()) {
        v.snapshots = std::move(*list);
        v.repo = std::move(*repo);
      } else {
        v.error = list.status().message();
      }
    } else {
      v.error = repo.status().message();
    }
    nlohmann::json j = {{"name", rc.name}, {"url", rc.url}, {"media", rc.media}, {"site", rc.site}};
    if (v.error.empty()) {
      j["snapshots"] = v.snapshots.size();
      Say(global, fmt::format("repository {} ({}): {} snapshots, media {}, site {}", rc.name, rc.url,
                              v.snapshots.size(), rc.media, rc.site));
    } else {
      j["error"] = v.error;
      all_ok = false;
      Say(global, fmt::format("repository {} ({}): UNREADABLE: {}", rc.name, rc.url, v.error));
    }
    jrepos.push_back(j);
    repos.push_back(std::move(v));
  }

  // The newest drill report in any repository.
  const SnapshotEntry* drill = nullptr;
  for (const RepoView& v : repos) {
    for (const SnapshotEntry& e : v.snapshots) {
      if (e.snapshot.source == kDrillSource && HasTags(e.snapshot, {"app=" + app->app_name, kDrillTag}) &&
          (!drill || e.snapshot.time_ns > drill->snapshot.time_ns)) {
        drill = &e;
      }
    }
  }

  nlohmann::json jcomponents = nlohmann::json::array();
  for (const ComponentConfig* c : app->InRestoreOrder()) {
    const std::vector<std::string> tags = ComponentTags(*app, *c);
    std::vector<std::string> problems;
    // The newest recoverable point, in any of its repositories.
    const SnapshotEntry* newest = nullptr;
    RepoView* newest_in = nullptr;
    for (RepoView& v : repos) {
      for (const SnapshotEntry& e : v.snapshots) {
        if (e.snapshot.source == kDrillSource || !HasTags(e.snapshot, tags)) continue;
        if (!newest || e.snapshot.time_ns > newest->snapshot.time_ns) {
          newest = &e;
          newest_in = &v;
        }
      }
    }
    int64_t point_ns = newest ? newest->snapshot.time_ns : 0;
    std::string point_source = c->kind == "postgres"   ? "newest base backup"
                               : c->kind == "mariadb" ? "newest dump"
                                                      : "newest snapshot";
    if (newest && c->kind == "postgres" && newest_in->repo) {
      if (auto reach = ArchivedWalTime(*newest_in->repo, newest->snapshot);
          reach && reach->first > point_ns) {
        point_ns = reach->first;
        point_source = "newest archived WAL (" + reach->second + "), its last transaction";
      }
    }
    if (newest && c->kind == "mariadb" && newest_in->repo) {
      if (auto reach = ArchivedBinlogTime(*newest_in->repo, newest->snapshot);
          reach && reach->first > point_ns) {
        point_ns = reach->first;
        point_source = "newest archived binlog (" + reach->second + "), its last event";
      }
    }
    nlohmann::json jc = {{"component", c->name},
                         {"kind", c->kind},
                         {"rpo_seconds", c->rpo_seconds},
                         {"rto_seconds", c->rto_seconds},
                         {"recovery_point_source", point_source}};
    double age = -1;
    if (!newest) {
      problems.push_back("no backup yet");
    } else {
      age = static_cast<double>(now - point_ns) / 1e9;
      jc["newest"] = FormatTimeRfc3339(point_ns);
      jc["newest_snapshot_time"] = FormatTimeRfc3339(newest->snapshot.time_ns);
      jc["newest_id"] = newest->id.Hex();
      jc["age_seconds"] = age;
      if (c->rpo_seconds > 0 && age > static_cast<double>(c->rpo_seconds)) {
        problems.push_back(fmt::format("RPO breached: newest recovery point is {} old, RPO {}",
                                       FormatSeconds(age), Dur(c->rpo_seconds)));
      }
    }
    jc["rpo_met"] = newest && (c->rpo_seconds <= 0 || age <= static_cast<double>(c->rpo_seconds));

    // Copies: the repositories holding the newest point (same time: what
    // copy preserves), counted with the 3-2-1 rule.
    std::vector<CopyHolder> holders;
    nlohmann::json jcopies = nlohmann::json::array();
    for (const std::string& name : c->repositories) {
      const RepoView* v = nullptr;
      for (const RepoView& r : repos) {
        if (r.config->name == name) v = &r;
      }
      nlohmann::json j = {{"repository", name}};
      if (!v || !v->error.empty()) {
        j["error"] = v ? v->error : "unknown";
        jcopies.push_back(j);
        continue;
      }
      const SnapshotEntry* here = nullptr;
      for (const SnapshotEntry& e : v->snapshots) {
        if (e.snapshot.source == kDrillSource || !HasTags(e.snapshot, tags)) continue;
        if (!here || e.snapshot.time_ns > here->snapshot.time_ns) here = &e;
      }
      bool has_newest = here && newest && here->snapshot.time_ns == newest->snapshot.time_ns;
      j["has_newest"] = has_newest;
      if (here) j["newest"] = FormatTimeRfc3339(here->snapshot.time_ns);
      if (has_newest) holders.push_back({name, v->config->media, v->config->site});
      else problems.push_back("repository " + name + " lacks the newest recovery point");
      jcopies.push_back(j);
    }
    const Rule321Result rule = EvaluateRule321(holders);
    jc["copies"] = jcopies;
    jc["rule_321"] = {{"ok", rule.ok()}, {"copies", rule.copies}, {"missing", rule.missing}};
    for (const std::string& m : rule.missing) problems.push_back("3-2-1: " + m);

    // The last drill.
    LastDrill last;
    if (drill) last = LastDrillOf(drill->snapshot.source_info, c->name);
    const bool drilled_by_config =
        app->drill && std::find(app->drill->components.begin(), app->drill->components.end(),
                                c->name) != app->drill->components.end();
    if (last.found) {
      jc["last_drill"] = {{"time", FormatTimeRfc3339(drill->snapshot.time_ns)},
                          {"passed", last.passed},
                          {"seconds", last.seconds},
                          {"rto_met", ComponentDrill::RtoMet(last.seconds, c->rto_seconds)}};
      if (!last.passed) problems.push_back("last drill FAILED");
      else if (!ComponentDrill::RtoMet(last.seconds, c->rto_seconds)) {
        problems.push_back(fmt::format("RTO missed: last drill took {}, RTO {}",
                                       FormatSeconds(last.seconds), Dur(c->rto_seconds)));
      }
    } else if (drilled_by_config) {
      problems.push_back("RTO not proven: no drill recorded");
    }
    jc["ok"] = problems.empty();
    jc["problems"] = problems;
    all_ok = all_ok && problems.empty();
    jcomponents.push_back(jc);

    Say(global, fmt::format("\n{} ({}): {}", c->name, c->kind, problems.empty() ? "OK" : "NOT OK"));
    Say(global, newest ? fmt::format("  recovery point: {} ({} ago; RPO {}), {}",
                                     FormatLocalTime(point_ns), FormatSeconds(age),
                                     Dur(c->rpo_seconds), point_source)
                       : "  recovery point: none");
    std::string copies;
    for (const CopyHolder& h : holders) copies += (copies.empty() ? "" : ", ") + h.name;
    Say(global, fmt::format("  copies:         {} (live data + {}); 3-2-1 {}", rule.copies,
                            copies.empty() ? "none" : copies, rule.ok() ? "met" : "NOT met"));
    Say(global, last.found ? fmt::format("  last drill:     {} in {} (RTO {}) at {}",
                                         last.passed ? "passed" : "FAILED",
                                         FormatSeconds(last.seconds), Dur(c->rto_seconds),
                                         FormatLocalTime(drill->snapshot.time_ns))
                           : "  last drill:     none");
    for (const std::string& p : problems) Say(global, "  problem: " + p);
  }
  if (global.json) {
    nlohmann::json j = {{"message_type", "app_status"},
                        {"app", app->app_name},
                        {"ok", all_ok},
                        {"repositories", jrepos},
                        {"components", jcomponents}};
    if (drill) {
      j["last_drill"] = {{"time", FormatTimeRfc3339(drill->snapshot.time_ns)},
                         {"snapshot", drill->id.Hex()},
                         {"summary", drill->snapshot.source_info}};
    }
    PrintJson(j);
  } else {
    Say(global, all_ok ? "\nall objectives hold" : "\nsome objectives are NOT met");
  }
  return all_ok ? kExitOk : kExitFatal;
}

}  // namespace lifeboat
