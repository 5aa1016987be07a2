#include "s3/s3_url.h"

#include <algorithm>

namespace lifeboat {
namespace {

Status BadUrl(std::string_view url, std::string_view why) {
  return Status(Code::kInvalidArgument,
                "invalid S3 repository 's3:" + std::string(url) + "': " + std::string(why),
                "use s3:https://HOST[:PORT]/BUCKET[/PREFIX]");
}

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool IsIpv4(std::string_view host) {
  int dots = 0;
  int digits = 0;
  for (char c : host) {
    if (c == '.') {
      if (digits == 0) return false;
      ++dots;
      digits = 0;
    } else if (c >= '0' && c <= '9') {
      if (++digits > 3) return false;
    } else {
      return false;
    }
  }
  return dots == 3 && digits > 0;
}

// A DNS label-compatible bucket name (needed for virtual-hosted style).
bool IsDnsBucket(std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return false;
  for (char c : bucket) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  if (!IsAlnum(bucket.front()) || !IsAlnum(bucket.back())) return false;
  return bucket.find("..") == std::string_view::npos && !IsIpv4(bucket);
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::string S3Url::ToString() const {
  std::string out = std::string("s3:") + (https ? "https://" : "http://") + host;
  if (port != 0) out += ":" + std::to_string(port);
  out += "/" + bucket;
  if (!prefix.empty()) out += "/" + prefix;
  return out;
}

bool S3Url::IsLoopback() const {
  return host == "localhost" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

Result<S3Url> ParseS3Url(std::string_view rest) {
  S3Url out;
  std::string_view s = rest;
  if (s.rfind("https://", 0) == 0) {
    out.https = true;
    s.remove_prefix(8);
  } else if (s.rfind("http://", 0) == 0) {
    out.https = false;
    s.remove_prefix(7);
  } else {
    return BadUrl(rest, "expected https:// or http:// after s3:");
  }
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ' ')
      return BadUrl(rest, "contains spaces or control characters");
    if (c == '?' || c == '#') return BadUrl(rest, "queries and fragments are not allowed");
    if (c == '%') return BadUrl(rest, "percent escapes are not allowed");
    if (c == '\\') return BadUrl(rest, "backslashes are not allowed");
  }
  const size_t slash = s.find('/');
  std::string_view authority = s.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : s.substr(slash + 1);
  if (authority.find('@') != std::string_view::npos) {
    // Never accept credentials in the URL: they would end up in messages.
    return BadUrl("https://…", "credentials in the URL are not allowed (use AWS_ACCESS_KEY_ID/"
                               "AWS_SECRET_ACCESS_KEY or the credentials file)");
  }
  if (authority.empty()) return BadUrl(rest, "missing host");

  // Host and optional port; IPv6 literals in brackets.
  std::string_view host;
  std::string_view port;
  if (authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return BadUrl(rest, "unterminated IPv6 address");
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return BadUrl(rest, "malformed host");
      port = after.substr(1);
      if (port.empty()) return BadUrl(rest, "empty port");
    }
    for (char c : host.substr(1, host.size() - 2)) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
            c == ':' || c == '.'))
        return BadUrl(rest, "malformed IPv6 address");
    }
    if (host.size() < 4) return BadUrl(rest, "malformed IPv6 address");
  } else {
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return BadUrl(rest, "empty port");
    }
    if (host.empty() || host.size() > 253) return BadUrl(rest, "missing or overlong host");
    for (char c : host) {
      if (!(IsAlnum(c) || c == '-' || c == '.')) return BadUrl(rest, "malformed host name");
    }
    if (host.front() == '.' || host.front() == '-') return BadUrl(rest, "malformed host name");
  }
  out.host = std::string(host);
  std::transform(out.host.begin(), out.host.end(), out.host.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; });
  if (!port.empty()) {
    if (port.size() > 5) return BadUrl(rest, "port out of range");
    uint32_t p = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return BadUrl(rest, "port is not a number");
      p = p * 10 + static_cast<uint32_t>(c - '0');
    }
    if (p == 0 || p > 65535) return BadUrl(rest, "port out of range");
    out.port = static_cast<uint16_t>(p);
  }

  // Bucket, then prefix segments.
  const size_t bucket_end = path.find('/');
  const std::string_view bucket = path.substr(0, bucket_end);
  if (bucket.empty()) return BadUrl(rest, "missing bucket name");
  if (bucket.size() > 255) return BadUrl(rest, "bucket name longer than 255 characters");
  for (char c : bucket) {
    if (!(IsAlnum(c) || c == '-' || c == '.' || c == '_'))
      return BadUrl(rest, "bucket names consist of letters, digits, '-', '.' and '_'");
  }
  if (bucket == "." || bucket == "..") return BadUrl(rest, "invalid bucket name");
  out.bucket = std::string(bucket);
  std::string_view prefix = bucket_end == std::string_view::npos ? std::string_view()
                                                                  : path.substr(bucket_end + 1);
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  size_t start = 0;
  while (start < prefix.size()) {
    size_t end = prefix.find('/', start);
    if (end == std::string_view::npos) end = prefix.size();
    const std::string_view segment = prefix.substr(start, end - start);
    if (segment.empty()) return BadUrl(rest, "empty path segment ('//') in the prefix");
    if (segment == "." || segment == "..") return BadUrl(rest, "'.' and '..' are not allowed in the prefix");
    start = end + 1;
  }
  if (prefix.size() > 512) return BadUrl(rest, "prefix longer than 512 characters");
  out.prefix = std::string(prefix);
  return out;
}

