#include "postgres/pg_replication.h"

#include <libpq-fe.h>
#include <poll.h>
#include <poll.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <vector>

namespace lifeboat {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string ConnError(PGconn* conn) { return Trim(PQerrorMessage(conn)); }

// Frees a PGresult on scope exit.
struct ResultPtr {
  PGresult* r;
  explicit ResultPtr(PGresult* res) : r(res) {}
  ~ResultPtr() {
    if (r) PQclear(r);
  }
  ResultPtr(const ResultPtr&) = delete;
  ResultPtr& operator=(const ResultPtr&) = delete;
};

Status ResultError(PGresult* r, PGconn* conn, const std::string& what) {
  std::string msg = r ? Trim(PQresultErrorMessage(r)) : "";
  if (msg.empty()) msg = ConnError(conn);
  return IoError(what + ": " + msg);
}

bool ParseU32(const char* s, uint32_t* out) {
  if (!s || !*s) return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v > UINT32_MAX) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

Result<uint64_t> ParseLsn(std::string_view text) {
  size_t slash = text.find('/');
  auto hex = [](std::string_view s, uint64_t* out) {
    if (s.empty() || s.size() > 8) return false;
    uint64_t v = 0;
    for (char c : s) {
      int d = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                       : -1;
      if (d < 0) return false;
      v = v * 16 + static_cast<uint64_t>(d);
    }
    *out = v;
    return true;
  };
  uint64_t hi = 0, lo = 0;
  if (slash == std::string_view::npos || !hex(text.substr(0, slash), &hi) ||
      !hex(text.substr(slash + 1), &lo)) {
    return InvalidArgument("'" + std::string(text) + "' is not a WAL position (like 0/1A2B3C4)");
  }
  return hi << 32 | lo;
}

std::string FormatLsn(uint64_t lsn) {
  char buf[32];
  snprintf(buf, sizeof buf, "%X/%X", static_cast<uint32_t>(lsn >> 32), static_cast<uint32_t>(lsn));
  return buf;
}

std::string WalFileName(uint32_t timeline, uint64_t lsn, uint64_t segment_size) {
  if (segment_size == 0) segment_size = 16 << 20;
  const uint64_t segno = lsn / segment_size;
  const uint64_t per_id = 0x100000000ull / segment_size;
  char buf[32];
  snprintf(buf, sizeof buf, "%08X%08X%08X", timeline, static_cast<uint32_t>(segno / per_id),
           static_cast<uint32_t>(segno % per_id));
  return buf;
}

Result<uint64_t> ParseSizeSetting(std::string_view text) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i < 12) v = v * 10 + (text[i++] - '0');
  std::string_view unit = text.substr(i);
  uint64_t mult = 0;
  if (unit == "" || unit == "B") mult = 1;
  if (unit == "kB") mult = 1 << 10;
  if (unit == "MB") mult = 1 << 20;
  if (unit == "GB") mult = 1ull << 30;
  if (i == 0 || mult == 0) return InvalidArgument("unexpected size setting '" + std::string(text) + "'");
  return v * mult;
}

