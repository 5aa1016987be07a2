#include "s3/s3_backend.h"

#include <openssl/evp.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include "crypto/hash.h"
#include "s3/s3_xml.h"

namespace lifeboat {
namespace {

// SHA-256 of the empty string: the payload hash of GET, HEAD and DELETE.
constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr size_t kMaxListBody = 16u << 20;
constexpr int kMaxListPages = 1000000;

std::string Sha256Header(ByteView body) {
  return "x-amz-content-sha256: " + (body.empty() ? std::string(kEmptySha256) : Sha256(body).Hex());
}

std::string ContentMd5(ByteView body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(body.data(), body.size(), md, &len, EVP_md5(), nullptr);
  return Base64Encode(ByteView(md, len));
}

bool Is2xx(long status) { return status >= 200 && status < 300; }

std::string Header(const HttpResponse& resp, const std::string& name) {
  auto it = resp.headers.find(name);
  return it == resp.headers.end() ? std::string() : it->second;
}

std::mt19937_64& JitterRng() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }());
  return rng;
}

}  // namespace

std::string FormatIso8601(int64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<int64_t> ParseIso8601(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS, then an optional fraction, then Z or +00:00.
  if (s.size() < 20) return std::nullopt;
  auto num = [&](size_t pos, size_t len) -> std::optional<int> {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
      s[16] != ':') {
    return std::nullopt;
  }
  const auto year = num(0, 4), month = num(5, 2), day = num(8, 2), hour = num(11, 2),
             minute = num(14, 2), second = num(17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 ||
      *second > 60) {
    return std::nullopt;
  }
  std::string_view rest = s.substr(19);
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits == 0 || digits > 9) return std::nullopt;
    rest.remove_prefix(digits);
  }
  if (rest != "Z" && rest != "z" && rest != "+00:00") return std::nullopt;
  struct tm tm = {};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  return static_cast<int64_t>(timegm(&tm));
}

S3Backend::S3Backend(Config config)
    : config_(std::move(config)), endpoint_(config_.url, config_.virtual_hosted) {
  S3HttpConfig http;
  http.region = config_.region;
  http.credentials = config_.credentials;
  http.cacert = config_.cacert;
  http.connections = config_.options.connections;
  http.connect_timeout = config_.options.connect_timeout;
  http.stall_timeout = config_.options.stall_timeout;
  http_ = std::make_unique<S3HttpClient>(std::move(http));
}

S3RequestContext S3Backend::Context(std::string_view action, std::string object) const {
  return S3RequestContext{std::string(action), std::move(object), config_.url.bucket,
                          config_.region};
}

std::string S3Backend::TypePrefix(ObjectType type) const {
  std::string out = config_.url.prefix.empty() ? "" : config_.url.prefix + "/";
  return out + std::string(ObjectTypeName(type)) + "/";
}

std::string S3Backend::KeyOf(const ObjectName& name) const {
  if (name.type == ObjectType::kConfig) {
    return config_.url.prefix.empty() ? "config" : config_.url.prefix + "/config";
  }
  if (name.type == ObjectType::kPack) {
    return TypePrefix(name.type) + name.name.substr(0, 2) + "/" + name.name;
  }
  return TypePrefix(name.type) + name.name;
}

