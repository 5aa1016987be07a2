#include "base/bounded_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace lifeboat {
namespace {

TEST(BoundedQueue, BlocksProducerAtCapacity) {
  BoundedQueue<int> q(10);
  std::atomic<int> pushed{0};
  std::thread producer([&] {
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(q.Push(i, 4));
      ++pushed;
    }
    q.Close();
  });
  // Only two items of cost 4 fit into capacity 10 before a Pop.
  while (pushed.load() < 2) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(pushed.load(), 2);
  int sum = 0, count = 0;
  while (auto v = q.Pop()) {
    sum += *v;
    ++count;
  }
  producer.join();
  EXPECT_EQ(count, 5);
  EXPECT_EQ(sum, 0 + 1 + 2 + 3 + 4);
}

TEST(BoundedQueue, OversizedItemAdmittedWhenEmpty) {
  BoundedQueue<int> q(1);
  EXPECT_TRUE(q.Push(1, 100));
  EXPECT_EQ(*q.Pop(), 1);
  q.Close();
  EXPECT_FALSE(q.Push(2));
  EXPECT_FALSE(q.Pop().has_value());
}

}  // namespace
}  // namespace lifeboat
