#include "postgres/pg_base_backup.h"

#include <chrono>
#include <memory>
#include <set>

#include "model/tree.h"
#include "postgres/tar_reader.h"

namespace lifeboat {

// TarSink writing each entry into a TreeIngest below a prefix.
class TarToIngest : public TarSink {
 public:
  TarToIngest(TreeIngest& ingest, std::string prefix)
      : ingest_(ingest), prefix_(std::move(prefix)) {}

  Status OnEntry(const TarEntry& e) override {
    NodeMeta meta;
    meta.mode = e.mode;
    meta.uid = e.uid;
    meta.gid = e.gid;
    meta.user = e.uname;
    meta.group = e.gname;
    meta.mtime_ns = e.mtime_ns;
    std::string path = prefix_ + "/" + e.path;
    open_file_ = false;
    switch (e.type) {
      case TarEntry::Type::kDir:
        // PostgreSQL's archives may name the archive root itself ("./").
        if (IsRoot(e.path)) return ingest_.AddDirectory(prefix_, meta);
        return ingest_.AddDirectory(path, meta);
      case TarEntry::Type::kSymlink:
        return ingest_.AddSymlink(path, e.link_target, meta);
      case TarEntry::Type::kFile:
        LB_RETURN_IF_ERROR(ingest_.BeginFile(path, meta));
        open_file_ = true;
        return Status::Ok();
    }
    return Internal("unknown tar entry type");
  }
  Status OnData(ByteView data) override { return ingest_.Write(data); }
  Status OnEntryEnd() override {
    if (!open_file_) return Status::Ok();
    open_file_ = false;
    return ingest_.EndFile();
  }

 private:
  static bool IsRoot(const std::string& p) {
    for (char c : p)
      if (c != '.' && c != '/') return false;
    return p.find("..") == std::string::npos;
  }
  TreeIngest& ingest_;
  std::string prefix_;
  bool open_file_ = false;
};

Result<std::string> ArchivePrefix(const std::string& name) {
  if (name == "base.tar") return std::string("pgdata");
  const std::string suffix = ".tar";
  if (name.size() > suffix.size() && name.size() <= 14 &&
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
    std::string oid = name.substr(0, name.size() - suffix.size());
    if (oid.find_first_not_of("0123456789") == std::string::npos) return "tablespaces/" + oid;
  }
  return Corrupt("BASE_BACKUP sent an archive named '" + name +
                 "' (expected base.tar or OID.tar; compressed archives are not requested)");
}

Status IngestTarStream(TreeIngest& ingest, const std::string& prefix, ByteView tar) {
  TarToIngest sink(ingest, prefix);
  TarReader reader(sink);
  LB_RETURN_IF_ERROR(reader.Feed(tar));
  return reader.Finish();
}

namespace {

// Receives BASE_BACKUP's stream: one TarReader per archive, the manifest as
// a file.
class IngestSink : public BaseBackupSink {
 public:
  IngestSink(TreeIngest& ingest, PgBackupProgress* progress) : ingest_(ingest), progress_(progress) {}

  Status OnStart(const BaseBackupStart& start) override {
    start_ = start;
    uint64_t kb = 0;
    for (const PgTablespace& t : start.tablespaces)
      if (t.size_kb > 0) kb += static_cast<uint64_t>(t.size_kb);
    if (progress_) progress_->bytes_estimated = kb * 1024;
    return Status::Ok();
  }
  Status OnArchive(const std::string& name, const std::string& location) override {
    LB_RETURN_IF_ERROR(EndArchive());
    LB_ASSIGN_OR_RETURN(std::string prefix, ArchivePrefix(name));
    if (!seen_.insert(prefix).second) return Corrupt("BASE_BACKUP sent '" + name + "' twice");
    (void)location;  // recorded from the tablespace list
    name_ = name;
    tar_sink_ = std::make_unique<TarToIngest>(ingest_, prefix);
    reader_ = std::make_unique<TarReader>(*tar_sink_);
    return Status::Ok();
  }
  Status OnArchiveData(ByteView data) override {
    if (!reader_) return Corrupt("BASE_BACKUP sent data outside an archive");
    Status s = reader_->Feed(data);
    if (!s.ok()) return s.WithContext("archive " + name_);
    return s;
  }
  Status OnManifestData(ByteView data) override {
    if (!in_manifest_) {
      LB_RETURN_IF_ERROR(EndArchive());
      NodeMeta meta;
      meta.mode = 0600;
      meta.mtime_ns = manifest_time_ns_;
      LB_RETURN_IF_ERROR(ingest_.BeginFile("pgdata/backup_manifest", meta));
      in_manifest_ = true;
    }
    return ingest_.Write(data);
  }
  void OnProgress(uint64_t bytes) override {
    if (progress_) progress_->bytes_streamed = bytes;
  }

