#include "walstream/wal_receiver.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fmt/format.h>
#include <thread>

#include "postgres/pg_replication.h"
#include "walarchive/wal_archive.h"
#include "walstream/wal_stream_protocol.h"
#include "walstream/wal_stream_spool.h"

namespace lifeboat {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NowUnixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool Stopping(const WalReceiverOptions& o) { return o.stop != nullptr && *o.stop != 0; }

// Failures a reconnection cannot cure.
bool Permanent(const Status& s) {
  switch (s.code()) {
    case Code::kInvalidArgument:
    case Code::kUnsupported:
    case Code::kCorrupt:
    case Code::kAlreadyExists:
      return true;
    default:
      return false;
  }
}

class Session {
 public:
  Session(Repository& repo, const WalReceiverOptions& o, WalReceiverStats* stats)
      : repo_(repo), o_(o), stats_(stats) {}

  // One connection's life. *progressed: WAL was received (resets backoff).
  Status Run(bool* progressed);

 private:
  void Log(const std::string& line) const {
    if (o_.log) o_.log(line);
  }
  Status StoreCompleted(WalStreamSpool& spool);
  Status StorePartial(WalStreamSpool& spool);
  Status Checkpoint(WalStreamSpool& spool, PgReplicationConnection& conn, bool reply);
  Status Finish(WalStreamSpool& spool);

