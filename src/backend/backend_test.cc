// Tests for object naming, name validation, OpenBackend URL handling and the
// MemBackend specifics (the shared contract is in backend_conformance_test.cc).
#include "backend/backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "backend/locking_backend.h"
#include "backend/mem_backend.h"

namespace lifeboat {
namespace {

using ::testing::HasSubstr;

TEST(ObjectNameTest, TypeNames) {
  EXPECT_EQ(ObjectTypeName(ObjectType::kConfig), "config");
  EXPECT_EQ(ObjectTypeName(ObjectType::kKey), "keys");
  EXPECT_EQ(ObjectTypeName(ObjectType::kPack), "data");
  EXPECT_EQ(ObjectTypeName(ObjectType::kIndex), "index");
  EXPECT_EQ(ObjectTypeName(ObjectType::kSnapshot), "snapshots");
  EXPECT_EQ(ObjectTypeName(ObjectType::kLock), "locks");
  EXPECT_EQ(ObjectTypeName(ObjectType::kWal), "wal");
}

TEST(ObjectNameTest, ToString) {
  EXPECT_EQ((ObjectName{ObjectType::kConfig, "config"}).ToString(), "config");
  EXPECT_EQ((ObjectName{ObjectType::kConfig, ""}).ToString(), "config");
  EXPECT_EQ((ObjectName{ObjectType::kPack, "ab12"}).ToString(), "data/ab12");
  EXPECT_EQ((ObjectName{ObjectType::kSnapshot, "ff"}).ToString(), "snapshots/ff");
  EXPECT_EQ((ObjectName{ObjectType::kLock, "0a"}).ToString(), "locks/0a");
}

TEST(ValidateObjectNameTest, AcceptsAndRejects) {
  EXPECT_TRUE(ValidateObjectName({ObjectType::kConfig, "config"}).ok());
  EXPECT_TRUE(ValidateObjectName({ObjectType::kConfig, ""}).ok());
  EXPECT_TRUE(ValidateObjectName({ObjectType::kPack, "ab"}).ok());
  EXPECT_TRUE(ValidateObjectName({ObjectType::kKey, "a"}).ok());
  EXPECT_TRUE(ValidateObjectName({ObjectType::kLock, "Host-1_x.y"}).ok());
  EXPECT_TRUE(ValidateObjectName({ObjectType::kIndex, std::string(255, 'a')}).ok());

  const ObjectName bad[] = {
      {ObjectType::kConfig, "keys"}, {ObjectType::kKey, ""},
      {ObjectType::kPack, "a"},      {ObjectType::kIndex, std::string(256, 'a')},
      {ObjectType::kKey, ".hidden"}, {ObjectType::kKey, ".."},
      {ObjectType::kKey, "a/b"},     {ObjectType::kKey, "a b"},
      {ObjectType::kKey, "a\nb"},    {ObjectType::kKey, std::string("a\0b", 3)},
  };
  for (const ObjectName& name : bad) {
    Status s = ValidateObjectName(name);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << name.ToString();
    EXPECT_THAT(s.message(), HasSubstr("invalid object name"));
  }
}

TEST(OpenBackendTest, MemoryBackendsWithTheSameNameShareObjects) {
  auto a = OpenBackend("memory:open-test-shared");
  auto b = OpenBackend("memory:open-test-shared");
  auto other = OpenBackend("memory:open-test-other");
  ASSERT_TRUE(a.ok() && b.ok() && other.ok());
  EXPECT_EQ((*a)->Location(), "memory:open-test-shared");
  EXPECT_FALSE((*a)->Capabilities().durable);

  const ObjectName name{ObjectType::kSnapshot, "aa11"};
  ASSERT_TRUE((*a)->Save(name, Bytes{4, 5}).ok());
  Result<Bytes> seen = (*b)->Load(name);
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(*seen, (Bytes{4, 5}));
  EXPECT_EQ((*other)->Load(name).status().code(), Code::kNotFound);

  // The registry keeps the backend alive after every handle is gone.
  a->reset();
  b->reset();
  auto again = OpenBackend("memory:open-test-shared");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->Stat(name).ok());
}

TEST(OpenBackendTest, LocalPathsAreMadeAbsolute) {
  const std::string cwd = std::filesystem::current_path().string();
  struct Case {
    std::string url;
    std::string location;
  } cases[] = {
      {"/srv/backup", "/srv/backup"},
      {"/srv/backup/", "/srv/backup"},
      {"local:/srv/backup", "/srv/backup"},
      {"relative/repo", cwd + "/relative/repo"},
      {"local:relative/./repo", cwd + "/relative/repo"},
      {"./a:b", cwd + "/a:b"},
      {"/x/s3:bucket", "/x/s3:bucket"},
  };
  for (const Case& c : cases) {
    auto opened = OpenBackend(c.url);
    ASSERT_TRUE(opened.ok()) << c.url << ": " << opened.status().ToString();
    EXPECT_EQ((*opened)->Location(), c.location) << c.url;
    EXPECT_TRUE((*opened)->Capabilities().durable);
  }
}

TEST(OpenBackendTest, RejectsUnsupportedAndMalformedUrls) {
  auto s3 = OpenBackend("s3:bucket/prefix");
  ASSERT_FALSE(s3.ok());
  EXPECT_EQ(s3.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(s3.status().message(), "backend 's3' is not supported yet");

  auto sftp = OpenBackend("sftp:user@host:/srv/repo");
  ASSERT_FALSE(sftp.ok());
  EXPECT_EQ(sftp.status().message(), "backend 'sftp' is not supported yet");

  auto unknown = OpenBackend("bogus:thing");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("'bogus'"));
  EXPECT_FALSE(unknown.status().hint().empty());

  for (const char* url : {"", "memory:", "local:"}) {
    auto r = OpenBackend(url);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << url;
  }
}

TEST(MemBackendTest, CapabilitiesAndCounting) {
  MemBackend mem;
  EXPECT_EQ(mem.Location(), "memory");
  EXPECT_FALSE(mem.Capabilities().durable);
  EXPECT_TRUE(mem.Create().ok());
  EXPECT_TRUE(mem.Create().ok());  // idempotent until a config exists
  ASSERT_TRUE(mem.Save({ObjectType::kConfig, ""}, Bytes{1}).ok());
  ASSERT_TRUE(mem.Save({ObjectType::kKey, "k1"}, Bytes{2}).ok());
  EXPECT_EQ(mem.ObjectCount(), 2u);
  // "" and "config" are the same config object.
  Result<Bytes> config = mem.Load({ObjectType::kConfig, "config"});
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(*config, Bytes{1});
  Status again = mem.Create();
  EXPECT_EQ(again.code(), Code::kAlreadyExists);
  EXPECT_THAT(again.message(), HasSubstr("memory"));
}

TEST(MemBackendTest, LoadReturnsACopy) {
  MemBackend mem;
  const ObjectName name{ObjectType::kIndex, "i1"};
  ASSERT_TRUE(mem.Save(name, Bytes{1, 2, 3}).ok());
  Result<Bytes> first = mem.Load(name);
  ASSERT_TRUE(first.ok());
  (*first)[0] = 99;
  Result<Bytes> second = mem.Load(name);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, (Bytes{1, 2, 3}));
}

