// FaultBackend: injected failures hit exactly the intended call, truncated and
// corrupted loads look as documented, and calls are counted.
#include "backend/fault_backend.h"

#include <gtest/gtest.h>

#include <thread>

#include "backend/mem_backend.h"

namespace lifeboat {
namespace {

using Op = FaultBackend::Op;

const ObjectName kPack{ObjectType::kPack, "ab01"};
const ObjectName kIndex{ObjectType::kIndex, "i1"};

class FaultBackendTest : public ::testing::Test {
 protected:
  MemBackend mem_;
  FaultBackend fault_{&mem_};
};

TEST_F(FaultBackendTest, ForwardsAndCounts) {
  EXPECT_EQ(fault_.Location(), "memory");
  EXPECT_FALSE(fault_.Capabilities().durable);
  ASSERT_TRUE(fault_.Create().ok());
  ASSERT_TRUE(fault_.Save(kPack, Bytes{1, 2, 3}).ok());
  ASSERT_TRUE(fault_.Save(kIndex, Bytes{4}).ok());
  ASSERT_TRUE(fault_.Load(kPack).ok());
  ASSERT_TRUE(fault_.Stat(kPack).ok());
  ASSERT_TRUE(fault_.List(ObjectType::kPack, [](const ObjectInfo&) { return Status::Ok(); }).ok());
  ASSERT_TRUE(fault_.Remove(kIndex).ok());
  EXPECT_EQ(fault_.Load(kIndex).status().code(), Code::kNotFound);

  EXPECT_EQ(fault_.Calls(Op::kCreate), 1);
  EXPECT_EQ(fault_.Calls(Op::kSave), 2);
  EXPECT_EQ(fault_.Calls(Op::kLoad), 2);
  EXPECT_EQ(fault_.Calls(Op::kStat), 1);
  EXPECT_EQ(fault_.Calls(Op::kList), 1);
  EXPECT_EQ(fault_.Calls(Op::kRemove), 1);
  EXPECT_EQ(mem_.ObjectCount(), 1u);
  fault_.ResetCounters();
  EXPECT_EQ(fault_.Calls(Op::kSave), 0);
}

TEST_F(FaultBackendTest, FailNextHitsExactlyTheNthCall) {
  fault_.FailNext(Op::kSave, 3, Status(Code::kUnavailable, "injected"));
  std::vector<Code> codes;
  for (int i = 0; i < 5; ++i) {
    codes.push_back(fault_.Save({ObjectType::kKey, "k" + std::to_string(i)}, Bytes{1}).code());
  }
  EXPECT_EQ(codes,
            (std::vector<Code>{Code::kOk, Code::kOk, Code::kUnavailable, Code::kOk, Code::kOk}));
  // The failed Save wrote nothing.
  EXPECT_EQ(mem_.Stat({ObjectType::kKey, "k2"}).status().code(), Code::kNotFound);
  EXPECT_EQ(mem_.ObjectCount(), 4u);
  EXPECT_EQ(fault_.Calls(Op::kSave), 5);
}

TEST_F(FaultBackendTest, PendingFailuresArePerOperation) {
  ASSERT_TRUE(mem_.Save(kPack, Bytes{1}).ok());
  fault_.FailNext(Op::kLoad, 1, IoError("load broke"));
  fault_.FailNext(Op::kLoad, 2, Status(Code::kUnavailable, "load flaky"));
  fault_.FailNext(Op::kStat, 1, IoError("stat broke"));
  fault_.FailNext(Op::kList, 1, IoError("list broke"));
  fault_.FailNext(Op::kRemove, 1, IoError("remove broke"));
  fault_.FailNext(Op::kCreate, 1, IoError("create broke"));

  EXPECT_TRUE(fault_.Save(kIndex, Bytes{}).ok());  // other ops are unaffected
  Status load1 = fault_.Load(kPack).status();
  EXPECT_EQ(load1.code(), Code::kIoError);
  EXPECT_EQ(load1.message(), "load broke");
  EXPECT_EQ(fault_.Load(kPack).status().code(), Code::kUnavailable);
  EXPECT_TRUE(fault_.Load(kPack).ok());
  EXPECT_EQ(fault_.Stat(kPack).status().message(), "stat broke");
  int listed = 0;
  EXPECT_EQ(fault_
                .List(ObjectType::kPack,
                      [&](const ObjectInfo&) {
                        ++listed;
                        return Status::Ok();
                      })
                .message(),
            "list broke");
  EXPECT_EQ(listed, 0);
  EXPECT_EQ(fault_.Remove(kPack).message(), "remove broke");
  EXPECT_TRUE(mem_.Stat(kPack).ok());  // not removed
  EXPECT_EQ(fault_.Create().message(), "create broke");
  EXPECT_TRUE(fault_.Remove(kPack).ok());
}

TEST_F(FaultBackendTest, ClearFaultsDropsPendingFailures) {
  fault_.FailNext(Op::kSave, 1, IoError("never"));
  fault_.ClearFaults();
  EXPECT_TRUE(fault_.Save(kPack, Bytes{1}).ok());
}

TEST_F(FaultBackendTest, ResetCountersKeepsPendingFailuresRelative) {
  ASSERT_TRUE(fault_.Save(kPack, Bytes{1}).ok());
  fault_.FailNext(Op::kSave, 2, IoError("second from now"));
  fault_.ResetCounters();
  EXPECT_TRUE(fault_.Save(kPack, Bytes{1}).ok());
  EXPECT_EQ(fault_.Save(kPack, Bytes{1}).code(), Code::kIoError);
}

TEST_F(FaultBackendTest, OkStatusIsTurnedIntoAFailure) {
  fault_.FailNext(Op::kLoad, 1, Status::Ok());
  ASSERT_TRUE(mem_.Save(kPack, Bytes{1}).ok());
  EXPECT_FALSE(fault_.Load(kPack).ok());
}

TEST_F(FaultBackendTest, TruncateSaveNextWritesAPrefixThenFails) {
  fault_.TruncateSaveNext(4, Status(Code::kUnavailable, "connection reset"));
  Status s = fault_.Save(kPack, Bytes{1, 2, 3, 4, 5, 6, 7, 8});
  EXPECT_EQ(s.code(), Code::kUnavailable);
  Result<Bytes> stored = mem_.Load(kPack);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, (Bytes{1, 2, 3, 4}));
  // Only the next Save was affected.
  ASSERT_TRUE(fault_.Save(kPack, Bytes{9, 9}).ok());
  EXPECT_EQ(*mem_.Load(kPack), (Bytes{9, 9}));
}

TEST_F(FaultBackendTest, FailSaveAfterWriteStoresEverything) {
  fault_.FailSaveAfterWriteNext();
  Status s = fault_.Save(kIndex, Bytes{5, 6});
  EXPECT_EQ(s.code(), Code::kIoError);
  Result<Bytes> stored = mem_.Load(kIndex);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, (Bytes{5, 6}));
}

