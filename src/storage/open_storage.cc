#include "storage/open_storage.h"

#include <string_view>
#include <vector>

#include "s3/s3_backend.h"
#include "sftp/sftp_backend.h"

namespace lifeboat {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// The option prefix ("s3", "sftp") a location's scheme accepts; empty for
// kinds of storage that take no options.
std::string_view OptionPrefixFor(std::string_view url) {
  if (StartsWith(url, "s3:")) return "s3";
  if (StartsWith(url, "sftp:")) return "sftp";
  return "";
}

}  // namespace

Result<std::unique_ptr<Backend>> OpenStorage(const std::string& url,
                                             const StorageOptions& options) {
  const std::string_view prefix = OptionPrefixFor(url);
  for (const auto& [key, value] : options) {
    const size_t dot = key.find('.');
    const std::string_view key_prefix = std::string_view(key).substr(0, dot);
    if (dot == std::string::npos || key_prefix != prefix) {
      return Status(
          Code::kInvalidArgument, "option '" + key + "' does not apply to repository '" + url + "'",
          prefix.empty() ? std::string("this kind of repository takes no -o options")
                         : "options for this repository start with '" + std::string(prefix) + ".'");
    }
  }
  if (StartsWith(url, "s3:")) return OpenS3Backend(std::string_view(url).substr(3), options);
  if (StartsWith(url, "sftp:")) return OpenSftpBackend(std::string_view(url).substr(5), options);
  return OpenBackend(url);
}

Result<StorageOptions> ParseStorageOptions(const std::vector<std::string>& settings) {
  StorageOptions out;
  for (const std::string& s : settings) {
    const size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status(Code::kInvalidArgument, "option '" + s + "' is not of the form KEY=VALUE",
                    "for example: -o s3.region=eu-central-1");
    }
    const std::string key = s.substr(0, eq);
    if (!out.emplace(key, s.substr(eq + 1)).second) {
      return InvalidArgument("option '" + key + "' is given twice");
    }
  }
  return out;
}

}  // namespace lifeboat
