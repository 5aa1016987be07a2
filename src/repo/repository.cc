#include "repo/repository.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "base/parallel_for.h"
#include "crypto/hash.h"
#include "repo/compression.h"
#include "repo/sealed_object.h"

namespace lifeboat {
namespace {

using json = nlohmann::json;

// Packs are stored by uploader threads so that compressing threads never wait
// for a write and its fdatasync (~50 ms per 16 MiB pack on local disk). One
// suffices for local storage; remote stores need parallel connections.
constexpr int kLocalUploaderThreads = 1;
constexpr int kRemoteUploaderThreads = 2;
// Finished packs waiting for an uploader: staged in files, so a queued pack
// costs no memory (in memory mode it costs a pack each).
constexpr size_t kUploadQueuePacks = 2;
constexpr size_t kPacksPerIndexFile = 16;  // bounds what a killed backup loses
// Tree packs stay small: a cache holds them whole and an incremental backup
// reads a few of them, not a data pack's worth.
constexpr uint64_t kTreePackSize = 4ull << 20;
constexpr int kObjectZstdLevel = 3;

std::string EncodeConfig(const RepoConfig& c) {
  json doc = {
      {"version", c.version},
      {"id", c.id},
      {"chunker",
       {{"min", c.chunker.min_size}, {"avg", c.chunker.avg_size}, {"max", c.chunker.max_size}}},
      {"compression_level", c.compression_level},
      {"pack_size", c.pack_size},
      {"created_ns", c.created_ns},
      {"site", c.site}};
  if (!c.media.empty()) doc["media"] = c.media;
  return doc.dump();
}

Result<RepoConfig> DecodeConfig(std::string_view text) {
  try {
    json doc = json::parse(text);
    RepoConfig c;
    c.version = doc.at("version").get<int>();
    if (c.version != format::kRepositoryVersion) {
      return Status(Code::kCorrupt,
                    "repository format version " + std::to_string(c.version) + " is not supported",
                    "upgrade lifeboat");
    }
    c.id = doc.at("id").get<std::string>();
    c.chunker.min_size = doc.at("chunker").at("min").get<size_t>();
    c.chunker.avg_size = doc.at("chunker").at("avg").get<size_t>();
    c.chunker.max_size = doc.at("chunker").at("max").get<size_t>();
    c.compression_level = doc.at("compression_level").get<int>();
    c.pack_size = doc.at("pack_size").get<uint64_t>();
    c.created_ns = doc.value("created_ns", int64_t{0});
    // Absent in configs written before they existed.
    c.media = doc.value("media", std::string());
    c.site = doc.value("site", std::string("onsite"));
    if ((!c.media.empty() && !ValidateRepoMedia(c.media).ok()) || !ValidateRepoSite(c.site).ok())
      return Corrupt("repository config has an invalid media or site");
    const auto& ch = c.chunker;
    if (ch.min_size < 64 || ch.min_size > ch.avg_size || ch.avg_size > ch.max_size ||
        ch.max_size > format::kMaxBlobSize || (ch.avg_size & (ch.avg_size - 1)) != 0 ||
        c.pack_size < 1024 || c.pack_size > format::kMaxPackSize || c.compression_level < 0 ||
        c.compression_level > 22)
      return Corrupt("repository config has out-of-range parameters");
    return c;
  } catch (const json::exception& e) {
    return Corrupt(std::string("repository config is malformed: ") + e.what());
  }
}

}  // namespace

Status ValidateRepoMedia(std::string_view media) {
  for (std::string_view known : {"disk", "object", "tape", "cold"}) {
    if (media == known) return Status::Ok();
  }
  return InvalidArgument("unknown media '" + std::string(media) +
                         "': use disk, object, tape or cold");
}

Status ValidateRepoSite(std::string_view site) {
  bool ok = !site.empty() && site.size() <= 64;
  for (char c : site) {
    ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                c == '_' || c == '-' || c == '.');
  }
  if (ok) return Status::Ok();
  return InvalidArgument("invalid site name '" + std::string(site.substr(0, 64)) +
                         "': 1..64 letters, digits, '_', '-' or '.'");
}

