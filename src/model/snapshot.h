// Snapshot: the root of one backup — when, where from, which tree, and what
// it cost. Stored as a JSON document (docs/FORMAT.md "Snapshots"), compressed
// and encrypted by the repository. Thread-safety: value type.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/id.h"
#include "base/result.h"

namespace lifeboat {

enum class BackupKind { kIncremental, kDifferential, kFull };
std::string_view BackupKindName(BackupKind kind);  // "incremental", "differential", "full"
Result<BackupKind> ParseBackupKind(std::string_view name);

struct SnapshotSummary {
  uint64_t files_new = 0, files_changed = 0, files_unmodified = 0;
  uint64_t dirs_new = 0, dirs_changed = 0, dirs_unmodified = 0;
  uint64_t files_total = 0, bytes_total = 0;  // size of the tree being backed up
  uint64_t blobs_added = 0;
  uint64_t bytes_added = 0;         // plaintext bytes of new blobs
  uint64_t bytes_added_stored = 0;  // bytes of new blobs as stored (compressed, encrypted)
  uint64_t errors = 0;              // files that could not be read
  double duration_seconds = 0;
  int64_t backup_start_ns = 0, backup_end_ns = 0;
};

struct Snapshot {
  int64_t time_ns = 0;  // when the backup started, nanoseconds since the epoch (UTC)
  std::string hostname;
  std::string username;
  uint32_t uid = 0, gid = 0;
  std::vector<std::string> paths;  // as given, made absolute
  std::vector<std::string> tags;
  Id tree;                         // root tree blob
  std::optional<Id> parent;        // snapshot this one was compared against
  std::optional<Id> original;      // for a copy (lifeboat copy): the source snapshot's id
  BackupKind kind = BackupKind::kIncremental;
  std::string source = "files";    // source kind: files, stdin, postgres, ...
  // Source details (postgres: system_identifier, start_lsn, ...); the JSON
  // object "source_info", omitted when empty. Values are never secrets.
  std::map<std::string, std::string> source_info;
  std::string program_version;
  SnapshotSummary summary;
};

std::string EncodeSnapshot(const Snapshot& snapshot);  // JSON text
Result<Snapshot> DecodeSnapshot(std::string_view json);  // kCorrupt on malformed input

}  // namespace lifeboat
