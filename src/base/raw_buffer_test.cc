#include "base/raw_buffer.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

TEST(RawBufferTest, GrowAppendResizeKeepContents) {
  RawBuffer b(4);
  b.Append(AsBytes("abc"));
  uint8_t* p = b.Grow(5);  // beyond the capacity: reallocates, keeps "abc"
  for (int i = 0; i < 5; ++i) p[i] = static_cast<uint8_t>('0' + i);
  EXPECT_EQ(AsString(b.view()), "abc01234");
  EXPECT_GE(b.capacity(), 8u);
  b.Resize(2);
  EXPECT_EQ(AsString(b.view()), "ab");
  const size_t capacity = b.capacity();
  b.Clear();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.capacity(), capacity);
  RawBuffer moved = std::move(b);
  EXPECT_EQ(moved.capacity(), capacity);
  EXPECT_EQ(b.capacity(), 0u);  // NOLINT(bugprone-use-after-move): defined for RawBuffer
}

}  // namespace
}  // namespace lifeboat
