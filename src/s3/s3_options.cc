#include "s3/s3_options.h"

#include <cstdlib>
#include <string_view>

namespace lifeboat {
namespace {

constexpr std::string_view kPrefix = "s3.";

Status BadValue(const std::string& key, std::string_view why) {
  return Status(Code::kInvalidArgument, "invalid value for option " + key + ": " + std::string(why));
}

std::optional<int64_t> ParseInt(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

std::optional<uint64_t> ParseByteSize(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const std::optional<int64_t> number = ParseInt(text.substr(0, digits));
  if (!number) return std::nullopt;
  const std::string_view suffix = text.substr(digits);
  uint64_t unit = 1;
  if (suffix.empty() || suffix == "B") {
    unit = 1;
  } else if (suffix == "K" || suffix == "KiB") {
    unit = 1024;
  } else if (suffix == "M" || suffix == "MiB") {
    unit = kMiB;
  } else if (suffix == "G" || suffix == "GiB") {
    unit = 1024 * kMiB;
  } else {
    return std::nullopt;
  }
  const uint64_t n = static_cast<uint64_t>(*number);
  if (n > UINT64_MAX / unit) return std::nullopt;
  return n * unit;
}

bool IsValidRegion(std::string_view region) {
  if (region.empty() || region.size() > 64) return false;
  for (char c : region) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

Result<S3Options> ParseS3Options(const std::map<std::string, std::string>& options) {
  S3Options out;
  bool have_mode = false;
  bool have_days = false;
  for (const auto& [key, value] : options) {
    if (key.compare(0, kPrefix.size(), kPrefix) != 0) continue;  // another backend's option
    const std::string_view name = std::string_view(key).substr(kPrefix.size());
    if (name == "region") {
      if (!IsValidRegion(value)) return BadValue(key, "expected a region name such as eu-west-1");
      out.region = value;
    } else if (name == "bucket-lookup") {
      if (value == "auto") {
        out.bucket_lookup = BucketLookup::kAuto;
      } else if (value == "path") {
        out.bucket_lookup = BucketLookup::kPath;
      } else if (value == "dns") {
        out.bucket_lookup = BucketLookup::kDns;
      } else {
        return BadValue(key, "expected auto, path or dns");
      }
    } else if (name == "profile") {
      if (value.empty() || value.size() > 128 || value.find_first_of("[]\r\n") != std::string::npos)
        return BadValue(key, "expected a profile name");
      out.profile = value;
    } else if (name == "connections") {
      const auto n = ParseInt(value);
      if (!n || *n < 1 || *n > 64) return BadValue(key, "expected a number from 1 to 64");
      out.connections = static_cast<int>(*n);
    } else if (name == "retries") {
      const auto n = ParseInt(value);
      if (!n || *n < 1 || *n > 20) return BadValue(key, "expected a number of attempts from 1 to 20");
      out.retry.max_attempts = static_cast<int>(*n);
    } else if (name == "timeout") {
      // Seconds a transfer may stall (under 1 KiB/s) before it fails.
      const auto n = ParseInt(value);
      if (!n || *n < 1 || *n > 3600) return BadValue(key, "expected seconds from 1 to 3600");
      out.stall_timeout = std::chrono::seconds(*n);
    } else if (name == "multipart-threshold") {
      const auto n = ParseByteSize(value);
      if (!n || *n < kS3MinPartSize || *n > kS3MaxPutSize)
        return BadValue(key, "expected a size from 5MiB to 5GiB");
      out.multipart_threshold = *n;
    } else if (name == "cacert") {
      if (value.empty()) return BadValue(key, "expected a file name");
      out.cacert = value;
    } else if (name == "object-lock-mode") {
      if (value == "governance") {
        out.lock_mode = ObjectLockMode::kGovernance;
      } else if (value == "compliance") {
        out.lock_mode = ObjectLockMode::kCompliance;
      } else {
        return BadValue(key, "expected governance or compliance");
      }
      have_mode = true;
    } else if (name == "object-lock-days") {
      const auto n = ParseInt(value);
      if (!n || *n < 1 || *n > 36500) return BadValue(key, "expected a number of days from 1 to 36500");
      out.lock_days = static_cast<int>(*n);
      have_days = true;
    } else {
      return Status(Code::kInvalidArgument, "unknown option " + key,
                    "S3 options are s3.region, s3.bucket-lookup, s3.profile, s3.connections, "
                    "s3.retries, s3.timeout, s3.multipart-threshold, s3.cacert, s3.object-lock-mode and "
                    "s3.object-lock-days");
    }
  }
  if (have_mode != have_days) {
    return InvalidArgument(
        "s3.object-lock-mode and s3.object-lock-days must be given together");
  }
  return out;
}

EnvLookup ProcessEnv() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<std::string> ResolveRegion(const S3Options& options, const EnvLookup& env) {
  if (!options.region.empty()) return options.region;
  for (const char* var : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    std::optional<std::string> v = env(var);
    if (!v || v->empty()) continue;
    if (!IsValidRegion(*v)) {
      return InvalidArgument(std::string("invalid region in ") + var +
                             ": expected a region name such as eu-west-1");
    }
    return *v;
  }
  return std::string("us-east-1");
}

}  // namespace lifeboat
