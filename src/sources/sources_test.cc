// Unit tests for the source helpers: child processes, RDB framing, INFO
// parsing, git bundle header, and SQLite online copies taken while a writer
// thread keeps committing.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "sources/child_process.h"
#include "sources/git_source.h"
#include "sources/redis_source.h"
#include "sources/sqlite_source.h"

namespace lifeboat {
namespace {

TEST(ChildProcessTest, CapturesOutputAndExitStatus) {
  auto out = RunAndCapture({"sh", "-c", "printf hello; echo oops >&2"});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "hello");

  auto run = RunAndCollect({"sh", "-c", "echo bad >&2; exit 3"});
  ASSERT_TRUE(run.ok());
  EXPECT_FALSE(run->status.success());
  EXPECT_EQ(run->status.code, 3);
  EXPECT_EQ(run->status.Describe(), "exit status 3");
  EXPECT_EQ(run->err_tail, "bad");

  auto failed = RunAndCapture({"sh", "-c", "echo why >&2; exit 2"});
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("exit status 2: why"), std::string::npos)
      << failed.status().message();
}

TEST(ChildProcessTest, ReportsSignals) {
  auto run = RunAndCollect({"sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(run.ok());
  EXPECT_FALSE(run->status.exited);
  EXPECT_EQ(run->status.signal, 9);
  EXPECT_EQ(run->status.Describe(), "killed by signal 9 (SIGKILL)");
}

TEST(ChildProcessTest, MissingProgramIsNotFound) {
  auto run = RunAndCollect({"lifeboat-no-such-program-xyz"});
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), Code::kNotFound);
}

TEST(ChildProcessTest, PassesEnvironmentNotArgv) {
  ChildOptions o;
  o.env["LIFEBOAT_TEST_SECRET"] = "s3cr3t";
  auto out = RunAndCapture({"sh", "-c", "printf %s \"$LIFEBOAT_TEST_SECRET\""}, o);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "s3cr3t");
}

TEST(ChildProcessTest, DestructorEndsARunningChild) {
  auto child = ChildProcess::Start({"sleep", "60"});
  ASSERT_TRUE(child.ok());
  auto t0 = std::chrono::steady_clock::now();
  child->reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(ChildProcessTest, FeedsStandardInputThroughAPipe) {
  ChildOptions o;
  o.stdin_pipe = true;
  auto child = ChildProcess::Start({"sh", "-c", "wc -c; exit 4"}, o);
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  ASSERT_GE((*child)->stdin_fd(), 0);
  const std::string data(100000, 'x');
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write((*child)->stdin_fd(), data.data() + off, data.size() - off);
    ASSERT_GT(n, 0);
    off += static_cast<size_t>(n);
  }
  (*child)->CloseStdin();
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = read((*child)->stdout_fd(), buf, sizeof buf)) > 0) out.append(buf, n);
  ExitStatus st = (*child)->Wait();
  EXPECT_EQ(st.code, 4);
  EXPECT_EQ(out, "100000\n");
}

TEST(ChildProcessTest, StdoutNullHasNoPipe) {
  ChildOptions o;
  o.stdout_null = true;
  auto child = ChildProcess::Start({"sh", "-c", "echo discarded"}, o);
  ASSERT_TRUE(child.ok());
  EXPECT_EQ((*child)->stdout_fd(), -1);
  EXPECT_TRUE((*child)->Wait().success());
}

TEST(ProgramBaseNameTest, Works) {
  EXPECT_EQ(ProgramBaseName("/usr/bin/pg_dump"), "pg_dump");
  EXPECT_EQ(ProgramBaseName("tar"), "tar");
}

TEST(RedisTest, ParsesInfo) {
  RedisServerInfo info = ParseRedisInfo(
      "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n\r\n# Keyspace\r\n"
      "db0:keys=12,expires=1,avg_ttl=0\r\ndb3:keys=5,expires=0,avg_ttl=0\r\n");
  EXPECT_EQ(info.version, "7.0.15");
  EXPECT_EQ(info.keys, 17);
  EXPECT_EQ(ParseRedisInfo("redis_version:7.0.15\r\n# Keyspace\r\n").keys, 0);
  EXPECT_EQ(ParseRedisInfo("redis_version:7.0.15\r\n").keys, -1);
}

TEST(RedisTest, PasswordOnlyInEnvironment) {
  RedisConnection c;
  c.host = "10.0.0.1";
  c.port = 6380;
  c.user = "backup";
  c.password = "hunter2";
  for (const std::string& a : c.CliArgs()) EXPECT_EQ(a.find("hunter2"), std::string::npos);
  EXPECT_EQ(c.CliOptions().env.at("REDISCLI_AUTH"), "hunter2");
  EXPECT_EQ(c.Describe(), "10.0.0.1:6380");
}

TEST(RedisTest, ChecksRdbFraming) {
  std::string end = std::string("\xff", 1) + std::string(8, 'c');
  auto v = CheckRdbFraming("REDIS0010\xfa", end, 100);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 10);
  EXPECT_EQ(CheckRdbFraming("REDIX0010", end, 100).status().code(), Code::kCorrupt);
  EXPECT_EQ(CheckRdbFraming("REDIS00a0", end, 100).status().code(), Code::kCorrupt);
  EXPECT_EQ(CheckRdbFraming("REDIS", end, 5).status().code(), Code::kCorrupt);
  // Truncated: no 0xFF nine bytes from the end.
  EXPECT_EQ(CheckRdbFraming("REDIS0010", std::string(9, 'x'), 100).status().code(),
            Code::kCorrupt);
  // Version 4 has no checksum trailer.
  EXPECT_TRUE(CheckRdbFraming("REDIS0004", std::string(9, 'x'), 100).ok());
}

