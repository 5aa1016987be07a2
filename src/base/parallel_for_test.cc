// ParallelFor: every item runs once, on at most the threads asked for, and a
// failure stops new items and reports the lowest failing item.
#include "base/parallel_for.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace lifeboat {
namespace {

TEST(ParallelForTest, RunsEveryItemOnceOnUpToTheThreadsAsked) {
  constexpr size_t kItems = 200;
  std::vector<std::atomic<int>> runs(kItems);
  std::mutex mu;
  std::set<std::thread::id> thread_ids;
  std::set<size_t> workers;
  std::atomic<int> in_flight{0}, max_in_flight{0};
  Status s = ParallelFor(kItems, 4, [&](size_t i, size_t worker) {
    const int now = ++in_flight;
    for (int seen = max_in_flight; now > seen && !max_in_flight.compare_exchange_weak(seen, now);) {
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    ++runs[i];
    {
      std::lock_guard lock(mu);
      thread_ids.insert(std::this_thread::get_id());
      workers.insert(worker);
    }
    --in_flight;
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (size_t i = 0; i < kItems; ++i) EXPECT_EQ(runs[i], 1) << "item " << i;
  EXPECT_LE(thread_ids.size(), 4u);
  EXPECT_GT(max_in_flight.load(), 1);  // the items did overlap
  EXPECT_LE(max_in_flight.load(), 4);
  for (size_t w : workers) EXPECT_LT(w, 4u);
  EXPECT_EQ(thread_ids.count(std::this_thread::get_id()), 1u);  // the caller works too
}

TEST(ParallelForTest, NoItemsAndOneThreadAreFine) {
  int calls = 0;
  EXPECT_TRUE(ParallelFor(0, 8, [&](size_t, size_t) {
                ++calls;
                return Status::Ok();
              }).ok());
  EXPECT_EQ(calls, 0);
  std::vector<size_t> order;
  EXPECT_TRUE(ParallelFor(5, 1, [&](size_t i, size_t worker) {
                EXPECT_EQ(worker, 0u);
                order.push_back(i);
                return Status::Ok();
              }).ok());
  EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 3, 4}));
}

TEST(ParallelForTest, AFailureStopsNewItemsAndTheLowestFailingItemIsReported) {
  // Items 3 and 7 fail; item 7 fails first (item 3 waits until it has), so
  // "first to fail" and "lowest failing item" differ.
  std::atomic<bool> seven_failed{false};
  std::atomic<size_t> started{0};
  Status s = ParallelFor(1000, 4, [&](size_t i, size_t) {
    ++started;
    if (i == 7) {
      seven_failed = true;
      return IoError("item 7");
    }
    if (i == 3) {
      while (!seven_failed) std::this_thread::yield();
      return IoError("item 3");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
    return Status::Ok();
  });
  EXPECT_EQ(s.code(), Code::kIoError);
  EXPECT_EQ(s.message(), "item 3");
  EXPECT_LT(started.load(), 1000u);  // no new item after the failure
}

}  // namespace
}  // namespace lifeboat
