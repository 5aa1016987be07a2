// S3Credentials: the access key pair (and optional session token) requests
// are signed with, from the environment or the AWS shared credentials file.
//
// Order: with the option s3.profile, the credentials file only; otherwise
// AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN) when
// AWS_ACCESS_KEY_ID is set, else the file (AWS_SHARED_CREDENTIALS_FILE or
// ~/.aws/credentials) with profile AWS_PROFILE or "default".
//
// Secrets never appear in any Status this file returns: errors name the
// variable, the file, the profile and the line number, never a value.
// Thread-safety: value types and pure functions (apart from reading the file).
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "s3/s3_options.h"

namespace lifeboat {

struct S3Credentials {
  std::string access_key_id;
  std::string secret_access_key;  // never logged
  std::string session_token;      // never logged; empty when none
  std::string source;             // "environment" or "FILE, profile NAME", for messages
};

// The files are small; anything larger is refused rather than read.
inline constexpr size_t kMaxCredentialsFileSize = 1 << 20;

// Parses the INI text of a shared credentials file and returns `profile`'s
// keys (aws_access_key_id, aws_secret_access_key, aws_session_token).
// Comments (# ;), blank lines, CRLF and unknown keys are fine; a missing
// profile, a missing key or a malformed line inside the profile is
// kInvalidArgument naming `path` and the line number.
Result<S3Credentials> ParseSharedCredentials(std::string_view content, std::string_view profile,
                                             std::string_view path);

// Loads credentials as described above. `profile_option` is s3.profile ("" if
// not given). kInvalidArgument (with a hint) when none are found.
Result<S3Credentials> LoadS3Credentials(const std::string& profile_option, const EnvLookup& env);

// Checks that a key id, secret or token is printable ASCII without spaces
// (so it cannot inject a header line); `what` names it in the error.
Status ValidateCredentialValue(std::string_view value, std::string_view what, size_t max_len);

}  // namespace lifeboat
