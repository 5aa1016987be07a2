#include "backend/append_only_backend.h"

#include <gtest/gtest.h>

#include "backend/local_backend.h"
#include "backend/mem_backend.h"
#include "backend/test_temp_dir.h"

namespace lifeboat {
namespace {

const ObjectName kPack{ObjectType::kPack, "ab12"};
const ObjectName kSnapshot{ObjectType::kSnapshot, "cd34"};
const ObjectName kLock{ObjectType::kLock, "ef56"};
const ObjectName kConfig{ObjectType::kConfig, "config"};

class AppendOnlyBackendTest : public ::testing::Test {
 protected:
  AppendOnlyBackendTest() {
    auto mem = std::make_unique<MemBackend>("memory");
    mem_ = mem.get();
    backend_ = std::make_unique<AppendOnlyBackend>(std::move(mem));
  }
  MemBackend* mem_;
  std::unique_ptr<AppendOnlyBackend> backend_;
};

TEST_F(AppendOnlyBackendTest, NewObjectsAreStored) {
  ASSERT_TRUE(backend_->Save(kPack, Bytes{1, 2, 3}).ok());
  ASSERT_TRUE(backend_->Save(kConfig, Bytes{9}).ok());
  auto loaded = mem_->Load(kPack);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(*loaded, (Bytes{1, 2, 3}));
  EXPECT_EQ(backend_->Location(), "memory");
  EXPECT_FALSE(backend_->Capabilities().object_lock);
}

TEST_F(AppendOnlyBackendTest, IdenticalRewriteIsAcceptedDifferentIsRefused) {
  ASSERT_TRUE(backend_->Save(kSnapshot, Bytes{1, 2, 3}).ok());
  EXPECT_TRUE(backend_->Save(kSnapshot, Bytes{1, 2, 3}).ok());  // a retried upload
  for (const Bytes& other : {Bytes{1, 2, 4}, Bytes{1, 2}, Bytes{}}) {
    Status s = backend_->Save(kSnapshot, other);
    EXPECT_EQ(s.code(), Code::kPermissionDenied);
    EXPECT_NE(s.message().find("append-only"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("snapshots/cd34"), std::string::npos) << s.message();
  }
  // The config cannot be replaced either.
  ASSERT_TRUE(backend_->Save(kConfig, Bytes{7}).ok());
  EXPECT_EQ(backend_->Save(kConfig, Bytes{8}).code(), Code::kPermissionDenied);
  auto loaded = mem_->Load(kSnapshot);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(*loaded, (Bytes{1, 2, 3}));
  EXPECT_EQ(*mem_->Load(kConfig), Bytes{7});
}

TEST_F(AppendOnlyBackendTest, RemoveIsRefusedExceptForLocks) {
  for (ObjectType type : {ObjectType::kConfig, ObjectType::kKey, ObjectType::kPack,
                          ObjectType::kIndex, ObjectType::kSnapshot, ObjectType::kWal}) {
    ObjectName name{type, type == ObjectType::kConfig ? "config" : "0123"};
    ASSERT_TRUE(mem_->Save(name, Bytes{1}).ok());
    Status s = backend_->Remove(name);
    EXPECT_EQ(s.code(), Code::kPermissionDenied) << name.ToString();
    EXPECT_FALSE(s.hint().empty());
    EXPECT_TRUE(mem_->Stat(name).ok()) << name.ToString() << " was removed";
  }
  ASSERT_TRUE(backend_->Save(kLock, Bytes{1}).ok());
  EXPECT_TRUE(backend_->Save(kLock, Bytes{2}).ok());  // a refresh rewrites the lock
  EXPECT_EQ(*mem_->Load(kLock), Bytes{2});
  EXPECT_TRUE(backend_->Remove(kLock).ok());
  EXPECT_EQ(mem_->Stat(kLock).status().code(), Code::kNotFound);
}

// Archived WAL (lifeboat postgres archive-push) must work on an append-only
// host: new segments are stored, an identical re-push is accepted, a
// different segment under the same name is refused and nothing is removed.
TEST_F(AppendOnlyBackendTest, WalObjectsAreWriteOnce) {
  const ObjectName wal{ObjectType::kWal, "pg.7311111111111111111.000000010000000000000001"};
  ASSERT_TRUE(backend_->Save(wal, Bytes{1, 2, 3}).ok());
  EXPECT_TRUE(backend_->Save(wal, Bytes{1, 2, 3}).ok());
  EXPECT_EQ(backend_->Save(wal, Bytes{1, 2, 4}).code(), Code::kPermissionDenied);
  EXPECT_EQ(backend_->Remove(wal).code(), Code::kPermissionDenied);
  EXPECT_EQ(*mem_->Load(wal), (Bytes{1, 2, 3}));
}

TEST_F(AppendOnlyBackendTest, InvalidNamesAreStillRejected) {
  EXPECT_EQ(backend_->Save({ObjectType::kPack, "../x"}, Bytes{1}).code(), Code::kInvalidArgument);
}

TEST(AppendOnlyBackendStagedTest, StagedSavesFollowTheSameRules) {
  TestTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  auto local = std::make_unique<LocalBackend>(dir.path());
  ASSERT_TRUE(local->Create().ok());
  AppendOnlyBackend backend(std::move(local));
  ASSERT_FALSE(backend.StagingDir().empty());
  auto stage = [&](const Bytes& data) {
    auto file = StagedFile::Create(backend.StagingDir());
    EXPECT_TRUE(file.ok());
    EXPECT_TRUE(file->Append(data).ok());
    return std::move(*file);
  };
  {
    StagedFile f = stage(Bytes{5, 6, 7});
    ASSERT_TRUE(backend.SaveStaged(kPack, f).ok());
  }
  {
    StagedFile f = stage(Bytes{5, 6, 7});
    EXPECT_TRUE(backend.SaveStaged(kPack, f).ok());
  }
  {
    StagedFile f = stage(Bytes{5, 6, 8});
    EXPECT_EQ(backend.SaveStaged(kPack, f).code(), Code::kPermissionDenied);
  }
  auto loaded = backend.Load(kPack);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(*loaded, (Bytes{5, 6, 7}));
  EXPECT_EQ(backend.Remove(kPack).code(), Code::kPermissionDenied);
}

}  // namespace
}  // namespace lifeboat
