#include "sources/sqlite_source.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <thread>

#include "model/tree.h"

namespace lifeboat {
namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

Status SqliteError(sqlite3* db, int rc, const std::string& action) {
  std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  Code code = Code::kIoError;
  switch (rc & 0xff) {
    case SQLITE_NOTADB: code = Code::kInvalidArgument; break;
    case SQLITE_CORRUPT: code = Code::kCorrupt; break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: code = Code::kUnavailable; break;
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_READONLY: code = Code::kPermissionDenied; break;
    case SQLITE_FULL: code = Code::kNoSpace; break;
    case SQLITE_CANTOPEN: code = Code::kNotFound; break;
    default: break;
  }
  return Status(code, action + ": " + msg);
}

Result<DbPtr> Open(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) return SqliteError(raw, rc, "unable to open '" + path + "'");
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

// The single value of a one-row query (a PRAGMA).
Result<std::string> QueryValue(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, sql);
  std::string value;
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    if (text != nullptr) value = reinterpret_cast<const char*>(text);
    rc = SQLITE_DONE;
  }
  Status st = rc == SQLITE_DONE ? Status::Ok() : SqliteError(db, rc, sql);
  sqlite3_finalize(stmt);
  if (!st.ok()) return st;
  return value;
}

std::string TempRoot() {
  const char* tmp = getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

}  // namespace

std::string SqliteVersion() { return sqlite3_libversion(); }

std::string SqliteSnapshotName(const std::string& path) {
  std::string base = path;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  size_t slash = base.find_last_of('/');
  if (slash != std::string::npos) base = base.substr(slash + 1);
  size_t dot = base.find_last_of('.');
  if (dot != std::string::npos && dot > 0) base = base.substr(0, dot);
  std::string name = base + ".db";
  return IsValidNodeName(name) ? name : "database.db";
}

SqliteCopy::~SqliteCopy() {
  if (dir_.empty()) return;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    unlink((file_ + suffix).c_str());
  }
  rmdir(dir_.c_str());
}

Result<std::unique_ptr<SqliteCopy>> CopySqliteOnline(const std::string& path,
                                                     std::chrono::milliseconds busy_timeout) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return ErrnoStatus(errno, "unable to open the SQLite database '" + path + "'");
  }
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgument("'" + path + "' is not a regular file (an SQLite database file)");
  }
  // Read-write (never create) so that a database in WAL mode opens even
  // when no other connection holds its -shm; read-only as a fallback.
  auto src = Open(path, SQLITE_OPEN_READWRITE);
  if (!src.ok()) src = Open(path, SQLITE_OPEN_READONLY);
  if (!src.ok()) return src.status();
  // SQLite's busy handler waits for the writers' locks (each attempt sleeps
  // up to 100 ms); a busy writer in rollback-journal mode can take many
  // attempts, so it gets the whole timeout.
  sqlite3_busy_timeout(src->get(),
                       static_cast<int>(std::min<int64_t>(busy_timeout.count(), INT32_MAX)));

  auto copy = std::unique_ptr<SqliteCopy>(new SqliteCopy());
  std::string templ = TempRoot() + "/lifeboat-sqlite-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    return ErrnoStatus(errno, "unable to create a temporary folder in " + TempRoot())
        .WithHint("set TMPDIR to a folder with room for one copy of the database");
  }
  copy->dir_ = templ;
  copy->file_ = templ + "/copy.db";
  int fd = open(copy->file_.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "unable to create " + copy->file_);
  close(fd);
  LB_ASSIGN_OR_RETURN(DbPtr dst, Open(copy->file_, SQLITE_OPEN_READWRITE));

  auto journal = QueryValue(src->get(), "PRAGMA journal_mode");
  if (!journal.ok()) {
    // The first read of the file: "file is not a database" shows here.
    return journal.status().WithContext("'" + path + "'");
  }
  copy->journal_mode = *journal;

  sqlite3_backup* backup = sqlite3_backup_init(dst.get(), "main", src->get(), "main");
  if (backup == nullptr) {
    return SqliteError(dst.get(), sqlite3_errcode(dst.get()), "unable to start the online backup");
  }
  const auto deadline = std::chrono::steady_clock::now() + busy_timeout;
  int rc;
  for (;;) {
    // All pages in one step: one read transaction, hence a consistent copy
    // even while writers commit (a partial step would restart on every
    // write by another connection).
    rc = sqlite3_backup_step(backup, -1);
    if (rc == SQLITE_DONE) break;
    int primary = rc & 0xff;
    if ((primary == SQLITE_BUSY || primary == SQLITE_LOCKED) &&
        std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    break;
  }
  int finish_rc = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    Status s = SqliteError(nullptr, rc, "online backup of '" + path + "' failed");
    if (s.code() == Code::kUnavailable) {
      s = s.WithHint("the database stayed locked by a writer; try again or raise the timeout");
    }
    return s;
  }
  if (finish_rc != SQLITE_OK) {
    return SqliteError(dst.get(), finish_rc, "online backup of '" + path + "' failed");
  }
  LB_ASSIGN_OR_RETURN(std::string page_size, QueryValue(dst.get(), "PRAGMA page_size"));
  LB_ASSIGN_OR_RETURN(std::string page_count, QueryValue(dst.get(), "PRAGMA page_count"));
  copy->page_size = std::atoll(page_size.c_str());
  copy->page_count = std::atoll(page_count.c_str());
  dst.reset();
  src->reset();
  Status check = SqliteCheck(copy->file_);
  if (!check.ok()) return check.WithContext("the copy of '" + path + "' is damaged");
  return copy;
}

Status SqliteCheck(const std::string& path, bool full) {
  LB_ASSIGN_OR_RETURN(DbPtr db, Open(path, SQLITE_OPEN_READWRITE));
  sqlite3_busy_timeout(db.get(), 5000);
  const char* sql = full ? "PRAGMA integrity_check(20)" : "PRAGMA quick_check(20)";
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db.get(), sql, -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db.get(), rc, std::string(sql) + " on '" + path + "'");
  std::string findings;
  int rows = 0;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    std::string line = text != nullptr ? reinterpret_cast<const char*>(text) : "";
    if (rows++ < 5) findings += (findings.empty() ? "" : "; ") + line;
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) {
    Status s = SqliteError(db.get(), rc, std::string(sql) + " on '" + path + "'");
    if (s.code() == Code::kInvalidArgument || s.code() == Code::kCorrupt) {
      return Status(Code::kCorrupt, s.message());
    }
    return s;
  }
  if (rows == 1 && findings == "ok") return Status::Ok();
  return Status(Code::kCorrupt, std::string(full ? "integrity_check" : "quick_check") +
                                    " of '" + path + "' failed: " + findings);
}

}  // namespace lifeboat