TEST_F(FaultBackendTest, CorruptLoadsFlipsOneBitOfThatTypeOnly) {
  const Bytes data = {10, 20, 30, 40, 50};
  ASSERT_TRUE(mem_.Save(kPack, data).ok());
  ASSERT_TRUE(mem_.Save(kIndex, data).ok());
  fault_.CorruptLoads(ObjectType::kPack, true);
  Result<Bytes> got = fault_.Load(kPack);
  ASSERT_TRUE(got.ok());
  Bytes want = data;
  want[2] ^= 0x01;
  EXPECT_EQ(*got, want);
  EXPECT_EQ(*fault_.Load(kIndex), data);
  // Ranged loads are corrupted in the returned range.
  Result<Bytes> range = fault_.Load(kPack, 1, 2);
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(*range, (Bytes{20, 31}));
  // The stored object is untouched, and corruption can be switched off.
  EXPECT_EQ(*mem_.Load(kPack), data);
  fault_.CorruptLoads(ObjectType::kPack, false);
  EXPECT_EQ(*fault_.Load(kPack), data);
  // Errors pass through uncorrupted.
  fault_.CorruptLoads(ObjectType::kSnapshot, true);
  EXPECT_EQ(fault_.Load({ObjectType::kSnapshot, "x1"}).status().code(), Code::kNotFound);
}

TEST_F(FaultBackendTest, TruncateLoadsCutsData) {
  ASSERT_TRUE(mem_.Save(kPack, Bytes{1, 2, 3, 4, 5}).ok());
  ASSERT_TRUE(mem_.Save(kIndex, Bytes{1, 2, 3, 4, 5}).ok());
  fault_.TruncateLoads(ObjectType::kPack, 2);
  EXPECT_EQ(*fault_.Load(kPack), (Bytes{1, 2}));
  EXPECT_EQ(*fault_.Load(kPack, 3), (Bytes{4, 5}));
  EXPECT_EQ(fault_.Load(kIndex)->size(), 5u);
  fault_.ClearFaults();
  EXPECT_EQ(fault_.Load(kPack)->size(), 5u);
}

TEST_F(FaultBackendTest, DelaySlowsEveryCall) {
  ASSERT_TRUE(mem_.Save(kPack, Bytes{1}).ok());
  fault_.SetDelay(std::chrono::milliseconds(30));
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(fault_.Stat(kPack).ok());
  ASSERT_TRUE(fault_.Load(kPack).ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(60));
  fault_.SetDelay(std::chrono::milliseconds(0));
}

TEST(FaultBackendOwningTest, OwnsItsInnerBackend) {
  auto owned = std::make_unique<MemBackend>("memory:owned");
  MemBackend* raw = owned.get();
  FaultBackend fault(std::move(owned));
  EXPECT_EQ(fault.Location(), "memory:owned");
  ASSERT_TRUE(fault.Save(kPack, Bytes{1}).ok());
  EXPECT_EQ(raw->ObjectCount(), 1u);
}

TEST(FaultBackendThreadsTest, ConcurrentCallsAreCountedAndOneFails) {
  MemBackend mem;
  FaultBackend fault(&mem);
  fault.FailNext(Op::kSave, 50, IoError("the fiftieth"));
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        if (!fault.Save({ObjectType::kKey, "k" + std::to_string(t * 100 + i)}, Bytes{1}).ok())
          ++failed;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(fault.Calls(Op::kSave), 200);
  EXPECT_EQ(failed.load(), 1);
  EXPECT_EQ(mem.ObjectCount(), 199u);
}

}  // namespace
}  // namespace lifeboat
