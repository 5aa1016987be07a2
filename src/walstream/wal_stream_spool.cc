#include "walstream/wal_stream_spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "postgres/pg_replication.h"

namespace lifeboat {
namespace {

constexpr std::string_view kPartial = ".partial";

bool IsUpperHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); });
}

Status SyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "unable to open the spool '" + dir + "'");
  int rc = fsync(fd);
  int e = errno;
  close(fd);
  if (rc != 0) return ErrnoStatus(e, "unable to sync the spool '" + dir + "'");
  return Status::Ok();
}

Result<std::vector<std::string>> ListDir(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus(errno, "unable to list the spool '" + dir + "'");
  std::vector<std::string> out;
  while (dirent* e = readdir(d)) out.emplace_back(e->d_name);
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

bool ParseSegmentName(std::string_view name, uint64_t segment_size, uint32_t* timeline,
                      uint64_t* start) {
  if (name.size() != 24 || !IsUpperHex(name)) return false;
  const std::string s(name);
  const uint64_t tli = std::strtoull(s.substr(0, 8).c_str(), nullptr, 16);
  const uint64_t log = std::strtoull(s.substr(8, 8).c_str(), nullptr, 16);
  const uint64_t seg = std::strtoull(s.substr(16, 8).c_str(), nullptr, 16);
  const uint64_t per_log = 0x100000000ULL / segment_size;
  if (seg >= per_log) return false;
  *timeline = static_cast<uint32_t>(tli);
  *start = (log * per_log + seg) * segment_size;
  return true;
}

WalStreamSpool::WalStreamSpool(std::string dir, uint32_t timeline, uint64_t segment_size)
    : dir_(std::move(dir)), timeline_(timeline), segment_size_(segment_size) {}

WalStreamSpool::~WalStreamSpool() {
  if (fd_ >= 0) close(fd_);
}

std::string WalStreamSpool::current_segment() const {
  return WalFileName(timeline_, segment_start_, segment_size_);
}

uint64_t WalStreamSpool::current_flushed_bytes() const {
  return flush_lsn_ > segment_start_ ? flush_lsn_ - segment_start_ : 0;
}

std::string WalStreamSpool::PartialPath() const {
  return dir_ + "/" + current_segment() + std::string(kPartial);
}

Status WalStreamSpool::OpenSegment(uint64_t segment_start) {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  segment_start_ = segment_start;
  const std::string path = PartialPath();
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "unable to open '" + path + "'");
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return ErrnoStatus(e, "unable to stat '" + path + "'");
  }
  if (static_cast<uint64_t>(st.st_size) != segment_size_ &&
      ftruncate(fd, static_cast<off_t>(segment_size_)) != 0) {
    int e = errno;
    close(fd);
    return ErrnoStatus(e, "unable to size '" + path + "'");
  }
  fd_ = fd;
  return SyncDir(dir_);
}

Status WalStreamSpool::Begin(uint64_t lsn) {
  write_lsn_ = flush_lsn_ = lsn;
  return OpenSegment(lsn - lsn % segment_size_);
}

Status WalStreamSpool::CompleteSegment() {
  const std::string partial = PartialPath();
  const std::string full = dir_ + "/" + current_segment();
  if (fdatasync(fd_) != 0) return ErrnoStatus(errno, "unable to sync '" + partial + "'");
  close(fd_);
  fd_ = -1;
  if (rename(partial.c_str(), full.c_str()) != 0) {
    return ErrnoStatus(errno, "unable to rename '" + partial + "'");
  }
  LB_RETURN_IF_ERROR(SyncDir(dir_));
  flush_lsn_ = segment_start_ + segment_size_;
  return OpenSegment(segment_start_ + segment_size_);
}

Status WalStreamSpool::Write(uint64_t lsn, ByteView data) {
  if (fd_ < 0) return IoError("the spool has no open segment");
  if (lsn != write_lsn_) {
    return Corrupt("the server sent WAL at " + FormatLsn(lsn) + " where " +
                   FormatLsn(write_lsn_) + " was expected");
  }
  while (!data.empty()) {
    const uint64_t offset = write_lsn_ - segment_start_;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(data.size(), segment_size_ - offset));
    size_t done = 0;
    while (done < n) {
      ssize_t w = pwrite(fd_, data.data() + done, n - done, static_cast<off_t>(offset + done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return ErrnoStatus(errno, "unable to write '" + PartialPath() + "'");
      done += static_cast<size_t>(w);
    }
    write_lsn_ += n;
    data = data.subspan(n);
    if (write_lsn_ - segment_start_ == segment_size_) LB_RETURN_IF_ERROR(CompleteSegment());
  }
  return Status::Ok();
}

Status WalStreamSpool::Flush() {
  if (fd_ < 0) return Status::Ok();
  if (flush_lsn_ == write_lsn_) return Status::Ok();
  if (fdatasync(fd_) != 0) return ErrnoStatus(errno, "unable to sync '" + PartialPath() + "'");
  flush_lsn_ = write_lsn_;
  return Status::Ok();
}

Result<std::vector<std::string>> WalStreamSpool::CompletedSegments() const {
  LB_ASSIGN_OR_RETURN(auto names, ListDir(dir_));
  std::vector<std::string> out;
  uint32_t tli;
  uint64_t start;
  for (const std::string& n : names) {
    if (ParseSegmentName(n, segment_size_, &tli, &start)) out.push_back(n);
  }
  return out;
}

Result<std::optional<uint64_t>> WalStreamSpool::NewestPartialStart() const {
  LB_ASSIGN_OR_RETURN(auto names, ListDir(dir_));
  std::optional<uint64_t> best;
  for (const std::string& n : names) {
    if (n.size() != 24 + kPartial.size() || n.substr(24) != kPartial) continue;
    uint32_t tli;
    uint64_t start;
    if (ParseSegmentName(n.substr(0, 24), segment_size_, &tli, &start) && tli == timeline_ &&
        (!best || start > *best)) {
      best = start;
    }
  }
  return best;
}

Result<std::optional<uint64_t>> WalStreamSpool::NewestCompletedEnd() const {
  LB_ASSIGN_OR_RETURN(auto names, CompletedSegments());
  std::optional<uint64_t> best;
  for (const std::string& n : names) {
    uint32_t tli;
    uint64_t start;
    if (ParseSegmentName(n, segment_size_, &tli, &start) && tli == timeline_ &&
        (!best || start + segment_size_ > *best)) {
      best = start + segment_size_;
    }
  }
  return best;
}

}  // namespace lifeboat
