#include "s3/retry_policy.h"

#include <algorithm>

namespace lifeboat {

std::chrono::milliseconds RetryPolicy::MaxDelay(int retry) const {
  if (retry < 0 || base.count() <= 0) return std::chrono::milliseconds(0);
  // Doubling stops once the cap is reached (and long before overflow).
  int64_t delay = base.count();
  for (int i = 0; i < retry && delay < cap.count(); ++i) delay *= 2;
  return std::chrono::milliseconds(std::min<int64_t>(delay, cap.count()));
}

std::chrono::milliseconds RetryPolicy::Delay(int retry, std::mt19937_64& rng) const {
  const int64_t max = MaxDelay(retry).count();
  if (max <= 0) return std::chrono::milliseconds(0);
  std::uniform_int_distribution<int64_t> dist(0, max);
  return std::chrono::milliseconds(dist(rng));
}

}  // namespace lifeboat
