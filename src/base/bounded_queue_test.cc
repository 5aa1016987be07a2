#include "base/bounded_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

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

TEST(BoundedQueue, BlockedProducerWakesWhenHalfDrained) {
  BoundedQueue<int> q(10);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(q.Push(i));
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    EXPECT_TRUE(q.Push(10));
    pushed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let it block
  EXPECT_FALSE(pushed.load());
  for (int i = 0; i < 4; ++i) EXPECT_EQ(*q.Pop(), i);  // 6 left: above half
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(pushed.load());
  EXPECT_EQ(*q.Pop(), 4);  // 5 left: half
  producer.join();
  EXPECT_TRUE(pushed.load());
  for (int i = 5; i <= 10; ++i) EXPECT_EQ(*q.Pop(), i);
}

TEST(BoundedQueue, ManyProducersAndConsumersLoseNothing) {
  BoundedQueue<int> q(7);
  constexpr int kProducers = 3, kPerProducer = 20000;
  std::atomic<long long> sum{0};
  std::atomic<int> count{0};
  std::vector<std::thread> consumers;
  for (int c = 0; c < 2; ++c) {
    consumers.emplace_back([&] {
      while (auto v = q.Pop()) {
        sum += *v;
        ++count;
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) ASSERT_TRUE(q.Push(i, 1 + (i + p) % 9));
    });
  }
  for (auto& t : producers) t.join();
  q.Close();
  for (auto& t : consumers) t.join();
  EXPECT_EQ(count.load(), kProducers * kPerProducer);
  EXPECT_EQ(sum.load(), 1LL * kProducers * kPerProducer * (kPerProducer - 1) / 2);
}

}  // namespace
}  // namespace lifeboat