  Status End() {
    LB_RETURN_IF_ERROR(EndArchive());
    if (in_manifest_) {
      in_manifest_ = false;
      LB_RETURN_IF_ERROR(ingest_.EndFile());
    }
    return Status::Ok();
  }

  int64_t manifest_time_ns_ = 0;
  BaseBackupStart start_;

 private:
  Status EndArchive() {
    if (!reader_) return Status::Ok();
    Status s = reader_->Finish();
    reader_.reset();
    tar_sink_.reset();
    return s;
  }

  TreeIngest& ingest_;
  PgBackupProgress* progress_;
  std::unique_ptr<TarToIngest> tar_sink_;
  std::unique_ptr<TarReader> reader_;
  std::set<std::string> seen_;
  std::string name_;
  bool in_manifest_ = false;
};

}  // namespace

Result<PgBackupResult> RunPgBaseBackup(PgReplicationConnection& conn, TreeIngest& ingest,
                                       const BaseBackupOptions& options,
                                       PgBackupProgress* progress) {
  PgBackupResult result;
  result.server = conn.Describe();
  LB_ASSIGN_OR_RETURN(result.system, conn.IdentifySystem());
  IngestSink sink(ingest, progress);
  sink.manifest_time_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  auto end = conn.BaseBackup(options, sink);
  if (!end.ok()) return end.status().WithContext("base backup of " + result.server);
  LB_RETURN_IF_ERROR(sink.End());
  result.start = sink.start_;
  result.end = *end;
  LB_ASSIGN_OR_RETURN(result.archive, ingest.Finish());

  const PgSystem& sys = result.system;
  auto& info = result.source_info;
  info["system_identifier"] = sys.system_identifier;
  info["timeline"] = std::to_string(result.start.start_timeline);
  info["start_lsn"] = result.start.start_lsn;
  info["stop_lsn"] = result.end.stop_lsn;
  auto start_lsn = ParseLsn(result.start.start_lsn);
  auto stop_lsn = ParseLsn(result.end.stop_lsn);
  if (start_lsn.ok()) {
    info["start_wal_file"] =
        WalFileName(result.start.start_timeline, *start_lsn, sys.wal_segment_size);
  }
  if (stop_lsn.ok()) {
    // The stop position is the first byte after the backup's last record; the
    // segment it falls in is the last one needed.
    uint64_t last = *stop_lsn > 0 ? *stop_lsn - 1 : 0;
    info["stop_wal_file"] = WalFileName(result.end.stop_timeline, last, sys.wal_segment_size);
  }
  info["server_version"] = sys.server_version;
  info["label"] = options.label;
  if (!sys.data_directory.empty()) info["data_directory"] = sys.data_directory;
  info["wal_included"] = options.include_wal ? "true" : "false";
  info["wal_segment_size"] = std::to_string(sys.wal_segment_size);
  std::string spaces;
  for (const PgTablespace& t : result.start.tablespaces) {
    if (t.oid.empty()) continue;
    if (!spaces.empty()) spaces += "\n";
    spaces += t.oid + "=" + t.location;
  }
  if (!spaces.empty()) info["tablespaces"] = spaces;
  return result;
}

}  // namespace lifeboat