std::string QuoteReplicationLiteral(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

Result<std::unique_ptr<PgReplicationConnection>> PgReplicationConnection::Connect(
    const std::string& conninfo) {
  // dbname first: with expand_dbname it may be a whole connection string;
  // the keywords after it override what it says about replication.
  std::vector<const char*> keys, values;
  if (!conninfo.empty()) keys.push_back("dbname"), values.push_back(conninfo.c_str());
  keys.insert(keys.end(), {"replication", "application_name", "connect_timeout", nullptr});
  values.insert(values.end(), {"true", "lifeboat", "15", nullptr});
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (!conn) return Status(Code::kInternal, "libpq could not allocate a connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = ConnError(conn);
    PQfinish(conn);
    Code code = Code::kUnavailable;
    if (msg.find("authentication failed") != std::string::npos ||
        msg.find("pg_hba.conf") != std::string::npos ||
        msg.find("password") != std::string::npos || msg.find("permission") != std::string::npos) {
      code = Code::kPermissionDenied;
    }
    return Status(code, "unable to connect to PostgreSQL for replication: " + msg,
                  "connection details come from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSERVICE "
                  "(libpq's environment and service files); the role needs REPLICATION and "
                  "pg_hba.conf a 'replication' entry");
  }
  return std::unique_ptr<PgReplicationConnection>(new PgReplicationConnection(conn));
}

PgReplicationConnection::~PgReplicationConnection() {
  if (conn_) PQfinish(conn_);
}

std::string PgReplicationConnection::Describe() const {
  if (!conn_) return "postgres://(closed)";
  std::string host = PQhost(conn_) ? PQhost(conn_) : "";
  std::string port = PQport(conn_) ? PQport(conn_) : "";
  if (host.empty() || host[0] == '/') host = "localhost";  // a Unix socket directory
  return "postgres://" + host + ":" + port;
}

Result<std::string> PgReplicationConnection::Show(const std::string& name) {
  ResultPtr r(PQexec(conn_, ("SHOW " + name).c_str()));
  if (PQresultStatus(r.r) != PGRES_TUPLES_OK || PQntuples(r.r) != 1 || PQnfields(r.r) < 1) {
    return ResultError(r.r, conn_, "SHOW " + name);
  }
  return std::string(PQgetvalue(r.r, 0, 0));
}

Result<PgSystem> PgReplicationConnection::IdentifySystem() {
  if (!conn_) return IoError("the replication connection was closed after an error");
  PgSystem sys;
  sys.server_version_num = PQserverVersion(conn_);
  auto version = Show("server_version");
  sys.server_version = version.ok() ? *version : std::to_string(sys.server_version_num);
  if (sys.server_version_num < 150000) {
    return Status(Code::kUnsupported,
                  "PostgreSQL " + sys.server_version + " at " + Describe() +
                      " is too old: lifeboat's base backups need PostgreSQL 15 or newer");
  }
  ResultPtr r(PQexec(conn_, "IDENTIFY_SYSTEM"));
  if (PQresultStatus(r.r) != PGRES_TUPLES_OK || PQntuples(r.r) != 1 || PQnfields(r.r) < 3) {
    return ResultError(r.r, conn_, "IDENTIFY_SYSTEM");
  }
  sys.system_identifier = PQgetvalue(r.r, 0, 0);
  if (!ParseU32(PQgetvalue(r.r, 0, 1), &sys.timeline)) {
    return Corrupt("IDENTIFY_SYSTEM returned a malformed timeline");
  }
  sys.xlogpos = PQgetvalue(r.r, 0, 2);
  auto dir = Show("data_directory");  // superuser or pg_read_all_settings only
  if (dir.ok()) sys.data_directory = *dir;
  auto seg = Show("wal_segment_size");
  if (seg.ok()) {
    auto bytes = ParseSizeSetting(*seg);
    if (bytes.ok() && *bytes >= (1 << 20) && (*bytes & (*bytes - 1)) == 0) {
      sys.wal_segment_size = *bytes;
    }
  }
  return sys;
}

Result<BaseBackupEnd> PgReplicationConnection::BaseBackup(const BaseBackupOptions& options,
                                                          BaseBackupSink& sink) {
  if (!conn_) return IoError("the replication connection was closed after an error");
  if (options.label.size() > 1000 ||
      options.label.find_first_of(std::string("\0\n\r", 3)) != std::string::npos) {
    return InvalidArgument("backup label must be one line of at most 1000 bytes");
  }
  std::string cmd = "BASE_BACKUP ( LABEL " + QuoteReplicationLiteral(options.label);
  cmd += options.fast_checkpoint ? ", CHECKPOINT 'fast'" : ", CHECKPOINT 'spread'";
  if (options.include_wal) cmd += ", WAL true, WAIT true";
  cmd += options.manifest ? ", MANIFEST 'yes'" : ", MANIFEST 'no'";
  cmd += ", TABLESPACE_MAP true";
  if (options.progress) cmd += ", PROGRESS true";
  cmd += " )";
  if (!PQsendQuery(conn_, cmd.c_str())) return IoError("BASE_BACKUP: " + ConnError(conn_));

  // Two result sets (start position, tablespaces), then the COPY stream.
  std::vector<PGresult*> sets;
  auto clear_sets = [&] {
    for (PGresult* s : sets) PQclear(s);
    sets.clear();
  };
  while (true) {
    PGresult* r = PQgetResult(conn_);
    if (!r) {
      clear_sets();
      return IoError("BASE_BACKUP: the server ended the command before sending data");
    }
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COPY_OUT) {
      PQclear(r);
      break;
    }
    if (st == PGRES_TUPLES_OK) {
      sets.push_back(r);
      continue;
    }
    if (st == PGRES_COMMAND_OK) {
      PQclear(r);
      continue;
    }
    Status s = ResultError(r, conn_, "BASE_BACKUP");
    PQclear(r);
    clear_sets();
    while (PGresult* rest = PQgetResult(conn_)) PQclear(rest);
    return s;
  }
  if (sets.size() != 2 || PQntuples(sets[0]) != 1 || PQnfields(sets[0]) < 2 ||
      PQnfields(sets[1]) < 3) {
    clear_sets();
    return Corrupt("BASE_BACKUP: unexpected result sets before the data (not PostgreSQL 15?)");
  }
  BaseBackupStart start;
  start.start_lsn = PQgetvalue(sets[0], 0, 0);
  if (!ParseU32(PQgetvalue(sets[0], 0, 1), &start.start_timeline) || !ParseLsn(start.start_lsn).ok()) {
    clear_sets();
    return Corrupt("BASE_BACKUP: malformed start position");
  }
  for (int i = 0; i < PQntuples(sets[1]); ++i) {
    PgTablespace t;
    if (!PQgetisnull(sets[1], i, 0)) t.oid = PQgetvalue(sets[1], i, 0);
    if (!PQgetisnull(sets[1], i, 1)) t.location = PQgetvalue(sets[1], i, 1);
    if (!PQgetisnull(sets[1], i, 2)) t.size_kb = strtoll(PQgetvalue(sets[1], i, 2), nullptr, 10);
    start.tablespaces.push_back(std::move(t));
  }
  clear_sets();

  // A failure in the middle of the stream ends the connection (there is no
  // clean way to stop a COPY OUT early).
  auto abandon = [&](Status s) -> Status {
    PQfinish(conn_);
    conn_ = nullptr;
    return s;
  };
  LB_RETURN_IF_ERROR(sink.OnStart(start));
  bool in_manifest = false, in_archive = false;
  while (true) {
    char* buf = nullptr;
    int len = PQgetCopyData(conn_, &buf, 0);
    if (len == -1) break;
    if (len < 0) return abandon(IoError("BASE_BACKUP: " + ConnError(conn_)));
    std::unique_ptr<char, void (*)(void*)> owned(buf, PQfreemem);
    if (len == 0) continue;
    const char type = buf[0];
    ByteView payload(reinterpret_cast<const uint8_t*>(buf) + 1, static_cast<size_t>(len) - 1);
    Status s = Status::Ok();
    switch (type) {
      case 'n': {
        const char* p = buf + 1;
        const char* end = buf + len;
        const void* nul1 = memchr(p, 0, end - p);
        if (!nul1) return abandon(Corrupt("BASE_BACKUP: malformed new-archive message"));
        std::string name(p, static_cast<const char*>(nul1));
        p = static_cast<const char*>(nul1) + 1;
        const void* nul2 = p < end ? memchr(p, 0, end - p) : nullptr;
        if (!nul2) return abandon(Corrupt("BASE_BACKUP: malformed new-archive message"));
        std::string location(p, static_cast<const char*>(nul2));
        if (in_manifest) return abandon(Corrupt("BASE_BACKUP: archive after the manifest"));
        in_archive = true;
        s = sink.OnArchive(name, location);
        break;
      }
      case 'm':
        in_manifest = true;
        break;
      case 'd':
        if (in_manifest) {
          s = sink.OnManifestData(payload);
        } else if (in_archive) {
          s = sink.OnArchiveData(payload);
        } else {
          s = Corrupt("BASE_BACKUP: data before the first archive");
        }
        break;
      case 'p': {
        if (payload.size() != 8) return abandon(Corrupt("BASE_BACKUP: malformed progress message"));
        uint64_t v = 0;
        for (uint8_t b : payload) v = v << 8 | b;
        sink.OnProgress(v);
        break;
      }
      default:
        s = Corrupt(std::string("BASE_BACKUP: unknown message type '") +
                    (type >= 32 && type < 127 ? std::string(1, type) : std::to_string(type)) +
                    "' (newer protocol?)");
    }
    if (!s.ok()) return abandon(s);
  }
  // The end position, then CommandComplete.
  BaseBackupEnd end;
  bool got_end = false;
  Status failure = Status::Ok();
  while (PGresult* r = PQgetResult(conn_)) {
    ResultPtr hold(r);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQnfields(r) >= 2 && !got_end) {
      end.stop_lsn = PQgetvalue(r, 0, 0);
      got_end = ParseU32(PQgetvalue(r, 0, 1), &end.stop_timeline) && ParseLsn(end.stop_lsn).ok();
    } else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && failure.ok()) {
      failure = ResultError(r, conn_, "BASE_BACKUP");
    }
  }
  if (!failure.ok()) return failure;
  if (!got_end) return Corrupt("BASE_BACKUP: the server sent no end position");
  return end;
}

