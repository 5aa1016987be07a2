#include "walarchive/wal_retention.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "walarchive/wal_archive.h"

namespace lifeboat {
namespace {

constexpr std::string_view kObjectPrefix = "pg.";

// The position part (log + segment, 16 hex digits) of a segment-based WAL
// file name, or "" for a .history file (never expired).
std::string_view Position(std::string_view wal_name) {
  if (wal_name.size() < 24 || wal_name.find(".history") != std::string_view::npos) return {};
  return wal_name.substr(8, 16);
}

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::vector<std::string> WalFilesBefore(const std::vector<std::string>& names,
                                        std::string_view keep_from) {
  std::vector<std::string> out;
  const std::string_view limit = Position(keep_from);
  if (limit.empty()) return out;
  for (const std::string& name : names) {
    const std::string_view pos = Position(name);
    if (!pos.empty() && pos < limit) out.push_back(name);
  }
  return out;
}

Result<WalRetentionPlan> PlanWalRetention(Repository& repo,
                                          const std::vector<SnapshotEntry>& snapshots) {
  // Oldest start per cluster among the retained base backups.
  std::map<uint64_t, WalRetentionCluster> clusters;
  for (const SnapshotEntry& e : snapshots) {
    if (e.snapshot.source != "postgres") continue;
    const auto& info = e.snapshot.source_info;
    auto sys = info.find("system_identifier");
    auto start = info.find("start_wal_file");
    uint64_t system_id = 0;
    if (sys == info.end() || start == info.end() ||
        !ValidateWalFileName(start->second).ok() || start->second.size() != 24 ||
        sys->second.empty() || sys->second.size() > 20 ||
        sys->second.find_first_not_of("0123456789") != std::string::npos) {
      return Corrupt("PostgreSQL snapshot " + e.id.Short() +
                     " lacks a valid system_identifier or start_wal_file: the WAL it needs "
                     "cannot be determined, so no WAL is removed");
    }
    system_id = std::stoull(sys->second);
    WalRetentionCluster& c = clusters[system_id];
    c.system_id = system_id;
    c.base_backups++;
    if (c.keep_from.empty() || Position(start->second) < Position(c.keep_from)) {
      c.keep_from = start->second;
    }
  }

  // Every archived file, by cluster.
  std::map<uint64_t, std::vector<std::pair<std::string, uint64_t>>> files;
  LB_RETURN_IF_ERROR(repo.backend().List(ObjectType::kWal, [&](const ObjectInfo& info) {
    std::string_view name = info.name;
    if (name.substr(0, kObjectPrefix.size()) != kObjectPrefix) return Status::Ok();
    name.remove_prefix(kObjectPrefix.size());
    const size_t dot = name.find('.');
    if (dot == 0 || dot == std::string_view::npos || dot > 20) return Status::Ok();
    const std::string_view id = name.substr(0, dot);
    if (id.find_first_not_of("0123456789") != std::string_view::npos) return Status::Ok();
    const std::string wal_name(name.substr(dot + 1));
    if (!ValidateWalFileName(wal_name).ok()) return Status::Ok();  // not ours: left alone
    files[std::stoull(std::string(id))].emplace_back(wal_name, info.size);
    return Status::Ok();
  }));

  WalRetentionPlan plan;
  for (auto& [system_id, list] : files) {
    WalRetentionCluster c;
    if (auto it = clusters.find(system_id); it != clusters.end()) c = it->second;
    c.system_id = system_id;
    std::vector<std::string> names;
    std::map<std::string, uint64_t> sizes;
    for (auto& [name, size] : list) {
      c.files_total++;
      c.bytes_total += size;
      names.push_back(name);
      sizes[name] = size;
    }
    if (!c.keep_from.empty()) {
      for (const std::string& wal : WalFilesBefore(names, c.keep_from)) {
        c.expire.push_back(
            {std::string(kObjectPrefix) + std::to_string(system_id) + "." + wal, sizes[wal]});
        c.bytes_expire += sizes[wal];
      }
    }
    plan.clusters.push_back(std::move(c));
  }
  return plan;
}

Status ApplyWalRetention(Repository& repo, WalRetentionPlan& plan,
                         const std::function<void(std::string_view)>& log) {
  const int64_t now = NowSeconds();
  for (const WalRetentionCluster& c : plan.clusters) {
    uint64_t deleted = 0;
    for (const WalRetentionCluster::Expired& e : c.expire) {
      const ObjectName object{ObjectType::kWal, e.object};
      LB_ASSIGN_OR_RETURN(const int64_t locked, RemoveUnlessRetained(repo.backend(), object, now));
      if (locked > 0) {
        plan.files_locked++;
        plan.locked_until = std::max(plan.locked_until, locked);
        continue;
      }
      deleted++;
      plan.bytes_deleted += e.size;
    }
    plan.files_deleted += deleted;
    if (log && deleted > 0) {
      log(fmt::format("cluster {}: removed {} WAL file(s) older than {}", c.system_id, deleted,
                      c.keep_from));
    }
  }
  return Status::Ok();
}

}  // namespace lifeboat
