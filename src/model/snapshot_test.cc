#include "model/snapshot.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace lifeboat {
namespace {

Id MakeId(uint8_t seed) {
  Id id;
  for (size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<uint8_t>(seed ^ i);
  return id;
}

Snapshot FullSnapshot() {
  Snapshot s;
  s.time_ns = 1795306323123456789;
  s.hostname = "web-01";
  s.username = "root";
  s.uid = 0;
  s.gid = 4294967295u;
  s.paths = {"/srv/www", "/etc/nginx"};
  s.tags = {"daily", "pre-deploy"};
  s.tree = MakeId(1);
  s.parent = MakeId(2);
  s.kind = BackupKind::kDifferential;
  s.source = "files";
  s.program_version = "lifeboat 0.1.0";
  SnapshotSummary& m = s.summary;
  m.files_new = 1;
  m.files_changed = 2;
  m.files_unmodified = 3;
  m.dirs_new = 4;
  m.dirs_changed = 5;
  m.dirs_unmodified = 6;
  m.files_total = 7;
  m.bytes_total = 18446744073709551615ull;
  m.blobs_added = 9;
  m.bytes_added = 10;
  m.bytes_added_stored = 11;
  m.errors = 12;
  m.duration_seconds = 13.25;
  m.backup_start_ns = 1795306323123456789;
  m.backup_end_ns = 1795306336373456790;
  return s;
}

void ExpectSameSnapshot(const Snapshot& a, const Snapshot& b) {
  EXPECT_EQ(a.time_ns, b.time_ns);
  EXPECT_EQ(a.hostname, b.hostname);
  EXPECT_EQ(a.username, b.username);
  EXPECT_EQ(a.uid, b.uid);
  EXPECT_EQ(a.gid, b.gid);
  EXPECT_EQ(a.paths, b.paths);
  EXPECT_EQ(a.tags, b.tags);
  EXPECT_EQ(a.tree, b.tree);
  EXPECT_EQ(a.parent, b.parent);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.program_version, b.program_version);
  EXPECT_EQ(a.source_info, b.source_info);
  const SnapshotSummary &x = a.summary, &y = b.summary;
  EXPECT_EQ(x.files_new, y.files_new);
  EXPECT_EQ(x.files_changed, y.files_changed);
  EXPECT_EQ(x.files_unmodified, y.files_unmodified);
  EXPECT_EQ(x.dirs_new, y.dirs_new);
  EXPECT_EQ(x.dirs_changed, y.dirs_changed);
  EXPECT_EQ(x.dirs_unmodified, y.dirs_unmodified);
  EXPECT_EQ(x.files_total, y.files_total);
  EXPECT_EQ(x.bytes_total, y.bytes_total);
  EXPECT_EQ(x.blobs_added, y.blobs_added);
  EXPECT_EQ(x.bytes_added, y.bytes_added);
  EXPECT_EQ(x.bytes_added_stored, y.bytes_added_stored);
  EXPECT_EQ(x.errors, y.errors);
  EXPECT_EQ(x.duration_seconds, y.duration_seconds);
  EXPECT_EQ(x.backup_start_ns, y.backup_start_ns);
  EXPECT_EQ(x.backup_end_ns, y.backup_end_ns);
}

std::string MinimalJson(const std::string& extra = "") {
  return R"({"time":"2026-11-22T00:12:03Z","tree":")" + MakeId(1).Hex() + "\"" + extra + "}";
}

void ExpectCorrupt(const std::string& json) {
  auto got = DecodeSnapshot(json);
  ASSERT_FALSE(got.ok()) << "accepted: " << json;
  EXPECT_EQ(got.status().code(), Code::kCorrupt) << got.status().ToString();
}

TEST(Snapshot, BackupKindNames) {
  for (BackupKind k : {BackupKind::kIncremental, BackupKind::kDifferential, BackupKind::kFull}) {
    auto back = ParseBackupKind(BackupKindName(k));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, k);
  }
  EXPECT_EQ(BackupKindName(BackupKind::kFull), "full");
  EXPECT_EQ(ParseBackupKind("Full").status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(ParseBackupKind("").ok());
}

