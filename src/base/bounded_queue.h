// BoundedQueue<T>: a multi-producer multi-consumer queue with a capacity
// measured in "cost" units (bytes, usually), so a fast producer blocks
// instead of filling memory — the back-pressure of the backup pipeline.
// Close() wakes everyone: Push then fails, Pop drains what is left then
// returns nullopt. Thread-safety: all methods are thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace lifeboat {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}

  // Blocks while the item does not fit (an item larger than the capacity is
  // admitted into an empty queue); once blocked, it is woken when the queue
  // has drained to half (see Pop). Returns false if closed.
  bool Push(T item, size_t cost = 1) {
    std::unique_lock lock(mu_);
    while (!closed_ && used_ != 0 && used_ + cost > capacity_) {
      ++blocked_producers_;
      not_full_.wait(lock);
      --blocked_producers_;
    }
    if (closed_) return false;
    used_ += cost;
    items_.emplace_back(std::move(item), cost);
    not_empty_.notify_one();
    return true;
  }

  std::optional<T> Pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    auto [item, cost] = std::move(items_.front());
    items_.pop_front();
    used_ -= cost;
    // A blocked producer is woken once the queue has drained to half, not at
    // every pop: waking it for each freed slot costs a context switch per
    // item (one per file when the walker outruns the readers).
    if (blocked_producers_ > 0 && used_ <= capacity_ / 2) not_full_.notify_all();
    return std::move(item);
  }

  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<std::pair<T, size_t>> items_;
  size_t capacity_;
  size_t used_ = 0;
  int blocked_producers_ = 0;
  bool closed_ = false;
};

}  // namespace lifeboat
