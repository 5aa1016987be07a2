// FaultBackend: a test decorator that wraps another Backend and injects
// failures: the Nth call of an operation fails, a Save writes a truncated
// object and then fails, loads come back with a flipped bit or cut short, and
// every call can be delayed. It also counts calls per operation.
//
// Ownership: either borrows `inner` (the raw-pointer constructor; `inner` must
// outlive the FaultBackend) or owns it (the unique_ptr constructor).
// Thread-safety: all methods, including the fault setters, may be called
// concurrently; the inner backend is called without holding the lock.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace lifeboat {

class FaultBackend final : public Backend {
 public:
  enum class Op { kCreate, kSave, kLoad, kStat, kRemove, kList };

  explicit FaultBackend(Backend* inner);
  explicit FaultBackend(std::unique_ptr<Backend> inner);

  // The `nth` call of `op` from now on (1 = the very next one) returns
  // `error` without reaching the inner backend (a failed Save writes nothing).
  // Several failures may be pending at once, for the same or other ops.
  void FailNext(Op op, int nth, Status error);
  // The next Save writes only the first `keep` bytes of its data to the inner
  // backend (simulating a non-atomic store that was interrupted), then
  // returns `error`.
  void TruncateSaveNext(size_t keep, Status error = IoError("injected fault: save interrupted"));
  // The next Save writes the whole object, then returns `error` (the store
  // succeeded but the acknowledgement was lost).
  void FailSaveAfterWriteNext(Status error = IoError("injected fault: save acknowledgement lost"));
  // While on, every successful non-empty Load of `type` returns data whose
  // middle byte (index size/2) has its lowest bit flipped.
  void CorruptLoads(ObjectType type, bool on);
  // Every successful Load of `type` returns at most `keep` bytes.
  void TruncateLoads(ObjectType type, size_t keep);
  // Every call sleeps this long before doing anything else (0 = no delay).
  void SetDelay(std::chrono::milliseconds delay);
  // Called (outside the lock) at the start of every Load, before any fault:
  // lets a test act at a given point of a reader's progress. Null: none.
  void OnLoad(std::function<void(const ObjectName&)> hook);
  // Removes all pending and standing faults and the delay (not the counters).
  void ClearFaults();

  // Calls of `op` so far, including ones that failed by injection.
  int Calls(Op op) const;
  void ResetCounters();

  std::string Location() const override { return inner_->Location(); }
  BackendCapabilities Capabilities() const override { return inner_->Capabilities(); }
  Status Create() override;
  Status Save(const ObjectName& name, ByteView data) override;
  Result<Bytes> Load(const ObjectName& name, uint64_t offset = 0, uint64_t length = 0) override;
  Result<uint64_t> Stat(const ObjectName& name) override;
  Status Remove(const ObjectName& name) override;
  Status List(ObjectType type, const std::function<Status(const ObjectInfo&)>& fn) override;
  // Not a fault point: passed through so that Object Lock checks still work.
  Result<std::optional<int64_t>> RetainUntil(const ObjectName& name) override {
    return inner_->RetainUntil(name);
  }

 private:
  enum class Mode { kFailBefore, kTruncateThenFail, kWriteThenFail };
  struct Pending {
    Op op;
    int call;  // fires on this value of the call counter
    Mode mode;
    size_t keep;
    Status error;
  };
  struct Decision {
    Mode mode = Mode::kFailBefore;
    size_t keep = 0;
    std::optional<Status> error;  // nullopt: no fault, forward normally
  };
  static constexpr size_t kOps = 6;
  static constexpr size_t kTypes = static_cast<size_t>(ObjectType::kWal) + 1;  // every ObjectType

  // Counts the call, sleeps for the delay, and returns the fault to apply.
  Decision Enter(Op op);
  void AddPending(Op op, int nth, Mode mode, size_t keep, Status error);

  std::unique_ptr<Backend> owned_;
  Backend* inner_;

  mutable std::mutex mu_;
  std::array<int, kOps> calls_{};                               // guarded by mu_
  std::vector<Pending> pending_;                                // guarded by mu_
  std::array<bool, kTypes> corrupt_loads_{};                    // guarded by mu_
  std::array<std::optional<size_t>, kTypes> truncate_loads_{};  // guarded by mu_
  std::chrono::milliseconds delay_{0};                          // guarded by mu_
  std::function<void(const ObjectName&)> on_load_;              // guarded by mu_
};

}  // namespace lifeboat
