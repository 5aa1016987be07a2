// Binlog archive: a MariaDB/MySQL server's closed binary log files kept in a
// lifeboat repository, one object of type ObjectType::kWal per file, named
// "mariadb.<server_id>.<binlog file name>" (docs/FORMAT.md "Binlog archive").
//
// Each object is a sealed object (repo/sealed_object.h: compressed, then
// encrypted and authenticated) whose payload binds it to its identity, like
// the WAL archive's (src/walarchive):
//
//   magic "LBB1" (4) ‖ server_id u64 ‖ name length u8 ‖ name ‖
//   size u64 ‖ SHA-256 of the file (32) ‖ the file's bytes
//
// (integers little-endian), so an object renamed in the repository, or one
// server's binlog passed off as another's, is refused by GetBinlog.
//
// Objects are write-once: PushBinlog never replaces an existing object (an
// identical re-push is a no-op, different content is an error), so it is
// safe under --append-only and without a repository lock.
//
// Thread-safety: the functions may run concurrently (different files); they
// use only Repository's thread-safe parts (backend, keys, config).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "repo/repository.h"

namespace lifeboat {

// Checks that `name` is a binlog file name: "<base>.<digits>" (at most 128
// bytes, base of [A-Za-z0-9_-] and '.', not starting with '.'), as
// SHOW BINARY LOGS lists them. kInvalidArgument otherwise.
Status ValidateBinlogFileName(std::string_view name);

// The number after the last '.' ("mariadb-bin.000012" → 12), or nullopt when
// the name is not a binlog file name.
std::optional<uint64_t> BinlogSequence(std::string_view name);
// The part before the last '.' ("mariadb-bin").
std::string BinlogBase(std::string_view name);

// "mariadb.<server_id>.<name>". REQUIRES: ValidateBinlogFileName(name).ok().
std::string BinlogObjectName(uint64_t server_id, std::string_view name);

struct BinlogHeader {
  uint64_t server_id = 0;
  std::string name;
  uint64_t size = 0;
  Id sha256;
};

// Payload encoding (exposed for tests and tools).
Bytes EncodeBinlogPayload(uint64_t server_id, std::string_view name, ByteView contents);
// Parses and verifies a payload: well-formed header, `size` equal to the
// bytes that follow, matching SHA-256. On success *contents points into
// `payload`. kCorrupt otherwise.
Result<BinlogHeader> DecodeBinlogPayload(ByteView payload, ByteView* contents);

enum class BinlogPushOutcome {
  kStored,           // a new object was written
  kAlreadyArchived,  // an object with the same identity and hash was there
};

// Archives `contents` as binlog file `name` of server `server_id`.
// kInvalidArgument for a bad name; kAlreadyExists (with a hint) when the
// archive holds different content under that name; kCorrupt when the
// existing object cannot be authenticated (it is never overwritten).
Result<BinlogPushOutcome> PushBinlog(Repository& repo, uint64_t server_id, std::string_view name,
                                     ByteView contents);

// The content of archived binlog `name` of server `server_id`, verified.
// kNotFound when the archive lacks it; kCorrupt when the object fails
// authentication or its header names another file, server, size or hash.
Result<Bytes> GetBinlog(Repository& repo, uint64_t server_id, std::string_view name);

struct BinlogEntry {
  std::string name;     // "mariadb-bin.000012"
  uint64_t stored = 0;  // bytes stored in the repository
};

// The archived binlogs of server `server_id`, sorted by base name then
// sequence number. Reads only the listing.
Result<std::vector<BinlogEntry>> ListBinlogs(Repository& repo, uint64_t server_id);

// The files a replay from (start_file) to the end needs, from the sorted
// archive listing: start_file and every later file of the same base name
// with consecutive sequence numbers. kNotFound (naming the file) when
// start_file is not archived; a gap is kNotFound too, naming the first
// missing file, unless it lies after `last_needed` (when given: files after
// it are not returned).
Result<std::vector<std::string>> BinlogReplayChain(const std::vector<BinlogEntry>& archived,
                                                   std::string_view start_file,
                                                   std::optional<std::string> last_needed);

}  // namespace lifeboat
