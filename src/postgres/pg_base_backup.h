// A PostgreSQL base backup straight into a repository: BASE_BACKUP's tar
// archives are parsed as they stream (TarReader) and their files ingested
// (TreeIngest) without touching the local disk.
//
// Layout of the snapshot tree:
//   /pgdata/...                    the main data directory (base.tar),
//                                  including pg_wal/ when WAL is included
//   /pgdata/backup_manifest        the server's manifest
//   /tablespaces/<oid>/...         each other tablespace (<oid>.tar)
//
// Thread-safety: one backup per object; progress() from any thread.
#pragma once

#include <atomic>
#include <map>
#include <string>

#include "archiver/tree_ingest.h"
#include "postgres/pg_replication.h"

namespace lifeboat {

struct PgBackupProgress {
  std::atomic<uint64_t> bytes_estimated{0};  // from the server's estimate (0 if unknown)
  std::atomic<uint64_t> bytes_streamed{0};   // by the server's progress messages
};

struct PgBackupResult {
  ArchiveResult archive;
  PgSystem system;
  BaseBackupStart start;
  BaseBackupEnd end;
  std::string server;  // postgres://HOST:PORT
  // Snapshot source_info: system_identifier, timeline, start_lsn, stop_lsn,
  // start_wal_file, stop_wal_file, server_version, label, data_directory,
  // tablespaces ("oid=location" lines), wal_included.
  std::map<std::string, std::string> source_info;
};

// Entries of the tar stream named `archive` ("base.tar", "16384.tar") go
// below `prefix` in `ingest` ("pgdata", "tablespaces/16384").
// Exposed for tests; used by RunPgBaseBackup.
class TarToIngest;

// Connects is the caller's job; this identifies the system, runs the base
// backup into `ingest` and finishes it (the repository is flushed). The
// caller writes the snapshot.
Result<PgBackupResult> RunPgBaseBackup(PgReplicationConnection& conn, TreeIngest& ingest,
                                       const BaseBackupOptions& options,
                                       PgBackupProgress* progress = nullptr);

// The snapshot path of an archive: "base.tar" → "pgdata", "<oid>.tar" →
// "tablespaces/<oid>"; kCorrupt for anything else.
Result<std::string> ArchivePrefix(const std::string& archive_name);

// Feeds one tar stream into `ingest` below `prefix` (tests, fuzzing).
Status IngestTarStream(TreeIngest& ingest, const std::string& prefix, ByteView tar);

}  // namespace lifeboat
