// Live progress for long commands: a thread that redraws one status line on
// a terminal (files, bytes, rate, ETA) or emits JSON status lines, until
// stopped. Also relays Ctrl-C to the running operation through `on_interrupt`.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "archiver/archiver.h"
#include "cli/global.h"
#include "restore/restorer.h"

namespace lifeboat {

struct ProgressSample {
  uint64_t files_done = 0, files_total = 0;
  uint64_t bytes_done = 0, bytes_total = 0;
  uint64_t errors = 0;
  bool total_known = false;  // totals are final (walk finished)
  const char* unit = "files";  // what files_done counts, on the terminal line
  std::string extra;         // e.g. "added 1.2 GiB"
};

class ProgressReporter {
 public:
  // `sample` is called from the reporter thread; `on_interrupt` once on Ctrl-C.
  ProgressReporter(const GlobalOptions& global, std::string verb,
                   std::function<ProgressSample()> sample, std::function<void()> on_interrupt);
  ~ProgressReporter();  // stops and clears the status line
  void Stop();

 private:
  void Loop();
  void Draw(const ProgressSample& s, double elapsed, bool final_line);

  const GlobalOptions& global_;
  std::string verb_;
  std::function<ProgressSample()> sample_;
  std::function<void()> on_interrupt_;
  bool terminal_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
  std::chrono::steady_clock::time_point start_;
};

// A sampler reading a Restorer's live counters (for ProgressReporter).
std::function<ProgressSample()> RestoreSampler(const RestoreProgress& progress);

// A sampler for a backup of streams (dumps, a command's output), whose size
// is not known ahead: the totals follow what was read, unless `estimated`
// (may be null; 0 = no estimate) gives a size expected in advance.
std::function<ProgressSample()> StreamBackupSampler(
    const ArchiveProgress& progress, const std::atomic<uint64_t>* estimated = nullptr);

}  // namespace lifeboat
