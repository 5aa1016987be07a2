// Read-only views of snapshots: ls, diff, stats and dump.
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "cli/commands.h"
#include "cli/snapshot_filter.h"
#include "model/time_format.h"
#include "restore/dump.h"
#include "restore/tree_walk.h"

namespace lifeboat {
namespace {

std::string ModeString(const Node& n) {
  char type = '-';
  switch (n.type) {
    case NodeType::kDir: type = 'd'; break;
    case NodeType::kSymlink: type = 'l'; break;
    case NodeType::kBlockDev: type = 'b'; break;
    case NodeType::kCharDev: type = 'c'; break;
    case NodeType::kFifo: type = 'p'; break;
    case NodeType::kSocket: type = 's'; break;
    default: break;
  }
  std::string s(1, type);
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) s += (n.mode & (0400 >> i)) ? rwx[i] : '-';
  if (n.mode & 04000) s[3] = (n.mode & 0100) ? 's' : 'S';
  if (n.mode & 02000) s[6] = (n.mode & 0010) ? 's' : 'S';
  if (n.mode & 01000) s[9] = (n.mode & 0001) ? 't' : 'T';
  return s;
}

nlohmann::json NodeJson(const std::string& path, const Node& n) {
  nlohmann::json j = {{"path", path},         {"name", n.name},
                      {"type", std::string(NodeTypeName(n.type))},
                      {"mode", n.mode},       {"uid", n.uid},
                      {"gid", n.gid},         {"user", n.user},
                      {"group", n.group},     {"size", n.size},
                      {"mtime", FormatTimeRfc3339(n.mtime_ns)}};
  if (n.type == NodeType::kSymlink) j["link_target"] = n.link_target;
  return j;
}

struct OpenedSnapshot {
  std::unique_ptr<Repository> repo;
  SnapshotEntry snap;
};

Result<OpenedSnapshot> OpenSnapshot(const GlobalOptions& global, const std::string& ref,
                                    const SnapshotFilterOptions& filter) {
  LB_ASSIGN_OR_RETURN(auto repo, OpenRepository(global));
  LB_RETURN_IF_ERROR(repo->LoadIndex());
  LB_ASSIGN_OR_RETURN(SnapshotEntry snap, ResolveSnapshot(*repo, ref, filter));
  return OpenedSnapshot{std::move(repo), std::move(snap)};
}

// ---------------------------------------------------------------- ls

int RunLs(const GlobalOptions& global, const std::string& ref, const std::string& path, bool longf,
          const SnapshotFilterOptions& filter) {
  auto opened = OpenSnapshot(global, ref, filter);
  if (!opened.ok()) return ReportError(global, opened.status());
  Repository& repo = *opened->repo;
  const Id root = opened->snap.snapshot.tree;
  auto clean = CleanSnapshotPath(path.empty() ? "/" : path);
  if (!clean.ok()) return ReportError(global, clean.status());
  auto node = FindNode(repo, root, *clean);
  if (!node.ok()) return ReportError(global, node.status());
  if (!*node) return ReportError(global, NotFound("'" + *clean + "' is not in snapshot " + opened->snap.id.Short()));
  auto print = [&](const std::string& p, const Node& n) {
    if (global.json) {
      PrintJson(NodeJson(p, n));
    } else if (longf) {
      Say(global, fmt::format("{} {:>8} {:>8} {:>12} {} {}{}", ModeString(n),
                              n.user.empty() ? std::to_string(n.uid) : n.user,
                              n.group.empty() ? std::to_string(n.gid) : n.group, n.size,
                              FormatLocalTime(n.mtime_ns), p,
                              n.type == NodeType::kSymlink ? " -> " + n.link_target : ""));
    } else {
      Say(global, p);
    }
    return Status::Ok();
  };
  if (*clean != "/") print(*clean, **node).IgnoreError();
  if ((*node)->type == NodeType::kDir && (*node)->subtree) {
    Status s = WalkSubtree(repo, *(*node)->subtree, *clean, print);
    if (!s.ok()) return ReportError(global, s);
  }
  return kExitOk;
}

// ---------------------------------------------------------------- diff

struct DiffStats {
  uint64_t added = 0, removed = 0, changed = 0, metadata = 0;
  std::unordered_set<Id> blobs_a, blobs_b;
};

Status DiffTrees(Repository& repo, const std::optional<Id>& a, const std::optional<Id>& b,
                 const std::string& base, const GlobalOptions& global, DiffStats* st);

void Report(const GlobalOptions& global, char mod, const std::string& path) {
  if (global.json) {
    PrintJson({{"message_type", "change"}, {"path", path}, {"modifier", std::string(1, mod)}});
  } else {
    Say(global, fmt::format("{}    {}", mod, path));
  }
}

Status CollectAll(Repository& repo, const Node& n, const std::string& path, char mod,
                  const GlobalOptions& global, DiffStats* st) {
  Report(global, mod, path + (n.type == NodeType::kDir ? "/" : ""));
  auto& blobs = mod == '+' ? st->blobs_b : st->blobs_a;
  (mod == '+' ? st->added : st->removed)++;
  for (const Id& id : n.content) blobs.insert(id);
  if (n.type == NodeType::kDir && n.subtree) {
    return WalkSubtree(repo, *n.subtree, path, [&](const std::string& p, const Node& c) {
      Report(global, mod, p + (c.type == NodeType::kDir ? "/" : ""));
      (mod == '+' ? st->added : st->removed)++;
      for (const Id& id : c.content) blobs.insert(id);
      return Status::Ok();
    });
  }
  return Status::Ok();
}

Status DiffTrees(Repository& repo, const std::optional<Id>& a, const std::optional<Id>& b,
                 const std::string& base, const GlobalOptions& global, DiffStats* st) {
  if (a && b && *a == *b) return Status::Ok();  // identical subtrees: nothing below differs
  Tree ta, tb;
  if (a) {
    LB_ASSIGN_OR_RETURN(ta, LoadTree(repo, *a, base));
  }
  if (b) {
    LB_ASSIGN_OR_RETURN(tb, LoadTree(repo, *b, base));
  }
  size_t i = 0, j = 0;
  auto child = [&](const std::string& name) { return base == "/" ? "/" + name : base + "/" + name; };
  while (i < ta.nodes.size() || j < tb.nodes.size()) {
    int cmp = i == ta.nodes.size()   ? 1
              : j == tb.nodes.size() ? -1
                                     : ta.nodes[i].name.compare(tb.nodes[j].name);
    if (cmp < 0) {
      LB_RETURN_IF_ERROR(CollectAll(repo, ta.nodes[i], child(ta.nodes[i].name), '-', global, st));
      ++i;
    } else if (cmp > 0) {
      LB_RETURN_IF_ERROR(CollectAll(repo, tb.nodes[j], child(tb.nodes[j].name), '+', global, st));
      ++j;
    } else {
      const Node& x = ta.nodes[i];
      const Node& y = tb.nodes[j];
      std::string path = child(x.name);
      if (x.type != y.type) {
        Report(global, 'T', path);
        st->changed++;
      } else if (x.type == NodeType::kDir) {
        LB_RETURN_IF_ERROR(DiffTrees(repo, x.subtree, y.subtree, path, global, st));
      } else if (x.content != y.content || x.link_target != y.link_target || x.rdev != y.rdev) {
        Report(global, 'M', path);
        st->changed++;
        for (const Id& id : x.content) st->blobs_a.insert(id);
        for (const Id& id : y.content) st->blobs_b.insert(id);
      } else if (x.mode != y.mode || x.uid != y.uid || x.gid != y.gid || x.mtime_ns != y.mtime_ns ||
                 x.xattrs != y.xattrs) {
        Report(global, 'U', path);
        st->metadata++;
      }
      ++i;
      ++j;
    }
  }
  return Status::Ok();
}

int RunDiff(const GlobalOptions& global, const std::string& ref_a, const std::string& ref_b) {
  auto repo = OpenRepository(global);
  if (!repo.ok()) return ReportError(global, repo.status());
  if (Status s = (*repo)->LoadIndex(); !s.ok()) return ReportError(global, s);
  auto a = (*repo)->FindSnapshot(ref_a);
  if (!a.ok()) return ReportError(global, a.status());
  auto b = (*repo)->FindSnapshot(ref_b);
  if (!b.ok()) return ReportError(global, b.status());
  Say(global, "comparing snapshot " + a->id.Short() + " to " + b->id.Short() + ":\n");
  DiffStats st;
  Status s = DiffTrees(**repo, a->snapshot.tree, b->snapshot.tree, "/", global, &st);
  if (!s.ok()) return ReportError(global, s);
  uint64_t bytes_added = 0, bytes_removed = 0;
  for (const Id& id : st.blobs_b) {
    if (st.blobs_a.count(id)) continue;
    if (auto loc = (*repo)->index().Find(format::BlobType::kData, id)) bytes_added += loc->blob.raw_length;
  }
  for (const Id& id : st.blobs_a) {
    if (st.blobs_b.count(id)) continue;
    if (auto loc = (*repo)->index().Find(format::BlobType::kData, id)) bytes_removed += loc->blob.raw_length;
  }
  if (global.json) {
    PrintJson({{"message_type", "statistics"},
               {"source_snapshot", a->id.Hex()},
               {"target_snapshot", b->id.Hex()},
               {"added", st.added},
               {"removed", st.removed},
               {"changed", st.changed},
               {"metadata_changed", st.metadata},
               {"data_added", bytes_added},
               {"data_removed", bytes_removed}});
  } else {
    Say(global, fmt::format("\nadded: {} items, removed: {} items, changed: {} files, metadata only: {}",
                            st.added, st.removed, st.changed, st.metadata));
    Say(global, fmt::format("data added: {}, data removed: {}", FormatBytes(bytes_added),
                            FormatBytes(bytes_removed)));
  }
  return kExitOk;
}

// ---------------------------------------------------------------- stats

struct TreeTotals {
  uint64_t files = 0, bytes = 0;
};

// Sums file sizes below a tree (memoised per tree: unchanged directories are
// shared between snapshots) and collects the blobs it references.
Result<TreeTotals> SumTree(Repository& repo, const Id& id, std::unordered_map<Id, TreeTotals>* memo,
                           std::unordered_set<Id>* data_blobs, std::unordered_set<Id>* tree_blobs) {
  if (auto it = memo->find(id); it != memo->end()) return it->second;
  LB_ASSIGN_OR_RETURN(Tree tree, LoadTree(repo, id));
  tree_blobs->insert(id);
  TreeTotals t;
  for (const Node& n : tree.nodes) {
    if (n.type == NodeType::kFile) {
      t.files++;
      t.bytes += n.size;
      data_blobs->insert(n.content.begin(), n.content.end());
    } else if (n.type == NodeType::kDir && n.subtree) {
      LB_ASSIGN_OR_RETURN(TreeTotals sub, SumTree(repo, *n.subtree, memo, data_blobs, tree_blobs));
      t.files += sub.files;
      t.bytes += sub.bytes;
    }
  }
  memo->emplace(id, t);
  return t;
}

int RunStats(const GlobalOptions& global, const std::vector<std::string>& refs,
             const SnapshotFilterOptions& filter) {
  auto repo_or = OpenRepository(global);
  if (!repo_or.ok()) return ReportError(global, repo_or.status());
  Repository& repo = **repo_or;
  if (Status s = repo.LoadIndex(); !s.ok()) return ReportError(global, s);
  std::vector<SnapshotEntry> snaps;
  if (refs.empty()) {
    auto all = repo.ListSnapshots();
    if (!all.ok()) return ReportError(global, all.status());
    for (auto& e : *all)
      if (MatchesFilter(filter, e.snapshot)) snaps.push_back(e);
  } else {
    for (const std::string& r : refs) {
      auto e = ResolveSnapshot(repo, r, filter);
      if (!e.ok()) return ReportError(global, e.status());
      snaps.push_back(*e);
    }
  }
  std::unordered_map<Id, TreeTotals> memo;
  std::unordered_set<Id> data_blobs, tree_blobs;
  uint64_t restore_files = 0, restore_bytes = 0;
  for (const SnapshotEntry& e : snaps) {
    auto t = SumTree(repo, e.snapshot.tree, &memo, &data_blobs, &tree_blobs);
    if (!t.ok()) return ReportError(global, t.status().WithContext("snapshot " + e.id.Short()));
    restore_files += t->files;
    restore_bytes += t->bytes;
  }
  uint64_t dedup_bytes = 0, stored_bytes = 0, missing = 0;
  for (const Id& id : data_blobs) {
    auto loc = repo.index().Find(format::BlobType::kData, id);
    if (!loc) {
      ++missing;
      continue;
    }
    dedup_bytes += loc->blob.raw_length;
    stored_bytes += loc->blob.length;
  }
  for (const Id& id : tree_blobs) {
    if (auto loc = repo.index().Find(format::BlobType::kTree, id)) stored_bytes += loc->blob.length;
  }
  uint64_t repo_bytes = 0, packs = 0;
  repo.backend().List(ObjectType::kPack, [&](const ObjectInfo& o) {
    repo_bytes += o.size;
    ++packs;
    return Status::Ok();
  }).IgnoreError();
  double ratio = stored_bytes ? static_cast<double>(dedup_bytes) / static_cast<double>(stored_bytes) : 1.0;
  double dedup_ratio = dedup_bytes ? static_cast<double>(restore_bytes) / static_cast<double>(dedup_bytes) : 1.0;
  if (global.json) {
    PrintJson({{"snapshots_count", snaps.size()},
               {"total_file_count", restore_files},
               {"total_size", restore_bytes},
               {"total_uncompressed_size", dedup_bytes},
               {"total_blob_count", data_blobs.size() + tree_blobs.size()},
               {"total_stored_size", stored_bytes},
               {"compression_ratio", ratio},
               {"deduplication_ratio", dedup_ratio},
               {"repository_size", repo_bytes},
               {"pack_count", packs},
               {"index_memory_bytes", repo.index().MemoryBytes()},
               {"missing_blobs", missing}});
  } else {
    Say(global, fmt::format("snapshots:            {}", snaps.size()));
    Say(global, fmt::format("restore size:         {} in {} files", FormatBytes(restore_bytes), restore_files));
    Say(global, fmt::format("deduplicated size:    {} ({} data blobs, {} trees; {:.2f}x deduplication)",
                            FormatBytes(dedup_bytes), data_blobs.size(), tree_blobs.size(), dedup_ratio));
    Say(global, fmt::format("stored size:          {} (compression ratio {:.2f}x)", FormatBytes(stored_bytes), ratio));
    Say(global, fmt::format("repository size:      {} in {} packs", FormatBytes(repo_bytes), packs));
    if (missing) Say(global, fmt::format("missing blobs:        {} (run 'lifeboat check')", missing));
  }
  return missing ? kExitFatal : kExitOk;
}

}  // namespace

