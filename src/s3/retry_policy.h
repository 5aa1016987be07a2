// RetryPolicy: how often and how long the S3 backend waits before repeating a
// request that failed transiently (kUnavailable: 5xx, 429/SlowDown, timeouts,
// refused or reset connections, short reads). Exponential backoff with full
// jitter: the delay before retry n (0-based) is uniform in
// [0, min(cap, base * 2^n)], so clients that failed together do not come back
// together.
// Thread-safety: a value type; Delay() takes the caller's random generator.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

#include "base/status.h"

namespace lifeboat {

struct RetryPolicy {
  int max_attempts = 6;  // total tries per request, including the first
  std::chrono::milliseconds base{100};
  std::chrono::milliseconds cap{3000};

  // Upper bound of the delay before retry `retry` (0 = before the 2nd attempt).
  std::chrono::milliseconds MaxDelay(int retry) const;
  // A jittered delay in [0, MaxDelay(retry)].
  std::chrono::milliseconds Delay(int retry, std::mt19937_64& rng) const;
};

// Only kUnavailable is retried: every other failure is permanent (other 4xx,
// TLS verification, malformed answers).
inline bool IsRetryable(const Status& status) { return status.code() == Code::kUnavailable; }

}  // namespace lifeboat
