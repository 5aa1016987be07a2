#include "cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fmt/format.h>

namespace lifeboat {

ProgressReporter::ProgressReporter(const GlobalOptions& global, std::string verb,
                                   std::function<ProgressSample()> sample,
                                   std::function<void()> on_interrupt)
    : global_(global),
      verb_(std::move(verb)),
      sample_(std::move(sample)),
      on_interrupt_(std::move(on_interrupt)),
      start_(std::chrono::steady_clock::now()) {
  terminal_ = !global.quiet && !global.json && isatty(STDERR_FILENO);
  thread_ = std::thread([this] { Loop(); });
}

ProgressReporter::~ProgressReporter() { Stop(); }

void ProgressReporter::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (terminal_) std::fputs("\r\033[K", stderr);
}

void ProgressReporter::Loop() {
  bool interrupted_sent = false;
  auto interval = terminal_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(1000);
  auto last_draw = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stop_; })) {
    if (Interrupted() && !interrupted_sent) {
      interrupted_sent = true;
      if (on_interrupt_) on_interrupt_();
    }
    auto now = std::chrono::steady_clock::now();
    if (now - last_draw < interval) continue;
    last_draw = now;
    if (!terminal_ && !global_.json) continue;
    if (global_.quiet) continue;
    double elapsed = std::chrono::duration<double>(now - start_).count();
    Draw(sample_(), elapsed, false);
  }
}

void ProgressReporter::Draw(const ProgressSample& s, double elapsed, bool) {
  double rate = elapsed > 0 ? static_cast<double>(s.bytes_done) / elapsed : 0;
  double eta = -1;
  if (s.total_known && rate > 0 && s.bytes_total >= s.bytes_done)
    eta = static_cast<double>(s.bytes_total - s.bytes_done) / rate;
  if (global_.json) {
    nlohmann::json j = {{"message_type", "status"},
                        {"seconds_elapsed", elapsed},
                        {"files_done", s.files_done},
                        {"total_files", s.files_total},
                        {"bytes_done", s.bytes_done},
                        {"total_bytes", s.bytes_total},
                        {"error_count", s.errors}};
    if (s.total_known && s.bytes_total > 0)
      j["percent_done"] = static_cast<double>(s.bytes_done) / static_cast<double>(s.bytes_total);
    if (eta >= 0) j["seconds_remaining"] = eta;
    PrintJson(j);
    std::fflush(stdout);
    return;
  }
  std::string line = fmt::format("[{}] {} {} / {} {}, {} / {}, {}/s", FormatSeconds(elapsed),
                                  verb_, s.files_done, s.files_total, s.unit,
                                  FormatBytes(s.bytes_done),
                                  FormatBytes(s.bytes_total), FormatBytes(static_cast<uint64_t>(rate)));
  if (s.total_known && s.bytes_total > 0)
    line += fmt::format(" ({:.1f}%)", 100.0 * static_cast<double>(s.bytes_done) /
                                          static_cast<double>(s.bytes_total));
  if (eta >= 0) line += ", ETA " + FormatSeconds(eta);
  if (s.errors) line += fmt::format(", {} errors", s.errors);
  if (!s.extra.empty()) line += ", " + s.extra;
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
}

std::function<ProgressSample()> RestoreSampler(const RestoreProgress& progress) {
  return [&progress] {
    ProgressSample s;
    s.files_done = progress.files_done;
    s.files_total = progress.files_total;
    s.bytes_done = progress.bytes_done;
    s.bytes_total = progress.bytes_total;
    s.total_known = progress.files_total > 0;
    s.errors = progress.errors;
    return s;
  };
}

std::function<ProgressSample()> StreamBackupSampler(const ArchiveProgress& progress,
                                                    const std::atomic<uint64_t>* estimated) {
  return [&progress, estimated] {
    ProgressSample s;
    s.files_done = progress.files_done;
    s.files_total = progress.files_done;
    s.bytes_done = progress.bytes_done;
    const uint64_t expected = estimated != nullptr ? estimated->load() : 0;
    s.bytes_total = std::max(expected, s.bytes_done);
    s.total_known = expected > 0;
    s.extra = "added " + FormatBytes(progress.bytes_added);
    return s;
  };
}

}  // namespace lifeboat
