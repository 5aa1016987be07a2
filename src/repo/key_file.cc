#include "repo/key_file.h"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include "crypto/aead.h"
#include "repo/format.h"

namespace lifeboat {
namespace {

using json = nlohmann::json;
constexpr std::string_view kWrapAad = "lifeboat key file v1";

}  // namespace

std::string CreateKeyFile(const Key32& master, std::string_view password,
                          const KeyFileInfo& info) {
  auto kek = DeriveKeyFromPassword(password, info.kdf);
  // Parameters come from NewKdfParams or an existing key file, both valid.
  Bytes nonce = RandomBytes(Aead::kNonceSize);
  Bytes wrapped = nonce;
  Aead(*kek).Seal(nonce, AsBytes(kWrapAad), master.View(), &wrapped);
  json doc = {
      {"version", format::kKeyFileVersion},
      {"created_ns", info.created_ns},
      {"hostname", info.hostname},
      {"username", info.username},
      {"kdf",
       {{"algorithm", "argon2id"},
        {"ops_limit", info.kdf.ops_limit},
        {"mem_limit", info.kdf.mem_limit},
        {"salt", Base64Encode(info.kdf.salt)}}},
      {"wrapped_key", Base64Encode(wrapped)},
  };
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

static Result<std::pair<KeyFileInfo, Bytes>> Parse(std::string_view text) {
  try {
    json doc = json::parse(text);
    if (doc.at("version").get<int>() != format::kKeyFileVersion)
      return Corrupt("key file has unsupported version");
    KeyFileInfo info;
    info.created_ns = doc.value("created_ns", int64_t{0});
    info.hostname = doc.value("hostname", "");
    info.username = doc.value("username", "");
    const json& kdf = doc.at("kdf");
    if (kdf.at("algorithm").get<std::string>() != "argon2id")
      return Corrupt("key file uses an unknown KDF");
    info.kdf.ops_limit = kdf.at("ops_limit").get<uint64_t>();
    info.kdf.mem_limit = kdf.at("mem_limit").get<uint64_t>();
    LB_ASSIGN_OR_RETURN(info.kdf.salt, Base64Decode(kdf.at("salt").get<std::string>()));
    LB_ASSIGN_OR_RETURN(Bytes wrapped, Base64Decode(doc.at("wrapped_key").get<std::string>()));
    return std::make_pair(std::move(info), std::move(wrapped));
  } catch (const json::exception& e) {
    return Corrupt(std::string("key file is malformed: ") + e.what());
  }
}

Result<KeyFileInfo> ReadKeyFileInfo(std::string_view text) {
  LB_ASSIGN_OR_RETURN(auto parsed, Parse(text));
  return std::move(parsed.first);
}

Result<Key32> OpenKeyFile(std::string_view text, std::string_view password) {
  LB_ASSIGN_OR_RETURN(auto parsed, Parse(text));
  auto& [info, wrapped] = parsed;
  if (wrapped.size() != Aead::kNonceSize + 32 + Aead::kTagSize)
    return Corrupt("key file has a wrapped key of the wrong size");
  LB_ASSIGN_OR_RETURN(Key32 kek, DeriveKeyFromPassword(password, info.kdf));
  Bytes master;
  ByteView w(wrapped);
  if (!Aead(kek).Open(w.first(Aead::kNonceSize), AsBytes(kWrapAad), w.subspan(Aead::kNonceSize),
                      &master)
           .ok())
    return Status(Code::kWrongPassword, "wrong password");
  Key32 key(master);
  sodium_memzero(master.data(), master.size());
  return key;
}

}  // namespace lifeboat
