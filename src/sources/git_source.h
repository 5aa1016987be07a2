// git as a backup source: every ref of a repository as one bundle
// (`git bundle create - --all`, streamed into the repository), and its
// restore as a working repository with every ref as a local ref and HEAD
// checked out as it was. Runs the git program (package git); paths reach
// git as arguments after -C, never through a shell.
// Thread-safety: functions start their own child processes.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace lifeboat {

struct GitRepoInfo {
  std::string path;         // absolute
  std::string head_ref;     // "refs/heads/main"; empty when HEAD is detached
  std::string head_commit;  // HEAD's commit id; empty for an unborn branch
  int refs = 0;             // for-each-ref count
};

// Looks at the repository (work tree or bare) at `path`: kNotFound if it is
// not a git repository, kInvalidArgument if it has no refs (nothing to
// bundle).
Result<GitRepoInfo> InspectGitRepo(const std::string& path);

// argv for the bundle of every ref, written to standard output.
std::vector<std::string> GitBundleCommand(const std::string& path);

// kCorrupt unless `head` starts like a git bundle ("# v2 git bundle\n" or v3).
Status CheckGitBundleHeader(const std::string& head);

// Builds a working repository at `target` (which must not exist; its parent
// must) from the bundle file: git init, fetch of refs/*:refs/*, HEAD set to
// `head_ref` (or detached at `head_commit` when head_ref is empty) and
// checked out. On failure nothing is left at `target`.
Status RestoreGitBundle(const std::string& bundle_file, const std::string& target,
                        const std::string& head_ref, const std::string& head_commit);

}  // namespace lifeboat
