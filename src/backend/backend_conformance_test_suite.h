// The Backend conformance suite: GoogleTest value-parameterized tests that
// check the contract in backend/backend.h against any implementation.
//
// Use: include this header from exactly ONE *_test.cc of a test binary (it
// defines TEST_Ps) and instantiate it with a factory per backend:
//
//   INSTANTIATE_TEST_SUITE_P(Mem, BackendConformanceTest,
//       ::testing::Values(BackendFactory{"mem", [] { return std::make_unique<MemBackend>(); }}),
//       BackendFactoryName());
//
// `make` must return a fresh, empty backend that has NOT been Create()d; the
// fixture calls Create() in SetUp and destroys the backend in TearDown (a
// factory for a disk backend can return a subclass that deletes its
// directory in its destructor). Needs GoogleTest; not part of lb_backend.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "backend/backend.h"
#include "base/bytes.h"

namespace lifeboat {

struct BackendFactory {
  std::string name;  // test-name suffix: letters, digits and '_' only
  std::function<std::unique_ptr<Backend>()> make;
  // A GET racing an overwrite of the same key may answer "not found" (Swift
  // with one replica: the reader lists the old version, the writer's cleanup
  // unlinks it). Never partial data, which is what the test is about.
  bool not_found_during_overwrite = false;
};

inline void PrintTo(const BackendFactory& f, std::ostream* os) { *os << f.name; }

struct BackendFactoryName {
  std::string operator()(const ::testing::TestParamInfo<BackendFactory>& info) const {
    return info.param.name;
  }
};

namespace conformance {

inline constexpr ObjectType kAllTypes[] = {ObjectType::kConfig,   ObjectType::kKey,
                                           ObjectType::kPack,     ObjectType::kIndex,
                                           ObjectType::kSnapshot, ObjectType::kLock,
                                           ObjectType::kWal};

// A 64-hex-character name, distinct for each `seed`.
inline std::string HexName(uint64_t seed) {
  std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ULL + 1);
  Bytes raw(32);
  for (size_t i = 0; i < raw.size(); i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8; ++j) raw[i + j] = static_cast<uint8_t>(v >> (8 * j));
  }
  return HexEncode(raw);
}

// Deterministic pseudo-random bytes.
inline Bytes Pattern(size_t size, uint64_t seed) {
  Bytes out(size);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < size; i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < size; ++j) out[i + j] = static_cast<uint8_t>(v >> (8 * j));
  }
  return out;
}

inline ObjectName NameFor(ObjectType type, uint64_t seed) {
  if (type == ObjectType::kConfig) return {type, "config"};
  return {type, HexName(seed)};
}

}  // namespace conformance

class BackendConformanceTest : public ::testing::TestWithParam<BackendFactory> {
 protected:
  void SetUp() override {
    backend_ = GetParam().make();
    ASSERT_NE(backend_, nullptr);
    Status created = backend_->Create();
    ASSERT_TRUE(created.ok()) << created.ToString();
  }
  void TearDown() override { backend_.reset(); }

  Backend& b() { return *backend_; }

  void MustSave(const ObjectName& name, const Bytes& data) {
    Status s = b().Save(name, data);
    ASSERT_TRUE(s.ok()) << name.ToString() << ": " << s.ToString();
  }

  Bytes MustLoad(const ObjectName& name, uint64_t offset = 0, uint64_t length = 0) {
    Result<Bytes> r = b().Load(name, offset, length);
    EXPECT_TRUE(r.ok()) << name.ToString() << ": " << r.status().ToString();
    return r.ok() ? std::move(r).value() : Bytes();
  }

