// StagedFile: anonymous or named staging, publishing over an existing file,
// discarding, mapping; and LocalBackend::SaveStaged (a rename, no copy, no
// leftovers) against the default SaveStaged that maps and calls Save.
#include "backend/staged_file.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <set>

#include "backend/local_backend.h"
#include "backend/mem_backend.h"
#include "backend/test_temp_dir.h"

namespace lifeboat {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(StagedFileTest, PublishReplacesAtomicallyAndLeavesNothingElse) {
  TestTempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  const std::string final_path = tmp.path() + "/object";
  std::ofstream(final_path) << "old";
  auto file = StagedFile::Create(tmp.path());
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_TRUE(file->Append(AsBytes("new ")).ok());
  ASSERT_TRUE(file->Append(AsBytes("contents")).ok());
  EXPECT_EQ(file->size(), 12u);
  ASSERT_TRUE(file->Publish(final_path).ok());
  EXPECT_EQ(ReadText(final_path), "new contents");
  EXPECT_EQ(Entries(tmp.path()), std::set<std::string>{"object"});
  struct stat st;
  ASSERT_EQ(::stat(final_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Spent: a second publish is refused.
  EXPECT_FALSE(file->Publish(final_path).ok());
}

TEST(StagedFileTest, DiscardAndDestructionLeaveNothing) {
  TestTempDir tmp;
  {
    auto a = StagedFile::Create(tmp.path());
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(a->Append(AsBytes("x")).ok());
    a->Discard();
    auto b = StagedFile::Create(tmp.path());
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE(b->Append(AsBytes("y")).ok());
  }
  EXPECT_TRUE(Entries(tmp.path()).empty());
}

TEST(StagedFileTest, MapShowsTheBytes) {
  TestTempDir tmp;
  auto file = StagedFile::Create(tmp.path());
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(file->Append(AsBytes("mapped bytes")).ok());
  auto map = file->Map();
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(std::string(map->view().begin(), map->view().end()), "mapped bytes");
}

TEST(StagedFileTest, MissingDirectoryIsAClearError) {
  auto file = StagedFile::Create("/nonexistent-lifeboat-dir");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("/nonexistent-lifeboat-dir"), std::string::npos);
}

TEST(StagedFileTest, LocalBackendStoresAStagedPackByRenaming) {
  TestTempDir tmp;
  LocalBackend backend(tmp.path() + "/repo");
  ASSERT_TRUE(backend.Create().ok());
  auto file = StagedFile::Create(backend.StagingDir());
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(file->Append(AsBytes("pack bytes")).ok());
  const ObjectName name{ObjectType::kPack, "ab" + std::string(62, '0')};
  ASSERT_TRUE(backend.SaveStaged(name, *file).ok());
  auto loaded = backend.Load(name);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(AsString(*loaded), "pack bytes");
  // Only the shard directories remain in data/: no temporary file.
  for (const std::string& e : Entries(backend.StagingDir())) EXPECT_EQ(e.size(), 2u) << e;
}

TEST(StagedFileTest, DefaultSaveStagedCopiesThroughSave) {
  TestTempDir tmp;
  MemBackend backend;
  ASSERT_TRUE(backend.Create().ok());
  auto file = StagedFile::Create(tmp.path());
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(file->Append(AsBytes("remote")).ok());
  const ObjectName name{ObjectType::kPack, "cd" + std::string(62, '1')};
  ASSERT_TRUE(backend.SaveStaged(name, *file).ok());
  auto loaded = backend.Load(name);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(AsString(*loaded), "remote");
  EXPECT_TRUE(Entries(tmp.path()).empty());
}

}  // namespace
}  // namespace lifeboat