Status ValidateSlotName(std::string_view slot) {
  bool ok = !slot.empty() && slot.size() <= 63;
  for (char c : slot) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (ok) return Status::Ok();
  return InvalidArgument("replication slot name '" + std::string(slot.substr(0, 80)) +
                         "' must be 1-63 lowercase letters, digits or underscores");
}

Status PgReplicationConnection::CreatePhysicalSlot(const std::string& slot, bool* existed) {
  if (!conn_) return IoError("the replication connection is closed");
  LB_RETURN_IF_ERROR(ValidateSlotName(slot));
  *existed = false;
  ResultPtr r(PQexec(conn_, ("CREATE_REPLICATION_SLOT " + slot + " PHYSICAL RESERVE_WAL").c_str()));
  if (PQresultStatus(r.r) == PGRES_TUPLES_OK || PQresultStatus(r.r) == PGRES_COMMAND_OK) {
    return Status::Ok();
  }
  const char* state = PQresultErrorField(r.r, PG_DIAG_SQLSTATE);
  if (state != nullptr && std::string(state) == "42710") {  // duplicate_object
    *existed = true;
    return Status::Ok();
  }
  return ResultError(r.r, conn_, "CREATE_REPLICATION_SLOT " + slot);
}

Result<PgReplicationConnection::SlotPosition> PgReplicationConnection::ReadReplicationSlot(
    const std::string& slot) {
  if (!conn_) return IoError("the replication connection is closed");
  LB_RETURN_IF_ERROR(ValidateSlotName(slot));
  ResultPtr r(PQexec(conn_, ("READ_REPLICATION_SLOT " + slot).c_str()));
  if (PQresultStatus(r.r) != PGRES_TUPLES_OK || PQntuples(r.r) != 1 || PQnfields(r.r) < 3) {
    return ResultError(r.r, conn_, "READ_REPLICATION_SLOT " + slot);
  }
  if (PQgetisnull(r.r, 0, 0)) {
    return Status(Code::kNotFound, "replication slot '" + slot + "' does not exist",
                  "create it with --create-slot (or SELECT pg_create_physical_replication_slot)");
  }
  if (std::string(PQgetvalue(r.r, 0, 0)) != "physical") {
    return InvalidArgument("replication slot '" + slot + "' is not a physical slot");
  }
  SlotPosition pos;
  if (!PQgetisnull(r.r, 0, 1)) {
    LB_ASSIGN_OR_RETURN(pos.restart_lsn, ParseLsn(PQgetvalue(r.r, 0, 1)));
  }
  if (!PQgetisnull(r.r, 0, 2) && !ParseU32(PQgetvalue(r.r, 0, 2), &pos.restart_tli)) {
    return Corrupt("READ_REPLICATION_SLOT returned a malformed timeline");
  }
  return pos;
}

