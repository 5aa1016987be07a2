// Repository: the one owner of a repository's format. Opens it with a
// password, holds the keyring, config and in-memory index, stores and loads
// blobs (through packs), sealed objects (config, index, snapshots, locks) and
// key files. Everything above it (archiver, restorer, checker, CLI) speaks
// in blobs, trees and snapshots; only this module touches the Backend.
//
// Write path: SaveBlob compresses and encrypts in the calling thread (so
// callers parallelise it), appends to one of several open packs (tree blobs
// to a pack of their own), and hands full packs to an uploader thread. Index files are written only
// after the packs they describe are stored, and Flush() returns only when everything saved so far
// is durable and indexed — the order that makes a killed backup harmless (docs/FORMAT.md "Crash
// safety").
//
// Thread-safety: LoadBlob, SaveBlob, LoadStoredBlob, SaveStoredBlob, Has* and
// the index are thread-safe;
// Flush, key and snapshot operations may run concurrently with them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "backend/backend.h"
#include "base/bounded_queue.h"
#include "chunker/chunker.h"
#include "model/snapshot.h"
#include "repo/format.h"
#include "repo/index.h"
#include "repo/key_file.h"
#include "repo/keyring.h"
#include "repo/pack.h"

namespace lifeboat {

struct RepoConfig {
  int version = format::kRepositoryVersion;
  std::string id;  // random, hex
  ChunkerParams chunker;
  int compression_level = 3;  // zstd level for blobs; 0 = store raw
  uint64_t pack_size = format::kDefaultPackSize;
  int64_t created_ns = 0;
  // Where the repository lives, for the 3-2-1 rule (lifeboat status): the
  // kind of media ("disk", "object", "tape", "cold"; empty: not recorded, as
  // in configs written before these fields — readers then assume "object"
  // for s3: locations and "disk" otherwise) and a site name ("onsite" unless
  // told; any other name counts as off-site).
  std::string media;
  std::string site = "onsite";
};

// Checks a media kind / site name as stored in the config (kInvalidArgument).
Status ValidateRepoMedia(std::string_view media);
Status ValidateRepoSite(std::string_view site);

struct InitOptions {
  ChunkerParams chunker;
  int compression_level = 3;
  uint64_t pack_size = format::kDefaultPackSize;
  std::optional<KdfParams> kdf;  // default: NewKdfParams()
  std::string media;             // RepoConfig::media ("" = not recorded)
  std::string site = "onsite";   // RepoConfig::site
  // Adopt this master key instead of a random one (init --from-repo): blob
  // ids and chunk boundaries then equal those of the repository it came from.
  std::optional<Key32> master_key;
};

struct KeyEntry {
  std::string id;
  KeyFileInfo info;
  bool current = false;  // the key this process opened the repository with
};

struct SnapshotEntry {
  Id id;
  Snapshot snapshot;
};

// A blob as stored in a pack: decrypted but not decompressed. Moves between
// repositories that share the master key without being recompressed.
struct StoredBlob {
  format::Compression compression = format::Compression::kNone;
  uint32_t raw_length = 0;  // plaintext length
  RawBuffer data;           // the zstd frame of the plaintext, or the plaintext
};

struct WriteStats {
  std::atomic<uint64_t> blobs_added{0};
  std::atomic<uint64_t> bytes_added{0};         // plaintext
  std::atomic<uint64_t> bytes_added_stored{0};  // sealed bytes in packs
  std::atomic<uint64_t> packs_written{0};
  std::atomic<uint64_t> pack_bytes_written{0};  // whole packs: header, blobs, trailer
};

class Repository {
 public:
  ~Repository();
  Repository(const Repository&) = delete;
  Repository& operator=(const Repository&) = delete;

  // Creates a new repository in an empty location. kAlreadyExists if one is there.
  static Result<std::unique_ptr<Repository>> Init(std::unique_ptr<Backend> backend,
                                                  std::string_view password,
                                                  const InitOptions& options);
  // Opens an existing repository: tries every key file. kWrongPassword if
  // none opens; kNotFound ("no repository at ...") if there is no config.
  static Result<std::unique_ptr<Repository>> Open(std::unique_ptr<Backend> backend,
                                                  std::string_view password);

