// lifeboat cache: lists the metadata caches of remote repositories (one
// directory per repository under the cache root: repository id, size, last
// use) and, with --cleanup, deletes those not used for --max-unused-days
// days, as restic's `cache --cleanup` does. Needs no repository or password.
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "cache/cache_dirs.h"
#include "cli/commands.h"
#include "repo/repository.h"

namespace lifeboat {
namespace {

struct CacheOpts {
  bool cleanup = false;
  int max_unused_days = 30;
  bool no_size = false;
};

nlohmann::json ToJson(const CacheDirInfo& c, bool with_size) {
  nlohmann::json j = {{"name", c.name},
                      {"path", c.path},
                      {"repository_id", c.repository_id},
                      {"last_used_ns", c.last_used_ns}};
  if (with_size) j["size"] = c.size;
  return j;
}

int RunCache(const GlobalOptions& global, const CacheOpts& o) {
  const std::string root = CacheRoot(global);
  if (root.empty()) {
    return ReportError(global, Status(Code::kInvalidArgument, "no cache directory",
                                      "set --cache-dir / LIFEBOAT_CACHE_DIR, or HOME"));
  }
  const int64_t now = NowNs();
  if (o.cleanup) {
    auto removed = RemoveUnusedCacheDirs(root, o.max_unused_days, now);
    if (!removed.ok()) return ReportError(global, removed.status());
    uint64_t freed = 0;
    for (const CacheDirInfo& c : *removed) freed += c.size;
    if (global.json) {
      nlohmann::json list = nlohmann::json::array();
      for (const CacheDirInfo& c : *removed) list.push_back(ToJson(c, true));
      PrintJson({{"message_type", "cache_cleanup"},
                 {"root", root},
                 {"removed", list},
                 {"bytes_freed", freed}});
      return kExitOk;
    }
    for (const CacheDirInfo& c : *removed) {
      Say(global, fmt::format("removed {} ({}, last used {})", c.name, FormatBytes(c.size),
                              FormatLocalTime(c.last_used_ns)));
    }
    Say(global, fmt::format("removed {} cache(s) not used for more than {} day(s), {} freed",
                            removed->size(), o.max_unused_days, FormatBytes(freed)));
    return kExitOk;
  }

  auto dirs = ListCacheDirs(root, !o.no_size);
  if (!dirs.ok()) return ReportError(global, dirs.status());
  if (global.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const CacheDirInfo& c : *dirs) list.push_back(ToJson(c, !o.no_size));
    PrintJson(list);
    return kExitOk;
  }
  Say(global, "cache directory: " + root);
  if (dirs->empty()) {
    Say(global, "no repository caches");
    return kExitOk;
  }
  Say(global, fmt::format("{:<32}  {:<32}  {:>12}  {}", "cache", "repository id",
                          o.no_size ? "" : "size", "last used"));
  size_t old = 0;
  for (const CacheDirInfo& c : *dirs) {
    const bool unused = CacheUnusedFor(c.last_used_ns, now, o.max_unused_days);
    old += unused;
    Say(global, fmt::format("{:<32}  {:<32}  {:>12}  {}{}", c.name,
                            c.repository_id.empty() ? "?" : c.repository_id,
                            o.no_size ? "" : FormatBytes(c.size), FormatLocalTime(c.last_used_ns),
                            unused ? "  old" : ""));
  }
  if (old > 0) {
    Say(global, fmt::format("{} cache(s) not used for more than {} day(s): remove them with "
                            "'lifeboat cache --cleanup'",
                            old, o.max_unused_days));
  }
  return kExitOk;
}

}  // namespace

void RegisterCache(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  auto o = std::make_shared<CacheOpts>();
  CLI::App* cmd = app.add_subcommand(
      "cache", "list the local metadata caches of remote repositories, or clean up old ones");
  cmd->add_flag("--cleanup", o->cleanup, "delete caches not used for --max-unused-days days");
  cmd->add_option("--max-unused-days", o->max_unused_days,
                  "with --cleanup: age, in days since last use, of the caches to delete")
      ->default_val(30)
      ->check(CLI::Range(0, 36500));
  cmd->add_flag("--no-size", o->no_size, "do not compute the size of each cache (faster)");
  cmd->callback(
      [&global, o, selected] { *selected = [&global, o] { return RunCache(global, *o); }; });
}

}  // namespace lifeboat