Result<bool> UseVirtualHostedStyle(const S3Url& url, BucketLookup lookup) {
  const bool ip_host = url.host.front() == '[' || IsIpv4(url.host);
  switch (lookup) {
    case BucketLookup::kPath:
      return false;
    case BucketLookup::kDns:
      if (ip_host) {
        return InvalidArgument("s3.bucket-lookup=dns needs a host name, not the IP address " +
                               url.host);
      }
      if (!IsDnsBucket(url.bucket)) {
        return InvalidArgument("s3.bucket-lookup=dns: bucket name '" + url.bucket +
                               "' cannot be part of a host name (use s3.bucket-lookup=path)");
      }
      return true;
    case BucketLookup::kAuto:
      break;
  }
  if (ip_host || !EndsWith(url.host, ".amazonaws.com")) return false;
  // A bucket with dots would not match the *.s3.amazonaws.com certificate.
  if (!IsDnsBucket(url.bucket)) return false;
  if (url.https && url.bucket.find('.') != std::string::npos) return false;
  return true;
}

std::string RegionFromHost(std::string_view host) {
  if (!EndsWith(host, ".amazonaws.com")) return "";
  std::string_view head = host.substr(0, host.size() - std::string_view(".amazonaws.com").size());
  // Strip a leading "bucket." of virtual-hosted host names given directly.
  const size_t s3 = head.rfind("s3");
  if (s3 == std::string_view::npos) return "";
  if (s3 != 0 && head[s3 - 1] != '.') return "";
  std::string_view rest = head.substr(s3 + 2);
  if (rest.empty()) return "";  // s3.amazonaws.com: the global endpoint
  if (rest.front() != '.' && rest.front() != '-') return "";
  rest.remove_prefix(1);
  if (rest.rfind("dualstack.", 0) == 0) rest.remove_prefix(10);
  if (!IsValidRegion(rest)) return "";
  return std::string(rest);
}

std::string UriEncode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (IsAlnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += c;
    } else {
      const auto b = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
  }
  return out;
}

std::string CanonicalQuery(std::vector<std::pair<std::string, std::string>> params) {
  for (auto& [name, value] : params) {
    name = UriEncode(name, false);
    value = UriEncode(value, false);
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += name + "=" + value;
  }
  return out;
}

S3Endpoint::S3Endpoint(S3Url url, bool virtual_hosted)
    : url_(std::move(url)), virtual_hosted_(virtual_hosted) {}

std::string S3Endpoint::Authority(bool with_bucket) const {
  std::string out = url_.https ? "https://" : "http://";
  if (with_bucket) out += url_.bucket + ".";
  out += url_.host;
  if (url_.port != 0) out += ":" + std::to_string(url_.port);
  return out;
}

std::string S3Endpoint::ObjectUrl(std::string_view key, std::string_view query) const {
  std::string out = Authority(virtual_hosted_);
  out += virtual_hosted_ ? "/" : "/" + UriEncode(url_.bucket, false) + "/";
  out += UriEncode(key, true);
  if (!query.empty()) out += "?" + std::string(query);
  return out;
}

std::string S3Endpoint::BucketUrl(std::string_view query) const {
  std::string out = Authority(virtual_hosted_);
  out += virtual_hosted_ ? "/" : "/" + UriEncode(url_.bucket, false);
  if (!query.empty()) out += "?" + std::string(query);
  return out;
}

}  // namespace lifeboat