  Backend& backend() { return *backend_; }
  // Threads for loading many small objects (index files, snapshots, trees):
  // on local storage the cores (the work is decryption); on remote storage
  // at least the backend's connections (the work is waiting for replies).
  size_t MetadataThreads() const;
  const RepoConfig& config() const { return config_; }
  // The size at which a pack of `type` blobs is finished: the configured pack
  // size for data; trees get small packs of their own (so a cache can hold
  // every tree by holding the tree packs).
  uint64_t PackLimit(format::BlobType type) const;
  const Keyring& keys() const { return *keys_; }
  const Chunker& chunker() const { return *chunker_; }
  Id ComputeBlobId(ByteView plaintext) const { return keys_->blob_ids().Compute(plaintext); }

  // ---- index ----
  // Reads every index file (in parallel) into the in-memory index.
  Status LoadIndex();
  const MasterIndex& index() const { return index_; }
  // Called from LoadIndex, after it succeeded, with the complete index: the
  // metadata cache drops the packs it no longer names (AttachCache). Set it
  // before LoadIndex runs; not thread-safe against a running LoadIndex.
  void SetIndexLoadedCallback(std::function<void(const MasterIndex&)> fn) {
    index_loaded_ = std::move(fn);
  }
  // Finds packs in the backend that no index lists (left by a backup that
  // was killed before writing its index), reads their trailers and indexes
  // them, so their data is reused instead of uploaded again. Packs that fail
  // to authenticate are skipped (check reports them). Returns how many packs
  // were adopted. REQUIRES: LoadIndex() was called.
  Result<size_t> AdoptUnindexedPacks();
  // Ids of the index files loaded (for prune).
  std::vector<Id> LoadedIndexFiles() const;

  // ---- blobs ----
  bool HasBlob(format::BlobType type, const Id& id) const { return index_.Has(type, id); }
  // Loads, authenticates and decompresses one blob. kNotFound if not indexed.
  Result<Bytes> LoadBlob(format::BlobType type, const Id& id);
  // Stores a blob unless it is already indexed or being stored. Returns true if
  // this call stored it. `id` must be ComputeBlobId(plaintext).
  Result<bool> SaveBlob(format::BlobType type, const Id& id, ByteView plaintext);
  // Loads and authenticates one blob in its stored form (not decompressed);
  // *out's buffer is reused. kNotFound if not indexed.
  Status LoadStoredBlob(format::BlobType type, const Id& id, StoredBlob* out);
  // Stores a blob given in stored form (a LoadStoredBlob of a repository with
  // the same master key), sealed with this repository's pack keys and with
  // the same compression and lengths in the index; the bytes are kept as
  // they are (this repository's compression level does not apply). Returns
  // true if this call stored it, as SaveBlob.
  // Always checks what is cheap: lengths, compression kind, and that a zstd
  // frame is one whole frame whose header records raw_length.
  // `verify_id`: also decompresses and checks that the plaintext's id under
  // this repository's key is `id` (kCorrupt otherwise; nothing stored).
  Result<bool> SaveStoredBlob(format::BlobType type, const Id& id, const StoredBlob& blob,
                              bool verify_id);
  // The decompress-and-hash check of SaveStoredBlob on its own.
  Status VerifyStoredBlob(const Id& id, const StoredBlob& blob) const;
  // Stores a blob of this repository in stored form again although the index
  // lists it: prune copying a used blob out of a pack it will delete. The
  // bytes stay as they are (no recompression). The caller has checked them
  // (VerifyStoredBlob) and stores each blob once; the new packs are indexed
  // like a backup's (index files written as they fill and by Flush).
  Status SaveRepackedBlob(format::BlobType type, const Id& id, const StoredBlob& blob);
  // Finishes open packs, waits for uploads, writes the index for them.
  Status Flush();
  const WriteStats& write_stats() const { return write_stats_; }

  // ---- sealed objects ----
  // Stores a sealed object named by the SHA-256 of its stored bytes.
  Result<Id> SaveObject(ObjectType type, ByteView payload);
  // Loads one; for content-addressed types verifies the name.
  Result<Bytes> LoadObject(ObjectType type, const std::string& name);
  // Writes an index file describing `packs` (used by Flush and prune).
  Result<Id> SaveIndexFile(const IndexFile& index);
  Result<IndexFile> LoadIndexFile(const Id& id);

