// Backend: the narrow object-store interface every repository location
// implements (local disk, memory; SFTP and S3 later). Backends store opaque
// named objects; they never see packs, keys or snapshots.
//
// Contract for every implementation (checked by the conformance suite in
// backend/testing/):
//  - Save makes an object visible only when it is complete (a reader never
//    sees a partial object); saving an existing name replaces it atomically.
//  - Load with length 0 reads to the end; a range past the end is an error.
//  - Missing objects are Code::kNotFound, for Load, Stat and Remove.
//  - List calls `fn` once per object of a type, in no particular order; a
//    non-OK status returned by `fn` stops the listing and is returned.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace lifeboat {

enum class ObjectType { kConfig, kKey, kPack, kIndex, kSnapshot, kLock };

std::string_view ObjectTypeName(ObjectType type);  // "config", "keys", "data", ...

struct ObjectName {
  ObjectType type;
  std::string name;  // for kConfig: "config"; otherwise lowercase hex usually
  std::string ToString() const;  // e.g. "data/ab12…" for messages
};

struct ObjectInfo {
  std::string name;
  uint64_t size = 0;
};

// Capability flags (never `if (type == s3)`).
struct BackendCapabilities {
  bool durable = true;     // survives process exit (false for memory)
  bool local = true;       // cheap listing and ranged reads
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
  virtual Result<uint64_t> Stat(const ObjectName& name) = 0;
  virtual Status Remove(const ObjectName& name) = 0;
  virtual Status List(ObjectType type, const std::function<Status(const ObjectInfo&)>& fn) = 0;
};

// Opens a backend from a repository URL. Today: a local path (absolute or
// relative, optionally "local:PATH") and "memory:NAME" (process-wide, tests).
Result<std::unique_ptr<Backend>> OpenBackend(const std::string& url);

}  // namespace lifeboat