TEST(Snapshot, RoundTripsEveryField) {
  Snapshot s = FullSnapshot();
  std::string json = EncodeSnapshot(s);
  auto back = DecodeSnapshot(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSameSnapshot(*back, s);
  EXPECT_EQ(EncodeSnapshot(*back), json);
}

TEST(Snapshot, WritesDocumentedFieldNames) {
  auto doc = nlohmann::json::parse(EncodeSnapshot(FullSnapshot()));
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["time"], "2026-11-22T00:12:03.123456789Z");
  EXPECT_EQ(doc["tree"], MakeId(1).Hex());
  EXPECT_EQ(doc["parent"], MakeId(2).Hex());
  EXPECT_EQ(doc["kind"], "differential");
  EXPECT_EQ(doc["gid"], 4294967295u);
  EXPECT_EQ(doc["summary"]["bytes_total"], 18446744073709551615ull);
  EXPECT_EQ(doc["summary"]["backup_end"], "2026-11-22T00:12:16.373456790Z");
  EXPECT_FALSE(doc.contains("paths_raw"));
  Snapshot no_parent = FullSnapshot();
  no_parent.parent.reset();
  EXPECT_FALSE(nlohmann::json::parse(EncodeSnapshot(no_parent)).contains("parent"));
}

TEST(Snapshot, NonUtf8PathsRoundTripExactly) {
  Snapshot s = FullSnapshot();
  s.paths = {"/srv/ok", std::string("/srv/caf\xe9/\xff\xfe", 12), "/new\nline"};
  std::string json = EncodeSnapshot(s);
  EXPECT_TRUE(nlohmann::json::accept(json));  // valid UTF-8 JSON
  auto back = DecodeSnapshot(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->paths, s.paths);
  auto doc = nlohmann::json::parse(json);
  EXPECT_EQ(doc["paths"][1], "/srv/caf\xef\xbf\xbd/\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(Snapshot, NonUtf8OtherStringsAreReplacedNotThrown) {
  Snapshot s = FullSnapshot();
  s.hostname = std::string("h\xc3\x28st", 5);
  s.tags = {std::string("\x80", 1)};
  std::string json;
  ASSERT_NO_THROW(json = EncodeSnapshot(s));
  auto back = DecodeSnapshot(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->hostname, "h\xef\xbf\xbd(st");
  EXPECT_EQ(back->tags, std::vector<std::string>{"\xef\xbf\xbd"});
}

TEST(Snapshot, NonFiniteDurationIsWrittenAsZero) {
  Snapshot s = FullSnapshot();
  s.summary.duration_seconds = std::numeric_limits<double>::quiet_NaN();
  auto back = DecodeSnapshot(EncodeSnapshot(s));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->summary.duration_seconds, 0.0);
}

TEST(Snapshot, MinimalDocumentGetsDefaults) {
  auto got = DecodeSnapshot(MinimalJson());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->time_ns, 1795306323000000000);
  EXPECT_EQ(got->tree, MakeId(1));
  EXPECT_FALSE(got->parent.has_value());
  EXPECT_EQ(got->kind, BackupKind::kIncremental);
  EXPECT_EQ(got->source, "files");
  EXPECT_TRUE(got->paths.empty());
  EXPECT_EQ(got->summary.files_new, 0u);
  EXPECT_TRUE(got->source_info.empty());
}

TEST(Snapshot, SourceInfoRoundTripsAndIsOmittedWhenEmpty) {
  Snapshot s = FullSnapshot();
  EXPECT_FALSE(nlohmann::json::parse(EncodeSnapshot(s)).contains("source_info"));
  s.source = "postgres";
  s.source_info = {{"start_lsn", "0/2000028"}, {"system_identifier", "7311"}, {"label", "nightly base"}};
  auto doc = nlohmann::json::parse(EncodeSnapshot(s));
  EXPECT_EQ(doc["source_info"]["start_lsn"], "0/2000028");
  auto back = DecodeSnapshot(EncodeSnapshot(s));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSameSnapshot(*back, s);
}

