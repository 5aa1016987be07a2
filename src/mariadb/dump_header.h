// DumpScanner: watches a mariadb-dump / mysqldump SQL stream as it passes
// (in pieces of any size) and picks out what a point-in-time recovery needs
// from its header comments:
//
//   -- Server version	10.11.19-MariaDB-0+deb12u1-log
//   -- CHANGE MASTER TO MASTER_LOG_FILE='mariadb-bin.000002', MASTER_LOG_POS=389;
//   -- SET GLOBAL gtid_slave_pos='0-1-42';
//
// (--master-data=2 writes the CHANGE MASTER line near the top; MariaDB adds
// the GTID line near the end, or at the top with --gtid)
// and whether the stream ends with the "-- Dump completed" trailer that
// mariadb-dump writes last (a dump cut short lacks it).
//
// Only lines in the first kHeaderBytes (and GTID lines in the last 4 KiB)
// are parsed; lines longer than
// kMaxLine are skipped. Memory is bounded (one line plus a short tail).
// Thread-safety: none (one stream, one thread).
#pragma once

#include <cstddef>
#include <string>

#include "base/bytes.h"

namespace lifeboat {

struct DumpInfo {
  std::string server_version;  // empty when the header has none
  std::string binlog_file;     // empty when the dump records no position
  std::string binlog_pos;      // decimal
  std::string gtid_pos;        // "0-1-42" (MariaDB GTID), may be empty
  bool completed = false;      // the trailer was seen at the end (after Finish)
};

class DumpScanner {
 public:
  static constexpr size_t kHeaderBytes = 1 << 20;
  static constexpr size_t kMaxLine = 4096;

  void Feed(ByteView data);
  // Call once at the end of the stream; sets info().completed.
  void Finish();
  const DumpInfo& info() const { return info_; }

 private:
  void Line(const std::string& line);

  DumpInfo info_;
  std::string line_;
  bool line_too_long_ = false;
  size_t seen_ = 0;   // header bytes scanned
  size_t total_ = 0;  // stream bytes
  std::string tail_;  // the last bytes of the stream
};

}  // namespace lifeboat
