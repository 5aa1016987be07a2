// ParallelFor: runs fn(i, worker) for every i in [0, n) on up to `threads`
// threads (the caller's included), for fan-outs of independent items such as
// loading many small objects. `worker` is in [0, threads), for per-thread
// state. After a failure no further item is started; the result is the
// failure of the lowest item among those that failed (so it does not depend
// on scheduling when one item is bad), or OK.
// Thread-safety: fn is called concurrently and must be safe for that.
#pragma once

#include <cstddef>
#include <functional>

#include "base/status.h"

namespace lifeboat {

Status ParallelFor(size_t n, size_t threads,
                   const std::function<Status(size_t i, size_t worker)>& fn);

}  // namespace lifeboat
