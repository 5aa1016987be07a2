// Walking a snapshot's tree: visiting every node with its absolute path in
// the snapshot (the paths a user sees: "/srv/app/config.yml"), and finding the
// node at one path. Shared by restore, dump, ls, diff and stats.
// Trees are loaded on demand through Repository::LoadBlob (authenticated) and
// decoded with DecodeTree (untrusted input; node names are validated there).
// Nothing is cached across calls.
// Thread-safety: the functions are thread-safe as far as the Repository is
// (LoadBlob is); callbacks run on the calling thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/id.h"
#include "base/result.h"
#include "model/node.h"
#include "model/tree.h"
#include "repo/repository.h"

namespace lifeboat {

// Loads and decodes one tree blob. Errors name the tree (and `abs_path`, the
// directory it belongs to, when given).
Result<Tree> LoadTree(Repository& repo, const Id& tree_id, std::string_view abs_path = "");

// Called for every node, parents before children, siblings in tree (bytewise
// name) order. `abs_path` is "/" + the components joined by "/" (no trailing
// slash). A non-OK status stops the walk and is returned by WalkTree.
using WalkFn = std::function<Status(const std::string& abs_path, const Node& node)>;
// Optional: asked for every directory after it was visited; false skips its
// contents (e.g. an excluded directory).
using DescendFn = std::function<bool(const std::string& abs_path, const Node& node)>;

// Visits every node below the tree `root` depth-first; the root itself ("/")
// is not visited. A directory node without a subtree is visited but has no
// children.
Status WalkTree(Repository& repo, const Id& root, const WalkFn& fn,
                const DescendFn& descend = nullptr);

// Same, for the tree of the directory at `base_path` (an absolute path of the
// snapshot, e.g. "/srv"): visited paths are "/srv/...". REQUIRES: `tree` is
// the subtree of the directory at `base_path` ("" or "/" for the root).
Status WalkSubtree(Repository& repo, const Id& tree, std::string_view base_path, const WalkFn& fn,
                   const DescendFn& descend = nullptr);

// The pseudo-node standing for a snapshot's root directory "/": type kDir,
// name "/", mode 0755, subtree `root`, no other metadata.
Node RootNode(const Id& root);

// Normalises an absolute snapshot path: empty and "." components and trailing
// '/' are dropped, a missing leading '/' is added ("srv//app/" → "/srv/app",
// "" → "/"). kInvalidArgument for a ".." component or a NUL byte.
Result<std::string> CleanSnapshotPath(std::string_view path);

// The node at `abs_path` ("/" or "" → RootNode(root)), or nullopt if there is
// no such path (including a path that continues below a non-directory).
// Errors: kInvalidArgument for a malformed path (see CleanSnapshotPath);
// tree loading errors.
Result<std::optional<Node>> FindNode(Repository& repo, const Id& root, std::string_view abs_path);

}  // namespace lifeboat
