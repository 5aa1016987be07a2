// WAL archive: PostgreSQL's archived WAL files (segments, .partial segments,
// timeline .history files, .backup labels) kept in a lifeboat repository, one
// object of type ObjectType::kWal per file, named
// "pg.<system identifier>.<WAL file name>" (docs/FORMAT.md "WAL archive").
//
// Each object is a sealed object (repo/sealed_object.h: compressed, then
// encrypted and authenticated) whose payload binds it to its identity:
//
//   magic "LBW1" (4) ‖ system_identifier u64 ‖ name length u8 ‖ name ‖
//   size u64 ‖ SHA-256 of the file (32) ‖ the file's bytes
//
// (integers little-endian), so an object renamed on the server, or one
// cluster's segment passed off as another's, is refused by GetWal.
//
// Objects are write-once: PushWal never replaces an existing object (an
// identical re-push is a no-op, different content is an error), which also
// makes it safe under --append-only and without a repository lock (prune
// does not touch wal/).
//
// Thread-safety: the functions may run concurrently (different files); they
// use only Repository's thread-safe parts (backend, keys, config).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "repo/repository.h"
#include "walspool/wal_name.h"

namespace lifeboat {

// "pg.<system_id>.<wal_name>". REQUIRES: ValidateWalFileName(wal_name).ok().
std::string WalObjectName(uint64_t system_id, std::string_view wal_name);

// The decoded payload header of one archived WAL file.
struct WalHeader {
  uint64_t system_id = 0;
  std::string name;
  uint64_t size = 0;
  Id sha256;
};

// Payload encoding (exposed for tests and tools).
Bytes EncodeWalPayload(uint64_t system_id, std::string_view wal_name, ByteView contents);
// Parses and verifies a payload: the header's fields must be well formed,
// `size` must equal the bytes that follow and SHA-256 of them must match.
// On success *contents points into `payload`. kCorrupt otherwise.
Result<WalHeader> DecodeWalPayload(ByteView payload, ByteView* contents);

enum class PushOutcome {
  kStored,           // a new object was written (durably, before returning)
  kAlreadyArchived,  // an object with the same identity and hash was there
};

// Archives the file at `path` (relative paths are relative to the working
// directory) as WAL file basename(path) of cluster `system_id`.
// kInvalidArgument for a name that is not a WAL file name; kAlreadyExists
// (with a hint) when the archive holds different content under that name;
// kCorrupt when the existing object cannot be authenticated (it is never
// overwritten).
Result<PushOutcome> PushWal(Repository& repo, uint64_t system_id, const std::string& path);

// As PushWal, for contents in memory stored as WAL file `wal_name`.
Result<PushOutcome> PushWalContents(Repository& repo, uint64_t system_id,
                                    const std::string& wal_name, ByteView contents);

// kStreamPartialSuffix (streamed partial segments) is in walspool/wal_name.h.
std::string StreamPartialName(std::string_view segment, uint64_t valid_bytes);
// True for a stream partial name; fills the segment name and valid bytes.
bool ParseStreamPartialName(std::string_view name, std::string* segment, uint64_t* valid_bytes);
// The name of the longest stream partial of `segment` in the archive;
// kNotFound when there is none.
Result<std::string> NewestStreamPartial(Repository& repo, uint64_t system_id,
                                        std::string_view segment);

// Removes the stream partials of `segment` except `keep` ("" = all).
// Returns how many were removed; the first failure stops it.
Result<int> RemoveStreamPartials(Repository& repo, uint64_t system_id, std::string_view segment,
                                 std::string_view keep);

// Restores WAL file `wal_name` of cluster `system_id` to `dest`, atomically
// (a temporary file in dest's directory, fsync, rename, directory fsync;
// without the fsyncs when `durable` is false: a spool that a reboot discards).
// kNotFound when the archive does not have it (PostgreSQL asks for files
// that may not exist; a segment that is missing but has stream partials is
// restored from the longest one, zero-filled); kCorrupt when the object fails authentication or its
// header names another file, cluster, size or hash. `dest` is untouched on
// failure.
// *served_from, when given, gets the archived name the contents came from
// (a stream partial's, or wal_name itself).
Status GetWal(Repository& repo, uint64_t system_id, std::string_view wal_name,
              const std::string& dest, bool durable = true, std::string* served_from = nullptr);

// The same WAL file's contents in memory (for reading it, not replaying it).
Result<Bytes> LoadWal(Repository& repo, uint64_t system_id, std::string_view wal_name);

struct WalEntry {
  std::string name;     // the WAL file name ("000000010000000000000001")
  uint64_t stored = 0;  // bytes stored in the repository
};

// The archived WAL files of cluster `system_id`, sorted by name (which is
// timeline then position for segments). Reads only the listing.
Result<std::vector<WalEntry>> ListWal(Repository& repo, uint64_t system_id);

}  // namespace lifeboat