namespace {

Status ValidateInit(const InitOptions& o) {
  const auto& ch = o.chunker;
  if (ch.min_size < 64 || ch.min_size > ch.avg_size || ch.avg_size > ch.max_size ||
      ch.max_size > format::kMaxBlobSize || (ch.avg_size & (ch.avg_size - 1)) != 0)
    return InvalidArgument("invalid chunker parameters");
  if (o.pack_size < 1024 || o.pack_size > format::kMaxPackSize)
    return InvalidArgument("pack size out of range");
  if (o.compression_level < 0 || o.compression_level > 22)
    return InvalidArgument("compression level must be between 0 and 22");
  if (!o.media.empty()) LB_RETURN_IF_ERROR(ValidateRepoMedia(o.media));
  LB_RETURN_IF_ERROR(ValidateRepoSite(o.site));
  return Status::Ok();
}

bool IsContentAddressed(ObjectType type) {
  return type == ObjectType::kPack || type == ObjectType::kIndex || type == ObjectType::kSnapshot;
}

}  // namespace

std::string LocalHostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string LocalUsername() {
  struct passwd pw, *result = nullptr;
  char buf[1024];
  if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &result) == 0 && result) return pw.pw_name;
  return std::to_string(geteuid());
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Repository::Repository(std::unique_ptr<Backend> backend, const Key32& master, RepoConfig config,
                       std::string key_id)
    : backend_(std::move(backend)),
      keys_(std::make_unique<Keyring>(master)),
      config_(std::move(config)),
      current_key_id_(std::move(key_id)) {
  chunker_ =
      std::make_unique<Chunker>(GearTableFromSeed(keys_->chunker_seed().View()), config_.chunker);
}

Repository::~Repository() {
  if (upload_queue_) {
    upload_queue_->Close();
    for (auto& t : uploaders_) t.join();
  }
}

Result<std::unique_ptr<Repository>> Repository::Init(std::unique_ptr<Backend> backend,
                                                     std::string_view password,
                                                     const InitOptions& options) {
  LB_RETURN_IF_ERROR(ValidateInit(options));
  if (password.empty()) return InvalidArgument("an empty password is not allowed");
  Status created = backend->Create();
  if (created.code() == Code::kAlreadyExists) {
    return created.WithHint("use a new, empty location, or open the existing repository");
  }
  LB_RETURN_IF_ERROR(created);
  RepoConfig config;
  config.id = HexEncode(RandomBytes(16));
  config.chunker = options.chunker;
  config.compression_level = options.compression_level;
  config.pack_size = options.pack_size;
  config.created_ns = NowNs();
  config.media = options.media;
  config.site = options.site;
  Key32 master = options.master_key ? *options.master_key : Key32::Random();

  KeyFileInfo info;
  info.created_ns = config.created_ns;
  info.hostname = LocalHostname();
  info.username = LocalUsername();
  info.kdf = options.kdf ? *options.kdf : NewKdfParams();
  std::string key_doc = CreateKeyFile(master, password, info);
  std::string key_id = Sha256(AsBytes(key_doc)).Hex();
  LB_RETURN_IF_ERROR(backend->Save({ObjectType::kKey, key_id}, AsBytes(key_doc)));

  std::unique_ptr<Repository> repo(
      new Repository(std::move(backend), master, config, std::move(key_id)));
  // The config is written last: a location with a config is a complete repository.
  Bytes sealed = SealObject(repo->keys(), ObjectType::kConfig, AsBytes(EncodeConfig(config)), 0);
  LB_RETURN_IF_ERROR(repo->backend().Save({ObjectType::kConfig, "config"}, sealed));
  repo->StartUploader();
  return repo;
}