Result<std::pair<std::string, std::string>> PgReplicationConnection::TimelineHistory(
    uint32_t tli) {
  if (!conn_) return IoError("the replication connection is closed");
  ResultPtr r(PQexec(conn_, ("TIMELINE_HISTORY " + std::to_string(tli)).c_str()));
  if (PQresultStatus(r.r) != PGRES_TUPLES_OK || PQntuples(r.r) != 1 || PQnfields(r.r) < 2) {
    return ResultError(r.r, conn_, "TIMELINE_HISTORY " + std::to_string(tli));
  }
  return std::make_pair(std::string(PQgetvalue(r.r, 0, 0)),
                        std::string(PQgetvalue(r.r, 0, 1), PQgetlength(r.r, 0, 1)));
}

Status PgReplicationConnection::StartReplication(const std::string& slot, uint64_t lsn,
                                                 uint32_t timeline) {
  if (!conn_) return IoError("the replication connection is closed");
  std::string cmd = "START_REPLICATION ";
  if (!slot.empty()) {
    LB_RETURN_IF_ERROR(ValidateSlotName(slot));
    cmd += "SLOT " + slot + " ";
  }
  cmd += "PHYSICAL " + FormatLsn(lsn) + " TIMELINE " + std::to_string(timeline);
  ResultPtr r(PQexec(conn_, cmd.c_str()));
  if (PQresultStatus(r.r) != PGRES_COPY_BOTH) return ResultError(r.r, conn_, cmd);
  return Status::Ok();
}