  std::map<std::string, uint64_t> ListAll(ObjectType type) {
    std::map<std::string, uint64_t> seen;
    Status s = b().List(type, [&](const ObjectInfo& info) {
      EXPECT_TRUE(seen.emplace(info.name, info.size).second) << "listed twice: " << info.name;
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return seen;
  }

  std::unique_ptr<Backend> backend_;
};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BackendConformanceTest);

TEST_P(BackendConformanceTest, DescribesItself) { EXPECT_FALSE(b().Location().empty()); }

TEST_P(BackendConformanceTest, CreateFailsOnceConfigExists) {
  MustSave({ObjectType::kConfig, "config"}, Bytes{1, 2, 3});
  Status again = b().Create();
  EXPECT_EQ(again.code(), Code::kAlreadyExists) << again.ToString();
  // The existing config is untouched.
  EXPECT_EQ(MustLoad({ObjectType::kConfig, "config"}), (Bytes{1, 2, 3}));
}

TEST_P(BackendConformanceTest, RoundTripEveryType) {
  uint64_t seed = 1;
  for (ObjectType type : conformance::kAllTypes) {
    SCOPED_TRACE(std::string(ObjectTypeName(type)));
    const ObjectName name = conformance::NameFor(type, seed);
    const Bytes data = conformance::Pattern(1000 + seed * 7, seed);
    MustSave(name, data);
    EXPECT_EQ(MustLoad(name), data);
    Result<uint64_t> size = b().Stat(name);
    ASSERT_TRUE(size.ok()) << size.status().ToString();
    EXPECT_EQ(*size, data.size());
    ++seed;
  }
  // Same name under different types are different objects.
  const std::string shared = conformance::HexName(99);
  MustSave({ObjectType::kIndex, shared}, Bytes{1});
  MustSave({ObjectType::kSnapshot, shared}, Bytes{2, 2});
  EXPECT_EQ(MustLoad({ObjectType::kIndex, shared}), Bytes{1});
  EXPECT_EQ(MustLoad({ObjectType::kSnapshot, shared}), (Bytes{2, 2}));
}

TEST_P(BackendConformanceTest, OverwriteReplaces) {
  const ObjectName name{ObjectType::kKey, conformance::HexName(5)};
  MustSave(name, conformance::Pattern(5000, 1));
  const Bytes shorter = conformance::Pattern(10, 2);
  MustSave(name, shorter);
  EXPECT_EQ(MustLoad(name), shorter);
  Result<uint64_t> size = b().Stat(name);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 10u);
  EXPECT_EQ(ListAll(ObjectType::kKey).size(), 1u);
}

TEST_P(BackendConformanceTest, RangedLoads) {
  const ObjectName name{ObjectType::kPack, conformance::HexName(7)};
  const Bytes data = conformance::Pattern(1000, 7);
  MustSave(name, data);
  auto slice = [&](size_t from, size_t n) {
    return Bytes(data.begin() + static_cast<ptrdiff_t>(from),
                 data.begin() + static_cast<ptrdiff_t>(from + n));
  };
  EXPECT_EQ(MustLoad(name, 0, 0), data);
  EXPECT_EQ(MustLoad(name, 10), slice(10, 990));
  EXPECT_EQ(MustLoad(name, 10, 20), slice(10, 20));
  EXPECT_EQ(MustLoad(name, 0, 1000), data);
  EXPECT_EQ(MustLoad(name, 999, 1), slice(999, 1));
  EXPECT_EQ(MustLoad(name, 1000, 0), Bytes());  // at the end, "to the end" is empty

  for (auto [offset, length] : std::vector<std::pair<uint64_t, uint64_t>>{
           {990, 20}, {0, 1001}, {1000, 1}, {1001, 0}, {5000, 0}, {1, UINT64_MAX}}) {
    Result<Bytes> r = b().Load(name, offset, length);
    ASSERT_FALSE(r.ok()) << "offset " << offset << " length " << length << " returned " << r->size()
                         << " bytes";
    EXPECT_EQ(r.status().code(), Code::kCorrupt) << r.status().ToString();
  }
}