Result<std::unique_ptr<Repository>> Repository::Open(std::unique_ptr<Backend> backend,
                                                     std::string_view password) {
  auto config_bytes = backend->Load({ObjectType::kConfig, "config"});
  if (!config_bytes.ok()) {
    if (config_bytes.status().code() == Code::kNotFound) {
      return Status(Code::kNotFound, "no repository at '" + backend->Location() + "'",
                    "check --repo, or create one with 'lifeboat init'");
    }
    return config_bytes.status().WithContext("unable to read the repository config");
  }
  std::vector<ObjectInfo> keys;
  LB_RETURN_IF_ERROR(backend->List(ObjectType::kKey, [&](const ObjectInfo& o) {
    keys.push_back(o);
    return Status::Ok();
  }));
  if (keys.empty()) return Corrupt("repository has no key files");
  std::optional<Key32> master;
  std::string key_id;
  Status last_error;
  for (const ObjectInfo& k : keys) {
    if (k.size > 64 * 1024) continue;  // not a key file we wrote
    auto doc = backend->Load({ObjectType::kKey, k.name});
    if (!doc.ok()) {
      last_error = doc.status();
      continue;
    }
    auto key = OpenKeyFile(AsString(*doc), password);
    if (key.ok()) {
      master = *key;
      key_id = k.name;
      break;
    }
    if (key.status().code() != Code::kWrongPassword) last_error = key.status();
  }
  if (!master) {
    return Status(Code::kWrongPassword,
                  "wrong password: no key in '" + backend->Location() + "' opens with it",
                  "check LIFEBOAT_PASSWORD / --password-file / --password-command");
  }
  Keyring keyring(*master);
  auto config_text = OpenSealedObject(keyring, ObjectType::kConfig, *config_bytes);
  if (!config_text.ok()) return config_text.status().WithContext("repository config");
  LB_ASSIGN_OR_RETURN(RepoConfig config, DecodeConfig(AsString(*config_text)));
  std::unique_ptr<Repository> repo(
      new Repository(std::move(backend), *master, std::move(config), std::move(key_id)));
  repo->StartUploader();
  return repo;
}

// Where packs are staged on their way to a backend without a staging
// directory of its own (remote stores): $TMPDIR, else /tmp.
std::string LocalTempDirectory() {
  const char* tmp = std::getenv("TMPDIR");
  if (tmp != nullptr && tmp[0] == '/') return tmp;
  return "/tmp";
}

void Repository::StartUploader() {
  staging_dir_ = backend_->StagingDir();
  // Memory backends (tests) keep packs in memory; durable ones get files.
  if (staging_dir_.empty() && backend_->Capabilities().durable) staging_dir_ = LocalTempDirectory();
  upload_queue_ = std::make_unique<BoundedQueue<FinishedPack>>(kUploadQueuePacks);
  max_writers_ = std::max<size_t>(2, std::thread::hardware_concurrency());
  int uploaders = backend_->Capabilities().local ? kLocalUploaderThreads : kRemoteUploaderThreads;
  for (int i = 0; i < uploaders; ++i) uploaders_.emplace_back([this] { UploaderLoop(); });
}

// ---------------------------------------------------------------- index

size_t Repository::MetadataThreads() const {
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  const BackendCapabilities caps = backend_->Capabilities();
  if (caps.local) return std::min<size_t>(cores, 8);
  return std::clamp<size_t>(std::max<size_t>(cores, caps.connections), 1, 64);
}

Status Repository::LoadIndex() {
  LB_ASSIGN_OR_RETURN(auto names, ListNames(*backend_, ObjectType::kIndex));
  // Each file is a read (a round trip on remote storage) and a decryption.
  std::vector<IndexFile> files(names.size());
  LB_RETURN_IF_ERROR(ParallelFor(names.size(), MetadataThreads(), [&](size_t i, size_t) {
    auto id = Id::FromHex(names[i]);
    Result<IndexFile> f = id.ok() ? LoadIndexFile(*id) : Result<IndexFile>(id.status());
    if (!f.ok()) return f.status().WithContext("index/" + names[i]);
    files[i] = std::move(*f);
    return Status::Ok();
  }));
  {
    std::lock_guard lock(loaded_mu_);
    for (size_t i = 0; i < names.size(); ++i) {
      for (const IndexedPack& p : files[i].packs) index_.AddPack(p);
      loaded_index_files_.push_back(*Id::FromHex(names[i]));
    }
  }
  if (index_loaded_) index_loaded_(index_);
  return Status::Ok();
}

