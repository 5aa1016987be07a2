#include "s3/s3_http_client.h"

#include <curl/curl.h>

#include "s3/s3_xml.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace lifeboat {
namespace {

// Error bodies are small XML documents; more is dropped, not stored.
constexpr size_t kMaxErrorBody = 64u << 10;
constexpr size_t kMaxHeaders = 256;
constexpr size_t kMaxHeaderValue = 8u << 10;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  CURL* handle = nullptr;
  HttpResponse response;
  size_t max_body = 0;
  bool too_large = false;
  bool range_past_end = false;
  std::string bad_range;
  bool reserved = false;
  ByteView upload;
  size_t upload_pos = 0;
};

size_t OnHeader(char* buf, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * count;
  std::string_view line(buf, len);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers.clear();  // a new response (after "100 Continue")
    return len;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return len;
  std::string name(line.substr(0, colon));
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.size() > kMaxHeaderValue) value = value.substr(0, kMaxHeaderValue);
  if (name == "content-range") {
    // "bytes 0-0/0" (s3rver, for a range on an empty object) announces a body
    // that never comes: the range is past the end; stop here rather than wait.
    const std::optional<ContentRange> range = ParseContentRange(value);
    if (range && range->total && range->last >= *range->total) {
      t->range_past_end = true;
      t->bad_range = std::string(value.substr(0, 64));
      return 0;
    }
  }
  if (t->response.headers.size() < kMaxHeaders || t->response.headers.count(name) != 0) {
    t->response.headers[name] = std::string(value);
  }
  return len;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * count;
  long status = 0;
  curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
  Bytes& body = t->response.body;
  if (status >= 300) {
    // Keep the start of an error document; drain (not store) the rest.
    const size_t keep = body.size() < kMaxErrorBody ? std::min(len, kMaxErrorBody - body.size()) : 0;
    body.insert(body.end(), data, data + keep);
    return len;
  }
  if (len > t->max_body - std::min(t->max_body, body.size())) {
    t->too_large = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  if (!t->reserved) {
    // Content-Length is untrusted: it only sizes the first allocation, within max_body.
    t->reserved = true;
    auto it = t->response.headers.find("content-length");
    if (it != t->response.headers.end() && it->second.size() < 19) {
      const uint64_t n = std::strtoull(it->second.c_str(), nullptr, 10);
      if (n <= t->max_body) body.reserve(static_cast<size_t>(n));
    }
  }
  body.insert(body.end(), data, data + len);
  return len;
}

size_t OnRead(char* buf, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = std::min(size * count, t->upload.size() - t->upload_pos);
  if (n > 0) std::memcpy(buf, t->upload.data() + t->upload_pos, n);
  t->upload_pos += n;
  return n;
}

int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > t->upload.size()) {
    return CURL_SEEKFUNC_FAIL;
  }
  t->upload_pos = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

// A CURLSH sharing DNS and TLS sessions; libcurl calls the lock functions
// from whichever thread uses a handle.
struct S3HttpClient::Share {
  CURLSH* share = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;

  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Share*>(user)->locks[static_cast<size_t>(data) % CURL_LOCK_DATA_LAST].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<Share*>(user)->locks[static_cast<size_t>(data) % CURL_LOCK_DATA_LAST].unlock();
  }
  Share() {
    share = curl_share_init();
    if (share == nullptr) return;
    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, &Share::Lock);
    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, &Share::Unlock);
    curl_share_setopt(share, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  ~Share() {
    if (share != nullptr) curl_share_cleanup(share);
  }
};

S3HttpClient::S3HttpClient(S3HttpConfig config)
    : config_(std::move(config)), sigv4_("aws:amz:" + config_.region + ":s3") {
  GlobalInit();
  share_ = std::make_unique<Share>();
}

S3HttpClient::~S3HttpClient() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
  share_.reset();
}

int S3HttpClient::HandlesCreated() const {
  std::lock_guard lock(mu_);
  return created_;
}

void* S3HttpClient::Acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return in_use_ < std::max(1, config_.connections); });
  ++in_use_;
  if (!idle_.empty()) {
    void* h = idle_.back();
    idle_.pop_back();
    return h;
  }
  ++created_;
  lock.unlock();
  CURL* h = curl_easy_init();
  if (h == nullptr) {
    lock.lock();
    --in_use_;
    --created_;
    cv_.notify_one();
  }
  return h;
}

void S3HttpClient::Release(void* handle) {
  {
    std::lock_guard lock(mu_);
    --in_use_;
    idle_.push_back(handle);
  }
  cv_.notify_one();
}

