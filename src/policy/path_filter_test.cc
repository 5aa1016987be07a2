// Tests for restic-style exclude/include patterns, pattern files and
// exclude-if-present rules.
#include "policy/path_filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lifeboat {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

PathFilter Exclude(std::vector<std::string> patterns, std::vector<std::string> ipatterns = {}) {
  Result<PathFilter> filter = PathFilter::Create(std::move(patterns), std::move(ipatterns));
  EXPECT_TRUE(filter.ok()) << filter.status().ToString();
  return filter.ok() ? *filter : *PathFilter::Create({});
}

IncludeFilter Include(std::vector<std::string> patterns, std::vector<std::string> ipatterns = {}) {
  Result<IncludeFilter> filter = IncludeFilter::Create(std::move(patterns), std::move(ipatterns));
  EXPECT_TRUE(filter.ok()) << filter.status().ToString();
  return filter.ok() ? *filter : *IncludeFilter::Create({});
}

TEST(GlobTest, Wildcards) {
  EXPECT_TRUE(GlobMatchComponent("*.log", "app.log"));
  EXPECT_TRUE(GlobMatchComponent("*.log", ".log"));  // leading '.' not special
  EXPECT_FALSE(GlobMatchComponent("*.log", "app.log.1"));
  EXPECT_TRUE(GlobMatchComponent("a*b*c", "aXXbYYbc"));
  EXPECT_FALSE(GlobMatchComponent("a*b*c", "aXXbYYb"));
  EXPECT_TRUE(GlobMatchComponent("*", ""));
  EXPECT_FALSE(GlobMatchComponent("?", ""));
  EXPECT_TRUE(GlobMatchComponent("file?.txt", "file1.txt"));
  EXPECT_FALSE(GlobMatchComponent("file?.txt", "file12.txt"));
  EXPECT_TRUE(GlobMatchComponent("?", "é"));  // one UTF-8 character, two bytes
  EXPECT_TRUE(GlobMatchComponent("caf?", "café"));
  EXPECT_TRUE(GlobMatchComponent("exact", "exact"));
  EXPECT_FALSE(GlobMatchComponent("exact", "Exact"));
}

TEST(GlobTest, ClassesAndEscapes) {
  EXPECT_TRUE(GlobMatchComponent("[abc].txt", "b.txt"));
  EXPECT_FALSE(GlobMatchComponent("[abc].txt", "d.txt"));
  EXPECT_TRUE(GlobMatchComponent("[a-c]", "b"));
  EXPECT_FALSE(GlobMatchComponent("[a-c]", "d"));
  EXPECT_TRUE(GlobMatchComponent("[!a-c]", "d"));
  EXPECT_FALSE(GlobMatchComponent("[^a-c]", "a"));
  EXPECT_TRUE(GlobMatchComponent("[]]", "]"));
  EXPECT_TRUE(GlobMatchComponent("[a-]", "-"));
  EXPECT_TRUE(GlobMatchComponent("[à-ë]", "é"));
  EXPECT_TRUE(GlobMatchComponent("\\*", "*"));
  EXPECT_FALSE(GlobMatchComponent("\\*", "x"));
  EXPECT_TRUE(GlobMatchComponent("a\\?", "a?"));
  EXPECT_TRUE(GlobMatchComponent("[\\]]", "]"));
}

TEST(PathFilterTest, FloatingPatternMatchesAtAnyDepth) {
  PathFilter filter = Exclude({"*.log", "cache/tmp"});
  EXPECT_TRUE(filter.Excluded("/a/b/c.log"));
  EXPECT_TRUE(filter.Excluded("/c.log"));
  EXPECT_FALSE(filter.Excluded("/a/b/c.txt"));
  EXPECT_TRUE(filter.Excluded("/x/cache/tmp"));
  EXPECT_TRUE(filter.Excluded("/cache/tmp"));
  EXPECT_TRUE(filter.Excluded("/x/cache/tmp/deep/file.txt"));  // children of an excluded dir
  EXPECT_TRUE(filter.Excluded("/x/y/cache/tmp/z"));
  EXPECT_FALSE(filter.Excluded("/x/cache"));
  EXPECT_FALSE(filter.Excluded("/x/cache/tmpfile"));
  EXPECT_FALSE(filter.Excluded("/x/mycache/tmp"));
  EXPECT_FALSE(filter.Excluded("/"));
}

