// Backend: the narrow object-store interface every repository location
// implements (local disk, memory; SFTP and S3 later). Backends store opaque
// named objects; they never see packs, keys or snapshots.
//
// Contract for every implementation (checked by the conformance suite in
// backend/backend_conformance_test_suite.h):
//  - Save makes an object visible only when it is complete (a reader never
//    sees a partial object); saving an existing name replaces it atomically.
//  - Load with length 0 reads to the end; a range past the end is an error
//    (Code::kCorrupt: the stored object is shorter than the caller expects).
//    A Load never returns fewer bytes than asked for.
//  - Missing objects are Code::kNotFound, for Load, Stat and Remove.
//  - List calls `fn` once per object of a type, in no particular order; a
//    non-OK status returned by `fn` stops the listing and is returned.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/staged_file.h"
#include "base/bytes.h"
#include "base/raw_buffer.h"
#include "base/result.h"

namespace lifeboat {

// The numeric values are bound into sealed objects (docs/FORMAT.md): append
// only (and keep FaultBackend::kTypes, sized by the last one, in step). kWal:
// archived PostgreSQL WAL files (src/walarchive), one object each.
enum class ObjectType { kConfig, kKey, kPack, kIndex, kSnapshot, kLock, kWal };

std::string_view ObjectTypeName(ObjectType type);  // "config", "keys", "data", ..., "wal"

struct ObjectName {
  ObjectType type;
  std::string name;              // for kConfig: "config"; otherwise lowercase hex usually
  std::string ToString() const;  // e.g. "data/ab12…" for messages
};

struct ObjectInfo {
  std::string name;
  uint64_t size = 0;
};

// Capability flags (never `if (type == s3)`).
struct BackendCapabilities {
  bool durable = true;  // survives process exit (false for memory)
  bool local = true;    // cheap listing and ranged reads
  // Objects may be under a retention lock (S3 Object Lock) that refuses their
  // removal until a date: ask RetainUntil before removing anything.
  bool object_lock = false;
  // Requests the store serves at once (a remote backend's connection pool:
  // s3.connections, sftp.connections). Loaders of many small objects (index
  // files, snapshots) fan out to this many threads on remote storage.
  int connections = 1;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Human-readable location for messages ("/srv/backup", "memory").
  virtual std::string Location() const = 0;
  virtual BackendCapabilities Capabilities() const = 0;

  // Prepares an empty location (directories, bucket prefix). Fails with
  // kAlreadyExists if a repository config is already present.
  virtual Status Create() = 0;

  virtual Status Save(const ObjectName& name, ByteView data) = 0;
  virtual Result<Bytes> Load(const ObjectName& name, uint64_t offset = 0, uint64_t length = 0) = 0;
  // Load into *out (its contents replaced), reusing its storage: a reader of
  // many large ranges (restore) then neither allocates nor zero-fills a
  // buffer per read. The default copies what Load returns; the local backend
  // reads straight into *out; wrappers forward it. (A whole pack loaded into
  // a reused buffer and then hashed measured 10 % slower in check
  // --read-data than a fresh zero-filled one: SHA-256 found its input cold.
  // check now hashes each piece as it arrives, LoadInPieces below.)
  virtual Status LoadInto(const ObjectName& name, uint64_t offset, uint64_t length, RawBuffer* out);
  // Loads the whole object into *out (its contents replaced), calling
  // `on_loaded(n)` whenever its first n bytes are in, so a reader can work
  // on them while they are still in the CPU's cache (check --read-data
  // hashes a local pack piece by piece: SHA-256 reads from memory ~40 %
  // slower than from cache on the benchmark VM). A failed `on_loaded` stops
  // the load and is returned; *out's contents are then unspecified. The
  // default calls LoadInto for everything and `on_loaded` once (not at all
  // for an empty object); the local backend reads in pieces; wrappers
  // forward it.
  virtual Status LoadInPieces(const ObjectName& name, RawBuffer* out,
                              const std::function<Status(size_t loaded)>& on_loaded);
  virtual Result<uint64_t> Stat(const ObjectName& name) = 0;
  virtual Status Remove(const ObjectName& name) = 0;
  virtual Status List(ObjectType type, const std::function<Status(const ObjectInfo&)>& fn) = 0;
  // The objects of `type` whose names start with `name_prefix`. The default
  // lists them all and filters; a backend that can ask its server for a
  // prefix (S3: one WAL segment among tens of thousands) overrides it, and
  // wrappers forward it.
  virtual Status ListPrefix(ObjectType type, std::string_view name_prefix,
                            const std::function<Status(const ObjectInfo&)>& fn);

  // Staging (backend/staged_file.h): a directory on the same filesystem as
  // the objects where a large object may be written piece by piece and then
  // stored by SaveStaged without copying; empty when the backend has none
  // (the caller stages in a local temporary directory instead).
  virtual std::string StagingDir() const { return {}; }
  // Stores the staged file's contents as `name`, with Save's guarantees. The
  // default maps the file and calls Save. The file is spent afterwards.
  virtual Status SaveStaged(const ObjectName& name, StagedFile& file);

  // Until when (unix seconds) `name` is protected from removal by a
  // retention lock, or nullopt when it is not locked. Only meaningful when
  // Capabilities().object_lock; the default reports no lock. kNotFound for a
  // missing object.
  virtual Result<std::optional<int64_t>> RetainUntil(const ObjectName& name);
};

// Removes `name` unless a retention lock still protects it (checked only
// when the backend has Object Lock): the retain-until time (unix seconds) of
// an object that was kept, 0 once it is removed or was already gone.
Result<int64_t> RemoveUnlessRetained(Backend& backend, const ObjectName& name, int64_t now);

// Checks that `name` is safe to store under every backend: for kConfig the name
// is "config" or empty; otherwise 1..255 characters from [0-9A-Za-z_.-], not
// starting with '.', and at least 2 characters for kPack (the local layout
// shards packs by their first two characters). kInvalidArgument otherwise.
// Every backend calls this first in Save, Load, Stat and Remove.
Status ValidateObjectName(const ObjectName& name);

// Helpers over List: the names of every object of a type, sorted; and each
// object's size by name.
Result<std::vector<std::string>> ListNames(Backend& backend, ObjectType type);
Result<std::map<std::string, uint64_t>> ListSizes(Backend& backend, ObjectType type);

// What the repository occupies: the sizes of its keys, packs, index files,
// snapshots and WAL/binlog objects added up (the config and lock files, a few
// hundred bytes, are left out). One listing of each type.
Result<uint64_t> StoredBytes(Backend& backend);

// Opens a backend from a repository URL. Today: a local path (absolute or
// relative, optionally "local:PATH"; relative paths are made absolute) and
// "memory:NAME" (process-wide and shared: every open of the same NAME sees
// the same objects; for tests). Other schemes ("s3:", "sftp:", ...) fail with
// kInvalidArgument for now.
Result<std::unique_ptr<Backend>> OpenBackend(const std::string& url);

}  // namespace lifeboat
