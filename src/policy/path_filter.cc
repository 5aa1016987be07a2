// restic-style path patterns: compilation, glob matching and list evaluation.
#include "policy/path_filter.h"

#include <algorithm>
#include <optional>

namespace lifeboat {
namespace {

constexpr std::string_view kDoubleStar = "**";

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Splits on '/', dropping empty and "." components.
std::vector<std::string_view> SplitComponents(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(start, slash - start);
    if (!part.empty() && part != ".") parts.push_back(part);
    start = slash + 1;
  }
  return parts;
}

// Decodes one UTF-8 code point at `text[*pos]` and advances `*pos`. Invalid
// or truncated sequences decode as the single byte, so any byte string works.
uint32_t NextRune(std::string_view text, size_t* pos) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(*pos);
  size_t length = lead < 0x80           ? 1
                  : (lead >> 5) == 0x6  ? 2
                  : (lead >> 4) == 0xE  ? 3
                  : (lead >> 3) == 0x1E ? 4
                                        : 1;
  if (length == 1 || *pos + length > text.size()) {
    ++*pos;
    return lead;
  }
  uint32_t rune = lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    unsigned char next = byte(*pos + i);
    if ((next & 0xC0) != 0x80) {
      ++*pos;
      return lead;
    }
    rune = (rune << 6) | (next & 0x3F);
  }
  *pos += length;
  return rune;
}

// Reads one class member character at pattern[*pos] (honouring '\').
// Returns nullopt if the pattern ends.
std::optional<uint32_t> ClassChar(std::string_view pattern, size_t* pos) {
  if (*pos >= pattern.size()) return std::nullopt;
  if (pattern[*pos] == '\\') {
    ++*pos;
    if (*pos >= pattern.size()) return std::nullopt;
  }
  return NextRune(pattern, pos);
}

// Parses the class starting at pattern[start] == '['. On success sets *end to
// the index after ']' and returns whether `rune` is in the class; nullopt if
// the class is unterminated.
std::optional<bool> MatchClass(std::string_view pattern, size_t start, uint32_t rune, size_t* end) {
  size_t pos = start + 1;
  bool negate = false;
  if (pos < pattern.size() && (pattern[pos] == '!' || pattern[pos] == '^')) {
    negate = true;
    ++pos;
  }
  bool matched = false;
  bool first = true;
  while (true) {
    if (pos >= pattern.size()) return std::nullopt;
    if (pattern[pos] == ']' && !first) break;
    first = false;
    std::optional<uint32_t> low = ClassChar(pattern, &pos);
    if (!low) return std::nullopt;
    uint32_t high = *low;
    if (pos + 1 < pattern.size() && pattern[pos] == '-' && pattern[pos + 1] != ']') {
      ++pos;
      std::optional<uint32_t> range_end = ClassChar(pattern, &pos);
      if (!range_end) return std::nullopt;
      high = *range_end;
    }
    if (*low <= rune && rune <= high) matched = true;
  }
  *end = pos + 1;
  return matched != negate;
}

// Empty string if `pattern` is a well-formed glob component, else why not.
std::string GlobError(std::string_view pattern) {
  for (size_t pos = 0; pos < pattern.size();) {
    if (pattern[pos] == '\\') {
      if (pos + 1 >= pattern.size()) return "trailing '\\'";
      ++pos;
      NextRune(pattern, &pos);
    } else if (pattern[pos] == '[') {
      size_t end = 0;
      if (!MatchClass(pattern, pos, 0, &end)) return "unterminated '[' class";
      pos = end;
    } else {
      ++pos;
    }
  }
  return {};
}

// True if parts[pi..] matches a prefix of comps[ci..] (prefix: a pattern that
// names a directory matches everything beneath it).
bool MatchPrefix(const std::vector<std::string>& parts, size_t pi,
                 const std::vector<std::string_view>& comps, size_t ci) {
  while (pi < parts.size()) {
    if (parts[pi] == kDoubleStar) {
      for (size_t skip = ci; skip <= comps.size(); ++skip) {
        if (MatchPrefix(parts, pi + 1, comps, skip)) return true;
      }
      return false;
    }
    if (ci >= comps.size() || !GlobMatchComponent(parts[pi], comps[ci])) return false;
    ++pi;
    ++ci;
  }
  return true;
}

