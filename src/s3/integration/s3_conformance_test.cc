// The shared Backend conformance suite against real S3 servers on loopback:
// s3rver (bulk) and Swift + s3api (verifies SigV4 and payload hashes). Each
// test gets a fresh prefix in a shared bucket. When a server could not be
// started, every test records a SKIP with the reason (the placeholder memory
// backend returned then is never used: GoogleTest does not run a test body
// after a skip in SetUp).
#include "backend/backend_conformance_test_suite.h"
#include "backend/mem_backend.h"
#include "s3/integration/s3_test_servers.h"

namespace lifeboat {
namespace {

using s3test::Keys;
using s3test::Server;
using s3test::ServerInfo;

std::unique_ptr<Backend> MakeOn(const std::string& server, const std::string& id,
                                const std::string& secret) {
  const ServerInfo info = Server(server);
  if (!info.skip.empty()) {
    [&] { GTEST_SKIP() << info.skip; }();
    return std::make_unique<MemBackend>();
  }
  const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  if (server == "s3rver" && (test.rfind("ReadersNeverSeePartialObjects", 0) == 0 ||
                              test.rfind("ConcurrentSaveAndLoad", 0) == 0)) {
    // s3rver 3.7.1 writes an object in place (fs.createWriteStream on the
    // final path), so a GET during a PUT of the same key can answer 200 with
    // an empty or partial body (seen: 0 bytes for 1001). Swift runs both.
    [&] { GTEST_SKIP() << "s3rver 3.7.1 does not store objects atomically (Swift runs this test)"; }();
    return std::make_unique<MemBackend>();
  }
  return s3test::Open("http://127.0.0.1:" + std::to_string(info.port) + "/lifeboat-conformance/" +
                          s3test::UniquePrefix(),
                      {}, Keys(id, secret));
}

INSTANTIATE_TEST_SUITE_P(S3rver, BackendConformanceTest,
                         ::testing::Values(BackendFactory{
                             "s3rver", [] { return MakeOn("s3rver", "S3RVER", "S3RVER"); }}),
                         BackendFactoryName());

INSTANTIATE_TEST_SUITE_P(Swift, BackendConformanceTest,
                         ::testing::Values(BackendFactory{
                             "swift", [] { return MakeOn("swift", "test:tester", "testing"); },
                             /*not_found_during_overwrite=*/true}),
                         BackendFactoryName());

}  // namespace
}  // namespace lifeboat
