#include "cache/repository_pack_classifier.h"

#include "repo/format.h"
#include "repo/pack.h"

namespace lifeboat {

bool RepositoryPackClassifier::IsTreePack(const std::string& name) {
  auto id = Id::FromHex(name);
  if (!id.ok()) return false;
  std::lock_guard lock(mu_);
  auto it = tree_only_.find(*id);
  if (it != tree_only_.end()) return it->second;
  // A pack the last pass did not see: look again only if the index grew,
  // so loading many blobs of unknown packs does not rescan it each time.
  if (repo_.index().pack_count() == indexed_packs_) return false;
  RebuildLocked();
  it = tree_only_.find(*id);
  return it != tree_only_.end() && it->second;
}

void RepositoryPackClassifier::RebuildLocked() {
  tree_only_.clear();
  indexed_packs_ = repo_.index().pack_count();
  repo_.index().ForEachBlob([&](const Id& pack_id, const PackedBlob& blob) {
    auto [it, inserted] = tree_only_.try_emplace(pack_id, true);
    if (blob.type != format::BlobType::kTree) it->second = false;
  });
}

bool RepositoryPackClassifier::IsTreePackData(ByteView pack) {
  if (pack.size() < format::kPackHeaderSize + format::kPackFooterSize) return false;
  auto layout =
      ReadPackLayout(repo_.keys(), pack.first(format::kPackHeaderSize), pack, pack.size());
  if (!layout.ok() || layout->blobs.empty()) return false;
  for (const PackedBlob& blob : layout->blobs) {
    if (blob.type != format::BlobType::kTree) return false;
  }
  return true;
}

CachingBackend* AttachCache(Repository& repo) {
  auto* cache = dynamic_cast<CachingBackend*>(&repo.backend());
  if (cache == nullptr) return nullptr;
  cache->SetPackClassifier(std::make_unique<RepositoryPackClassifier>(repo));
  cache->RecordRepositoryId(repo.config().id);
  // The repository owns the cache, so the callback cannot outlive it.
  repo.SetIndexLoadedCallback([cache](const MasterIndex& index) {
    cache->DropPacksNotIn([&index](const Id& pack) { return index.HasPack(pack); });
  });
  return cache;
}

}  // namespace lifeboat
