// Runs the Backend conformance suite on every backend in this module:
// LocalBackend (in a temporary directory), MemBackend, the shared
// "memory:NAME" backend from OpenBackend, and FaultBackend with no faults.
#include <atomic>

#include "backend/backend_conformance_test_suite.h"
#include "backend/fault_backend.h"
#include "backend/local_backend.h"
#include "backend/mem_backend.h"
#include "backend/test_temp_dir.h"

namespace lifeboat {
namespace {

// A LocalBackend rooted at DIR/repo (not yet created) that deletes DIR when
// destroyed.
class TempLocalBackend : public LocalBackend {
 public:
  explicit TempLocalBackend(std::unique_ptr<TestTempDir> dir)
      : LocalBackend(dir->path() + "/repo"), dir_(std::move(dir)) {}

 private:
  std::unique_ptr<TestTempDir> dir_;
};

std::unique_ptr<Backend> MakeLocal() {
  auto dir = std::make_unique<TestTempDir>();
  if (dir->path().empty()) return nullptr;
  return std::make_unique<TempLocalBackend>(std::move(dir));
}

std::unique_ptr<Backend> MakeSharedMemory() {
  static std::atomic<int> counter{0};
  auto opened = OpenBackend("memory:conformance-" + std::to_string(counter++));
  if (!opened.ok()) return nullptr;
  return std::move(opened).value();
}

INSTANTIATE_TEST_SUITE_P(
    All, BackendConformanceTest,
    ::testing::Values(
        BackendFactory{"Local", MakeLocal},
        BackendFactory{"Mem",
                       [] { return std::unique_ptr<Backend>(std::make_unique<MemBackend>()); }},
        BackendFactory{"OpenMemory", MakeSharedMemory},
        BackendFactory{"FaultOverMem",
                       [] {
                         return std::unique_ptr<Backend>(
                             std::make_unique<FaultBackend>(std::make_unique<MemBackend>()));
                       }}),
    BackendFactoryName());

}  // namespace
}  // namespace lifeboat
