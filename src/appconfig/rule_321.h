// The 3-2-1 rule: at least 3 copies of the data, on at least 2 kinds of
// media, at least 1 of them off-site. Shared by `lifeboat status --rule 3-2-1`
// (copies found in real repositories) and `lifeboat plan` (copies the
// configuration declares).
//
// Counting: the live data on the server is copy 1, on media "disk" at site
// "onsite". Each repository holding a copy adds one, on its media and site.
// A copy is off-site when its site is anything but "onsite".
//
// Thread-safety: pure functions over values.
#pragma once

#include <string>
#include <vector>

namespace lifeboat {

inline constexpr int kRule321Copies = 3;  // including the live data
inline constexpr int kRule321Media = 2;
inline constexpr const char* kLiveDataMedia = "disk";
inline constexpr const char* kOnsiteSite = "onsite";

// One repository that holds a copy.
struct CopyHolder {
  std::string name;  // repository location or configured name, for display
  std::string media;
  std::string site;
};

struct Rule321Result {
  int copies = 1;                    // live data + holders
  std::vector<std::string> media;    // distinct, sorted, live data's included
  std::vector<std::string> offsite;  // names of the off-site holders, in input order
  std::vector<std::string> missing;  // empty when ok, else one sentence per gap
  bool ok() const { return missing.empty(); }
};

// Evaluates the rule for one source's copies. Missing items, in this order:
// "only N copies off the server; need K more", "all copies on media 'M'",
// "no copy off-site".
Rule321Result EvaluateRule321(const std::vector<CopyHolder>& holders);

// "rule 3-2-1: at least 3 copies, on at least 2 kinds of media, at least 1 off-site"
std::string Rule321Statement();

}  // namespace lifeboat