Result<size_t> Repository::AdoptUnindexedPacks() {
  std::vector<ObjectInfo> orphans;
  LB_RETURN_IF_ERROR(backend_->List(ObjectType::kPack, [&](const ObjectInfo& o) {
    auto id = Id::FromHex(o.name);
    if (id.ok() && !index_.HasPack(*id)) orphans.push_back(o);
    return Status::Ok();
  }));
  IndexFile adopted;
  for (const ObjectInfo& o : orphans) {
    ObjectName name{ObjectType::kPack, o.name};
    if (o.size < format::kPackHeaderSize + format::kPackFooterSize) continue;
    auto header = backend_->Load(name, 0, format::kPackHeaderSize);
    auto footer = backend_->Load(name, o.size - format::kPackFooterSize, format::kPackFooterSize);
    if (!header.ok() || !footer.ok()) continue;
    uint64_t tail_size = uint64_t(LoadLE32(footer->data())) + format::kPackFooterSize;
    if (tail_size > o.size - format::kPackHeaderSize) continue;
    auto tail = backend_->Load(name, o.size - tail_size, tail_size);
    if (!tail.ok()) continue;
    auto layout = ReadPackLayout(*keys_, *header, *tail, o.size);
    if (!layout.ok()) continue;
    IndexedPack pack{*Id::FromHex(o.name), std::move(layout->salt), std::move(layout->blobs)};
    index_.AddPack(pack);
    adopted.packs.push_back(std::move(pack));
  }
  if (adopted.packs.empty()) return size_t{0};
  LB_ASSIGN_OR_RETURN(Id id, SaveIndexFile(adopted));
  std::lock_guard lock(loaded_mu_);
  loaded_index_files_.push_back(id);
  return adopted.packs.size();
}

std::vector<Id> Repository::LoadedIndexFiles() const {
  std::lock_guard lock(loaded_mu_);
  return loaded_index_files_;
}

Result<Id> Repository::SaveIndexFile(const IndexFile& index) {
  return SaveObject(ObjectType::kIndex, EncodeIndex(index));
}

Result<IndexFile> Repository::LoadIndexFile(const Id& id) {
  LB_ASSIGN_OR_RETURN(Bytes payload, LoadObject(ObjectType::kIndex, id.Hex()));
  return DecodeIndex(payload);
}

// ---------------------------------------------------------------- blobs

Result<Bytes> Repository::LoadBlob(format::BlobType type, const Id& id) {
  auto loc = index_.Find(type, id);
  if (!loc) {
    return NotFound(std::string(format::BlobTypeName(type)) + " blob " + id.Short() +
                    " is not in the index");
  }
  auto sealed =
      backend_->Load({ObjectType::kPack, loc->pack_id.Hex()}, loc->blob.offset, loc->blob.length);
  if (!sealed.ok()) {
    return sealed.status().WithContext("unable to read blob " + id.Short() + " from pack " +
                                       loc->pack_id.Short());
  }
  auto plain = OpenPackedBlob(*keys_, loc->pack_salt, loc->blob, *sealed);
  if (!plain.ok()) return plain.status().WithContext("pack " + loc->pack_id.Short());
  return plain;
}

Result<bool> Repository::SaveBlob(format::BlobType type, const Id& id, ByteView plaintext) {
  if (plaintext.size() > format::kMaxBlobSize) return InvalidArgument("blob too large");
  if (!ReserveBlob(type, id)) return false;
  LB_RETURN_IF_ERROR(UploadError());

  thread_local RawBuffer compressed;  // reused: blobs are compressed one at a time per thread
  format::Compression compression = format::Compression::kNone;
  ByteView stored = plaintext;
  if (config_.compression_level > 0 &&
      CompressForStorage(plaintext, config_.compression_level, &compressed)) {
    compression = format::Compression::kZstd;
    stored = compressed.view();
  }
  LB_RETURN_IF_ERROR(StoreEncoded(type, id, compression, stored, plaintext.size()));
  return true;
}

Status Repository::LoadStoredBlob(format::BlobType type, const Id& id, StoredBlob* out) {
  auto loc = index_.Find(type, id);
  if (!loc) {
    return NotFound(std::string(format::BlobTypeName(type)) + " blob " + id.Short() +
                    " is not in the index");
  }
  auto sealed =
      backend_->Load({ObjectType::kPack, loc->pack_id.Hex()}, loc->blob.offset, loc->blob.length);
  if (!sealed.ok()) {
    return sealed.status().WithContext("unable to read blob " + id.Short() + " from pack " +
                                       loc->pack_id.Short());
  }
  LB_RETURN_IF_ERROR(
      OpenPackedBlobStoredInto(*keys_, loc->pack_salt, loc->blob, *sealed, &out->data)
          .WithContext("pack " + loc->pack_id.Short()));
  out->compression = loc->blob.compression;
  out->raw_length = loc->blob.raw_length;
  return Status::Ok();
}