std::optional<std::string> S3Backend::NameFromKey(ObjectType type, std::string_view key) const {
  const std::string prefix = TypePrefix(type);
  if (key.size() <= prefix.size() || key.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view rest = key.substr(prefix.size());
  if (type == ObjectType::kPack) {
    // data/NN/NAME with NN the first two characters of NAME.
    if (rest.size() < 5 || rest[2] != '/') return std::nullopt;
    const std::string_view shard = rest.substr(0, 2);
    rest.remove_prefix(3);
    if (rest.substr(0, 2) != shard) return std::nullopt;
  }
  std::string name(rest);
  if (!ValidateObjectName(ObjectName{type, name}).ok()) return std::nullopt;  // foreign key
  return name;
}

HttpRequest S3Backend::Request(std::string method, std::string url, ByteView body) const {
  HttpRequest req;
  req.method = std::move(method);
  req.url = std::move(url);
  req.body = body;
  req.headers.push_back(Sha256Header(body));
  return req;
}

void S3Backend::AddLockHeaders(HttpRequest& req) const {
  if (config_.options.lock_mode == ObjectLockMode::kNone) return;
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  req.headers.push_back(std::string("x-amz-object-lock-mode: ") +
                        (config_.options.lock_mode == ObjectLockMode::kGovernance ? "GOVERNANCE"
                                                                                  : "COMPLIANCE"));
  req.headers.push_back("x-amz-object-lock-retain-until-date: " +
                        FormatIso8601(now + int64_t{config_.options.lock_days} * 86400));
}

Result<HttpResponse> S3Backend::Send(const HttpRequest& request, const S3RequestContext& ctx) {
  requests_.fetch_add(1);
  return http_->Perform(request, DescribeRequest(ctx));
}

template <typename T, typename Fn>
Result<T> S3Backend::Retry(Fn&& attempt) {
  const RetryPolicy& policy = config_.options.retry;
  for (int i = 0;; ++i) {
    Result<T> r = attempt();
    if (r.ok() || !IsRetryable(r.status())) return r;
    if (i + 1 >= policy.max_attempts) {
      const Status& s = r.status();
      if (policy.max_attempts == 1) return s;
      return Status(s.code(),
                    s.message() + " (gave up after " + std::to_string(i + 1) + " attempts)",
                    s.hint());
    }
    std::this_thread::sleep_for(policy.Delay(i, JitterRng()));
  }
}

Result<HttpResponse> S3Backend::Head(const std::string& key, const S3RequestContext& ctx) {
  const HttpRequest req = Request("HEAD", endpoint_.ObjectUrl(key));
  return Retry<HttpResponse>([&]() -> Result<HttpResponse> {
    LB_ASSIGN_OR_RETURN(HttpResponse resp, Send(req, ctx));
    if (!Is2xx(resp.status)) return StatusFromS3Response(resp.status, resp.body, resp.headers, ctx);
    return resp;
  });
}

Status S3Backend::Create() {
  const S3RequestContext ctx = Context("create", "bucket");
  const HttpRequest head = Request("HEAD", endpoint_.BucketUrl());
  Result<bool> exists = Retry<bool>([&]() -> Result<bool> {
    LB_ASSIGN_OR_RETURN(HttpResponse resp, Send(head, ctx));
    if (Is2xx(resp.status)) return true;
    if (resp.status == 404) return false;
    // Credentials may lack s3:ListBucket (HeadBucket) yet be able to write:
    // go on and let the config check below tell.
    if (resp.status == 403) return true;
    return StatusFromS3Response(resp.status, resp.body, resp.headers, ctx);
  });
  if (!exists.ok()) return exists.status();
  if (!*exists) LB_RETURN_IF_ERROR(CreateBucket(ctx));

  const ObjectName config{ObjectType::kConfig, "config"};
  Result<uint64_t> stat = Stat(config);
  if (stat.ok()) {
    return Status(Code::kAlreadyExists, "a repository already exists at " + Location(),
                  "use another bucket or prefix");
  }
  if (stat.status().code() != Code::kNotFound) return stat.status();
  return Status::Ok();
}

Status S3Backend::CreateBucket(const S3RequestContext& ctx) {
  // us-east-1 is the default location and must not be named (AWS refuses it).
  const std::string body =
      config_.region == "us-east-1" ? "" : BuildCreateBucketConfiguration(config_.region);
  HttpRequest req = Request("PUT", endpoint_.BucketUrl(), AsBytes(body));
  if (!body.empty()) req.headers.push_back("Content-Type: application/xml");
  if (config_.options.lock_mode != ObjectLockMode::kNone) {
    req.headers.push_back("x-amz-bucket-object-lock-enabled: true");
  }
  return Retry<bool>([&]() -> Result<bool> {
           LB_ASSIGN_OR_RETURN(HttpResponse resp, Send(req, ctx));
           if (Is2xx(resp.status)) return true;
           const std::optional<S3ErrorBody> err = ParseS3Error(resp.body);
           // Created meanwhile by us (a retry, or another process).
           if (err && err->code == "BucketAlreadyOwnedByYou") return true;
           // Some servers (s3rver, some Ceph RGW versions) answer that for
           // their own account's bucket too, e.g. when another process
           // created it since our HEAD: usable if we can reach it now.
           if (err && err->code == "BucketAlreadyExists") {
             LB_ASSIGN_OR_RETURN(HttpResponse again,
                                 Send(Request("HEAD", endpoint_.BucketUrl()), ctx));
             if (Is2xx(again.status)) return true;
           }
           return StatusFromS3Response(resp.status, resp.body, resp.headers, ctx);
         })
      .status();
}

Status S3Backend::Save(const ObjectName& name, ByteView data) {
  LB_RETURN_IF_ERROR(ValidateObjectName(name));
  const S3RequestContext ctx = Context("save", name.ToString());
  const std::string key = KeyOf(name);
  if (data.size() > config_.options.multipart_threshold) return SaveMultipart(key, data, ctx);
  HttpRequest req = Request("PUT", endpoint_.ObjectUrl(key), data);
  if (config_.options.lock_mode != ObjectLockMode::kNone) {
    AddLockHeaders(req);
    req.headers.push_back("Content-MD5: " + ContentMd5(data));
  }
  return Retry<bool>([&]() -> Result<bool> {
           LB_ASSIGN_OR_RETURN(HttpResponse resp, Send(req, ctx));
           if (!Is2xx(resp.status)) {
             return StatusFromS3Response(resp.status, resp.body, resp.headers, ctx);
           }
           return true;
         })
      .status();
}

Status S3Backend::SaveMultipart(const std::string& key, ByteView data,
                                const S3RequestContext& ctx) {
  const uint64_t part_size =
      std::max(kS3MinPartSize, std::min(kMultipartPartSize, config_.options.multipart_threshold));

  HttpRequest init = Request("POST", endpoint_.ObjectUrl(key, CanonicalQuery({{"uploads", ""}})));
  init.headers.push_back("Content-Type: application/octet-stream");
  AddLockHeaders(init);
  Result<std::string> upload_id = Retry<std::string>([&]() -> Result<std::string> {
    LB_ASSIGN_OR_RETURN(HttpResponse resp, Send(init, ctx));
    if (!Is2xx(resp.status)) return StatusFromS3Response(resp.status, resp.body, resp.headers, ctx);
    Result<std::string> id = ParseInitiateMultipartUpload(resp.body);
    if (!id.ok()) return id.status().WithContext(DescribeRequest(ctx));
    return id;
  });
  if (!upload_id.ok()) return upload_id.status();

  auto upload_parts_and_complete = [&]() -> Status {
    std::vector<std::string> etags;
    for (uint64_t offset = 0; offset < data.size(); offset += part_size) {
      const ByteView part = data.subspan(offset, std::min<uint64_t>(part_size, data.size() - offset));
      const std::string number = std::to_string(etags.size() + 1);
      HttpRequest put = Request(
          "PUT", endpoint_.ObjectUrl(key, CanonicalQuery({{"partNumber", number},
                                                           {"uploadId", *upload_id}})),
          part);
      if (config_.options.lock_mode != ObjectLockMode::kNone) {
        put.headers.push_back("Content-MD5: " + ContentMd5(part));
      }
      LB_ASSIGN_OR_RETURN(std::string etag, Retry<std::string>([&]() -> Result<std::string> {
        LB_ASSIGN_OR_RETURN(HttpResponse resp, Send(put, ctx));
        if (!Is2xx(resp.status)) {
          return StatusFromS3Response(resp.status, resp.body, resp.headers, ctx);
        }
        std::string tag = Header(resp, "etag");
        if (tag.empty() || tag.size() > 1024 ||
            tag.find_first_of("<>&\r\n") != std::string::npos) {
          return Corrupt(DescribeRequest(ctx) + ": part " + number + " was stored without a valid ETag");
        }
        return tag;
      }));
      etags.push_back(std::move(etag));
    }
    const std::string xml = BuildCompleteMultipartUpload(etags);
    HttpRequest complete =
        Request("POST", endpoint_.ObjectUrl(key, CanonicalQuery({{"uploadId", *upload_id}})),
                AsBytes(xml));
    complete.headers.push_back("Content-Type: application/xml");
    int attempts = 0;
    return Retry<bool>([&]() -> Result<bool> {
             ++attempts;
             LB_ASSIGN_OR_RETURN(HttpResponse resp, Send(complete, ctx));
             if (Is2xx(resp.status)) {
               // S3 may answer 200 and report an error in the body.
               if (ParseS3Error(resp.body)) {
                 return StatusFromS3Response(resp.status, resp.body, resp.headers, ctx);
               }
               return true;
             }
             if (resp.status == 404 && attempts > 1) {
               // An earlier attempt may have completed the upload and lost the answer.
               Result<HttpResponse> head = Head(key, ctx);
               if (head.ok() && Header(*head, "content-length") == std::to_string(data.size())) {
                 return true;
               }
             }
             return StatusFromS3Response(resp.status, resp.body, resp.headers, ctx);
           })
        .status();
  };
  Status status = upload_parts_and_complete();
  if (!status.ok()) {
    // Best effort: an upload left behind costs storage until a lifecycle rule removes it.
    const HttpRequest abort =
        Request("DELETE", endpoint_.ObjectUrl(key, CanonicalQuery({{"uploadId", *upload_id}})));
    const S3RequestContext abort_ctx = Context("abort the upload of", ctx.object);
    Result<HttpResponse> aborted = Send(abort, abort_ctx);
    if (!aborted.ok() || !Is2xx(aborted->status)) {
      return Status(status.code(),
                    status.message() + " (the multipart upload could not be aborted either)",
                    status.hint());
    }
  }
  return status;
}

Result<Bytes> S3Backend::Load(const ObjectName& name, uint64_t offset, uint64_t length) {
  LB_RETURN_IF_ERROR(ValidateObjectName(name));
  const S3RequestContext ctx = Context("load", name.ToString());
  const std::string what = DescribeRequest(ctx);
  if (length > 0 && offset > UINT64_MAX - length) {
    return Corrupt(what + ": range at " + std::to_string(offset) + " of " +
                   std::to_string(length) + " bytes is past the end of any object");
  }
  HttpRequest req = Request("GET", endpoint_.ObjectUrl(KeyOf(name)));
  if (offset > 0 || length > 0) {
    req.range = std::to_string(offset) + "-" + (length > 0 ? std::to_string(offset + length - 1) : "");
  }
  req.max_body = length > 0 ? static_cast<size_t>(std::min<uint64_t>(length, SIZE_MAX)) : SIZE_MAX;
  if (offset > 0 && length == 0) {
    // A server that ignores Range sends the whole object: allow it to fit.
    req.max_body = SIZE_MAX;
  }
  bool past_end = false;  // 416
  Result<Bytes> loaded = Retry<Bytes>([&]() -> Result<Bytes> {
    LB_ASSIGN_OR_RETURN(HttpResponse resp, Send(req, ctx));
    if (resp.status == 200) {
      if (req.range.empty()) return std::move(resp.body);
      // The server ignored Range and sent the whole object.
      const uint64_t end = length > 0 ? offset + length : resp.body.size();
      if (resp.body.size() < end || offset > end) {
        return Corrupt(what + ": the object has " + std::to_string(resp.body.size()) +
                       " bytes, fewer than the " + std::to_string(end) + " asked for");
      }
      return Bytes(resp.body.begin() + static_cast<ptrdiff_t>(offset),
                   resp.body.begin() + static_cast<ptrdiff_t>(end));
    }
    if (resp.status == 206) {
      const std::optional<ContentRange> range = ParseContentRange(Header(resp, "content-range"));
      if (!range || range->first != offset || (range->total && *range->total <= range->last)) {
        return Corrupt(what + ": the server answered with a malformed or different range");
      }
      const uint64_t got = resp.body.size();
      if (range->last - range->first + 1 != got) {
        return Status(Code::kUnavailable, what + ": short read (" + std::to_string(got) +
                                              " bytes of a range of " +
                                              std::to_string(range->last - range->first + 1) + ")");
      }
      if (length > 0 && got != length) {
        // The range ended early: the object is shorter than the caller expects.
        return Corrupt(what + ": the object has " +
                       (range->total ? std::to_string(*range->total) : std::string("fewer")) +
                       " bytes, fewer than the " + std::to_string(offset + length) +
                       " asked for");
      }
      if (length == 0 && range->total && *range->total != range->last + 1) {
        return Status(Code::kUnavailable, what + ": short read (range ends before the object)");
      }
      return std::move(resp.body);
    }
    if (resp.status == 416) past_end = true;
    if (Is2xx(resp.status)) {
      return IoError(what + ": unexpected HTTP " + std::to_string(resp.status) + " answer");
    }
    return StatusFromS3Response(resp.status, resp.body, resp.headers, ctx);
  });
  if (!loaded.ok() && past_end && length == 0) {
    // Reading "to the end" from exactly the end is an empty read, not an error.
    Result<uint64_t> size = Stat(name);
    if (size.ok() && *size == offset) return Bytes();
  }
  return loaded;
}

Result<uint64_t> S3Backend::Stat(const ObjectName& name) {
  LB_RETURN_IF_ERROR(ValidateObjectName(name));
  const S3RequestContext ctx = Context("stat", name.ToString());
  LB_ASSIGN_OR_RETURN(HttpResponse resp, Head(KeyOf(name), ctx));
  const std::optional<uint64_t> size = ParseDecimal(Header(resp, "content-length"));
  if (!size) return Corrupt(DescribeRequest(ctx) + ": the answer has no valid Content-Length");
  return *size;
}

Result<std::optional<int64_t>> S3Backend::RetainUntil(const ObjectName& name) {
  LB_RETURN_IF_ERROR(ValidateObjectName(name));
  const S3RequestContext ctx = Context("read the retention of", name.ToString());
  LB_ASSIGN_OR_RETURN(HttpResponse resp, Head(KeyOf(name), ctx));
  const std::string date = Header(resp, "x-amz-object-lock-retain-until-date");
  if (date.empty()) return std::optional<int64_t>();
  const std::optional<int64_t> t = ParseIso8601(date);
  if (!t) {
    return Corrupt(DescribeRequest(ctx) + ": malformed x-amz-object-lock-retain-until-date '" +
                   SanitizeForMessage(date, 64) + "'");
  }
  return std::optional<int64_t>(*t);
}

Status S3Backend::Remove(const ObjectName& name) {
  LB_RETURN_IF_ERROR(ValidateObjectName(name));
  const S3RequestContext ctx = Context("remove", name.ToString());
  const std::string key = KeyOf(name);
  LB_ASSIGN_OR_RETURN(HttpResponse head, Head(key, ctx));
  const std::string retain = Header(head, "x-amz-object-lock-retain-until-date");
  const std::string mode = Header(head, "x-amz-object-lock-mode");
  const HttpRequest req = Request("DELETE", endpoint_.ObjectUrl(key));
  return Retry<bool>([&]() -> Result<bool> {
           LB_ASSIGN_OR_RETURN(HttpResponse resp, Send(req, ctx));
           if (Is2xx(resp.status) || resp.status == 404) return true;  // 404: removed meanwhile
           if (resp.status == 403) {
             const std::optional<S3ErrorBody> err = ParseS3Error(resp.body);
             const bool mentions_lock =
                 err && (err->message.find("lock") != std::string::npos ||
                         err->message.find("retention") != std::string::npos ||
                         err->message.find("WORM") != std::string::npos);
             if (!retain.empty() || mentions_lock) {
               std::string why = "the object is protected by S3 Object Lock";
               if (!mode.empty()) why += " (" + SanitizeForMessage(mode, 16) + " mode)";
               if (!retain.empty()) why += " until " + SanitizeForMessage(retain, 40);
               return Status(Code::kPermissionDenied,
                             DescribeRequest(ctx) + ": " + why +
                                 (err ? " (" + err->code + ")" : std::string()),
                             "locked objects can be removed once their retention has passed; "
                             "prune skips them");
             }
           }
           return StatusFromS3Response(resp.status, resp.body, resp.headers, ctx);
         })
      .status();
}

Status S3Backend::List(ObjectType type, const std::function<Status(const ObjectInfo&)>& fn) {
  return ListKeys(type, "", fn);
}

Status S3Backend::ListPrefix(ObjectType type, std::string_view name_prefix,
                             const std::function<Status(const ObjectInfo&)>& fn) {
  // Packs live below a two-character fan-out folder, the config is one key:
  // the server-side prefix only maps plainly onto the other types' names.
  if (type == ObjectType::kPack || type == ObjectType::kConfig) {
    return Backend::ListPrefix(type, name_prefix, fn);
  }
  return ListKeys(type, name_prefix, [&](const ObjectInfo& info) {
    // The server matched the key prefix; names are checked again all the same.
    if (info.name.compare(0, name_prefix.size(), name_prefix) != 0) return Status::Ok();
    return fn(info);
  });
}

Status S3Backend::ListKeys(ObjectType type, std::string_view name_prefix,
                           const std::function<Status(const ObjectInfo&)>& fn) {
  if (type == ObjectType::kConfig) {
    // A listing by prefix would also match "configX"; ask for the one key.
    Result<uint64_t> size = Stat({ObjectType::kConfig, "config"});
    if (!size.ok()) return size.status().code() == Code::kNotFound ? Status::Ok() : size.status();
    return fn(ObjectInfo{"config", *size});
  }
  const S3RequestContext ctx = Context("list", std::string(ObjectTypeName(type)));
  const std::string prefix = TypePrefix(type) + std::string(name_prefix);
  std::string token;
  for (int page_no = 0; page_no < kMaxListPages; ++page_no) {
    std::vector<std::pair<std::string, std::string>> params = {{"list-type", "2"},
                                                               {"prefix", prefix}};
    if (!token.empty()) params.emplace_back("continuation-token", token);
    if (config_.options.list_page_size > 0) {
      params.emplace_back("max-keys", std::to_string(config_.options.list_page_size));
    }
    HttpRequest req = Request("GET", endpoint_.BucketUrl(CanonicalQuery(std::move(params))));
    req.max_body = kMaxListBody;
    LB_ASSIGN_OR_RETURN(S3ListPage page, Retry<S3ListPage>([&]() -> Result<S3ListPage> {
      LB_ASSIGN_OR_RETURN(HttpResponse resp, Send(req, ctx));
      if (!Is2xx(resp.status)) {
        return StatusFromS3Response(resp.status, resp.body, resp.headers, ctx);
      }
      Result<S3ListPage> parsed = ParseListObjectsV2(resp.body);
      if (!parsed.ok()) return parsed.status().WithContext(DescribeRequest(ctx));
      return parsed;
    }));
    for (const S3ListEntry& entry : page.entries) {
      const std::optional<std::string> name = NameFromKey(type, entry.key);
      if (!name) continue;  // not ours (a foreign key under the prefix)
      LB_RETURN_IF_ERROR(fn(ObjectInfo{*name, entry.size}));
    }
    if (!page.truncated) return Status::Ok();
    if (page.next_token == token) {
      return Corrupt(DescribeRequest(ctx) + ": the server repeated its continuation token");
    }
    token = std::move(page.next_token);
  }
  return Corrupt(DescribeRequest(ctx) + ": the listing does not end");
}

Result<std::unique_ptr<S3Backend>> OpenS3BackendWithEnv(
    std::string_view url_rest, const std::map<std::string, std::string>& options,
    const EnvLookup& env) {
  LB_ASSIGN_OR_RETURN(S3Options opts, ParseS3Options(options));
  S3Backend::Config config;
  LB_ASSIGN_OR_RETURN(config.url, ParseS3Url(url_rest));
  LB_ASSIGN_OR_RETURN(config.virtual_hosted, UseVirtualHostedStyle(config.url, opts.bucket_lookup));
  if (opts.region.empty()) {
    // An AWS endpoint that names its region decides over the environment.
    const std::string from_host = RegionFromHost(config.url.host);
    if (!from_host.empty()) opts.region = from_host;
  }
  LB_ASSIGN_OR_RETURN(config.region, ResolveRegion(opts, env));
  config.cacert = !opts.cacert.empty() ? opts.cacert : env("LIFEBOAT_CACERT").value_or("");
  if (!config.cacert.empty() && ::access(config.cacert.c_str(), R_OK) != 0) {
    return ErrnoStatus(errno, "unable to read the CA certificate file " + config.cacert)
        .WithHint("check -o s3.cacert or LIFEBOAT_CACERT");
  }
  LB_ASSIGN_OR_RETURN(config.credentials, LoadS3Credentials(opts.profile, env));
  config.options = std::move(opts);
  return std::make_unique<S3Backend>(std::move(config));
}

Result<std::unique_ptr<Backend>> OpenS3Backend(std::string_view url_rest,
                                               const std::map<std::string, std::string>& options) {
  LB_ASSIGN_OR_RETURN(std::unique_ptr<S3Backend> backend,
                      OpenS3BackendWithEnv(url_rest, options, ProcessEnv()));
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace lifeboat
