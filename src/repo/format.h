// Repository format constants: magics, versions, sizes and key-derivation
// labels, in one place. docs/FORMAT.md is the normative description; any
// change here is a format change and must update it (and the version).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lifeboat::format {

inline constexpr int kRepositoryVersion = 1;

// Blob types stored in packs.
enum class BlobType : uint8_t { kData = 0, kTree = 1 };
std::string_view BlobTypeName(BlobType type);

// How a blob's stored bytes are encoded before encryption.
enum class Compression : uint8_t { kNone = 0, kZstd = 1 };

// HKDF-SHA-256 info labels; input key material is the 32-byte master key.
inline constexpr std::string_view kLabelBlobId = "lifeboat blob id v1";
inline constexpr std::string_view kLabelChunkerSeed = "lifeboat chunker seed v1";
inline constexpr std::string_view kLabelPackKey = "lifeboat pack key v1";      // salt: pack salt
inline constexpr std::string_view kLabelObjectKey = "lifeboat object key v1";  // salt: object salt

// Packs: header | sealed blobs | sealed trailer | footer.
inline constexpr std::string_view kPackMagic = "LBP1";
inline constexpr std::string_view kPackFooterMagic = "LBPE";
inline constexpr size_t kSaltSize = 32;
inline constexpr size_t kPackHeaderSize = 4 + kSaltSize;
inline constexpr size_t kPackFooterSize = 4 + 4;  // trailer length u32 LE, magic
inline constexpr size_t kPackTrailerEntrySize = 1 + 1 + 32 + 4 + 4 + 4;
inline constexpr std::string_view kPackTrailerAad = "LBP1 trailer";
inline constexpr uint64_t kDefaultPackSize = 16ull << 20;
inline constexpr uint64_t kMaxPackSize = 1ull << 31;  // offsets are u32
inline constexpr uint32_t kMaxBlobSize = 64u << 20;   // refuse larger lengths from disk

// Sealed objects (config, index, snapshot, lock): magic | type | salt | AEAD(payload).
inline constexpr std::string_view kObjectMagic = "LBO1";
inline constexpr size_t kObjectHeaderSize = 4 + 1 + kSaltSize;
inline constexpr uint64_t kMaxObjectSize = 1ull << 30;  // refuse to decompress beyond

// Index files (payload of a sealed index object).
inline constexpr std::string_view kIndexMagic = "LBI1";

// Key files are JSON; version of that document.
inline constexpr int kKeyFileVersion = 1;

}  // namespace lifeboat::format