TEST(PathFilterTest, AnchoredPatternMatchesFromRoot) {
  PathFilter filter = Exclude({"/var/cache", "/home/*/Downloads"});
  EXPECT_TRUE(filter.Excluded("/var/cache"));
  EXPECT_TRUE(filter.Excluded("/var/cache/apt/archives/x.deb"));
  EXPECT_FALSE(filter.Excluded("/srv/var/cache"));
  EXPECT_FALSE(filter.Excluded("/var"));
  EXPECT_TRUE(filter.Excluded("/home/alice/Downloads"));
  EXPECT_TRUE(filter.Excluded("/home/bob/Downloads/big.iso"));
  EXPECT_FALSE(filter.Excluded("/home/alice/Documents"));
  EXPECT_FALSE(filter.Excluded("/home/alice/x/Downloads"));  // '*' is one component
}

TEST(PathFilterTest, DoubleStarSpansComponents) {
  PathFilter filter = Exclude({"/srv/**/node_modules", "/data/**"});
  EXPECT_TRUE(filter.Excluded("/srv/node_modules"));  // ** matches zero components
  EXPECT_TRUE(filter.Excluded("/srv/app/node_modules"));
  EXPECT_TRUE(filter.Excluded("/srv/a/b/c/node_modules/pkg/index.js"));
  EXPECT_FALSE(filter.Excluded("/opt/app/node_modules"));
  EXPECT_TRUE(filter.Excluded("/data"));
  EXPECT_TRUE(filter.Excluded("/data/x/y"));
  EXPECT_FALSE(filter.Excluded("/database"));

  PathFilter floating = Exclude({"a/**/z.txt"});
  EXPECT_TRUE(floating.Excluded("/r/a/z.txt"));
  EXPECT_TRUE(floating.Excluded("/r/a/b/c/z.txt"));
  EXPECT_FALSE(floating.Excluded("/r/a/b/c/y.txt"));
}

TEST(PathFilterTest, PatternsAreCleaned) {
  PathFilter filter = Exclude({"cache//tmp/", "/./etc/ssl/"});
  EXPECT_TRUE(filter.Excluded("/x/cache/tmp"));
  EXPECT_TRUE(filter.Excluded("/etc/ssl/private"));
  EXPECT_TRUE(filter.Excluded("//etc//ssl"));  // paths are cleaned too
  PathFilter everything = Exclude({"/"});
  EXPECT_TRUE(everything.Excluded("/"));
  EXPECT_TRUE(everything.Excluded("/any/thing"));
}

TEST(PathFilterTest, CaseInsensitivePatterns) {
  PathFilter filter = Exclude({"*.tmp"}, {"*.JPG", "/Users/*/LIBRARY"});
  EXPECT_TRUE(filter.Excluded("/a/photo.jpg"));
  EXPECT_TRUE(filter.Excluded("/a/photo.JpG"));
  EXPECT_TRUE(filter.Excluded("/users/ann/Library/Caches"));
  EXPECT_TRUE(filter.Excluded("/a/x.tmp"));
  EXPECT_FALSE(filter.Excluded("/a/x.TMP"));  // the case-sensitive list stays exact
  EXPECT_FALSE(filter.Excluded("/a/photo.png"));
}

TEST(PathFilterTest, NegationReincludesLastMatchWins) {
  PathFilter filter = Exclude({"/home/*", "!/home/alice", "/home/alice/.cache"});
  EXPECT_TRUE(filter.Excluded("/home/bob"));
  EXPECT_TRUE(filter.Excluded("/home/bob/file"));
  EXPECT_FALSE(filter.Excluded("/home/alice"));
  EXPECT_FALSE(filter.Excluded("/home/alice/notes.txt"));
  EXPECT_TRUE(filter.Excluded("/home/alice/.cache"));
  EXPECT_TRUE(filter.Excluded("/home/alice/.cache/x"));
  EXPECT_FALSE(filter.Excluded("/home"));

  PathFilter logs = Exclude({"*.log", "!important.log"});
  EXPECT_TRUE(logs.Excluded("/var/log/debug.log"));
  EXPECT_FALSE(logs.Excluded("/var/log/important.log"));

  // A negation before anything it could undo changes nothing.
  PathFilter order = Exclude({"!keep.log", "*.log"});
  EXPECT_TRUE(order.Excluded("/x/keep.log"));
}

