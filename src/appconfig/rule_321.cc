// The 3-2-1 rule's evaluation (see rule_321.h).
#include "appconfig/rule_321.h"

#include <set>

namespace lifeboat {
namespace {

std::string Plural(int n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

Rule321Result EvaluateRule321(const std::vector<CopyHolder>& holders) {
  Rule321Result r;
  std::set<std::string> media{kLiveDataMedia};
  for (const CopyHolder& h : holders) {
    media.insert(h.media);
    if (h.site != kOnsiteSite) r.offsite.push_back(h.name);
  }
  r.copies = 1 + static_cast<int>(holders.size());
  r.media.assign(media.begin(), media.end());
  if (r.copies < kRule321Copies) {
    r.missing.push_back("only " + Plural(r.copies - 1, "copy", "copies") +
                        " off the server; need " + std::to_string(kRule321Copies - r.copies) +
                        " more");
  }
  if (static_cast<int>(media.size()) < kRule321Media) {
    r.missing.push_back("all copies on media '" + *media.begin() + "'");
  }
  if (r.offsite.empty()) r.missing.push_back("no copy off-site");
  return r;
}

std::string Rule321Statement() {
  return "rule 3-2-1: at least " + std::to_string(kRule321Copies) + " copies, on at least " +
         std::to_string(kRule321Media) + " kinds of media, at least 1 off-site";
}

}  // namespace lifeboat
