// RepositoryPackClassifier: the PackClassifier that answers from a
// repository: its index for packs already stored, and its keys (to read a
// pack's trailer) for packs being stored. AttachCache wires it up.
// Ownership: refers to the repository, which must outlive it (the repository
// owns the CachingBackend that owns the classifier, so it does).
// Thread-safety: thread-safe.
#pragma once

#include <mutex>
#include <unordered_map>

#include "cache/caching_backend.h"
#include "repo/repository.h"

namespace lifeboat {

class RepositoryPackClassifier final : public PackClassifier {
 public:
  explicit RepositoryPackClassifier(const Repository& repo) : repo_(repo) {}

  // True if every blob the index lists in the pack is a tree. The answer for
  // packs added to the index later is computed again when asked.
  bool IsTreePack(const std::string& name) override;
  // Reads and authenticates the pack's trailer; true if it lists only trees.
  bool IsTreePackData(ByteView pack) override;

 private:
  void RebuildLocked();

  const Repository& repo_;
  std::mutex mu_;
  std::unordered_map<Id, bool> tree_only_;  // pack -> holds only trees
  size_t indexed_packs_ = 0;                // index pack count when built
};

// If `repo` was opened on a CachingBackend, lets the cache keep tree packs,
// records the repository's id in the cache directory, and trims the cache
// after every LoadIndex: cached packs the index no longer names (removed by
// a prune elsewhere) are deleted (CachingBackend::DropPacksNotIn). Call
// after Repository::Init/Open and before LoadIndex. Returns the cache, or
// null if the repository's backend is not one.
CachingBackend* AttachCache(Repository& repo);

}  // namespace lifeboat
