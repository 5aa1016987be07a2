// TestRemoteView: a test-only view onto another backend that looks like
// remote storage (not local, `connections` connections) and makes every Load
// that `slow` selects a round trip: it sleeps `delay` and counts the reads
// and how many of them overlapped, so a test can tell parallel reads from
// one-by-one ones. Everything else is passed through.
// Thread-safety: as the inner backend; the counters are atomic. `slow` is
// called concurrently and must only read.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "backend/backend.h"

namespace lifeboat {

class TestRemoteView : public Backend {
 public:
  TestRemoteView(Backend* inner, std::function<bool(const ObjectName&)> slow, int connections = 6,
                 std::chrono::milliseconds delay = std::chrono::milliseconds(2))
      : inner_(inner), slow_(std::move(slow)), connections_(connections), delay_(delay) {}

  std::string Location() const override { return "remote view"; }
  BackendCapabilities Capabilities() const override {
    return {.durable = true, .local = false, .connections = connections_};
  }
  Status Create() override { return inner_->Create(); }
  Status Save(const ObjectName& n, ByteView d) override { return inner_->Save(n, d); }
  Result<Bytes> Load(const ObjectName& n, uint64_t o, uint64_t l) override {
    const bool slow = slow_(n);
    if (slow) {
      ++reads;
      const int now = ++in_flight;
      for (int seen = max_in_flight;
           now > seen && !max_in_flight.compare_exchange_weak(seen, now);) {
      }
      std::this_thread::sleep_for(delay_);
    }
    auto r = inner_->Load(n, o, l);
    if (slow) --in_flight;
    return r;
  }
  Result<uint64_t> Stat(const ObjectName& n) override { return inner_->Stat(n); }
  Status Remove(const ObjectName& n) override { return inner_->Remove(n); }
  Status List(ObjectType t, const std::function<Status(const ObjectInfo&)>& fn) override {
    return inner_->List(t, fn);
  }

  std::atomic<int> reads{0}, in_flight{0}, max_in_flight{0};

 private:
  Backend* inner_;
  std::function<bool(const ObjectName&)> slow_;
  int connections_;
  std::chrono::milliseconds delay_;
};

}  // namespace lifeboat
