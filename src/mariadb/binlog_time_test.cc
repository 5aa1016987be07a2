// BinlogLastEventTime over hand-made binlog bytes: events walked by their
// sizes, truncated and malformed input, not a binlog.
#include "mariadb/binlog_time.h"

#include <gtest/gtest.h>

#include <string>

namespace lifeboat {
namespace {

void Le32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// One event: 19-byte header + `body` bytes.
std::string Event(uint32_t time, uint8_t type, size_t body) {
  std::string e;
  Le32(&e, time);
  e.push_back(static_cast<char>(type));
  Le32(&e, 1);                                       // server_id
  Le32(&e, static_cast<uint32_t>(19 + body));        // event_size
  Le32(&e, 0);                                       // log_pos
  e.append(2, '\0');                                 // flags
  e.append(body, 'x');
  return e;
}

const std::string kMagic = "\xfe" "bin";

TEST(BinlogTimeTest, LastCompleteEvent) {
  std::string b = kMagic + Event(1700000000, 15, 100) + Event(1700000005, 2, 40) +
                  Event(1700000009, 4, 20);
  auto t = BinlogLastEventTime(AsBytes(b));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, 1700000009);
  // A truncated last event: the one before it.
  std::string cut = b.substr(0, b.size() - 5);
  EXPECT_EQ(BinlogLastEventTime(AsBytes(cut)), 1700000005);
}

TEST(BinlogTimeTest, NotABinlogOrEmpty) {
  EXPECT_FALSE(BinlogLastEventTime(AsBytes("")).has_value());
  EXPECT_FALSE(BinlogLastEventTime(AsBytes(kMagic)).has_value());
  EXPECT_FALSE(BinlogLastEventTime(AsBytes("GIF89a" + Event(1, 1, 1))).has_value());
  // An event size below the header size stops the walk (no endless loop).
  std::string bad = kMagic + Event(1700000000, 15, 0);
  bad[4 + 9] = 3;
  EXPECT_FALSE(BinlogLastEventTime(AsBytes(bad)).has_value());
  // An event size beyond the end: stops there.
  std::string over = kMagic + Event(1700000000, 15, 10) + Event(1700000100, 2, 10);
  over[4 + 29 + 9] = static_cast<char>(0xff);
  over[4 + 29 + 10] = static_cast<char>(0xff);
  EXPECT_EQ(BinlogLastEventTime(AsBytes(over)), 1700000000);
}

}  // namespace
}  // namespace lifeboat
