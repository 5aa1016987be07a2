#include "sources/git_source.h"

#include <sys/stat.h>

#include <filesystem>

#include "sources/child_process.h"

namespace lifeboat {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

ChildOptions GitOptions() {
  ChildOptions o;
  o.stdin_null = true;
  o.env["GIT_TERMINAL_PROMPT"] = "0";
  o.env["LC_ALL"] = "C";
  return o;
}

Status Git(const std::vector<std::string>& args, std::string* out = nullptr) {
  std::vector<std::string> argv = {"git"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunAndCapture(argv, GitOptions());
  if (!r.ok()) return r.status();
  if (out != nullptr) *out = std::move(*r);
  return Status::Ok();
}

}  // namespace

Result<GitRepoInfo> InspectGitRepo(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return NotFound("'" + path + "' is not a folder (a git repository)");
  }
  GitRepoInfo info;
  info.path = path;
  std::string out;
  Status is_repo = Git({"-C", path, "rev-parse", "--git-dir"}, &out);
  if (!is_repo.ok()) {
    return Status(Code::kNotFound, "'" + path + "' is not a git repository: " + is_repo.message());
  }
  LB_RETURN_IF_ERROR(Git({"-C", path, "for-each-ref", "--format=%(refname)"}, &out));
  for (char c : out) info.refs += c == '\n';
  if (info.refs == 0) {
    return Status(Code::kInvalidArgument,
                  "the git repository '" + path + "' has no refs (no commits): nothing to back up");
  }
  auto head = RunAndCollect({"git", "-C", path, "symbolic-ref", "-q", "HEAD"}, GitOptions());
  if (!head.ok()) return head.status();
  if (head->status.success()) info.head_ref = Trim(head->out);
  auto commit = RunAndCollect({"git", "-C", path, "rev-parse", "-q", "--verify", "HEAD^{commit}"},
                              GitOptions());
  if (!commit.ok()) return commit.status();
  if (commit->status.success()) info.head_commit = Trim(commit->out);
  return info;
}

std::vector<std::string> GitBundleCommand(const std::string& path) {
  return {"git", "-C", path, "bundle", "create", "-", "--all"};
}

Status CheckGitBundleHeader(const std::string& head) {
  if (head.rfind("# v2 git bundle\n", 0) == 0 || head.rfind("# v3 git bundle\n", 0) == 0) {
    return Status::Ok();
  }
  return Status(Code::kCorrupt, "git did not write a bundle (unexpected header)");
}

Status RestoreGitBundle(const std::string& bundle_file, const std::string& target,
                        const std::string& head_ref, const std::string& head_commit) {
  Status st = [&]() -> Status {
    LB_RETURN_IF_ERROR(Git({"init", "-q", target}));
    LB_RETURN_IF_ERROR(Git({"-C", target, "bundle", "verify", "-q", bundle_file}));
    LB_RETURN_IF_ERROR(Git({"-C", target, "fetch", "-q", "--update-head-ok", "--no-write-fetch-head",
                            bundle_file, "refs/*:refs/*"}));
    if (!head_ref.empty()) {
      LB_RETURN_IF_ERROR(Git({"-C", target, "symbolic-ref", "HEAD", head_ref}));
    } else if (!head_commit.empty()) {
      LB_RETURN_IF_ERROR(Git({"-C", target, "update-ref", "--no-deref", "HEAD", head_commit}));
    }
    if (!head_commit.empty()) LB_RETURN_IF_ERROR(Git({"-C", target, "reset", "-q", "--hard"}));
    return Status::Ok();
  }();
  if (!st.ok()) {
    std::error_code ec;
    std::filesystem::remove_all(target, ec);
    return st.WithContext("unable to rebuild the git repository");
  }
  return Status::Ok();
}

}  // namespace lifeboat