TEST_P(BackendConformanceTest, LoadIntoGivesWhatLoadGivesAndReusesItsBuffer) {
  const ObjectName name{ObjectType::kPack, conformance::HexName(8)};
  const Bytes data = conformance::Pattern(300000, 8);
  MustSave(name, data);
  RawBuffer buf;
  auto load_into = [&](uint64_t offset, uint64_t length) {
    Status s = b().LoadInto(name, offset, length, &buf);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return Bytes(buf.data(), buf.data() + buf.size());
  };
  EXPECT_EQ(load_into(0, 0), data);
  const uint8_t* storage = buf.data();
  // Smaller reads land in the same storage and have exactly their size.
  EXPECT_EQ(load_into(100, 5000), MustLoad(name, 100, 5000));
  EXPECT_EQ(buf.data(), storage);
  EXPECT_EQ(load_into(299999, 1), MustLoad(name, 299999, 1));
  EXPECT_EQ(load_into(250000, 0), MustLoad(name, 250000, 0));
  EXPECT_EQ(buf.data(), storage);
  // Errors are Load's: past the end is kCorrupt, a missing object kNotFound.
  EXPECT_EQ(b().LoadInto(name, 299990, 20, &buf).code(), Code::kCorrupt);
  EXPECT_EQ(b().LoadInto({ObjectType::kPack, conformance::HexName(9)}, 0, 0, &buf).code(),
            Code::kNotFound);
}