  // ---- snapshots ----
  Result<Id> SaveSnapshot(const Snapshot& snapshot);
  Result<Snapshot> LoadSnapshot(const Id& id);
  // All snapshots, oldest first, loaded on MetadataThreads() threads.
  // Unreadable ones are reported through `on_error` (if given; called from
  // this thread, in name order) and skipped; otherwise the error of the first
  // unreadable one by name is returned.
  Result<std::vector<SnapshotEntry>> ListSnapshots(
      const std::function<void(const std::string& name, const Status&)>& on_error = nullptr);
  // "latest", a full id or a unique prefix of at least 4 hex digits.
  Result<SnapshotEntry> FindSnapshot(std::string_view ref,
                                     const std::function<bool(const Snapshot&)>& filter = nullptr);
  Status RemoveSnapshot(const Id& id);

  // ---- locks ----
  // How long RepoLock::Acquire keeps trying while another process holds a
  // conflicting lock (--retry-lock); zero: it fails at once.
  void set_lock_wait(std::chrono::seconds wait) { lock_wait_ = wait; }
  std::chrono::seconds lock_wait() const { return lock_wait_; }

  // ---- keys ----
  Result<std::vector<KeyEntry>> ListKeys();
  Result<std::string> AddKey(std::string_view password, std::optional<KdfParams> kdf = {});
  Status RemoveKey(const std::string& key_id);  // refuses the current key
  Status ChangePassword(std::string_view new_password);
  const std::string& current_key_id() const { return current_key_id_; }

 private:
  Repository(std::unique_ptr<Backend> backend, const Key32& master, RepoConfig config,
             std::string key_id);
  void StartUploader();
  void UploaderLoop();
  Status FlushIndexLocked(bool force);
  // Reserves `id` for the calling save: false if it is indexed or another
  // save has it.
  bool ReserveBlob(format::BlobType type, const Id& id);
  // Appends an encoded blob reserved by ReserveBlob to a pack.
  Status StoreEncoded(format::BlobType type, const Id& id, format::Compression compression,
                      ByteView stored, size_t raw_length);
  Result<std::unique_ptr<PackWriter>> NewPackWriter(uint64_t pack_limit);
  // Adds a blob to `writer` (created if null), finishing it first if the blob
  // would take it past `pack_limit` bytes.
  Status AddToPack(std::unique_ptr<PackWriter>& writer, uint64_t pack_limit, format::BlobType type,
                   const Id& id, format::Compression compression, ByteView stored,
                   size_t raw_length);
  Status FinishPack(std::unique_ptr<PackWriter> writer);
  // Records a pack's save outcome (and that its upload is over): indexes it,
  // or remembers the error.
  Status PackStored(FinishedPack pack, const Status& saved);
  Status UploadError() const;

  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Keyring> keys_;
  RepoConfig config_;
  std::unique_ptr<Chunker> chunker_;
  std::string current_key_id_;
  std::chrono::seconds lock_wait_{0};
  MasterIndex index_;
  std::function<void(const MasterIndex&)> index_loaded_;

  mutable std::mutex loaded_mu_;
  std::vector<Id> loaded_index_files_;

  // Write path.
  std::mutex inflight_mu_;
  std::unordered_set<Id> inflight_;  // blobs accepted by SaveBlob, not yet indexed
  std::mutex writers_mu_;
  std::condition_variable writers_cv_;
  std::vector<std::unique_ptr<PackWriter>> idle_writers_;
  size_t open_writers_ = 0;  // idle + in use
  size_t max_writers_ = 2;
  // Tree blobs go to packs of their own (docs/FORMAT.md "Tree packs"), so a
  // cache can hold every tree by holding these small packs.
  std::mutex tree_writer_mu_;
  std::unique_ptr<PackWriter> tree_writer_;
  std::string staging_dir_;  // where packs are built; empty: in memory
  std::unique_ptr<BoundedQueue<FinishedPack>> upload_queue_;
  std::vector<std::thread> uploaders_;
  mutable std::mutex pending_mu_;
  std::condition_variable pending_cv_;
  size_t uploads_in_progress_ = 0;  // packs finished but not yet stored
  IndexFile pending_index_;         // packs stored, not yet in an index file
  Status upload_error_;
  WriteStats write_stats_;
};

// Where the current user/host are taken from, for key files, locks and snapshots.
std::string LocalHostname();
std::string LocalUsername();
int64_t NowNs();

}  // namespace lifeboat