Status Repository::VerifyStoredBlob(const Id& id, const StoredBlob& blob) const {
  ByteView plaintext = blob.data.view();
  thread_local RawBuffer decompressed;
  if (blob.compression == format::Compression::kZstd) {
    LB_RETURN_IF_ERROR(ZstdDecompressInto(blob.data.view(), blob.raw_length, &decompressed)
                           .WithContext("blob " + id.Short()));
    plaintext = decompressed.view();
  }
  if (ComputeBlobId(plaintext) != id) {
    return Corrupt("blob " + id.Short() + ": content does not match its id");
  }
  return Status::Ok();
}

Result<bool> Repository::SaveStoredBlob(format::BlobType type, const Id& id, const StoredBlob& blob,
                                        bool verify_id) {
  // The bytes come from another repository: untrusted until checked here.
  if (blob.raw_length > format::kMaxBlobSize) return Corrupt("blob " + id.Short() + ": too large");
  switch (blob.compression) {
    case format::Compression::kNone:
      if (blob.data.size() != blob.raw_length) {
        return Corrupt("blob " + id.Short() + ": length does not match the recorded length");
      }
      break;
    case format::Compression::kZstd:
      LB_RETURN_IF_ERROR(
          CheckZstdFrame(blob.data.view(), blob.raw_length).WithContext("blob " + id.Short()));
      break;
    default:
      return Corrupt("blob " + id.Short() + ": unknown compression");
  }
  if (index_.Has(type, id)) return false;
  // Verified before the reservation: a blob refused here must not stay
  // reserved (a later save of the right bytes would be skipped).
  if (verify_id) {
    LB_RETURN_IF_ERROR(VerifyStoredBlob(id, blob));
  }
  if (!ReserveBlob(type, id)) return false;
  LB_RETURN_IF_ERROR(UploadError());
  LB_RETURN_IF_ERROR(StoreEncoded(type, id, blob.compression, blob.data.view(), blob.raw_length));
  return true;
}

Status Repository::SaveRepackedBlob(format::BlobType type, const Id& id, const StoredBlob& blob) {
  LB_RETURN_IF_ERROR(UploadError());
  return StoreEncoded(type, id, blob.compression, blob.data.view(), blob.raw_length);
}

bool Repository::ReserveBlob(format::BlobType type, const Id& id) {
  if (index_.Has(type, id)) return false;
  std::lock_guard lock(inflight_mu_);
  if (!inflight_.insert(id).second) return false;
  // An uploader indexes a pack before it drops the pack's blobs from
  // inflight_, so a blob that left inflight_ since the check above is
  // visible in the index now.
  if (index_.Has(type, id)) {
    inflight_.erase(id);
    return false;
  }
  return true;
}

Status Repository::StoreEncoded(format::BlobType type, const Id& id,
                                format::Compression compression, ByteView stored,
                                size_t raw_length) {
  // Trees go to one dedicated pack (finished at kTreePackSize or by Flush):
  // trees are few and small next to data, so one writer keeps up.
  if (type == format::BlobType::kTree) {
    std::lock_guard lock(tree_writer_mu_);
    LB_RETURN_IF_ERROR(AddToPack(tree_writer_, PackLimit(format::BlobType::kTree), type, id,
                                 compression, stored, raw_length));
    if (tree_writer_->size() >= PackLimit(format::BlobType::kTree)) {
      LB_RETURN_IF_ERROR(FinishPack(std::move(tree_writer_)));
    }
    return Status::Ok();
  }

  // At most max_writers_ packs are open at once (each costs a write buffer,
  // or its whole size when packs are built in memory).
  std::unique_ptr<PackWriter> writer;
  {
    std::unique_lock lock(writers_mu_);
    writers_cv_.wait(lock, [&] { return !idle_writers_.empty() || open_writers_ < max_writers_; });
    if (!idle_writers_.empty()) {
      writer = std::move(idle_writers_.back());
      idle_writers_.pop_back();
    } else {
      ++open_writers_;
    }
  }
  Status added = AddToPack(writer, config_.pack_size, type, id, compression, stored, raw_length);
  if (!added.ok()) {
    {
      std::lock_guard lock(writers_mu_);
      --open_writers_;
    }
    writers_cv_.notify_one();
    return added;
  }
  if (writer->size() >= config_.pack_size) {
    Status finished = FinishPack(std::move(writer));
    {
      std::lock_guard lock(writers_mu_);
      --open_writers_;
    }
    writers_cv_.notify_one();
    LB_RETURN_IF_ERROR(finished);
  } else {
    {
      std::lock_guard lock(writers_mu_);
      idle_writers_.push_back(std::move(writer));
    }
    writers_cv_.notify_one();
  }
  return Status::Ok();
}

