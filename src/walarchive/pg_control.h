// Reading a PostgreSQL cluster's identity from its control file
// (DATADIR/global/pg_control): the 64-bit system identifier that names the
// cluster's WAL in the archive. archive_command and restore_command run with
// the data directory as the working directory, so "." is the usual DATADIR.
//
// The file is untrusted input: it must be long enough, and its CRC-32C
// (which PostgreSQL stores right after the fields it covers) must match.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace lifeboat {

// CRC-32C (Castagnoli), as PostgreSQL's pg_crc32c: init and final xor ~0.
uint32_t Crc32c(ByteView data);

// Parses the contents of a pg_control file. The first 8 bytes of
// ControlFileData are system_identifier (host byte order: the file is only
// ever read on the machine that runs the server); the 4 bytes at 8 are
// pg_control_version. For the known layout (version 1300, PostgreSQL 13–16)
// the CRC is checked at its fixed offset (288); for other versions at the
// first 4-byte-aligned offset where it matches (the CRC follows the last
// field; a chance match is ~2^-25 over the offsets tried).
// kCorrupt when too short, all zero or no CRC matches.
Result<uint64_t> ParseSystemIdentifier(ByteView control_file);

// Reads DATADIR/global/pg_control and parses it. kNotFound (with a hint to
// run from the data directory or pass --system-id) when it is missing.
Result<uint64_t> ReadSystemIdentifier(const std::string& data_dir);

}  // namespace lifeboat
