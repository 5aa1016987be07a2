#include "base/parallel_for.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace lifeboat {

Status ParallelFor(size_t n, size_t threads,
                   const std::function<Status(size_t i, size_t worker)>& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  size_t failed_item = SIZE_MAX;
  Status failure;
  auto work = [&](size_t worker) {
    for (size_t i; !failed && (i = next++) < n;) {
      Status s = fn(i, worker);
      if (s.ok()) continue;
      std::lock_guard lock(mu);
      if (i < failed_item) {
        failed_item = i;
        failure = std::move(s);
      }
      failed = true;
    }
  };
  threads = std::max<size_t>(1, std::min(threads, n));
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& t : pool) t.join();
  return failure;
}

}  // namespace lifeboat