uint64_t Repository::PackLimit(format::BlobType type) const {
  if (type == format::BlobType::kTree) return std::min(config_.pack_size, kTreePackSize);
  return config_.pack_size;
}

Result<std::unique_ptr<PackWriter>> Repository::NewPackWriter(uint64_t pack_limit) {
  if (staging_dir_.empty()) return std::make_unique<PackWriter>(*keys_, pack_limit);
  auto writer = PackWriter::Staged(*keys_, staging_dir_);
  if (!writer.ok()) return writer.status().WithContext("unable to start a pack");
  return writer;
}

Status Repository::AddToPack(std::unique_ptr<PackWriter>& writer, uint64_t pack_limit,
                             format::BlobType type, const Id& id, format::Compression compression,
                             ByteView stored, size_t raw_length) {
  if (!writer) {
    LB_ASSIGN_OR_RETURN(writer, NewPackWriter(pack_limit));
  }
  // A blob that would push the pack past its size starts a new pack, so packs
  // stay within pack_limit unless one blob is larger.
  if (writer->blob_count() > 0 && writer->size() + stored.size() + 16 > pack_limit) {
    LB_RETURN_IF_ERROR(FinishPack(std::move(writer)));
    LB_ASSIGN_OR_RETURN(writer, NewPackWriter(pack_limit));
  }
  const uint64_t before = writer->size();
  LB_RETURN_IF_ERROR(writer->Add(type, id, compression, stored, static_cast<uint32_t>(raw_length)));
  write_stats_.blobs_added++;
  write_stats_.bytes_added += raw_length;
  write_stats_.bytes_added_stored += writer->size() - before;
  return Status::Ok();
}

Status Repository::FinishPack(std::unique_ptr<PackWriter> writer) {
  auto finished = writer->Finish();
  writer.reset();
  if (!finished.ok()) return finished.status().WithContext("unable to finish a pack");
  FinishedPack pack = std::move(*finished);

  {
    std::lock_guard lock(pending_mu_);
    ++uploads_in_progress_;
  }
  if (!upload_queue_->Push(std::move(pack))) {
    std::lock_guard lock(pending_mu_);
    --uploads_in_progress_;
    return Internal("upload queue closed");
  }
  return Status::Ok();
}

void Repository::UploaderLoop() {
  while (auto pack = upload_queue_->Pop()) {
    // After one failed upload the backup fails anyway: do not spend another
    // round of timeouts and retries on each queued pack (a dead or hung
    // server would otherwise hold the command for minutes per pack).
    if (Status earlier = UploadError(); !earlier.ok()) {
      PackStored(std::move(*pack), Status(Code::kCancelled, "not stored: an earlier pack failed"))
          .IgnoreError();
      continue;
    }
    const ObjectName name{ObjectType::kPack, pack->id.Hex()};
    Status s =
        pack->staged ? backend_->SaveStaged(name, *pack->staged) : backend_->Save(name, pack->data);
    PackStored(std::move(*pack), s).IgnoreError();  // recorded in upload_error_
  }
}