bool PatternMatches(const CompiledPattern& pattern, const std::vector<std::string_view>& comps) {
  if (pattern.anchored) return MatchPrefix(pattern.parts, 0, comps, 0);
  for (size_t start = 0; start < comps.size(); ++start) {
    if (MatchPrefix(pattern.parts, 0, comps, start)) return true;
  }
  return false;
}

// True if some descendant of comps could be matched by the pattern.
bool PatternChildMayMatch(const CompiledPattern& pattern,
                          const std::vector<std::string_view>& comps) {
  if (!pattern.anchored) return true;  // a floating pattern can match at any depth
  for (size_t i = 0; i < pattern.parts.size(); ++i) {
    if (pattern.parts[i] == kDoubleStar || i >= comps.size()) return true;
    if (!GlobMatchComponent(pattern.parts[i], comps[i])) return false;
  }
  return true;  // the path itself matches, so do its children
}

Result<CompiledPattern> CompilePattern(const std::string& text, bool case_insensitive) {
  auto fail = [&](const std::string& why) -> Status {
    return Status(Code::kInvalidArgument, "invalid pattern '" + text + "': " + why);
  };
  CompiledPattern compiled;
  compiled.original = text;
  std::string_view body = text;
  if (body.empty()) return fail("empty pattern");
  if (body.front() == '!') {
    compiled.negated = true;
    body.remove_prefix(1);
    if (body.empty()) return fail("nothing after '!'");
  }
  compiled.anchored = body.front() == '/';
  std::string folded;
  if (case_insensitive) {
    folded = AsciiLower(body);
    body = folded;
  }
  for (std::string_view part : SplitComponents(body)) {
    if (std::string why = GlobError(part); !why.empty()) return fail(why);
    // Consecutive "**" are one "**".
    if (part == kDoubleStar && !compiled.parts.empty() && compiled.parts.back() == kDoubleStar) {
      continue;
    }
    compiled.parts.emplace_back(part);
  }
  if (compiled.parts.empty() && !compiled.anchored) return fail("no path component");
  return compiled;
}

}  // namespace