Result<HttpResponse> S3HttpClient::Perform(const HttpRequest& req, std::string_view what) {
  CURL* h = static_cast<CURL*>(Acquire());
  if (h == nullptr) return Internal(std::string(what) + ": unable to create a libcurl handle");
  struct Lease {
    S3HttpClient* client;
    CURL* handle;
    ~Lease() { client->Release(handle); }
  } lease{this, h};

  curl_easy_reset(h);
  Transfer t;
  t.handle = h;
  t.max_body = req.max_body;
  t.upload = req.body;

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next == nullptr) return false;
    curl_slist* old = headers.release();  // `next` is the same list, now longer
    (void)old;
    headers.reset(next);
    return true;
  };
  for (const std::string& line : req.headers) {
    if (!add_header(line)) return Internal(std::string(what) + ": out of memory");
  }
  if (!config_.credentials.session_token.empty() &&
      !add_header("x-amz-security-token: " + config_.credentials.session_token)) {
    return Internal(std::string(what) + ": out of memory");
  }

  char errbuf[CURL_ERROR_SIZE];
  errbuf[0] = '\0';
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_SHARE, share_->share);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(config_.stall_timeout.count()));
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!config_.cacert.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, config_.cacert.c_str());
  curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4_.c_str());
  curl_easy_setopt(h, CURLOPT_USERNAME, config_.credentials.access_key_id.c_str());
  curl_easy_setopt(h, CURLOPT_PASSWORD, config_.credentials.secret_access_key.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  if (!req.range.empty()) curl_easy_setopt(h, CURLOPT_RANGE, req.range.c_str());

  static const char kEmpty[] = "";
  if (req.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT") {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, &OnRead);
    curl_easy_setopt(h, CURLOPT_READDATA, &t);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, &OnSeek);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, &t);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  } else if (req.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS,
                     req.body.empty() ? kEmpty : reinterpret_cast<const char*>(req.body.data()));
  } else if (req.method == "DELETE") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else {
    return Internal(std::string(what) + ": unsupported HTTP method " + req.method);
  }

  const CURLcode rc = curl_easy_perform(h);
  if (t.too_large) {
    return Corrupt(std::string(what) + ": the server sent more than the " +
                   std::to_string(req.max_body) + " bytes expected");
  }
  if (t.range_past_end) {
    return Corrupt(std::string(what) + ": the requested range is past the end of the object (" +
                   SanitizeForMessage(t.bad_range, 64) + ")");
  }
  if (rc != CURLE_OK) {
    return TransportError(rc, errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc), what);
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &t.response.status);
  return std::move(t.response);
}

std::optional<ContentRange> ParseContentRange(std::string_view v) {
  if (v.rfind("bytes ", 0) != 0) return std::nullopt;
  v.remove_prefix(6);
  const size_t dash = v.find('-');
  const size_t slash = v.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) {
    return std::nullopt;
  }
  ContentRange out;
  const std::optional<uint64_t> first = ParseDecimal(v.substr(0, dash));
  const std::optional<uint64_t> last = ParseDecimal(v.substr(dash + 1, slash - dash - 1));
  if (!first || !last || *last < *first) return std::nullopt;
  out.first = *first;
  out.last = *last;
  const std::string_view total = v.substr(slash + 1);
  if (total != "*") {
    out.total = ParseDecimal(total);
    if (!out.total) return std::nullopt;
  }
  return out;
}

Status TransportError(int curl_code, std::string_view detail, std::string_view what) {
  const std::string msg = std::string(what) + ": " + std::string(detail);
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_COULDNT_CONNECT:
      return Status(Code::kUnavailable, msg, "is the S3 server running and reachable?");
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return Status(Code::kUnavailable, msg, "check the host name in the repository URL");
    case CURLE_OPERATION_TIMEDOUT:
      return Status(Code::kUnavailable, msg + " (timed out)",
                    "the server did not answer in time; check it and the network");
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
      return Status(Code::kUnavailable, msg);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return Status(Code::kIoError, msg + " (TLS verification failed)",
                    "pass the server's CA certificate with -o s3.cacert=FILE or LIFEBOAT_CACERT");
    case CURLE_SSL_CONNECT_ERROR:
      return Status(Code::kIoError, msg + " (TLS handshake failed)",
                    "does the server speak https on this port? for plain HTTP use s3:http://");
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return Status(Code::kInvalidArgument, msg);
    case CURLE_OUT_OF_MEMORY:
      return Status(Code::kInternal, msg);
    default:
      return Status(Code::kIoError, msg);
  }
}

}  // namespace lifeboat
