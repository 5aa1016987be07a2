// Checker: proves that a repository is whole — every index file, snapshot and
// tree decrypts and decodes, every blob a snapshot references is indexed in a
// pack that exists with the size the index implies, and (with read-data)
// every byte of every selected pack authenticates and hashes to its name and
// id. It reports every problem it finds as a Finding and never stops at the
// first one; only a failure that prevents checking at all (the pack or
// snapshot listing fails) is returned as a Status.
//
// The checker reads the repository through Repository::backend() and the
// keyring; it loads its own view of the index (it does not need, use or
// change Repository::index()), so it works on a repository whose index
// cannot be loaded as a whole.
//
// Thread-safety: CheckRepository may run concurrently with readers of the
// same Repository; it must not run while the repository is written to (take
// a lock first). It reads packs with `threads` threads, one pack buffer each.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/id.h"
#include "base/result.h"
#include "repo/repository.h"

namespace lifeboat {

enum class Severity {
  kError,    // damage: something a restore needs is missing or corrupt
  kWarning,  // not damage (e.g. an unreferenced pack left by an interrupted backup)
};
std::string_view SeverityName(Severity severity);  // "error", "warning"

struct Finding {
  Severity severity = Severity::kError;
  // The object concerned: "config", "keys/ab12…", "index/ab12…", "data/ab12…"
  // (a pack), "snapshot 1a2b3c4d", "tree 3c4d5e6f", "data blob 5e6f7a8b".
  std::string object;
  std::string message;
  std::string hint;              // what the user can do; may be empty
  std::string ToString() const;  // "error: object: message (hint: ...)"
};

// Which packs --read-data-subset reads. Either group `group` of `groups`
// (restic's "n/m": the packs are split into m groups by their id, and group n
// is read; running 1/m … m/m reads every pack exactly once), or a fraction of
// the packs chosen by id (deterministic: the same packs every run).
struct ReadDataSubset {
  uint32_t group = 0;     // 1-based; used when groups > 0
  uint32_t groups = 0;    // 0: fraction mode
  double fraction = 1.0;  // in (0, 1]

  bool all() const { return groups == 0 ? fraction >= 1.0 : groups == 1; }
  bool Selects(const Id& pack_id) const;
  std::string ToString() const;  // "2/5", "10%", "all"
};

// Parses "n/m" (1 ≤ n ≤ m), "x%" (0 < x ≤ 100) or a fraction "0.x" in (0, 1].
// kInvalidArgument, naming the text, otherwise.
Result<ReadDataSubset> ParseReadDataSubset(std::string_view text);

struct CheckOptions {
  bool read_data = false;           // read and verify the selected packs completely
  ReadDataSubset read_data_subset;  // which packs read_data reads (default: all)
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
};

// Updated while the check runs; read from another thread for a progress bar.
struct CheckProgress {
  std::atomic<uint64_t> packs_total{0};  // packs to read (read-data only)
  std::atomic<uint64_t> packs_done{0};
  std::atomic<uint64_t> bytes_done{0};
};

struct CheckReport {
  // Errors and warnings; read-data's findings grouped by pack, in pack order.
  std::vector<Finding> findings;
  uint64_t index_files = 0;
  uint64_t snapshots = 0;  // snapshot files seen (readable or not)
  uint64_t trees = 0;      // distinct trees checked
  uint64_t blobs = 0;      // distinct data blobs referenced by snapshots
  uint64_t packs = 0;      // packs listed in the index
  uint64_t packs_read = 0;
  uint64_t bytes_read = 0;

  bool ok() const;  // no finding of severity kError
  size_t errors() const;
  size_t warnings() const;
};

// Checks the repository's structure, and with options.read_data the content
// of the selected packs. On success the report holds every finding; a Status
// only if the repository cannot be checked at all (a listing fails).
Result<CheckReport> CheckRepository(Repository& repo, const CheckOptions& options,
                                    CheckProgress* progress = nullptr);

}  // namespace lifeboat
