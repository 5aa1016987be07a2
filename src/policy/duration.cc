// Parsing and formatting of retention and interval duration strings.
#include "policy/duration.h"

#include <limits>
#include <span>

namespace lifeboat {
namespace {

struct Unit {
  char symbol;
  int64_t value;  // in the dialect's base unit
};

constexpr Unit kRetentionUnits[] = {
    {'y', 365 * kNanosPerDay}, {'m', 30 * kNanosPerDay}, {'w', 7 * kNanosPerDay},
    {'d', kNanosPerDay},       {'h', kNanosPerHour},
};

constexpr Unit kIntervalUnits[] = {
    {'w', 7 * 86400}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1},
};

Result<int64_t> ParseTerms(std::string_view text, std::span<const Unit> units,
                           std::string_view dialect, std::string_view unit_help) {
  auto fail = [&](std::string why) -> Status {
    return Status(
        Code::kInvalidArgument,
        "invalid " + std::string(dialect) + " duration '" + std::string(text) + "': " + why,
        "use terms like " + std::string(unit_help));
  };
  if (text.empty()) return fail("empty");
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t start = pos;
    int64_t number = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      int digit = text[pos] - '0';
      if (number > (kMax - digit) / 10) return fail("number too large");
      number = number * 10 + digit;
      ++pos;
    }
    if (pos == start) {
      return fail("expected a number at position " + std::to_string(pos));
    }
    if (pos == text.size())
      return fail("number " + std::string(text.substr(start)) + " has no unit");
    char symbol = text[pos++];
    const Unit* unit = nullptr;
    for (const Unit& u : units) {
      if (u.symbol == symbol) unit = &u;
    }
    if (unit == nullptr) return fail(std::string("unknown unit '") + symbol + "'");
    if (number != 0 && number > kMax / unit->value) return fail("too large");
    int64_t term = number * unit->value;
    if (total > kMax - term) return fail("too large");
    total += term;
  }
  return total;
}

std::string FormatTerms(int64_t value, std::span<const Unit> units) {
  std::string out;
  for (const Unit& unit : units) {
    if (value >= unit.value) {
      out += std::to_string(value / unit.value);
      out += unit.symbol;
      value %= unit.value;
    }
  }
  return out;
}

}  // namespace

Result<int64_t> ParseRetentionDuration(std::string_view text) {
  return ParseTerms(text, kRetentionUnits, "retention",
                    "'7d', '36h', '1y6m' (y=365 days, m=30-day months, w, d, h)");
}

std::string FormatRetentionDuration(int64_t nanos) {
  if (nanos <= 0) return "0h";
  // Weeks are accepted when parsing but shown as days ("2w" → "14d").
  constexpr Unit kShown[] = {kRetentionUnits[0], kRetentionUnits[1], kRetentionUnits[3],
                             kRetentionUnits[4]};
  std::string out = FormatTerms(nanos, kShown);
  int64_t seconds = (nanos % kNanosPerHour) / kNanosPerSecond;
  if (seconds > 0) out += std::to_string(seconds) + "s";
  if (out.empty()) out = "0h";
  return out;
}

Result<int64_t> ParseDurationSeconds(std::string_view text) {
  return ParseTerms(text, kIntervalUnits, "interval",
                    "'30s', '5m', '1h30m', '7d' (s, m=minutes, h, d, w)");
}

std::string FormatDurationSeconds(int64_t seconds) {
  if (seconds <= 0) return "0s";
  std::span<const Unit> no_weeks(kIntervalUnits + 1, std::size(kIntervalUnits) - 1);
  return FormatTerms(seconds, no_weeks);
}

}  // namespace lifeboat