bool GlobMatchComponent(std::string_view pattern, std::string_view name) {
  size_t p = 0, n = 0;
  // Backtracking point: the pattern index after the last '*' and the name
  // index it is currently assumed to have consumed up to.
  std::optional<size_t> star_p;
  size_t star_n = 0;
  while (n < name.size()) {
    if (p < pattern.size()) {
      char c = pattern[p];
      if (c == '*') {
        star_p = ++p;
        star_n = n;
        continue;
      }
      size_t next_n = n;
      uint32_t rune = NextRune(name, &next_n);
      if (c == '?') {
        ++p;
        n = next_n;
        continue;
      }
      if (c == '[') {
        size_t end = 0;
        std::optional<bool> in_class = MatchClass(pattern, p, rune, &end);
        if (in_class.value_or(false)) {
          p = end;
          n = next_n;
          continue;
        }
      } else {
        size_t literal = p;
        if (c == '\\' && p + 1 < pattern.size()) ++literal;
        size_t literal_end = literal;
        uint32_t want = NextRune(pattern, &literal_end);
        if (want == rune) {
          p = literal_end;
          n = next_n;
          continue;
        }
      }
    }
    if (!star_p) return false;
    // Let the last '*' swallow one more character and retry.
    p = *star_p;
    NextRune(name, &star_n);
    n = star_n;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Result<PatternList> PatternList::Create(const std::vector<std::string>& patterns,
                                        bool case_insensitive) {
  PatternList list;
  list.case_insensitive_ = case_insensitive;
  list.patterns_.reserve(patterns.size());
  for (const std::string& text : patterns) {
    LB_ASSIGN_OR_RETURN(CompiledPattern compiled, CompilePattern(text, case_insensitive));
    list.patterns_.push_back(std::move(compiled));
  }
  return list;
}

bool PatternList::Matches(std::string_view abs_path) const {
  if (patterns_.empty()) return false;
  std::string folded;
  if (case_insensitive_) {
    folded = AsciiLower(abs_path);
    abs_path = folded;
  }
  std::vector<std::string_view> comps = SplitComponents(abs_path);
  bool matched = false;
  for (const CompiledPattern& pattern : patterns_) {
    // Only a pattern that could change the outcome needs evaluating.
    if (pattern.negated != matched) continue;
    if (PatternMatches(pattern, comps)) matched = !pattern.negated;
  }
  return matched;
}

bool PatternList::ChildMayMatch(std::string_view abs_path) const {
  if (patterns_.empty()) return false;
  std::string folded;
  if (case_insensitive_) {
    folded = AsciiLower(abs_path);
    abs_path = folded;
  }
  std::vector<std::string_view> comps = SplitComponents(abs_path);
  bool child_may_match = false;
  for (const CompiledPattern& pattern : patterns_) {
    if (pattern.negated) {
      // A negation matching the path itself removes its whole subtree.
      if (child_may_match && PatternMatches(pattern, comps)) child_may_match = false;
    } else if (!child_may_match) {
      child_may_match = PatternChildMayMatch(pattern, comps);
    }
  }
  return child_may_match;
}

Result<PathFilter> PathFilter::Create(std::vector<std::string> patterns,
                                      std::vector<std::string> ipatterns) {
  PathFilter filter;
  LB_ASSIGN_OR_RETURN(filter.patterns_, PatternList::Create(patterns, false));
  LB_ASSIGN_OR_RETURN(filter.ipatterns_, PatternList::Create(ipatterns, true));
  return filter;
}

bool PathFilter::Excluded(std::string_view abs_path) const {
  return patterns_.Matches(abs_path) || ipatterns_.Matches(abs_path);
}

Result<IncludeFilter> IncludeFilter::Create(std::vector<std::string> patterns,
                                            std::vector<std::string> ipatterns) {
  IncludeFilter filter;
  LB_ASSIGN_OR_RETURN(filter.patterns_, PatternList::Create(patterns, false));
  LB_ASSIGN_OR_RETURN(filter.ipatterns_, PatternList::Create(ipatterns, true));
  return filter;
}

bool IncludeFilter::Matches(std::string_view abs_path) const {
  if (empty()) return true;
  return patterns_.Matches(abs_path) || ipatterns_.Matches(abs_path);
}

bool IncludeFilter::ChildMayMatch(std::string_view abs_path) const {
  if (empty()) return true;
  return patterns_.ChildMayMatch(abs_path) || ipatterns_.ChildMayMatch(abs_path);
}

Result<std::vector<std::string>> ParsePatternFile(std::string_view contents) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  std::vector<std::string> patterns;
  size_t line_number = 0;
  size_t start = 0;
  while (start < contents.size()) {
    ++line_number;
    size_t newline = contents.find('\n', start);
    if (newline == std::string_view::npos) newline = contents.size();
    std::string_view line = contents.substr(start, newline - start);
    start = newline + 1;
    if (line.find('\0') != std::string_view::npos) {
      return Status(Code::kInvalidArgument,
                    "unable to parse pattern file: line " + std::to_string(line_number) +
                        " contains a NUL byte",
                    "pattern files are text, one pattern per line");
    }
    size_t first = line.find_first_not_of(kSpace);
    if (first == std::string_view::npos) continue;
    line = line.substr(first, line.find_last_not_of(kSpace) - first + 1);
    if (line.front() == '#') continue;
    patterns.emplace_back(line);
  }
  return patterns;
}

bool IfPresentRule::Matches(std::string_view entry_name, std::string_view head) const {
  if (entry_name != filename) return false;
  return head.substr(0, header.size()) == header;
}

Result<IfPresentRule> ParseExcludeIfPresent(std::string_view spec) {
  IfPresentRule rule;
  size_t colon = spec.find(':');
  rule.filename = std::string(spec.substr(0, colon));
  if (colon != std::string_view::npos) rule.header = std::string(spec.substr(colon + 1));
  if (rule.filename.empty() || rule.filename.find('/') != std::string::npos) {
    return Status(
        Code::kInvalidArgument,
        "invalid exclude-if-present value '" + std::string(spec) + "': expected a file name",
        "use FILE or FILE:HEADER, e.g. '.nobackup' or 'CACHEDIR.TAG:Signature: ...'");
  }
  return rule;
}

IfPresentRule CacheDirTagRule() {
  return IfPresentRule{"CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55"};
}

}  // namespace lifeboat