TEST_P(BackendConformanceTest, LoadInPiecesGivesWhatLoadGivesAPrefixAtATime) {
  const ObjectName name{ObjectType::kPack, conformance::HexName(10)};
  const Bytes data = conformance::Pattern(1300000, 10);  // more than two local pieces
  MustSave(name, data);
  RawBuffer buf;
  std::vector<size_t> calls;
  Status s = b().LoadInPieces(name, &buf, [&](size_t loaded) {
    // What is reported loaded is already the object's prefix.
    EXPECT_TRUE(std::equal(buf.data(), buf.data() + loaded, data.begin())) << loaded;
    EXPECT_TRUE(calls.empty() || loaded > calls.back()) << loaded;
    calls.push_back(loaded);
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back(), data.size());
  EXPECT_TRUE(Bytes(buf.data(), buf.data() + buf.size()) == data);

  // A failing callback stops the load and is what it returns.
  size_t after_failure = 0;
  s = b().LoadInPieces(name, &buf, [&](size_t) {
    ++after_failure;
    return Status(Code::kCancelled, "enough");
  });
  EXPECT_EQ(s.code(), Code::kCancelled);
  EXPECT_EQ(after_failure, 1u);

  // An empty object loads as nothing; a missing one is kNotFound.
  const ObjectName empty{ObjectType::kPack, conformance::HexName(12)};
  MustSave(empty, Bytes());
  buf.Append(AsBytes("stale"));
  EXPECT_TRUE(b().LoadInPieces(empty, &buf, [](size_t) { return Status::Ok(); }).ok());
  EXPECT_EQ(buf.size(), 0u);
  EXPECT_EQ(b().LoadInPieces({ObjectType::kPack, conformance::HexName(13)}, &buf,
                             [](size_t) { return Status::Ok(); })
                .code(),
            Code::kNotFound);
}

TEST_P(BackendConformanceTest, MissingObjectsAreNotFound) {
  for (ObjectType type : conformance::kAllTypes) {
    SCOPED_TRACE(std::string(ObjectTypeName(type)));
    const ObjectName name = conformance::NameFor(type, 1234);
    EXPECT_EQ(b().Load(name).status().code(), Code::kNotFound);
    EXPECT_EQ(b().Load(name, 5, 5).status().code(), Code::kNotFound);
    EXPECT_EQ(b().Stat(name).status().code(), Code::kNotFound);
    EXPECT_EQ(b().Remove(name).code(), Code::kNotFound);
  }
}

TEST_P(BackendConformanceTest, RemoveDeletes) {
  const ObjectName name{ObjectType::kLock, conformance::HexName(3)};
  MustSave(name, Bytes{9});
  Status removed = b().Remove(name);
  ASSERT_TRUE(removed.ok()) << removed.ToString();
  EXPECT_EQ(b().Load(name).status().code(), Code::kNotFound);
  EXPECT_EQ(b().Stat(name).status().code(), Code::kNotFound);
  EXPECT_EQ(b().Remove(name).code(), Code::kNotFound);
  EXPECT_TRUE(ListAll(ObjectType::kLock).empty());
}

// ListPrefix gives exactly the objects whose names start with the prefix
// (S3 asks the server for it; the others filter a full listing).
TEST_P(BackendConformanceTest, ListPrefixSelectsByName) {
  for (ObjectType type : {ObjectType::kWal, ObjectType::kPack}) {
    const std::string first = conformance::HexName(41), second = conformance::HexName(42);
    MustSave({type, first}, Bytes{1});
    MustSave({type, second}, Bytes{2, 2});
    std::map<std::string, uint64_t> got;
    Status s = b().ListPrefix(type, first.substr(0, 20), [&](const ObjectInfo& info) {
      got[info.name] = info.size;
      return Status::Ok();
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(got, (std::map<std::string, uint64_t>{{first, 1}})) << ObjectTypeName(type);
    got.clear();
    s = b().ListPrefix(type, "", [&](const ObjectInfo& info) {
      got[info.name] = info.size;
      return Status::Ok();
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(got.size(), 2u) << ObjectTypeName(type);
  }
}

TEST_P(BackendConformanceTest, InvalidNamesAreRejected) {
  for (const ObjectName& name : std::vector<ObjectName>{{ObjectType::kKey, ""},
                                                        {ObjectType::kKey, "../config"},
                                                        {ObjectType::kIndex, "a/b"},
                                                        {ObjectType::kSnapshot, ".tmp-x"},
                                                        {ObjectType::kPack, "a"},
                                                        {ObjectType::kConfig, "other"}}) {
    SCOPED_TRACE(name.name);
    EXPECT_EQ(b().Save(name, Bytes{1}).code(), Code::kInvalidArgument);
    EXPECT_EQ(b().Load(name).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(b().Stat(name).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(b().Remove(name).code(), Code::kInvalidArgument);
  }
  for (ObjectType type : conformance::kAllTypes) EXPECT_TRUE(ListAll(type).empty());
}

TEST_P(BackendConformanceTest, ListReturnsExactlyTheSavedObjects) {
  std::map<ObjectType, std::map<std::string, uint64_t>> want;
  uint64_t seed = 100;
  for (ObjectType type : conformance::kAllTypes) {
    const int count = type == ObjectType::kConfig ? 1 : (type == ObjectType::kPack ? 40 : 5);
    for (int i = 0; i < count; ++i, ++seed) {
      const ObjectName name = conformance::NameFor(type, seed);
      const size_t size = seed % 17;  // includes empty objects
      MustSave(name, conformance::Pattern(size, seed));
      want[type][type == ObjectType::kConfig ? "config" : name.name] = size;
    }
  }
  for (ObjectType type : conformance::kAllTypes) {
    SCOPED_TRACE(std::string(ObjectTypeName(type)));
    EXPECT_EQ(ListAll(type), want[type]);
  }
  // Removing one pack removes exactly that one from the listing.
  auto victim = want[ObjectType::kPack].begin();
  ASSERT_TRUE(b().Remove({ObjectType::kPack, victim->first}).ok());
  want[ObjectType::kPack].erase(victim);
  EXPECT_EQ(ListAll(ObjectType::kPack), want[ObjectType::kPack]);
}

TEST_P(BackendConformanceTest, ListStopsOnCallbackError) {
  for (uint64_t i = 0; i < 6; ++i)
    MustSave({ObjectType::kSnapshot, conformance::HexName(i)}, Bytes{1});
  int calls = 0;
  Status s = b().List(ObjectType::kSnapshot, [&](const ObjectInfo&) {
    ++calls;
    return calls == 2 ? Status(Code::kCancelled, "stop here") : Status::Ok();
  });
  EXPECT_EQ(s.code(), Code::kCancelled);
  EXPECT_EQ(s.message(), "stop here");
  EXPECT_EQ(calls, 2);
}

TEST_P(BackendConformanceTest, ListOfEmptyTypeCallsNothing) {
  for (ObjectType type : conformance::kAllTypes) {
    int calls = 0;
    Status s = b().List(type, [&](const ObjectInfo&) {
      ++calls;
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << ObjectTypeName(type) << ": " << s.ToString();
    EXPECT_EQ(calls, 0) << ObjectTypeName(type);
  }
}

TEST_P(BackendConformanceTest, EmptyObject) {
  const ObjectName name{ObjectType::kIndex, conformance::HexName(11)};
  MustSave(name, Bytes());
  EXPECT_EQ(MustLoad(name), Bytes());
  Result<uint64_t> size = b().Stat(name);
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  EXPECT_EQ(*size, 0u);
  EXPECT_EQ(ListAll(ObjectType::kIndex), (std::map<std::string, uint64_t>{{name.name, 0}}));
  EXPECT_EQ(b().Load(name, 0, 1).status().code(), Code::kCorrupt);
}

TEST_P(BackendConformanceTest, LargeObject) {
  const ObjectName name{ObjectType::kPack, conformance::HexName(20)};
  const size_t size = 20u << 20;
  const Bytes data = conformance::Pattern(size, 20);
  MustSave(name, data);
  Result<uint64_t> stat = b().Stat(name);
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(*stat, size);
  Bytes loaded = MustLoad(name);
  ASSERT_EQ(loaded.size(), size);
  EXPECT_TRUE(loaded == data);  // not EXPECT_EQ: never print 20 MiB
  Bytes tail = MustLoad(name, size - 4096, 4096);
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), data.end() - 4096));
  EXPECT_EQ(tail.size(), 4096u);
}

TEST_P(BackendConformanceTest, ConcurrentSaveAndLoad) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 12;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const uint64_t seed = static_cast<uint64_t>(t * 1000 + i);
        const ObjectName name{ObjectType::kPack, conformance::HexName(seed)};
        const Bytes data = conformance::Pattern(1000 + seed % 3000, seed);
        if (!b().Save(name, data).ok()) ++failures;
        Result<Bytes> back = b().Load(name);
        if (!back.ok() || *back != data) ++failures;
        // Also read an object another thread may or may not have written yet.
        const uint64_t other = static_cast<uint64_t>(((t + 1) % kThreads) * 1000 + i);
        Result<Bytes> o = b().Load({ObjectType::kPack, conformance::HexName(other)});
        if (o.ok()) {
          if (*o != conformance::Pattern(1000 + other % 3000, other)) ++failures;
        } else if (o.status().code() != Code::kNotFound) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ListAll(ObjectType::kPack).size(), static_cast<size_t>(kThreads * kPerThread));
}

// Writers keep replacing one object with uniform contents of different sizes;
// readers must only ever see one complete version.
TEST_P(BackendConformanceTest, ReadersNeverSeePartialObjects) {
  const ObjectName name{ObjectType::kIndex, conformance::HexName(77)};
  auto version = [](uint8_t v) { return Bytes(64 * 1024 + v * 4096, v); };
  MustSave(name, version(1));
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::mutex first_mu;
  std::string first;  // the first failure, so a failing run says what went wrong
  auto fail = [&](std::string what) {
    if (failures++ == 0) {
      std::lock_guard lock(first_mu);
      first = std::move(what);
    }
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 25; ++i) {
        Status s = b().Save(name, version(static_cast<uint8_t>(1 + (w * 25 + i) % 200)));
        if (!s.ok()) fail("save: " + s.ToString());
      }
    });
  }
  for (int r = 0; r < 4; ++r) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        Result<Bytes> got = b().Load(name);
        if (!got.ok() && got.status().code() == Code::kNotFound &&
            GetParam().not_found_during_overwrite) {
          continue;
        }
        if (!got.ok()) {
          fail("load: " + got.status().ToString());
        } else if (got->empty() || *got != version((*got)[0])) {
          fail("load: partial or mixed object of " + std::to_string(got->size()) + " bytes");
        }
      }
    });
  }
  for (int w = 0; w < 4; ++w) threads[static_cast<size_t>(w)].join();
  stop = true;
  for (size_t i = 4; i < threads.size(); ++i) threads[i].join();
  EXPECT_EQ(failures.load(), 0) << "first: " << first;
  EXPECT_EQ(ListAll(ObjectType::kIndex).size(), 1u);
}

}  // namespace lifeboat