Result<int> PgReplicationConnection::ReceiveCopyData(std::string* out, int timeout_ms) {
  if (!conn_) return IoError("the replication connection is closed");
  for (int attempt = 0; attempt < 2; ++attempt) {
    char* buf = nullptr;
    int len = PQgetCopyData(conn_, &buf, /*async=*/1);
    if (len > 0) {
      out->assign(buf, static_cast<size_t>(len));
      PQfreemem(buf);
      return 1;
    }
    if (len == -1) {  // end of the COPY (timeline end or shutdown): drain the results
      // The server sent CopyDone: answer with ours, then read what
      // follows (the next timeline's position, CommandComplete).
      PQputCopyEnd(conn_, nullptr);
      PQflush(conn_);
      Status failure = Status::Ok();
      for (int i = 0; i < 8; ++i) {
        PGresult* r = PQgetResult(conn_);
        if (r == nullptr) break;
        ResultPtr hold(r);
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) break;
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && failure.ok()) {
          failure = ResultError(r, conn_, "replication stream");
        }
      }
      PQfinish(conn_);
      conn_ = nullptr;
      if (!failure.ok()) return failure;
      return -1;
    }
    if (len < -1) {
      Status s = IoError("replication stream: " + ConnError(conn_));
      PQfinish(conn_);
      conn_ = nullptr;
      return s;
    }
    if (attempt == 1 || timeout_ms <= 0) break;
    pollfd p{PQsocket(conn_), POLLIN, 0};
    int n = poll(&p, 1, timeout_ms);
    if (n < 0 && errno != EINTR) return ErrnoStatus(errno, "unable to wait for the server");
    if (n <= 0) return 0;
    if (!PQconsumeInput(conn_)) {
      Status s = IoError("replication stream: " + ConnError(conn_));
      PQfinish(conn_);
      conn_ = nullptr;
      return s;
    }
  }
  return 0;
}

Status PgReplicationConnection::SendCopyData(std::string_view message) {
  if (!conn_) return IoError("the replication connection is closed");
  if (PQputCopyData(conn_, message.data(), static_cast<int>(message.size())) != 1 ||
      PQflush(conn_) != 0) {
    return IoError("unable to send to the server: " + ConnError(conn_));
  }
  return Status::Ok();
}

}  // namespace lifeboat
