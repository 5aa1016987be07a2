// Depth-first tree walking and path lookup over tree blobs (see tree_walk.h).
#include "restore/tree_walk.h"

#include <vector>

namespace lifeboat {
namespace {

std::string ChildPath(std::string_view base, const std::string& name) {
  std::string out;
  out.reserve(base.size() + 1 + name.size());
  out.append(base);
  out += '/';
  out += name;
  return out;
}

Status WalkRecursive(Repository& repo, const Id& tree_id, const std::string& base, const WalkFn& fn,
                     const DescendFn& descend) {
  LB_ASSIGN_OR_RETURN(Tree tree, LoadTree(repo, tree_id, base.empty() ? "/" : base));
  for (const Node& node : tree.nodes) {
    std::string path = ChildPath(base, node.name);
    LB_RETURN_IF_ERROR(fn(path, node));
    if (node.type != NodeType::kDir || !node.subtree) continue;
    if (descend && !descend(path, node)) continue;
    LB_RETURN_IF_ERROR(WalkRecursive(repo, *node.subtree, path, fn, descend));
  }
  return Status::Ok();
}

}  // namespace

Result<Tree> LoadTree(Repository& repo, const Id& tree_id, std::string_view abs_path) {
  std::string what = "tree " + tree_id.Short();
  if (!abs_path.empty()) what += " of '" + std::string(abs_path) + "'";
  auto data = repo.LoadBlob(format::BlobType::kTree, tree_id);
  if (!data.ok()) return data.status().WithContext("unable to load " + what);
  auto tree = DecodeTree(*data);
  if (!tree.ok()) return tree.status().WithContext("unable to decode " + what);
  return tree;
}

Status WalkTree(Repository& repo, const Id& root, const WalkFn& fn, const DescendFn& descend) {
  return WalkRecursive(repo, root, "", fn, descend);
}

Status WalkSubtree(Repository& repo, const Id& tree, std::string_view base_path, const WalkFn& fn,
                   const DescendFn& descend) {
  LB_ASSIGN_OR_RETURN(std::string base, CleanSnapshotPath(base_path));
  if (base == "/") base.clear();
  return WalkRecursive(repo, tree, base, fn, descend);
}

Node RootNode(const Id& root) {
  Node node;
  node.name = "/";
  node.type = NodeType::kDir;
  node.mode = 0755;
  node.subtree = root;
  return node;
}

Result<std::string> CleanSnapshotPath(std::string_view path) {
  std::string out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(pos, end - pos);
    pos = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      return InvalidArgument("invalid snapshot path '" + std::string(path) +
                             "': '..' is not allowed");
    }
    if (part.find('\0') != std::string_view::npos) {
      return InvalidArgument("invalid snapshot path: contains a NUL byte");
    }
    out += '/';
    out.append(part);
  }
  if (out.empty()) out = "/";
  return out;
}

Result<std::optional<Node>> FindNode(Repository& repo, const Id& root, std::string_view abs_path) {
  LB_ASSIGN_OR_RETURN(std::string clean, CleanSnapshotPath(abs_path));
  Node current = RootNode(root);
  if (clean == "/") return std::optional<Node>(std::move(current));
  std::string walked;
  size_t pos = 1;
  while (pos <= clean.size()) {
    size_t end = clean.find('/', pos);
    if (end == std::string::npos) end = clean.size();
    std::string name = clean.substr(pos, end - pos);
    pos = end + 1;
    if (current.type != NodeType::kDir || !current.subtree) return std::optional<Node>();
    LB_ASSIGN_OR_RETURN(Tree tree, LoadTree(repo, *current.subtree, walked.empty() ? "/" : walked));
    const Node* child = tree.Find(name);
    if (child == nullptr) return std::optional<Node>();
    current = *child;
    walked += '/';
    walked += name;
  }
  return std::optional<Node>(std::move(current));
}

}  // namespace lifeboat