  Repository& repo_;
  const WalReceiverOptions& o_;
  WalReceiverStats* stats_;
  uint64_t system_id_ = 0;
  std::string stored_partial_;  // name of the newest partial this session stored
  uint64_t stored_partial_len_ = 0;
  std::string stored_partial_segment_;
};

Status Session::StoreCompleted(WalStreamSpool& spool) {
  LB_ASSIGN_OR_RETURN(auto names, spool.CompletedSegments());
  for (const std::string& name : names) {
    const std::string path = spool.dir() + "/" + name;
    auto outcome = PushWal(repo_, system_id_, path);
    if (!outcome.ok()) return outcome.status().WithContext("unable to store segment " + name);
    ++stats_->segments_stored;
    Log(fmt::format("segment {} {}", name,
                    *outcome == PushOutcome::kStored ? "stored" : "already archived"));
    // The full segment supersedes its partials.
    auto removed = RemoveStreamPartials(repo_, system_id_, name, "");
    if (!removed.ok()) Log("unable to remove the partials of " + name + ": " + removed.status().ToString());
    if (stored_partial_segment_ == name) stored_partial_.clear();
    if (unlink(path.c_str()) != 0) return ErrnoStatus(errno, "unable to remove '" + path + "'");
  }
  return Status::Ok();
}

Status Session::StorePartial(WalStreamSpool& spool) {
  const uint64_t valid = spool.current_flushed_bytes();
  const std::string segment = spool.current_segment();
  if (valid == 0 || (segment == stored_partial_segment_ && valid <= stored_partial_len_)) {
    return Status::Ok();
  }
  // The valid bytes and zeros after them: the same bytes for the same name,
  // whatever an earlier run left in the file beyond them.
  Bytes contents(spool.segment_size(), 0);
  const std::string path = spool.PartialPath();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "unable to open '" + path + "'");
  size_t done = 0;
  while (done < valid) {
    ssize_t n = pread(fd, contents.data() + done, valid - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      close(fd);
      return ErrnoStatus(n == 0 ? EIO : e, "unable to read '" + path + "'");
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  const std::string name = StreamPartialName(segment, valid);
  auto outcome = PushWalContents(repo_, system_id_, name, contents);
  if (!outcome.ok()) return outcome.status().WithContext("unable to store partial " + name);
  ++stats_->partials_stored;
  if (o_.verbose) Log("partial " + name + " stored");
  if (!stored_partial_.empty() && stored_partial_segment_ == segment) {
    auto removed = RemoveStreamPartials(repo_, system_id_, segment, name);
    if (!removed.ok()) Log("unable to remove older partials: " + removed.status().ToString());
  }
  stored_partial_ = name;
  stored_partial_segment_ = segment;
  stored_partial_len_ = valid;
  return Status::Ok();
}

// fsync, then report write/flush positions, then store what is complete.
Status Session::Checkpoint(WalStreamSpool& spool, PgReplicationConnection& conn, bool reply) {
  LB_RETURN_IF_ERROR(spool.Flush());
  stats_->flush_lsn = spool.flush_lsn();
  LB_RETURN_IF_ERROR(conn.SendCopyData(EncodeStandbyStatus(
      spool.write_lsn(), spool.flush_lsn(), 0, PgEpochMicros(NowUnixMicros()), reply)));
  Status s = StoreCompleted(spool);
  if (s.ok()) s = StorePartial(spool);
  if (!s.ok()) {
    // The spool keeps everything; the next interval retries.
    if (Permanent(s)) return s;
    Log("repository: " + s.ToString() + " (kept in the spool; retrying)");
  }
  return Status::Ok();
}

Status Session::Finish(WalStreamSpool& spool) {
  Status s = spool.Flush();
  stats_->flush_lsn = spool.flush_lsn();
  if (s.ok()) s = StoreCompleted(spool);
  if (s.ok()) s = StorePartial(spool);
  return s;
}

Status Session::Run(bool* progressed) {
  *progressed = false;
  LB_ASSIGN_OR_RETURN(auto conn, PgReplicationConnection::Connect(o_.conninfo));
  LB_ASSIGN_OR_RETURN(PgSystem sys, conn->IdentifySystem());
  system_id_ = std::strtoull(sys.system_identifier.c_str(), nullptr, 10);
  if (system_id_ == 0) return Corrupt("IDENTIFY_SYSTEM returned a malformed system identifier");
  const uint32_t tli = sys.timeline;
  const uint64_t segsize = sys.wal_segment_size;
  if (tli > 1) {
    auto history = conn->TimelineHistory(tli);
    if (!history.ok()) return history.status();
    auto pushed = PushWalContents(repo_, system_id_, history->first, AsBytes(history->second));
    if (!pushed.ok()) return pushed.status().WithContext("unable to store " + history->first);
  }
  if (!o_.slot.empty() && o_.create_slot) {
    bool existed = false;
    LB_RETURN_IF_ERROR(conn->CreatePhysicalSlot(o_.slot, &existed));
    if (!existed) Log("created physical replication slot " + o_.slot);
  }

  // One subdirectory per cluster: a spool reused for another cluster never
  // mixes their files.
  const std::string spool_dir = o_.spool_dir + "/" + std::to_string(system_id_);
  if (mkdir(spool_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, "unable to create the spool '" + spool_dir + "'");
  }
  WalStreamSpool spool(spool_dir, tli, segsize);
  // Segments completed before a crash go first.
  if (Status s = StoreCompleted(spool); !s.ok()) {
    if (Permanent(s)) return s;
    Log("repository: " + s.ToString() + " (kept in the spool; retrying)");
  }
  uint64_t start = 0;
  std::string from;
  if (!o_.slot.empty()) {
    LB_ASSIGN_OR_RETURN(auto pos, conn->ReadReplicationSlot(o_.slot));
    if (pos.restart_lsn != 0) {
      if (pos.restart_tli != 0 && pos.restart_tli != tli) {
        return Status(Code::kUnsupported,
                      fmt::format("slot {} is on timeline {} but the server is on timeline {}",
                                  o_.slot, pos.restart_tli, tli),
                      "stream-wal follows one timeline: after a promotion, drop and recreate "
                      "the slot (the new timeline's .history is stored on connect)");
      }
      start = pos.restart_lsn;
      from = "the slot's restart_lsn";
    }
  }
  if (start == 0) {
    LB_ASSIGN_OR_RETURN(auto partial, spool.NewestPartialStart());
    LB_ASSIGN_OR_RETURN(auto completed, spool.NewestCompletedEnd());
    if (partial) {
      start = *partial, from = "the spool's partial segment";
    } else if (completed) {
      start = *completed, from = "the spool";
    }
  }
  if (start == 0) {
    LB_ASSIGN_OR_RETURN(auto archived, ListWal(repo_, system_id_));
    for (const WalEntry& e : archived) {
      uint32_t etli;
      uint64_t estart;
      if (ParseSegmentName(e.name, segsize, &etli, &estart) && etli == tli &&
          estart + segsize > start) {
        start = estart + segsize;
        from = "the end of the repository's WAL archive";
      }
    }
  }
  if (start == 0) {
    LB_ASSIGN_OR_RETURN(start, ParseLsn(sys.xlogpos));
    from = "the server's current position";
  }
  start -= start % segsize;
  LB_RETURN_IF_ERROR(spool.Begin(start));
  LB_RETURN_IF_ERROR(conn->StartReplication(o_.slot, start, tli));
  Log(fmt::format("streaming WAL of system {} from {} (segment {}, timeline {}; from {}){}",
                  system_id_, FormatLsn(start), spool.current_segment(), tli, from,
                  o_.slot.empty() ? "" : ", slot " + o_.slot));

  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(std::max(0.05, o_.flush_interval)));
  auto deadline = Clock::now() + interval;
  std::string msg;
  for (;;) {
    if (Stopping(o_)) {
      Status s = Finish(spool);
      if (s.ok()) {
        conn->SendCopyData(EncodeStandbyStatus(spool.write_lsn(), spool.flush_lsn(), 0,
                                               PgEpochMicros(NowUnixMicros()), false))
            .IgnoreError();
      }
      return s;
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      LB_RETURN_IF_ERROR(Checkpoint(spool, *conn, false));
      deadline = Clock::now() + interval;
      continue;
    }
    const int wait_ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) + 1;
    auto got = conn->ReceiveCopyData(&msg, wait_ms);
    if (!got.ok() || *got == -1) {
      Status fin = Finish(spool);
      if (!fin.ok()) Log("repository: " + fin.ToString());
      if (!got.ok()) return got.status();
      return Status(Code::kUnavailable, "the server ended the replication stream (shut down, "
                                        "or the timeline ended)");
    }
    if (*got == 0) continue;
    LB_ASSIGN_OR_RETURN(ReplicationMessage m, ParseReplicationMessage(AsBytes(msg)));
    if (m.kind == ReplicationMessage::Kind::kXLogData) {
      const std::string before = spool.current_segment();
      LB_RETURN_IF_ERROR(spool.Write(m.data_start, m.data));
      stats_->bytes_received += m.data.size();
      *progressed = true;
      if (spool.current_segment() != before) {
        // A completed segment: report and store it now, not at the next tick.
        LB_RETURN_IF_ERROR(Checkpoint(spool, *conn, false));
      }
    } else if (m.reply_requested) {
      LB_RETURN_IF_ERROR(Checkpoint(spool, *conn, false));
    }
  }
}

}  // namespace

Status RunWalReceiver(Repository& repo, const WalReceiverOptions& o, WalReceiverStats* stats) {
  double backoff = 1.0;
  int failures = 0;
  for (;;) {
    if (Stopping(o)) return Status::Ok();
    Session session(repo, o, stats);
    bool progressed = false;
    Status s = session.Run(&progressed);
    if (Stopping(o)) {
      if (s.ok() || s.code() == Code::kUnavailable) return Status::Ok();
      return s.WithContext("stopping: the last WAL stays in the spool " + o.spool_dir);
    }
    if (s.ok()) continue;
    if (Permanent(s) || (s.code() == Code::kNotFound && !o.slot.empty()) ||
        s.code() == Code::kPermissionDenied) {
      return s;
    }
    if (progressed) backoff = 1.0, failures = 0;
    ++failures;
    if (o.max_attempts > 0 && failures >= o.max_attempts) return s;
    if (o.log) o.log(fmt::format("{}; reconnecting in {:.0f} s", s.ToString(), backoff));
    const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(backoff));
    while (Clock::now() < until && !Stopping(o)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    backoff = std::min(o.max_backoff, backoff * 2);
  }
}

}  // namespace lifeboat
