// LocalBackend: a repository stored in a directory of a local or mounted
// filesystem. Layout under the root (see docs/format-backend.md):
//   config, keys/NAME, data/NN/NAME (NN = first two characters of NAME),
//   index/NAME, snapshots/NAME, locks/NAME, wal/NAME (wal/ is created by the
//   first save into it in repositories made before it existed)
// Directories are created 0700 and object files 0600.
//
// Save is atomic and durable: the data goes to `<dir>/.tmp-<random>` (created
// O_EXCL), is written in full and fdatasync'ed, renamed over the final name,
// and the directory is fsync'ed. A crash leaves either the old object, the new
// one, or a stray `.tmp-*` file that List ignores; never a partial object.
//
// Ownership: holds only the root path; every call opens and closes its own
// file descriptors. Thread-safety: all methods may be called concurrently
// (from one or several processes).
#pragma once

#include <string>

#include "backend/backend.h"
#include "backend/file_util.h"

namespace lifeboat {

class LocalBackend : public Backend {
 public:
  // `root` should be absolute (OpenBackend makes it so); it need not exist
  // until Create().
  explicit LocalBackend(std::string root);

  std::string Location() const override { return root_; }
  BackendCapabilities Capabilities() const override { return {.durable = true, .local = true}; }

  // mkdir -p the root and creates the layout directories (including the 256
  // data/00..data/ff shards). Fails with kAlreadyExists if ROOT/config exists,
  // if ROOT is not a directory, or if ROOT holds anything besides layout
  // directories (so a half-finished Create may be repeated, but an unrelated
  // non-empty directory is never turned into a repository).
  Status Create() override;
  Status Save(const ObjectName& name, ByteView data) override;
  // A range past the end of the file is kCorrupt; a file that shrinks while
  // being read is kCorrupt too (never silently short data).
  Result<Bytes> Load(const ObjectName& name, uint64_t offset = 0, uint64_t length = 0) override;
  Status LoadInto(const ObjectName& name, uint64_t offset, uint64_t length,
                  RawBuffer* out) override;
  // Reads in 512 KiB pieces (a piece fits in a core's cache with room to spare).
  Status LoadInPieces(const ObjectName& name, RawBuffer* out,
                      const std::function<Status(size_t loaded)>& on_loaded) override;
  Result<uint64_t> Stat(const ObjectName& name) override;
  // Removal is not followed by a directory fsync (a resurrected object after
  // a crash is harmless: prune and lock removal tolerate it).
  Status Remove(const ObjectName& name) override;
  // Skips names starting with '.' (temporary files) and anything that is not
  // a regular file. A missing type directory is kNotFound (not a repository).
  Status List(ObjectType type, const std::function<Status(const ObjectInfo&)>& fn) override;
  // Packs are staged in ROOT/data and stored by a rename (no copy).
  std::string StagingDir() const override;
  Status SaveStaged(const ObjectName& name, StagedFile& file) override;

  // Filesystem path where `name` is (or would be) stored. Does not validate.
  std::string PathOf(const ObjectName& name) const;
  // Directory that holds objects of `name` (for kPack: the data/NN shard).
  std::string DirOf(const ObjectName& name) const;

 private:
  // Opens `name` for reading [offset, offset + n) and returns n (the rest of
  // the object when length is 0), with Load's checks.
  Result<uint64_t> OpenRange(const ObjectName& name, uint64_t offset, uint64_t length, UniqueFd* fd,
                             std::string* path);

  const std::string root_;
};

}  // namespace lifeboat