void RegisterInspect(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  struct Opts {
    std::string snapshot, path, other;
    bool longf = false;
    std::vector<std::string> refs;
    SnapshotFilterOptions filter;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* ls = app.add_subcommand("ls", "list the files in a snapshot");
  ls->add_option("snapshot", o->snapshot, "snapshot id or 'latest'")->required();
  ls->add_option("path", o->path, "list only this path and what is below it");
  ls->add_flag("-l,--long", o->longf, "show mode, owner, size and time");
  AddSnapshotFilterOptions(ls, &o->filter);
  ls->callback([&global, o, selected] {
    *selected = [&global, o] { return RunLs(global, o->snapshot, o->path, o->longf, o->filter); };
  });

  CLI::App* diff = app.add_subcommand("diff", "show what changed between two snapshots");
  diff->add_option("snapshot-a", o->snapshot, "older snapshot")->required();
  diff->add_option("snapshot-b", o->other, "newer snapshot")->required();
  diff->callback([&global, o, selected] {
    *selected = [&global, o] { return RunDiff(global, o->snapshot, o->other); };
  });

  CLI::App* stats = app.add_subcommand("stats", "sizes: restore size, deduplicated, stored, compression");
  stats->add_option("snapshots", o->refs, "snapshots to count (default: all)");
  AddSnapshotFilterOptions(stats, &o->filter);
  stats->callback([&global, o, selected] {
    *selected = [&global, o] { return RunStats(global, o->refs, o->filter); };
  });

  CLI::App* dump = app.add_subcommand("dump", "write a file, or a folder as tar, to standard output");
  dump->add_option("snapshot", o->snapshot, "snapshot id or 'latest'")->required();
  dump->add_option("path", o->path, "path in the snapshot ('/' for everything)")->required();
  AddSnapshotFilterOptions(dump, &o->filter);
  dump->callback([&global, o, selected] {
    *selected = [&global, o]() -> int {
      auto opened = OpenSnapshot(global, o->snapshot, o->filter);
      if (!opened.ok()) return ReportError(global, opened.status());
      Status s = DumpTar(*opened->repo, opened->snap.snapshot.tree, o->path, STDOUT_FILENO);
      if (!s.ok()) return ReportError(global, s);
      return kExitOk;
    };
  });
}

}  // namespace lifeboat