TEST(PathFilterTest, EmptyFilterExcludesNothing) {
  PathFilter filter = Exclude({});
  EXPECT_TRUE(filter.empty());
  EXPECT_FALSE(filter.Excluded("/anything"));
  EXPECT_FALSE(Exclude({"x"}).empty());
}

TEST(PathFilterTest, RejectsMalformedPatterns) {
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{""}, {"!"}, {"a/[bc"}, {"foo\\"}, {"."}, {"./"}}) {
    Result<PathFilter> filter = PathFilter::Create(bad);
    ASSERT_FALSE(filter.ok()) << bad[0];
    EXPECT_EQ(filter.status().code(), Code::kInvalidArgument);
    EXPECT_NE(filter.status().message().find("'" + bad[0] + "'"), std::string::npos)
        << filter.status().message();
  }
  EXPECT_FALSE(PathFilter::Create({}, {"[a-"}).ok());
  EXPECT_FALSE(IncludeFilter::Create({"ok", "[x"}).ok());
  EXPECT_NE(PathFilter::Create({"a[b"}).status().message().find("unterminated"), std::string::npos);
}

TEST(IncludeFilterTest, AnchoredIncludeSelectsParentsAndChildren) {
  IncludeFilter filter = Include({"/srv/app/uploads"});
  EXPECT_TRUE(filter.Matches("/srv/app/uploads"));
  EXPECT_TRUE(filter.Matches("/srv/app/uploads/2024/a.png"));  // under a matched dir
  EXPECT_FALSE(filter.Matches("/srv/app"));
  EXPECT_TRUE(filter.ChildMayMatch("/srv/app"));  // parent leading to a match
  EXPECT_TRUE(filter.ChildMayMatch("/srv"));
  EXPECT_TRUE(filter.ChildMayMatch("/"));
  EXPECT_TRUE(filter.IncludeMatch("/srv"));
  EXPECT_TRUE(filter.IncludeMatch("/srv/app"));
  EXPECT_TRUE(filter.IncludeMatch("/srv/app/uploads/x"));
  EXPECT_FALSE(filter.IncludeMatch("/srv/app/config"));
  EXPECT_FALSE(filter.IncludeMatch("/etc"));
  EXPECT_FALSE(filter.ChildMayMatch("/srv/other"));
}

TEST(IncludeFilterTest, WildcardsInAnchoredInclude) {
  IncludeFilter filter = Include({"/home/*/docs/*.txt"});
  EXPECT_TRUE(filter.ChildMayMatch("/home/ann"));
  EXPECT_TRUE(filter.ChildMayMatch("/home/ann/docs"));
  EXPECT_FALSE(filter.ChildMayMatch("/home/ann/music"));
  EXPECT_TRUE(filter.Matches("/home/ann/docs/a.txt"));
  EXPECT_FALSE(filter.Matches("/home/ann/docs/a.pdf"));
  EXPECT_FALSE(filter.IncludeMatch("/etc/docs"));

  IncludeFilter deep = Include({"/srv/**/keep"});
  EXPECT_TRUE(deep.ChildMayMatch("/srv/a/b/c"));
  EXPECT_FALSE(deep.ChildMayMatch("/opt"));
  EXPECT_TRUE(deep.Matches("/srv/a/b/keep/file"));
}

TEST(IncludeFilterTest, FloatingIncludeMayMatchBelowAnyDirectory) {
  IncludeFilter filter = Include({"*.sql"});
  EXPECT_TRUE(filter.Matches("/backup/db/dump.sql"));
  EXPECT_FALSE(filter.Matches("/backup/db/dump.gz"));
  EXPECT_TRUE(filter.ChildMayMatch("/backup/db"));
  EXPECT_TRUE(filter.ChildMayMatch("/etc"));
}