TEST(MemBackendTest, ListCallbackMayCallBackIntoTheBackend) {
  MemBackend mem;
  for (const char* n : {"l1", "l2", "l3"})
    ASSERT_TRUE(mem.Save({ObjectType::kLock, n}, Bytes{}).ok());
  Status s = mem.List(ObjectType::kLock, [&](const ObjectInfo& info) {
    return mem.Remove({ObjectType::kLock, info.name});
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(mem.ObjectCount(), 0u);
}

TEST(MemBackendTest, MessagesNameTheObject) {
  MemBackend mem;
  Status s = mem.Load({ObjectType::kPack, "abcd"}).status();
  EXPECT_THAT(s.message(), HasSubstr("data/abcd"));
  ASSERT_TRUE(mem.Save({ObjectType::kPack, "abcd"}, Bytes(10)).ok());
  s = mem.Load({ObjectType::kPack, "abcd"}, 5, 10).status();
  EXPECT_EQ(s.code(), Code::kCorrupt);
  EXPECT_THAT(s.message(), HasSubstr("data/abcd"));
  EXPECT_THAT(s.message(), HasSubstr("past the end"));
}

}  // namespace
}  // namespace lifeboat

namespace lifeboat {
namespace {

TEST(RemoveUnlessRetainedTest, KeepsLockedObjectsAndRemovesTheRest) {
  MemBackend mem("memory");
  LockingBackend locking(&mem);
  const ObjectName locked{ObjectType::kWal, "pg.1.000000010000000000000001"};
  const ObjectName expired{ObjectType::kWal, "pg.1.000000010000000000000002"};
  const ObjectName free{ObjectType::kWal, "pg.1.000000010000000000000003"};
  for (const ObjectName& n : {locked, expired, free}) ASSERT_TRUE(mem.Save(n, AsBytes("x")).ok());
  const int64_t now = LockingBackend::Now();
  locking.locked[locked.ToString()] = now + 3600;
  locking.locked[expired.ToString()] = now - 10;

  auto kept = RemoveUnlessRetained(locking, locked, now);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, now + 3600);
  EXPECT_TRUE(mem.Stat(locked).ok());
  for (const ObjectName& n : {expired, free}) {
    auto r = RemoveUnlessRetained(locking, n, now);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, 0);
    EXPECT_EQ(mem.Stat(n).status().code(), Code::kNotFound);
  }
  // Already gone: nothing to do.
  auto gone = RemoveUnlessRetained(locking, free, now);
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(*gone, 0);
  // Without Object Lock the retention is not asked.
  LockingBackend plain(&mem, /*capability=*/false);
  const int calls = plain.retain_calls;
  ASSERT_TRUE(mem.Save(free, AsBytes("y")).ok());
  ASSERT_TRUE(RemoveUnlessRetained(plain, free, now).ok());
  EXPECT_EQ(plain.retain_calls, calls);
}

}  // namespace
}  // namespace lifeboat
