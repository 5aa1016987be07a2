// FaultBackend implementation: see fault_backend.h.
#include "backend/fault_backend.h"

#include <algorithm>
#include <thread>

namespace lifeboat {

FaultBackend::FaultBackend(Backend* inner) : inner_(inner) {}
FaultBackend::FaultBackend(std::unique_ptr<Backend> inner)
    : owned_(std::move(inner)), inner_(owned_.get()) {}

void FaultBackend::AddPending(Op op, int nth, Mode mode, size_t keep, Status error) {
  if (error.ok()) error = Internal("injected fault");  // an OK "failure" would be no fault
  std::lock_guard lock(mu_);
  const int call = calls_[static_cast<size_t>(op)] + (nth < 1 ? 1 : nth);
  pending_.push_back(Pending{op, call, mode, keep, std::move(error)});
}

void FaultBackend::FailNext(Op op, int nth, Status error) {
  AddPending(op, nth, Mode::kFailBefore, 0, std::move(error));
}

void FaultBackend::TruncateSaveNext(size_t keep, Status error) {
  AddPending(Op::kSave, 1, Mode::kTruncateThenFail, keep, std::move(error));
}

void FaultBackend::FailSaveAfterWriteNext(Status error) {
  AddPending(Op::kSave, 1, Mode::kWriteThenFail, 0, std::move(error));
}

void FaultBackend::CorruptLoads(ObjectType type, bool on) {
  std::lock_guard lock(mu_);
  corrupt_loads_[static_cast<size_t>(type)] = on;
}

void FaultBackend::TruncateLoads(ObjectType type, size_t keep) {
  std::lock_guard lock(mu_);
  truncate_loads_[static_cast<size_t>(type)] = keep;
}

void FaultBackend::SetDelay(std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  delay_ = delay;
}

void FaultBackend::ClearFaults() {
  std::lock_guard lock(mu_);
  pending_.clear();
  corrupt_loads_ = {};
  truncate_loads_ = {};
  delay_ = std::chrono::milliseconds(0);
}

int FaultBackend::Calls(Op op) const {
  std::lock_guard lock(mu_);
  return calls_[static_cast<size_t>(op)];
}

void FaultBackend::ResetCounters() {
  std::lock_guard lock(mu_);
  // Keep pending faults aimed at the same relative call.
  for (Pending& p : pending_) p.call -= calls_[static_cast<size_t>(p.op)];
  calls_ = {};
}

FaultBackend::Decision FaultBackend::Enter(Op op) {
  Decision decision;
  std::chrono::milliseconds delay;
  {
    std::lock_guard lock(mu_);
    const int call = ++calls_[static_cast<size_t>(op)];
    delay = delay_;
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (it->op == op && it->call == call) {
        decision.mode = it->mode;
        decision.keep = it->keep;
        decision.error = std::move(it->error);
        pending_.erase(it);
        break;
      }
    }
  }
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
  return decision;
}

Status FaultBackend::Create() {
  Decision d = Enter(Op::kCreate);
  if (d.error) return *d.error;
  return inner_->Create();
}

Status FaultBackend::Save(const ObjectName& name, ByteView data) {
  Decision d = Enter(Op::kSave);
  if (!d.error) return inner_->Save(name, data);
  switch (d.mode) {
    case Mode::kFailBefore:
      return *d.error;
    case Mode::kTruncateThenFail:
      LB_RETURN_IF_ERROR(inner_->Save(name, data.first(std::min(d.keep, data.size()))));
      return *d.error;
    case Mode::kWriteThenFail:
      LB_RETURN_IF_ERROR(inner_->Save(name, data));
      return *d.error;
  }
  return *d.error;
}

void FaultBackend::OnLoad(std::function<void(const ObjectName&)> hook) {
  std::lock_guard lock(mu_);
  on_load_ = std::move(hook);
}

Result<Bytes> FaultBackend::Load(const ObjectName& name, uint64_t offset, uint64_t length) {
  std::function<void(const ObjectName&)> hook;
  {
    std::lock_guard lock(mu_);
    hook = on_load_;
  }
  if (hook) hook(name);
  Decision d = Enter(Op::kLoad);
  if (d.error) return *d.error;
  Result<Bytes> result = inner_->Load(name, offset, length);
  if (!result.ok()) return result;
  bool corrupt;
  std::optional<size_t> keep;
  {
    std::lock_guard lock(mu_);
    corrupt = corrupt_loads_[static_cast<size_t>(name.type)];
    keep = truncate_loads_[static_cast<size_t>(name.type)];
  }
  Bytes& data = *result;
  if (keep && data.size() > *keep) data.resize(*keep);
  if (corrupt && !data.empty()) data[data.size() / 2] ^= 0x01;
  return result;
}

Result<uint64_t> FaultBackend::Stat(const ObjectName& name) {
  Decision d = Enter(Op::kStat);
  if (d.error) return *d.error;
  return inner_->Stat(name);
}

Status FaultBackend::Remove(const ObjectName& name) {
  Decision d = Enter(Op::kRemove);
  if (d.error) return *d.error;
  return inner_->Remove(name);
}

Status FaultBackend::List(ObjectType type, const std::function<Status(const ObjectInfo&)>& fn) {
  Decision d = Enter(Op::kList);
  if (d.error) return *d.error;
  return inner_->List(type, fn);
}

}  // namespace lifeboat
