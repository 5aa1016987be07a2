#include "mariadb/binlog_retention.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "mariadb/binlog_archive.h"

namespace lifeboat {
namespace {

constexpr std::string_view kObjectPrefix = "mariadb.";

bool ValidServerId(const std::string& s) {
  return !s.empty() && s.size() <= 20 && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

std::vector<std::string> BinlogFilesBefore(const std::vector<std::string>& names,
                                           std::string_view keep_from) {
  std::vector<std::string> out;
  const auto keep_seq = BinlogSequence(keep_from);
  if (!keep_seq) return out;
  const std::string base = BinlogBase(keep_from);
  for (const std::string& n : names) {
    const auto seq = BinlogSequence(n);
    if (seq && BinlogBase(n) == base && *seq < *keep_seq) out.push_back(n);
  }
  return out;
}

Result<BinlogRetentionPlan> PlanBinlogRetention(Repository& repo,
                                                const std::vector<SnapshotEntry>& snapshots) {
  std::map<uint64_t, BinlogRetentionServer> servers;
  for (const SnapshotEntry& e : snapshots) {
    if (e.snapshot.source != "mariadb") continue;
    const auto& info = e.snapshot.source_info;
    auto file = info.find("binlog_file");
    if (file == info.end() || file->second.empty()) continue;  // no binlogs needed
    auto sid = info.find("server_id");
    if (sid == info.end() || !ValidServerId(sid->second) ||
        !ValidateBinlogFileName(file->second).ok()) {
      return Corrupt("MariaDB snapshot " + e.id.Short() +
                     " lacks a valid server_id or binlog_file: the binlogs it needs cannot be "
                     "determined, so no binlog is removed");
    }
    const uint64_t server_id = std::stoull(sid->second);
    BinlogRetentionServer& s = servers[server_id];
    s.server_id = server_id;
    s.dumps++;
    if (s.keep_from.empty()) {
      s.keep_from = file->second;
    } else if (BinlogBase(file->second) == BinlogBase(s.keep_from)) {
      if (*BinlogSequence(file->second) < *BinlogSequence(s.keep_from)) s.keep_from = file->second;
    } else {
      // Dumps of one server_id with different base names: keep everything.
      s.keep_from = "?";
    }
  }

  std::map<uint64_t, std::vector<std::pair<std::string, uint64_t>>> files;
  LB_RETURN_IF_ERROR(repo.backend().List(ObjectType::kWal, [&](const ObjectInfo& info) {
    std::string_view name = info.name;
    if (name.substr(0, kObjectPrefix.size()) != kObjectPrefix) return Status::Ok();
    name.remove_prefix(kObjectPrefix.size());
    const size_t dot = name.find('.');
    if (dot == std::string_view::npos) return Status::Ok();
    const std::string id(name.substr(0, dot));
    const std::string binlog(name.substr(dot + 1));
    if (!ValidServerId(id) || !ValidateBinlogFileName(binlog).ok()) return Status::Ok();
    files[std::stoull(id)].emplace_back(binlog, info.size);
    return Status::Ok();
  }));

  BinlogRetentionPlan plan;
  for (auto& [server_id, list] : files) {
    BinlogRetentionServer s;
    if (auto it = servers.find(server_id); it != servers.end()) s = it->second;
    s.server_id = server_id;
    std::vector<std::string> names;
    std::map<std::string, uint64_t> sizes;
    for (auto& [name, size] : list) {
      s.files_total++;
      names.push_back(name);
      sizes[name] = size;
    }
    if (!s.keep_from.empty() && s.keep_from != "?") {
      for (const std::string& b : BinlogFilesBefore(names, s.keep_from)) {
        s.expire.push_back({BinlogObjectName(server_id, b), sizes[b]});
        s.bytes_expire += sizes[b];
      }
    }
    plan.servers.push_back(std::move(s));
  }
  return plan;
}

Status ApplyBinlogRetention(Repository& repo, BinlogRetentionPlan& plan,
                            const std::function<void(std::string_view)>& log) {
  const int64_t now = NowNs() / 1000000000;
  for (const BinlogRetentionServer& s : plan.servers) {
    uint64_t deleted = 0;
    for (const BinlogRetentionServer::Expired& e : s.expire) {
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
      log(fmt::format("server_id {}: removed {} binlog(s) older than {}", s.server_id, deleted,
                      s.keep_from));
    }
  }
  return Status::Ok();
}

}  // namespace lifeboat
