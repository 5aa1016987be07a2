// Helpers for the S3 integration tests: where the servers that CTest started
// (tests/servers/s3/*.sh, FIXTURES_SETUP in src/s3/CMakeLists.txt) listen,
// backends on fresh prefixes, and a tiny HTTP client for the fixture's
// /__admin/ endpoints. Test-only.
// Thread-safety: functions are thread-safe; returned objects are not shared.
#pragma once

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>

#include "s3/s3_backend.h"

namespace lifeboat::s3test {

struct ServerInfo {
  std::string skip;  // non-empty: why the tests must skip
  std::string dir;   // the server's state dir
  int port = 0;
  int tls_port = 0;
  std::string cert;  // PEM of the HTTPS instance (s3rver)
};

inline std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// `name`: "s3rver", "swift" or "fixture".
inline ServerInfo Server(const std::string& name) {
  ServerInfo info;
  const char* state = std::getenv("LIFEBOAT_S3_STATE");
  if (state == nullptr || *state == '\0') {
    info.skip = "LIFEBOAT_S3_STATE is not set: run these tests through ctest -L s3, which starts "
                "the servers";
    return info;
  }
  info.dir = std::string(state) + "/" + name;
  const std::string skip = ReadFirstLine(info.dir + "/skip");
  if (!skip.empty()) {
    info.skip = name + " is unavailable: " + skip;
    return info;
  }
  info.port = std::atoi(ReadFirstLine(info.dir + "/port").c_str());
  if (info.port <= 0) {
    info.skip = name + " is not running (no " + info.dir + "/port)";
    return info;
  }
  info.tls_port = std::atoi(ReadFirstLine(info.dir + "/tls_port").c_str());
  if (::access((info.dir + "/cert.pem").c_str(), R_OK) == 0) info.cert = info.dir + "/cert.pem";
  return info;
}

inline EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

inline std::map<std::string, std::string> Keys(const std::string& id, const std::string& secret) {
  return {{"AWS_ACCESS_KEY_ID", id}, {"AWS_SECRET_ACCESS_KEY", secret}};
}

// A prefix no other test (or test process) uses.
inline std::string UniquePrefix() {
  static std::atomic<int> counter{0};
  static const uint64_t salt = std::random_device{}();
  std::ostringstream out;
  out << "t" << ::getpid() << "-" << counter++ << "-" << std::hex << (salt & 0xffffff);
  return out.str();
}

// Opens like OpenS3BackendWithEnv, then lets the test adjust knobs that are
// not user options (timeouts, backoff, page size).
inline std::unique_ptr<S3Backend> Open(const std::string& url_rest,
                                       const std::map<std::string, std::string>& options,
                                       const std::map<std::string, std::string>& env,
                                       const std::function<void(S3Options&)>& tweak = {}) {
  Result<S3Options> opts = ParseS3Options(options);
  EXPECT_TRUE(opts.ok()) << opts.status().ToString();
  if (!opts.ok()) return nullptr;
  if (tweak) tweak(*opts);
  Result<S3Url> url = ParseS3Url(url_rest);
  EXPECT_TRUE(url.ok()) << url.status().ToString();
  if (!url.ok()) return nullptr;
  Result<S3Credentials> creds = LoadS3Credentials(opts->profile, FakeEnv(env));
  EXPECT_TRUE(creds.ok()) << creds.status().ToString();
  if (!creds.ok()) return nullptr;
  S3Backend::Config config;
  config.url = *url;
  config.virtual_hosted = false;
  config.region = opts->region.empty() ? "us-east-1" : opts->region;
  config.credentials = *creds;
  config.cacert = !opts->cacert.empty() ? opts->cacert : FakeEnv(env)("LIFEBOAT_CACERT").value_or("");
  config.options = *opts;
  return std::make_unique<S3Backend>(std::move(config));
}

// Plain, unsigned HTTP for the fixture's /__admin/ endpoints.
inline std::string HttpCall(const std::string& method, const std::string& url) {
  CURL* h = curl_easy_init();
  std::string body;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION,
                   +[](char* p, size_t s, size_t n, void* u) -> size_t {
                     static_cast<std::string*>(u)->append(p, s * n);
                     return s * n;
                   });
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  const CURLcode rc = curl_easy_perform(h);
  curl_easy_cleanup(h);
  EXPECT_EQ(rc, CURLE_OK) << method << " " << url;
  return body;
}

// A 64-hex-character object name for `seed` (like the conformance suite's,
// which may only be included by one file of the binary).
inline std::string HexName(uint64_t seed) {
  std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ULL + 7);
  Bytes raw(32);
  for (auto& b : raw) b = static_cast<uint8_t>(rng());
  return HexEncode(raw);
}

// Deterministic pseudo-random bytes.
inline Bytes Pattern(size_t size, uint64_t seed) {
  Bytes out(size);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < size; i += 8) {
    const uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < size; ++j) out[i + j] = static_cast<uint8_t>(v >> (8 * j));
  }
  return out;
}

// Runs a tests/servers/s3 script ("s3rver.sh start DIR ..."); true on success.
inline bool RunScript(const std::string& args) {
  const std::string cmd = "bash " LIFEBOAT_S3_SCRIPTS_DIR "/" + args + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

}  // namespace lifeboat::s3test