TEST(Snapshot, IgnoresUnknownFields) {
  auto got = DecodeSnapshot(MinimalJson(R"(,"future":{"x":[1,2]},"summary":{"new_counter":5,"errors":2})"));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->summary.errors, 2u);
}

TEST(Snapshot, AcceptsTimeWithOffset) {
  auto got = DecodeSnapshot(
      R"({"time":"2026-11-22T01:12:03.5+01:00","tree":")" + MakeId(1).Hex() + "\"}");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->time_ns, 1795306323500000000);
}

TEST(Snapshot, RejectsMalformedDocuments) {
  const std::string tree = MakeId(1).Hex();
  ExpectCorrupt("");
  ExpectCorrupt("{");
  ExpectCorrupt("not json");
  ExpectCorrupt("[]");
  ExpectCorrupt("null");
  ExpectCorrupt(MinimalJson() + "x");
  ExpectCorrupt(R"({"tree":")" + tree + "\"}");                      // missing time
  ExpectCorrupt(R"({"time":"2026-11-22T00:12:03Z"})");               // missing tree
  ExpectCorrupt(R"({"time":"yesterday","tree":")" + tree + "\"}");   // bad time
  ExpectCorrupt(R"({"time":5,"tree":")" + tree + "\"}");             // time not a string
  ExpectCorrupt(R"({"time":"2026-11-22T00:12:03Z","tree":"abc"})");  // short id
  ExpectCorrupt(R"({"time":"2026-11-22T00:12:03Z","tree":")" + std::string(64, 'z') + "\"}");
  ExpectCorrupt(MinimalJson(R"(,"parent":42)"));
  ExpectCorrupt(MinimalJson(R"(,"uid":"root")"));
  ExpectCorrupt(MinimalJson(R"(,"uid":4294967296)"));
  ExpectCorrupt(MinimalJson(R"(,"gid":-1)"));
  ExpectCorrupt(MinimalJson(R"(,"hostname":7)"));
  ExpectCorrupt(MinimalJson(R"(,"paths":"/srv")"));
  ExpectCorrupt(MinimalJson(R"(,"paths":[1])"));
  ExpectCorrupt(MinimalJson(R"(,"tags":[null])"));
  ExpectCorrupt(MinimalJson(R"(,"kind":"weekly")"));
  ExpectCorrupt(MinimalJson(R"(,"summary":[])"));
  ExpectCorrupt(MinimalJson(R"(,"summary":{"files_new":-1})"));
  ExpectCorrupt(MinimalJson(R"(,"summary":{"files_new":1.5})"));
  ExpectCorrupt(MinimalJson(R"(,"summary":{"duration_seconds":"1s"})"));
  ExpectCorrupt(MinimalJson(R"(,"summary":{"backup_start":"soon"})"));
  ExpectCorrupt(MinimalJson(R"(,"paths":["a"],"paths_raw":[])"));
  ExpectCorrupt(MinimalJson(R"(,"paths":["a"],"paths_raw":["!!"])"));
  ExpectCorrupt(MinimalJson(R"(,"version":2)"));
  ExpectCorrupt(MinimalJson(R"(,"source_info":["a"])"));
  ExpectCorrupt(MinimalJson(R"(,"source_info":{"a":1})"));
  ExpectCorrupt(MinimalJson(R"(,"version":"1")"));
  ExpectCorrupt("{\"time\":\"2026-11-22T00:12:03Z\",\"tree\":\"" + tree +
                "\",\"hostname\":\"\xff\"}");  // invalid UTF-8 in the JSON text
}

TEST(Snapshot, NewerVersionErrorHasHint) {
  auto got = DecodeSnapshot(MinimalJson(R"(,"version":9)"));
  ASSERT_FALSE(got.ok());
  EXPECT_FALSE(got.status().hint().empty());
}

TEST(Snapshot, DeepNestingDoesNotCrash) {
  std::string deep = MinimalJson(",\"x\":" + std::string(10000, '[') + std::string(10000, ']'));
  auto got = DecodeSnapshot(deep);
  EXPECT_TRUE(got.ok()) << got.status().ToString();
}

}  // namespace
}  // namespace lifeboat
