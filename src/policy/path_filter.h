// Path filters with restic's pattern semantics: backup --exclude/--iexclude/
// --exclude-file/--exclude-if-present and restore --include/--exclude.
//
// Patterns (matched against absolute paths, components separated by '/'):
//  * A pattern starting with '/' is anchored at the root; any other pattern
//    floats: it may match at any depth, i.e. any contiguous run of path
//    components ("*.log" matches "/a/b/c.log"; "cache/tmp" matches
//    "/x/cache/tmp").
//  * A pattern matches a path if it matches the path or one of its ancestors,
//    so excluding a directory excludes everything beneath it.
//  * Per component: '*' any run of characters, '?' one character, '[...]' a
//    class ('[!...]' or '[^...]' negated, ranges 'a-z'), '\' escapes the next
//    character. A leading '.' is not special. A component that is exactly
//    "**" matches any number (including zero) of components.
//  * A leading '!' negates: a later "!pattern" re-includes paths an earlier
//    pattern excluded; the last matching pattern wins. (As in restic, a
//    directory excluded by an earlier pattern is not walked, so re-including
//    something beneath it needs the earlier pattern to name its children,
//    e.g. "/home/*" then "!/home/alice".)
//  * Patterns are cleaned: empty and "." components and trailing '/' are
//    dropped ("cache//tmp/" ≡ "cache/tmp"). "/" alone matches every path.
//  * Case-insensitive patterns (--iexclude/--iinclude) compare ASCII letters
//    without regard to case; other bytes compare exactly.
//  * Environment variables are not expanded.
//
// Thread-safety: PathFilter and IncludeFilter are immutable after Create and
// may be shared between threads. All functions are pure (no I/O).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace lifeboat {

// One compiled pattern; internal representation shared by the filters.
struct CompiledPattern {
  std::string original;            // as given, for messages
  bool anchored = false;           // started with '/'
  bool negated = false;            // started with '!'
  std::vector<std::string> parts;  // cleaned components; "**" kept as is
};

// An ordered list of compiled patterns with restic's evaluation rule.
class PatternList {
 public:
  // Compiles `patterns`. `case_insensitive` lower-cases patterns and paths.
  // On failure: kInvalidArgument naming the pattern (empty pattern, a lone
  // "!", an unterminated '[' class, a trailing '\').
  static Result<PatternList> Create(const std::vector<std::string>& patterns,
                                    bool case_insensitive);

  bool empty() const { return patterns_.empty(); }

  // True if the last pattern matching `abs_path` (or an ancestor) is not
  // negated.
  bool Matches(std::string_view abs_path) const;

  // True if some descendant of `abs_path` could be matched (and not negated
  // away): a floating pattern or "**" can always match deeper; an anchored
  // pattern can if `abs_path` matches its leading components.
  bool ChildMayMatch(std::string_view abs_path) const;

 private:
  std::vector<CompiledPattern> patterns_;
  bool case_insensitive_ = false;
};

// Backup --exclude/--iexclude and restore --exclude.
class PathFilter {
 public:
  // `patterns` compare case-sensitively, `ipatterns` case-insensitively. The
  // two lists are evaluated independently; a path is excluded if either
  // excludes it (negations act within their own list).
  static Result<PathFilter> Create(std::vector<std::string> patterns,
                                   std::vector<std::string> ipatterns = {});

  // True if `abs_path` is excluded. A walker should not descend into an
  // excluded directory. A filter with no patterns excludes nothing.
  bool Excluded(std::string_view abs_path) const;

  bool empty() const { return patterns_.empty() && ipatterns_.empty(); }

 private:
  PatternList patterns_;
  PatternList ipatterns_;
};

// Restore --include/--iinclude. A filter with no patterns includes everything.
//
// For a path P the filter answers three questions:
//  * Matches(P): P is selected — a pattern matches P or an ancestor of P, so
//    P and everything beneath it are restored.
//  * ChildMayMatch(P): something beneath P could be selected, so a restorer
//    must descend into directory P (and create it if something beneath it is
//    actually restored). With a floating pattern such as "*.txt" this is true
//    for every directory; restic likewise creates only the directories that
//    lead to restored items.
//  * IncludeMatch(P) = Matches(P) || ChildMayMatch(P): for a directory, "visit
//    it"; for a file (which has no children) only Matches(P) decides.
class IncludeFilter {
 public:
  static Result<IncludeFilter> Create(std::vector<std::string> patterns,
                                      std::vector<std::string> ipatterns = {});

  bool Matches(std::string_view abs_path) const;
  bool ChildMayMatch(std::string_view abs_path) const;
  bool IncludeMatch(std::string_view abs_path) const {
    return Matches(abs_path) || ChildMayMatch(abs_path);
  }

  bool empty() const { return patterns_.empty() && ipatterns_.empty(); }

 private:
  PatternList patterns_;
  PatternList ipatterns_;
};

// Parses an --exclude-file/--include-file: one pattern per line; surrounding
// whitespace (including '\r') trimmed; blank lines and lines whose first
// non-blank character is '#' ignored. Fails (kInvalidArgument, naming the
// line number) on a line that contains a NUL byte.
Result<std::vector<std::string>> ParsePatternFile(std::string_view contents);

// --exclude-if-present FILE[:HEADER]: if a directory contains a file named
// FILE (whose contents start with HEADER, when given), the directory's
// contents are excluded except FILE itself (restic keeps the directory and
// the tag file so that a restore shows why it is empty).
struct IfPresentRule {
  std::string filename;
  std::string header;  // empty: presence alone is enough

  // Pure check for a walker that has looked inside a directory: `entry_name`
  // is the name of a regular file found there, `head` its first
  // header.size() (or more) bytes (ignored when header is empty). Returns
  // true if the directory's other contents are to be excluded.
  bool Matches(std::string_view entry_name, std::string_view head) const;
};

// Parses "FILE" or "FILE:HEADER". Fails (kInvalidArgument) on an empty FILE
// or a FILE containing '/'.
Result<IfPresentRule> ParseExcludeIfPresent(std::string_view spec);

// The rule behind --exclude-caches: CACHEDIR.TAG with the standard signature.
IfPresentRule CacheDirTagRule();

// Matches one path component against one glob component (see header
// comment). Exposed for tests and reuse. REQUIRES: `pattern` valid (checked by
// PatternList::Create).
bool GlobMatchComponent(std::string_view pattern, std::string_view name);

}  // namespace lifeboat
