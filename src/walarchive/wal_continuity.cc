#include "walarchive/wal_continuity.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

namespace lifeboat {
namespace {

std::optional<uint32_t> Hex32(std::string_view s) {
  uint32_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::vector<WalGap> FindWalGaps(const std::vector<std::string>& archived, uint32_t timeline,
                                std::string_view start_wal_file, uint64_t segment_size) {
  if (segment_size < (1u << 20) || segment_size > (1u << 30) ||
      (segment_size & (segment_size - 1)) != 0) {
    segment_size = 16u << 20;
  }
  const uint64_t per_log = 0x100000000ull / segment_size;
  auto segno = [&](std::string_view name) -> std::optional<uint64_t> {
    if (name.size() != 24) return std::nullopt;
    auto tli = Hex32(name.substr(0, 8));
    auto log = Hex32(name.substr(8, 8));
    auto seg = Hex32(name.substr(16, 8));
    if (!tli || !log || !seg || *tli != timeline || *seg >= per_log) return std::nullopt;
    return uint64_t{*log} * per_log + *seg;
  };
  auto name_of = [&](uint64_t n) {
    return fmt::format("{:08X}{:08X}{:08X}", timeline, n / per_log, n % per_log);
  };
  std::vector<WalGap> gaps;
  auto start = segno(start_wal_file);
  if (!start) return gaps;
  std::vector<uint64_t> have;
  for (const std::string& name : archived) {
    if (auto n = segno(name); n && *n >= *start) have.push_back(*n);
  }
  std::sort(have.begin(), have.end());
  have.erase(std::unique(have.begin(), have.end()), have.end());
  uint64_t expect = *start;
  for (uint64_t n : have) {
    if (n > expect) gaps.push_back({name_of(expect), n - expect, name_of(n)});
    expect = n + 1;
  }
  return gaps;
}

}  // namespace lifeboat