Status Repository::PackStored(FinishedPack pack, const Status& saved) {
  std::lock_guard lock(pending_mu_);
  // Counted down only together with queueing the pack for the index, so a
  // Flush that sees no upload in progress also sees every stored pack.
  --uploads_in_progress_;
  Status result;
  if (!saved.ok()) {
    result = saved.WithContext("unable to store pack " + pack.id.Short());
    if (upload_error_.ok()) upload_error_ = result;
  } else {
    write_stats_.packs_written++;
    write_stats_.pack_bytes_written += pack.size;
    IndexedPack indexed{pack.id, std::move(pack.salt), std::move(pack.blobs)};
    index_.AddPack(indexed);
    {
      std::lock_guard inflight_lock(inflight_mu_);
      for (const PackedBlob& b : indexed.blobs) inflight_.erase(b.id);
    }
    pending_index_.packs.push_back(std::move(indexed));
    if (pending_index_.packs.size() >= kPacksPerIndexFile) {
      result = FlushIndexLocked(true);
      if (!result.ok() && upload_error_.ok()) upload_error_ = result;
    }
  }
  pending_cv_.notify_all();
  return result;
}

Status Repository::FlushIndexLocked(bool force) {
  if (pending_index_.packs.empty() || !force) return Status::Ok();
  auto id = SaveIndexFile(pending_index_);
  if (!id.ok()) return id.status().WithContext("unable to write index");
  {
    std::lock_guard lock(loaded_mu_);
    loaded_index_files_.push_back(*id);
  }
  pending_index_.packs.clear();
  return Status::Ok();
}

Status Repository::UploadError() const {
  std::lock_guard lock(pending_mu_);
  return upload_error_;
}

Status Repository::Flush() {
  std::vector<std::unique_ptr<PackWriter>> writers;
  {
    std::lock_guard lock(writers_mu_);
    writers.swap(idle_writers_);
    open_writers_ -= writers.size();
  }
  writers_cv_.notify_all();
  {
    std::lock_guard lock(tree_writer_mu_);
    if (tree_writer_) writers.push_back(std::move(tree_writer_));
  }
  for (auto& w : writers) {
    if (w->blob_count() > 0) LB_RETURN_IF_ERROR(FinishPack(std::move(w)));
  }
  std::unique_lock lock(pending_mu_);
  pending_cv_.wait(lock, [&] { return uploads_in_progress_ == 0; });
  LB_RETURN_IF_ERROR(upload_error_);
  return FlushIndexLocked(true);
}

// ---------------------------------------------------------------- objects

Result<Id> Repository::SaveObject(ObjectType type, ByteView payload) {
  Bytes sealed = SealObject(*keys_, type, payload, kObjectZstdLevel);
  Id id = Sha256(sealed);
  LB_RETURN_IF_ERROR(backend_->Save({type, id.Hex()}, sealed));
  return id;
}

Result<Bytes> Repository::LoadObject(ObjectType type, const std::string& name) {
  ObjectName object{type, name};
  auto stored = backend_->Load(object);
  if (!stored.ok()) return stored.status().WithContext("unable to read " + object.ToString());
  if (IsContentAddressed(type) && Sha256(*stored).Hex() != name) {
    return Corrupt(object.ToString() + ": content does not match its name (damaged file)");
  }
  auto payload = OpenSealedObject(*keys_, type, *stored);
  if (!payload.ok()) return payload.status().WithContext(object.ToString());
  return payload;
}

// ---------------------------------------------------------------- snapshots

Result<Id> Repository::SaveSnapshot(const Snapshot& snapshot) {
  return SaveObject(ObjectType::kSnapshot, AsBytes(EncodeSnapshot(snapshot)));
}

Result<Snapshot> Repository::LoadSnapshot(const Id& id) {
  LB_ASSIGN_OR_RETURN(Bytes payload, LoadObject(ObjectType::kSnapshot, id.Hex()));
  auto snap = DecodeSnapshot(AsString(payload));
  if (!snap.ok()) return snap.status().WithContext("snapshot " + id.Short());
  return snap;
}