TEST(IncludeFilterTest, NegatedIncludeAndCaseInsensitive) {
  IncludeFilter filter = Include({"/srv", "!/srv/secrets"}, {"/DATA"});
  EXPECT_TRUE(filter.Matches("/srv/app"));
  EXPECT_FALSE(filter.Matches("/srv/secrets/key"));
  EXPECT_FALSE(filter.ChildMayMatch("/srv/secrets"));
  EXPECT_TRUE(filter.Matches("/data/x"));
  EXPECT_TRUE(filter.ChildMayMatch("/"));
  EXPECT_FALSE(filter.IncludeMatch("/etc"));
}

TEST(IncludeFilterTest, EmptyIncludeSelectsEverything) {
  IncludeFilter filter = Include({});
  EXPECT_TRUE(filter.empty());
  EXPECT_TRUE(filter.Matches("/any/path"));
  EXPECT_TRUE(filter.IncludeMatch("/"));
}

TEST(PatternFileTest, ParsesLinesCommentsAndWhitespace) {
  Result<std::vector<std::string>> patterns = ParsePatternFile(
      "# caches\n"
      "*.tmp\n"
      "\n"
      "   /var/cache  \r\n"
      "\t# indented comment\n"
      "!keep.tmp\n"
      "name with spaces\n"
      "   \n"
      "last-no-newline");
  ASSERT_TRUE(patterns.ok()) << patterns.status().ToString();
  EXPECT_THAT(*patterns, ElementsAre("*.tmp", "/var/cache", "!keep.tmp", "name with spaces",
                                     "last-no-newline"));
  EXPECT_THAT(*ParsePatternFile(""), IsEmpty());
  EXPECT_THAT(*ParsePatternFile("\n\n# only comments\n"), IsEmpty());

  // The parsed list feeds PathFilter directly.
  Result<PathFilter> filter = PathFilter::Create(*patterns);
  ASSERT_TRUE(filter.ok());
  EXPECT_TRUE(filter->Excluded("/a/b.tmp"));
  EXPECT_FALSE(filter->Excluded("/a/keep.tmp"));
}

TEST(PatternFileTest, RejectsNulBytes) {
  Result<std::vector<std::string>> patterns =
      ParsePatternFile(std::string_view("ok\nbad\0line\n", 12));
  ASSERT_FALSE(patterns.ok());
  EXPECT_EQ(patterns.status().code(), Code::kInvalidArgument);
  EXPECT_NE(patterns.status().message().find("line 2"), std::string::npos);
}

TEST(IfPresentRuleTest, ParsesAndMatches) {
  Result<IfPresentRule> plain = ParseExcludeIfPresent(".nobackup");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->filename, ".nobackup");
  EXPECT_EQ(plain->header, "");
  EXPECT_TRUE(plain->Matches(".nobackup", ""));
  EXPECT_FALSE(plain->Matches("nobackup", ""));

  Result<IfPresentRule> with_header = ParseExcludeIfPresent("TAG:Sig: 1:2");
  ASSERT_TRUE(with_header.ok());
  EXPECT_EQ(with_header->filename, "TAG");
  EXPECT_EQ(with_header->header, "Sig: 1:2");
  EXPECT_TRUE(with_header->Matches("TAG", "Sig: 1:2\nmore"));
  EXPECT_FALSE(with_header->Matches("TAG", "Sig: 1"));
  EXPECT_FALSE(with_header->Matches("TAG", "Other"));

  IfPresentRule cache = CacheDirTagRule();
  EXPECT_TRUE(cache.Matches("CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n"));
  EXPECT_FALSE(cache.Matches("CACHEDIR.TAG", "Signature: 0000"));

  for (const char* bad : {"", ":header", "a/b", "a/b:h"}) {
    Result<IfPresentRule> rule = ParseExcludeIfPresent(bad);
    ASSERT_FALSE(rule.ok()) << bad;
    EXPECT_EQ(rule.status().code(), Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace lifeboat
