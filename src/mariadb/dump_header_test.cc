// DumpScanner: the position, GTID and version from a mariadb-dump header fed
// in pieces of every size; the trailer check.
#include "mariadb/dump_header.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

const std::string kDump =
    "-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)\n"
    "--\n"
    "-- Host: 127.0.0.1    Database: \n"
    "-- ------------------------------------------------------\n"
    "-- Server version\t10.11.19-MariaDB-0+deb12u1-log\n"
    "\n"
    "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n"
    "\n"
    "--\n"
    "-- Position to start replication or point-in-time recovery from\n"
    "--\n"
    "\n"
    "-- CHANGE MASTER TO MASTER_LOG_FILE='mariadb-bin.000002', MASTER_LOG_POS=389;\n"
    "\n"
    "--\n"
    "-- GTID to start replication from\n"
    "--\n"
    "\n"
    "-- SET GLOBAL gtid_slave_pos='0-1-42';\n"
    "CREATE TABLE t (id int);\n"
    "INSERT INTO t VALUES (1),(2);\n"
    "/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;\n"
    "\n"
    "-- Dump completed on 2026-12-05  7:40:00\n";

TEST(DumpScannerTest, AnyPieceSize) {
  for (size_t piece : {1, 2, 7, 64, 100000}) {
    DumpScanner s;
    for (size_t i = 0; i < kDump.size(); i += piece) {
      s.Feed(AsBytes(std::string_view(kDump).substr(i, piece)));
    }
    s.Finish();
    EXPECT_EQ(s.info().binlog_file, "mariadb-bin.000002") << piece;
    EXPECT_EQ(s.info().binlog_pos, "389") << piece;
    EXPECT_EQ(s.info().gtid_pos, "0-1-42") << piece;
    EXPECT_EQ(s.info().server_version, "10.11.19-MariaDB-0+deb12u1-log") << piece;
    EXPECT_TRUE(s.info().completed) << piece;
  }
}

TEST(DumpScannerTest, CutShortHasNoTrailer) {
  DumpScanner s;
  s.Feed(AsBytes(std::string_view(kDump).substr(0, kDump.size() - 45)));
  s.Finish();
  EXPECT_FALSE(s.info().completed);
  EXPECT_EQ(s.info().binlog_file, "mariadb-bin.000002");
}

TEST(DumpScannerTest, NoPositionWithoutBinlog) {
  DumpScanner s;
  s.Feed(
      AsBytes(std::string_view("-- Server version\t10.11\nCREATE TABLE t (id int);\n"
                               "-- Dump completed on 2026-12-05\n")));
  s.Finish();
  EXPECT_TRUE(s.info().binlog_file.empty());
  EXPECT_TRUE(s.info().completed);
}

TEST(DumpScannerTest, IgnoresBadNamesAndDataLines) {
  DumpScanner s;
  std::string text =
      "INSERT INTO t VALUES ('-- CHANGE MASTER TO MASTER_LOG_FILE=''x.1'', MASTER_LOG_POS=5');\n"
      "-- CHANGE MASTER TO MASTER_LOG_FILE='../evil.000001', MASTER_LOG_POS=4;\n" +
      std::string(DumpScanner::kMaxLine + 10, 'x') + "\n" +
      "-- CHANGE MASTER TO MASTER_LOG_FILE='ok.000003', MASTER_LOG_POS=77;\n";
  s.Feed(AsBytes(text));
  s.Finish();
  EXPECT_EQ(s.info().binlog_file, "ok.000003");
  EXPECT_EQ(s.info().binlog_pos, "77");
  EXPECT_FALSE(s.info().completed);
}

TEST(DumpScannerTest, GtidAtTheEndOfALongDump) {
  DumpScanner s;
  s.Feed(AsBytes(std::string_view(
      "-- CHANGE MASTER TO MASTER_LOG_FILE='mariadb-bin.000002', MASTER_LOG_POS=389;\n")));
  const std::string rows = "INSERT INTO t VALUES (1),(2),(3);\n";
  for (int i = 0; i < 100000; ++i) s.Feed(AsBytes(rows));
  s.Feed(AsBytes(std::string_view(
      "--\n-- The deferred gtid setting for slave corresponding to the master-data CHANGE-MASTER "
      "follows\n--\n\n-- Preferably use GTID to start replication from GTID position:\n\n"
      "-- SET GLOBAL gtid_slave_pos='0-1-5';\n/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;\n\n"
      "-- Dump completed on 2026-12-05  8:14:20\n")));
  s.Finish();
  EXPECT_EQ(s.info().gtid_pos, "0-1-5");
  EXPECT_EQ(s.info().binlog_file, "mariadb-bin.000002");
  EXPECT_TRUE(s.info().completed);
}

}  // namespace
}  // namespace lifeboat
