#include "s3/s3_credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace lifeboat {
namespace {

constexpr std::string_view kNoCredentialsHint =
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or put them in ~/.aws/credentials "
    "(AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE, -o s3.profile=NAME)";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

Result<std::string> ReadSmallFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return ErrnoStatus(errno, "unable to read credentials file " + path);
  std::string out;
  struct stat st;
  Status status;
  if (::fstat(fd, &st) != 0) {
    status = ErrnoStatus(errno, "unable to read credentials file " + path);
  } else if (!S_ISREG(st.st_mode)) {
    status = InvalidArgument("credentials file " + path + " is not a regular file");
  } else if (static_cast<uint64_t>(st.st_size) > kMaxCredentialsFileSize) {
    status = InvalidArgument("credentials file " + path + " is larger than 1 MiB");
  } else {
    char buf[8192];
    while (true) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        status = ErrnoStatus(errno, "unable to read credentials file " + path);
        break;
      }
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
      if (out.size() > kMaxCredentialsFileSize) {
        status = InvalidArgument("credentials file " + path + " is larger than 1 MiB");
        break;
      }
    }
  }
  ::close(fd);
  if (!status.ok()) return status;
  return out;
}

}  // namespace

Status ValidateCredentialValue(std::string_view value, std::string_view what, size_t max_len) {
  if (value.empty()) return InvalidArgument(std::string(what) + " is empty");
  if (value.size() > max_len) {
    return InvalidArgument(std::string(what) + " is longer than " + std::to_string(max_len) +
                           " characters");
  }
  for (char c : value) {
    if (c <= ' ' || c >= 0x7f) {
      return InvalidArgument(std::string(what) +
                             " contains spaces, control or non-ASCII characters");
    }
  }
  return Status::Ok();
}

Result<S3Credentials> ParseSharedCredentials(std::string_view content, std::string_view profile,
                                             std::string_view path) {
  const std::string where = "credentials file " + std::string(path);
  bool in_profile = false;
  bool found = false;
  S3Credentials creds;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < content.size()) {
    size_t end = content.find('\n', pos);
    if (end == std::string_view::npos) end = content.size();
    const std::string_view raw = content.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    const std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        return InvalidArgument(where + ": malformed section header on line " +
                               std::to_string(line_no));
      }
      in_profile = Trim(line.substr(1, line.size() - 2)) == profile;
      found = found || in_profile;
      continue;
    }
    if (!in_profile) continue;  // other profiles' content is none of our business
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      // Indented lines continue a nested value (config-file syntax); skip them.
      if (raw.front() == ' ' || raw.front() == '\t') continue;
      return InvalidArgument(where + ": line " + std::to_string(line_no) + " of profile '" +
                             std::string(profile) + "' is not 'key = value'");
    }
    const std::string key = Lower(Trim(line.substr(0, eq)));
    const std::string_view value = Trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") {
      creds.access_key_id = std::string(value);
    } else if (key == "aws_secret_access_key") {
      creds.secret_access_key = std::string(value);
    } else if (key == "aws_session_token" || key == "aws_security_token") {
      creds.session_token = std::string(value);
    }
  }
  if (!found) {
    return Status(Code::kInvalidArgument,
                  "profile '" + std::string(profile) + "' not found in " + where,
                  std::string(kNoCredentialsHint));
  }
  creds.source = std::string(path) + ", profile " + std::string(profile);
  const std::string in = " in profile '" + std::string(profile) + "' of " + where;
  if (creds.access_key_id.empty()) return InvalidArgument("aws_access_key_id missing" + in);
  if (creds.secret_access_key.empty()) return InvalidArgument("aws_secret_access_key missing" + in);
  LB_RETURN_IF_ERROR(ValidateCredentialValue(creds.access_key_id, "aws_access_key_id" + in, 256));
  LB_RETURN_IF_ERROR(
      ValidateCredentialValue(creds.secret_access_key, "aws_secret_access_key" + in, 1024));
  if (!creds.session_token.empty()) {
    LB_RETURN_IF_ERROR(ValidateCredentialValue(creds.session_token, "aws_session_token" + in, 8192));
  }
  return creds;
}

Result<S3Credentials> LoadS3Credentials(const std::string& profile_option, const EnvLookup& env) {
  if (profile_option.empty()) {
    std::optional<std::string> id = env("AWS_ACCESS_KEY_ID");
    if (id && !id->empty()) {
      std::optional<std::string> secret = env("AWS_SECRET_ACCESS_KEY");
      if (!secret || secret->empty()) {
        return Status(Code::kInvalidArgument,
                      "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
                      "set both, or unset AWS_ACCESS_KEY_ID to use ~/.aws/credentials");
      }
      S3Credentials creds{*id, *secret, env("AWS_SESSION_TOKEN").value_or(""), "environment"};
      LB_RETURN_IF_ERROR(ValidateCredentialValue(creds.access_key_id, "AWS_ACCESS_KEY_ID", 256));
      LB_RETURN_IF_ERROR(
          ValidateCredentialValue(creds.secret_access_key, "AWS_SECRET_ACCESS_KEY", 1024));
      if (!creds.session_token.empty()) {
        LB_RETURN_IF_ERROR(ValidateCredentialValue(creds.session_token, "AWS_SESSION_TOKEN", 8192));
      }
      return creds;
    }
  }
  std::string path = env("AWS_SHARED_CREDENTIALS_FILE").value_or("");
  if (path.empty()) {
    const std::string home = env("HOME").value_or("");
    if (home.empty()) {
      return Status(Code::kInvalidArgument,
                    "no S3 credentials: AWS_ACCESS_KEY_ID is not set and HOME is unknown",
                    std::string(kNoCredentialsHint));
    }
    path = home + "/.aws/credentials";
  }
  std::string profile = profile_option;
  if (profile.empty()) profile = env("AWS_PROFILE").value_or("");
  if (profile.empty()) profile = "default";
  Result<std::string> content = ReadSmallFile(path);
  if (!content.ok()) {
    if (content.status().code() == Code::kNotFound) {
      return Status(Code::kInvalidArgument,
                    "no S3 credentials: AWS_ACCESS_KEY_ID is not set and " + path +
                        " does not exist",
                    std::string(kNoCredentialsHint));
    }
    return content.status();
  }
  return ParseSharedCredentials(*content, profile, path);
}

}  // namespace lifeboat