TEST(RedisTest, RecognisesTheEofMarkOfADisklessTransfer) {
  std::string mark = "8b1fa86ccbfaf7581cda2a6be449071708f48932";
  const char* diskless = "SYNC sent to master, writing bytes of bulk transfer until EOF marker to '-'";
  EXPECT_TRUE(IsRdbEofMark(mark, diskless));
  EXPECT_FALSE(IsRdbEofMark(mark, "SYNC sent to master, writing 182 bytes to '-'"));
  EXPECT_FALSE(IsRdbEofMark(mark.substr(1), diskless));
  std::string rdb_end = std::string(31, 'a') + "\xff" + "12345678";
  EXPECT_FALSE(IsRdbEofMark(rdb_end, diskless));
}

TEST(GitTest, BundleHeader) {
  EXPECT_TRUE(CheckGitBundleHeader("# v2 git bundle\nabc refs/heads/main\n").ok());
  EXPECT_TRUE(CheckGitBundleHeader("# v3 git bundle\n@object-format=sha1\n").ok());
  EXPECT_FALSE(CheckGitBundleHeader("fatal: oops").ok());
  EXPECT_FALSE(CheckGitBundleHeader("").ok());
}

TEST(SqliteTest, SnapshotName) {
  EXPECT_EQ(SqliteSnapshotName("/srv/app/data.sqlite3"), "data.db");
  EXPECT_EQ(SqliteSnapshotName("/srv/app/data.db"), "data.db");
  EXPECT_EQ(SqliteSnapshotName("/srv/app/data"), "data.db");
  EXPECT_EQ(SqliteSnapshotName("/srv/app/.hidden"), ".hidden.db");
}

class SqliteCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("lifeboat-sqlite-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    db_ = (dir_ / "app.sqlite").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static void Exec(sqlite3* db, const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    ASSERT_EQ(rc, SQLITE_OK) << sql << ": " << (err ? err : "");
  }
  static int64_t Int(sqlite3* db, const char* sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
  }

  void CopyWhileWriting(const char* journal_mode) {
    sqlite3* w = nullptr;
    ASSERT_EQ(sqlite3_open(db_.c_str(), &w), SQLITE_OK);
    sqlite3_busy_timeout(w, 10000);
    Exec(w, (std::string("PRAGMA journal_mode=") + journal_mode).c_str());
    Exec(w, "CREATE TABLE acct(id INTEGER PRIMARY KEY, bal INTEGER);"
            "INSERT INTO acct VALUES(1, 1000000), (2, 0);"
            "CREATE TABLE log(id INTEGER PRIMARY KEY, amount INTEGER, pad BLOB);");
    std::atomic<bool> stop{false};
    std::atomic<int> commits{0};
    std::thread writer([&] {
      int i = 0;
      while (!stop) {
        ++i;
        char sql[400];
        snprintf(sql, sizeof sql,
                 "BEGIN IMMEDIATE; UPDATE acct SET bal = bal - %d WHERE id = 1;"
                 "UPDATE acct SET bal = bal + %d WHERE id = 2;"
                 "INSERT INTO log(amount, pad) VALUES(%d, randomblob(2000)); COMMIT;",
                 i % 7 + 1, i % 7 + 1, i % 7 + 1);
        if (sqlite3_exec(w, sql, nullptr, nullptr, nullptr) == SQLITE_OK) {
          ++commits;
        } else {
          sqlite3_exec(w, "ROLLBACK", nullptr, nullptr, nullptr);
        }
      }
    });
    while (commits < 200) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    int before = commits;
    auto copy = CopySqliteOnline(db_, std::chrono::seconds(30));
    int after = commits;
    stop = true;
    writer.join();
    sqlite3_close(w);
    ASSERT_TRUE(copy.ok()) << copy.status().ToString();
    EXPECT_TRUE(SqliteCheck((*copy)->file(), /*full=*/true).ok());
    struct stat st {};
    ASSERT_EQ(stat((*copy)->file().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ((*copy)->journal_mode, journal_mode);
    EXPECT_GT((*copy)->page_count, 10);
    sqlite3* r = nullptr;
    ASSERT_EQ(sqlite3_open_v2((*copy)->file().c_str(), &r, SQLITE_OPEN_READWRITE, nullptr),
              SQLITE_OK);
    EXPECT_EQ(Int(r, "SELECT sum(bal) FROM acct"), 1000000);
    int64_t rows = Int(r, "SELECT count(*) FROM log");
    EXPECT_EQ(Int(r, "SELECT bal FROM acct WHERE id = 2"), Int(r, "SELECT sum(amount) FROM log"));
    sqlite3_close(r);
    EXPECT_GE(rows, before);
    EXPECT_LE(rows, after + 1);  // a commit may land just before its counter moves
    std::string file = (*copy)->file();
    copy->reset();
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(file).parent_path()));
  }

  std::filesystem::path dir_;
  std::string db_;
};

TEST_F(SqliteCopyTest, ConsistentUnderWritesWal) { CopyWhileWriting("wal"); }
TEST_F(SqliteCopyTest, ConsistentUnderWritesRollbackJournal) { CopyWhileWriting("delete"); }

TEST_F(SqliteCopyTest, ErrorsAreClear) {
  auto missing = CopySqliteOnline(db_);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  FILE* f = fopen(db_.c_str(), "w");
  fputs("this is not a database, just text that is long enough to have a header........", f);
  fclose(f);
  auto junk = CopySqliteOnline(db_);
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.status().message().find("not a database"), std::string::npos)
      << junk.status().message();
  EXPECT_FALSE(SqliteCheck(db_).ok());
}

}  // namespace
}  // namespace lifeboat
