// A physical replication connection to PostgreSQL (libpq, replication=true)
// and the BASE_BACKUP command of PostgreSQL 15's protocol: one COPY stream
// whose CopyData messages start with a type byte — 'n' new archive (name,
// tablespace location), 'd' archive or manifest data, 'p' progress (int64),
// 'm' the manifest follows. Archives are tar streams without the two
// end-of-archive blocks.
//
// Connection details come from libpq's environment and service files
// (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSERVICE, ~/.pgpass) plus an optional
// conninfo string; passwords never appear in messages or in Describe().
// Thread-safety: one thread per connection.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

struct pg_conn;

namespace lifeboat {

struct PgSystem {
  std::string system_identifier;
  uint32_t timeline = 0;
  std::string xlogpos;
  int server_version_num = 0;  // 150004
  std::string server_version;  // "15.4 (Debian ...)"
  std::string data_directory;  // empty if the role may not read it
  uint64_t wal_segment_size = 16 << 20;
};

struct BaseBackupOptions {
  std::string label = "lifeboat";
  bool fast_checkpoint = true;
  bool include_wal = true;  // WAL + WAIT: the backup is consistent on its own
  bool manifest = true;
  bool progress = true;  // the server estimates sizes first (for a percentage)
};

struct PgTablespace {
  std::string oid;       // empty for the main data directory
  std::string location;  // empty for the main data directory
  int64_t size_kb = -1;  // -1 unless options.progress
};

struct BaseBackupStart {
  std::string start_lsn;
  uint32_t start_timeline = 0;
  std::vector<PgTablespace> tablespaces;
};

// Receives a base backup as it streams. Errors stop the backup.
class BaseBackupSink {
 public:
  virtual ~BaseBackupSink() = default;
  virtual Status OnStart(const BaseBackupStart& start) = 0;
  // A new archive: "base.tar" for the data directory, "<oid>.tar" for a
  // tablespace at `location`.
  virtual Status OnArchive(const std::string& name, const std::string& location) = 0;
  virtual Status OnArchiveData(ByteView data) = 0;
  virtual Status OnManifestData(ByteView data) = 0;  // after the archives
  virtual void OnProgress(uint64_t bytes_done) = 0;
};

struct BaseBackupEnd {
  std::string stop_lsn;
  uint32_t stop_timeline = 0;
};

class PgReplicationConnection {
 public:
  // Connects with replication=true. `conninfo` may be empty (environment
  // only) or a libpq connection string/URI. Unreachable or refused:
  // kUnavailable naming host and port; authentication: kPermissionDenied.
  static Result<std::unique_ptr<PgReplicationConnection>> Connect(const std::string& conninfo);
  ~PgReplicationConnection();

  // "postgres://HOST:PORT" of the server connected to (never a password).
  std::string Describe() const;

  // IDENTIFY_SYSTEM plus the server's version and settings. kUnsupported for
  // servers older than PostgreSQL 15, naming the version.
  Result<PgSystem> IdentifySystem();

  // Runs BASE_BACKUP and streams it into `sink`.
  Result<BaseBackupEnd> BaseBackup(const BaseBackupOptions& options, BaseBackupSink& sink);

  // ---- WAL streaming (postgres stream-wal) ----
  // CREATE_REPLICATION_SLOT slot PHYSICAL RESERVE_WAL. A slot that exists
  // already is fine (*existed = true). REQUIRES: ValidateSlotName(slot).
  Status CreatePhysicalSlot(const std::string& slot, bool* existed);
  // READ_REPLICATION_SLOT: the slot's restart position and its timeline.
  // kNotFound when there is no such slot; restart_lsn 0 when it reserves no
  // WAL yet. kInvalidArgument for a logical slot.
  struct SlotPosition {
    uint64_t restart_lsn = 0;
    uint32_t restart_tli = 0;
  };
  Result<SlotPosition> ReadReplicationSlot(const std::string& slot);
  // TIMELINE_HISTORY tli: the history file's name and content.
  Result<std::pair<std::string, std::string>> TimelineHistory(uint32_t tli);
  // START_REPLICATION [SLOT slot] PHYSICAL lsn TIMELINE tli; on success the
  // connection is in COPY BOTH mode.
  Status StartReplication(const std::string& slot, uint64_t lsn, uint32_t timeline);
  // Waits up to timeout_ms for one CopyData message. 1: a message in *out;
  // 0: timed out; -1: the server ended the stream (timeline end or
  // shutdown; the connection is then finished). kIoError when the
  // connection failed.
  Result<int> ReceiveCopyData(std::string* out, int timeout_ms);
  // Sends one CopyData message and flushes it.
  Status SendCopyData(std::string_view message);

 private:
  explicit PgReplicationConnection(pg_conn* conn) : conn_(conn) {}
  Result<std::string> Show(const std::string& name);
  pg_conn* conn_;
};

// "16/B374D848" → 0x16B374D848; kInvalidArgument if malformed.
Result<uint64_t> ParseLsn(std::string_view text);
std::string FormatLsn(uint64_t lsn);
// The name of the WAL segment holding `lsn` ("000000010000000000000002").
std::string WalFileName(uint32_t timeline, uint64_t lsn, uint64_t segment_size);
// "16MB" (SHOW wal_segment_size) → bytes; kInvalidArgument if malformed.
Result<uint64_t> ParseSizeSetting(std::string_view text);
// A replication slot name: 1-63 of [a-z0-9_]; kInvalidArgument otherwise.
Status ValidateSlotName(std::string_view slot);
// Quotes a string for the replication grammar ('...' with '' for ').
std::string QuoteReplicationLiteral(std::string_view s);

}  // namespace lifeboat
