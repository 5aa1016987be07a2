// SQLite as a backup source: a consistent copy of a live database taken with
// SQLite's online backup API (one read transaction, so writers in WAL mode
// carry on and writers in rollback-journal mode wait at most one step),
// written into a private temporary folder and checked with
// PRAGMA quick_check before anything is stored.
//
// SqliteCopy owns the temporary folder (mode 0700 under $TMPDIR) and removes
// it with everything in it when destroyed.
// Thread-safety: none needed; each call opens its own connections.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"

namespace lifeboat {

class SqliteCopy;

// Copies the database at `path` (which must exist: it is never created).
// SQLITE_BUSY / SQLITE_LOCKED are retried until `busy_timeout` has passed.
// Errors: kNotFound (no such file), kInvalidArgument (not a database),
// kUnavailable (still busy after the timeout), kCorrupt (the copy fails
// quick_check; nothing is stored).
Result<std::unique_ptr<SqliteCopy>> CopySqliteOnline(
    const std::string& path, std::chrono::milliseconds busy_timeout = std::chrono::minutes(2));

class SqliteCopy {
 public:
  ~SqliteCopy();
  SqliteCopy(const SqliteCopy&) = delete;
  SqliteCopy& operator=(const SqliteCopy&) = delete;

  const std::string& file() const { return file_; }  // the consistent copy
  int64_t page_size = 0;
  int64_t page_count = 0;
  std::string journal_mode;  // of the source ("wal", "delete", ...)

 private:
  friend Result<std::unique_ptr<SqliteCopy>> CopySqliteOnline(const std::string&,
                                                              std::chrono::milliseconds);
  SqliteCopy() = default;
  std::string dir_, file_;
};

// Runs PRAGMA quick_check (or integrity_check when `full`) on the database
// file at `path` (opened read-write but not created, so a database in WAL
// mode can be opened). kCorrupt with SQLite's first findings on failure.
Status SqliteCheck(const std::string& path, bool full = false);

// The version of the SQLite library in use ("3.40.1").
std::string SqliteVersion();

// The file name a database is stored under: the base name without its last
// extension, plus ".db" ("/srv/app/data.sqlite3" → "data.db").
std::string SqliteSnapshotName(const std::string& path);

}  // namespace lifeboat