Result<std::vector<SnapshotEntry>> Repository::ListSnapshots(
    const std::function<void(const std::string&, const Status&)>& on_error) {
  LB_ASSIGN_OR_RETURN(auto names, ListNames(*backend_, ObjectType::kSnapshot));
  // One read each: with hundreds of snapshots on remote storage, loading
  // them one by one took one round trip per snapshot.
  std::vector<std::optional<Result<Snapshot>>> loaded(names.size());
  Status failed = ParallelFor(names.size(), MetadataThreads(), [&](size_t i, size_t) {
    auto id = Id::FromHex(names[i]);
    loaded[i] = id.ok() ? LoadSnapshot(*id) : Result<Snapshot>(id.status());
    // Without on_error the first failure ends the listing.
    return on_error || loaded[i]->ok() ? Status::Ok() : loaded[i]->status();
  });
  if (!failed.ok()) return failed;
  std::vector<SnapshotEntry> out;
  out.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    Result<Snapshot>& snap = *loaded[i];
    if (!snap.ok()) {
      on_error(names[i], snap.status());
      continue;
    }
    out.push_back({*Id::FromHex(names[i]), std::move(*snap)});
  }
  std::sort(out.begin(), out.end(), [](const SnapshotEntry& a, const SnapshotEntry& b) {
    return a.snapshot.time_ns != b.snapshot.time_ns ? a.snapshot.time_ns < b.snapshot.time_ns
                                                    : a.id < b.id;
  });
  return out;
}

Result<SnapshotEntry> Repository::FindSnapshot(std::string_view ref,
                                               const std::function<bool(const Snapshot&)>& filter) {
  if (ref != "latest" && (ref.size() < 4 || ref.size() > 64 ||
                          ref.find_first_not_of("0123456789abcdef") != std::string_view::npos)) {
    return InvalidArgument("'" + std::string(ref) +
                           "' is not a snapshot id (4-64 hex digits) or 'latest'");
  }
  LB_ASSIGN_OR_RETURN(auto all, ListSnapshots([](const std::string&, const Status&) {}));
  std::optional<SnapshotEntry> found;
  for (auto& e : all) {
    if (filter && !filter(e.snapshot)) continue;
    if (ref == "latest") {
      found = e;  // oldest first, so the last match is the newest
    } else if (e.id.Hex().rfind(ref, 0) == 0) {
      if (found) return InvalidArgument("snapshot prefix '" + std::string(ref) + "' is ambiguous");
      found = e;
    }
  }
  if (!found) return NotFound("no snapshot matches '" + std::string(ref) + "'");
  return *found;
}

Status Repository::RemoveSnapshot(const Id& id) {
  return backend_->Remove({ObjectType::kSnapshot, id.Hex()});
}

// ---------------------------------------------------------------- keys

Result<std::vector<KeyEntry>> Repository::ListKeys() {
  std::vector<KeyEntry> out;
  LB_RETURN_IF_ERROR(backend_->List(ObjectType::kKey, [&](const ObjectInfo& o) {
    auto doc = backend_->Load({ObjectType::kKey, o.name});
    if (!doc.ok()) return doc.status();
    auto info = ReadKeyFileInfo(AsString(*doc));
    if (!info.ok()) return info.status().WithContext("keys/" + o.name);
    out.push_back({o.name, std::move(*info), o.name == current_key_id_});
    return Status::Ok();
  }));
  std::sort(out.begin(), out.end(), [](const KeyEntry& a, const KeyEntry& b) {
    return a.info.created_ns < b.info.created_ns;
  });
  return out;
}

Result<std::string> Repository::AddKey(std::string_view password, std::optional<KdfParams> kdf) {
  if (password.empty()) return InvalidArgument("an empty password is not allowed");
  KeyFileInfo info;
  info.created_ns = NowNs();
  info.hostname = LocalHostname();
  info.username = LocalUsername();
  info.kdf = kdf ? *kdf : NewKdfParams();
  std::string doc = CreateKeyFile(keys_->master(), password, info);
  std::string id = Sha256(AsBytes(doc)).Hex();
  LB_RETURN_IF_ERROR(backend_->Save({ObjectType::kKey, id}, AsBytes(doc)));
  return id;
}

Status Repository::RemoveKey(const std::string& key_id) {
  if (key_id == current_key_id_) {
    return Status(Code::kInvalidArgument, "refusing to remove the key in use",
                  "open the repository with another password to remove this key");
  }
  return backend_->Remove({ObjectType::kKey, key_id});
}

Status Repository::ChangePassword(std::string_view new_password) {
  LB_ASSIGN_OR_RETURN(std::string new_id, AddKey(new_password));
  std::string old_id = current_key_id_;
  current_key_id_ = new_id;
  return backend_->Remove({ObjectType::kKey, old_id});
}

}  // namespace lifeboat
