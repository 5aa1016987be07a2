// RawBuffer: a growable byte buffer whose new bytes are NOT zero-filled.
// The hot write path (chunks read from files, compressed and sealed blobs,
// pack staging) overwrites every byte it appends, so the memset that
// std::vector's resize performs would be pure overhead (≈5% of a backup).
// Callers must write every byte they Grow() before reading it.
// Ownership: owns its storage; movable, not copyable. Not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

#include "base/bytes.h"

namespace lifeboat {

class RawBuffer {
 public:
  RawBuffer() = default;
  explicit RawBuffer(size_t capacity) { Reserve(capacity); }
  RawBuffer(RawBuffer&& other) noexcept { *this = std::move(other); }
  RawBuffer& operator=(RawBuffer&& other) noexcept {
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    return *this;
  }

  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  ByteView view() const { return ByteView(data_.get(), size_); }

  // Makes room for `capacity` bytes, keeping the contents.
  void Reserve(size_t capacity) {
    if (capacity <= capacity_) return;
    std::unique_ptr<uint8_t[]> bigger(new uint8_t[capacity]);  // default-init: no memset
    if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = capacity;
  }
  // Extends the size by `n` uninitialized bytes (growing geometrically) and
  // returns a pointer to the first of them.
  uint8_t* Grow(size_t n) {
    if (size_ + n > capacity_) Reserve(std::max(size_ + n, capacity_ + capacity_ / 2));
    uint8_t* p = data_.get() + size_;
    size_ += n;
    return p;
  }
  void Append(ByteView bytes) {
    if (!bytes.empty()) std::memcpy(Grow(bytes.size()), bytes.data(), bytes.size());
  }
  // Shrinks the size (never the capacity).
  void Resize(size_t n) {
    if (n > size_) {
      Grow(n - size_);
    } else {
      size_ = n;
    }
  }
  void Clear() { size_ = 0; }

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace lifeboat
