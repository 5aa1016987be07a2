#include "app/change_rate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace lifeboat {
namespace {

uint64_t Median(std::vector<uint64_t> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t mid = v.size() / 2;
  if (v.size() % 2 == 1) return v[mid];
  return v[mid - 1] / 2 + v[mid] / 2 + (v[mid - 1] % 2 + v[mid] % 2) / 2;
}

uint64_t Threshold(uint64_t median, double factor, int64_t floor) {
  const double scaled = std::ceil(static_cast<double>(median) * factor);
  const uint64_t f = floor > 0 ? static_cast<uint64_t>(floor) : 0;
  if (scaled >= 1.8e19) return UINT64_MAX;
  return std::max(static_cast<uint64_t>(scaled), f);
}

std::string HumanBytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.1f} {}", v, units[u]);
}

}  // namespace

ChangeFigures FiguresOf(const SnapshotSummary& s) {
  return {s.files_new + s.files_changed, s.bytes_added};
}

ChangeRateDecision EvaluateChangeRate(const ChangeFigures& now,
                                      const std::vector<ChangeFigures>& history,
                                      const ChangeAlertSettings& settings) {
  ChangeRateDecision d;
  d.history = std::min(history.size(), kChangeHistory);
  if (!settings.enabled || d.history < kMinChangeHistory) return d;
  std::vector<uint64_t> files, bytes;
  for (size_t i = 0; i < d.history; ++i) {
    files.push_back(history[i].files_changed);
    bytes.push_back(history[i].bytes_added);
  }
  d.median_files = Median(files);
  d.median_bytes = Median(bytes);
  d.files_threshold = Threshold(d.median_files, settings.factor, settings.min_files);
  d.bytes_threshold = Threshold(d.median_bytes, settings.factor, settings.min_bytes);
  std::vector<std::string> why;
  if (now.files_changed > d.files_threshold) {
    why.push_back(fmt::format("{} files changed or new (usual {}, threshold {})",
                              now.files_changed, d.median_files, d.files_threshold));
  }
  if (now.bytes_added > d.bytes_threshold) {
    why.push_back(fmt::format("{} added (usual {}, threshold {})", HumanBytes(now.bytes_added),
                              HumanBytes(d.median_bytes), HumanBytes(d.bytes_threshold)));
  }
  d.fire = !why.empty();
  for (size_t i = 0; i < why.size(); ++i) d.message += (i ? "; " : "") + why[i];
  return d;
}

}  // namespace lifeboat
