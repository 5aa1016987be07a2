// Copier: copies snapshots from one repository (the source) into another (the
// destination) — `lifeboat copy`. Only data the destination lacks is stored;
// a snapshot that already has a copy there (a destination snapshot whose
// `original` is the source snapshot's id, with the same time, host and paths)
// is skipped, so a copy can be run again and again, and one killed midway
// completes on the next run without re-sending what the destination stored
// (the caller adopts unindexed packs, see Repository::AdoptUnindexedPacks).
//
// Two cases, because blob ids are keyed by the master key:
//  - same master key (destination made by `init --from-repo`): blob ids are
//    equal in both repositories; a blob is read from the source only when the
//    destination's index lacks it, and trees are copied unchanged. Data blobs
//    move in their stored form (Repository::LoadStoredBlob/SaveStoredBlob):
//    decrypted and sealed again, never decompressed and recompressed (see
//    CopyOptions::verify_blobs for the check made on the way);
//  - different master keys: every blob is read from the source and re-hashed
//    with the destination's key; trees are rewritten bottom-up with the new
//    ids. The source's chunk boundaries are kept.
// Each snapshot's data is flushed (packs and index durable) before its
// snapshot document is written.
//
// Ownership: borrows both repositories, which must outlive the Copier.
// Thread-safety: call Run from one thread (it uses a few worker threads of
// its own); progress() and Cancel() from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/id.h"
#include "base/result.h"
#include "model/node.h"
#include "repo/repository.h"

namespace lifeboat {

// A fingerprint of a repository's master key that can be compared (and
// shown) without revealing the key: its blob id of a fixed string.
Id KeyFingerprint(const Repository& repo);
bool SameMasterKey(const Repository& a, const Repository& b);

struct CopyOptions {
  bool dry_run = false;  // read and count, store nothing
  // Optional: one line per snapshot copied or skipped (human text).
  std::function<void(const std::string&)> log;
  // Same master key only: decompress every data blob and check its id before
  // storing it (different keys always do, as they re-hash). On by default:
  // see the comment on CopyData in copier.cc. (Declared last: callers
  // initialise {dry_run, log} positionally.)
  bool verify_blobs = true;
};

struct CopyProgress {
  std::atomic<uint64_t> snapshots_done{0};
  std::atomic<uint64_t> blobs_checked{0};  // blob references visited
  std::atomic<uint64_t> blobs_read{0};     // blobs loaded from the source
  std::atomic<uint64_t> bytes_read{0};     // plaintext bytes loaded from the source
  std::atomic<uint64_t> blobs_sent{0};
  std::atomic<uint64_t> bytes_sent{0};
};

struct CopiedSnapshot {
  Id source_id;
  std::optional<Id> copy_id;  // unset when skipped or in a dry run
  bool skipped = false;       // the destination already had a copy
};

struct CopyResult {
  bool same_master_key = false;
  uint64_t snapshots_copied = 0, snapshots_skipped = 0;
  uint64_t blobs_read = 0, bytes_read = 0;  // from the source
  uint64_t blobs_sent = 0;                  // stored in the destination (new there)
  uint64_t bytes_sent = 0;                  // their plaintext bytes
  uint64_t bytes_sent_stored = 0;           // as stored (compressed, encrypted)
  std::vector<CopiedSnapshot> snapshots;
};

class Copier {
 public:
  Copier(Repository& source, Repository& destination, CopyOptions options);
  Copier(const Copier&) = delete;
  Copier& operator=(const Copier&) = delete;

  // Copies `snapshots` (of the source), oldest first.
  // REQUIRES: both indexes loaded (LoadIndex). `destination_snapshots` is the
  // destination's snapshot list (to find copies made before).
  // On failure, what was flushed stays in the destination and a re-run reuses
  // it; snapshots copied before the failure are kept.
  Result<CopyResult> Run(std::vector<SnapshotEntry> snapshots,
                         const std::vector<SnapshotEntry>& destination_snapshots);

  const CopyProgress& progress() const { return progress_; }
  void Cancel() { cancelled_ = true; }

 private:
  Status CheckCancelled() const;
  // Same key: makes sure every blob below `tree` is in the destination.
  Status CopyTreeSameKey(const Id& tree);
  // Different keys: stores the rewritten tree and its blobs; returns the
  // destination id of the tree.
  Result<Id> RewriteTree(const Id& tree);
  // Ensures one blob (destination id `dst_id`, plaintext `data`) is stored.
  Status Send(format::BlobType type, const Id& dst_id, ByteView data);
  // The same for a blob in stored form (same master key).
  Status SendStored(format::BlobType type, const Id& id, const StoredBlob& blob);
  // Marks a blob as sent by this run; false if it was, or the destination has it.
  bool Claim(format::BlobType type, const Id& dst_id);
  Result<Bytes> Load(format::BlobType type, const Id& id);
  // Loads data blobs from the source and stores in the destination those it
  // lacks, several at a time; returns their destination ids, in order.
  Result<std::vector<Id>> CopyData(const std::vector<Id>& blobs);

  Repository& src_;
  Repository& dst_;
  CopyOptions options_;
  bool same_key_ = false;
  CopyProgress progress_;
  std::atomic<bool> cancelled_{false};
  uint64_t stored_before_ = 0;

  // Per run: trees already handled (same key), source → destination ids
  // (different keys), blobs stored or counted (dry run) in this run.
  std::unordered_set<Id> trees_done_;
  std::unordered_map<Id, Id> tree_map_;
  std::unordered_map<Id, Id> data_map_;
  std::mutex sent_mu_;
  std::unordered_set<Id> sent_;  // guarded by sent_mu_
};

}  // namespace lifeboat
