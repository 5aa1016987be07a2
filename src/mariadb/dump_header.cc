#include "mariadb/dump_header.h"

#include <algorithm>
#include <string_view>

#include "mariadb/binlog_archive.h"

namespace lifeboat {
namespace {

// mariadb-dump writes the GTID comment near the end, before ~10 short lines.
constexpr size_t kTailBytes = 4096;

// The text between `key` + "'" and the next "'", or empty.
std::string Quoted(std::string_view line, std::string_view key) {
  const size_t at = line.find(key);
  if (at == std::string_view::npos) return {};
  const size_t begin = at + key.size();
  if (begin >= line.size() || line[begin] != '\'') return {};
  const size_t end = line.find('\'', begin + 1);
  if (end == std::string_view::npos) return {};
  return std::string(line.substr(begin + 1, end - begin - 1));
}

std::string Digits(std::string_view line, std::string_view key) {
  const size_t at = line.find(key);
  if (at == std::string_view::npos) return {};
  size_t i = at + key.size();
  std::string out;
  while (i < line.size() && line[i] >= '0' && line[i] <= '9' && out.size() < 20) out += line[i++];
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool GtidText(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == ',' || c == ':' || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
  });
}

}  // namespace

void DumpScanner::Feed(ByteView data) {
  const std::string_view text = AsString(data);
  total_ += text.size();
  // The tail, for the trailer check.
  if (text.size() >= kTailBytes) {
    tail_.assign(text.substr(text.size() - kTailBytes));
  } else {
    tail_.append(text);
    if (tail_.size() > kTailBytes) tail_.erase(0, tail_.size() - kTailBytes);
  }
  if (seen_ >= kHeaderBytes) return;
  const std::string_view head = text.substr(0, std::min(text.size(), kHeaderBytes - seen_));
  seen_ += head.size();
  size_t pos = 0;
  while (pos < head.size()) {
    const size_t nl = head.find('\n', pos);
    const size_t end = nl == std::string_view::npos ? head.size() : nl;
    if (!line_too_long_) {
      if (line_.size() + (end - pos) > kMaxLine) {
        line_too_long_ = true;
        line_.clear();
      } else {
        line_.append(head.substr(pos, end - pos));
      }
    }
    if (nl == std::string_view::npos) break;
    if (!line_too_long_) Line(line_);
    line_.clear();
    line_too_long_ = false;
    pos = nl + 1;
  }
}

void DumpScanner::Line(const std::string& line) {
  std::string_view l = line;
  if (l.substr(0, 3) == "-- ") l.remove_prefix(3);
  if (l.substr(0, 14) == "Server version") {
    if (info_.server_version.empty()) info_.server_version = std::string(Trim(l.substr(14)));
    return;
  }
  if (l.substr(0, 16) == "CHANGE MASTER TO" &&
      l.find("MASTER_LOG_FILE=") != std::string_view::npos) {
    std::string file = Quoted(l, "MASTER_LOG_FILE=");
    std::string pos = Digits(l, "MASTER_LOG_POS=");
    if (ValidateBinlogFileName(file).ok() && !pos.empty() && info_.binlog_file.empty()) {
      info_.binlog_file = std::move(file);
      info_.binlog_pos = std::move(pos);
    }
    return;
  }
  for (std::string_view key : {"gtid_slave_pos=", "gtid_current_pos=", "gtid_purged="}) {
    if (l.substr(0, 10) == "SET GLOBAL" || l.substr(0, 10) == "SET @@GLOB") {
      std::string gtid = Quoted(l, key);
      if (!gtid.empty() && GtidText(gtid) && info_.gtid_pos.empty()) info_.gtid_pos = gtid;
    }
  }
}

void DumpScanner::Finish() {
  // The GTID comment at the end ("-- SET GLOBAL gtid_slave_pos='0-1-5';"),
  // from the complete lines of the tail.
  if (info_.gtid_pos.empty()) {
    std::string_view lines = tail_;
    if (total_ > tail_.size()) {
      const size_t first_nl = lines.find('\n');
      lines = first_nl == std::string_view::npos ? std::string_view() : lines.substr(first_nl + 1);
    }
    size_t pos = 0;
    while (pos < lines.size()) {
      size_t nl = lines.find('\n', pos);
      if (nl == std::string_view::npos) nl = lines.size();
      const std::string line(lines.substr(pos, nl - pos));
      if (line.rfind("-- SET GLOBAL gtid_", 0) == 0) Line(line);
      pos = nl + 1;
    }
  }
  std::string_view t = tail_;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.remove_suffix(1);
  const size_t nl = t.rfind('\n');
  const std::string_view last = nl == std::string_view::npos ? t : t.substr(nl + 1);
  info_.completed = last.substr(0, 17) == "-- Dump completed";
}

}  // namespace lifeboat
