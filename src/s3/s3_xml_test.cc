// S3 XML parsing on well-formed, malformed, truncated, huge and hostile input.
#include "s3/s3_xml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lifeboat {
namespace {

using ::testing::HasSubstr;

ByteView B(std::string_view s) { return AsBytes(s); }

constexpr char kList[] =
    R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bkt</Name><Prefix>p/keys/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents><Key>p/keys/a&amp;b</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>
    <ETag>"x"</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>p/keys/c</Key><Size>18446744073709551615</Size></Contents>
  <NextContinuationToken>tok+/=</NextContinuationToken>
</ListBucketResult>)";

TEST(S3XmlTest, ParsesListObjectsV2) {
  Result<S3ListPage> page = ParseListObjectsV2(B(kList));
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->entries.size(), 2u);
  EXPECT_EQ(page->entries[0].key, "p/keys/a&b");
  EXPECT_EQ(page->entries[0].size, 12u);
  EXPECT_EQ(page->entries[1].size, UINT64_MAX);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_token, "tok+/=");

  page = ParseListObjectsV2(B("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>"));
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->entries.empty());
  EXPECT_FALSE(page->truncated);

  // Namespace prefixes are dropped.
  page = ParseListObjectsV2(B("<s3:ListBucketResult xmlns:s3=\"u\"><s3:Contents><s3:Key>k</s3:Key>"
                              "<s3:Size>1</s3:Size></s3:Contents></s3:ListBucketResult>"));
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->entries.size(), 1u);
}

TEST(S3XmlTest, RejectsMalformedListings) {
  const std::string full = kList;
  for (size_t cut : {size_t{0}, size_t{10}, full.size() / 2, full.size() - 2}) {
    EXPECT_FALSE(ParseListObjectsV2(B(full.substr(0, cut))).ok()) << "truncated at " << cut;
  }
  for (const char* bad : {
           "<Other/>",
           "not xml at all",
           "<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>",
           "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
           "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
           "<ListBucketResult><Contents><Key>k</Key><Size>18446744073709551616</Size></Contents>"
           "</ListBucketResult>",
           "<ListBucketResult><Contents><Key>k</Key><Size>1e3</Size></Contents></ListBucketResult>",
           "<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>",
           "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
           "<ListBucketResult><Contents></ListBucketResult>",
       }) {
    Result<S3ListPage> page = ParseListObjectsV2(B(bad));
    EXPECT_FALSE(page.ok()) << bad;
    if (!page.ok()) {
      EXPECT_EQ(page.status().code(), Code::kCorrupt);
    }
  }
}

TEST(S3XmlTest, RefusesHostileDocuments) {
  // Entity expansion ("billion laughs") and external entities: no DOCTYPE at all.
  const char* laughs =
      "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
      "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
      "<ListBucketResult><Name>&lol2;</Name></ListBucketResult>";
  Result<S3ListPage> page = ParseListObjectsV2(B(laughs));
  ASSERT_FALSE(page.ok());
  EXPECT_THAT(page.status().message(), HasSubstr("document type"));
  const char* external =
      "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><Error><Code>&e;</Code></Error>";
  EXPECT_FALSE(ParseS3Error(B(external)).has_value());

  // Deep nesting.
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "<a>";
  for (int i = 0; i < 100; ++i) deep += "</a>";
  Status st = ParseXml(B(deep), XmlLimits{}, [](const auto&, const auto&) {});
  EXPECT_THAT(st.message(), HasSubstr("nested too deeply"));

  // Huge documents are refused before parsing; long texts and many elements too.
  XmlLimits small;
  small.max_bytes = 100;
  EXPECT_THAT(ParseXml(B(std::string(101, ' ')), small, [](const auto&, const auto&) {}).message(),
              HasSubstr("exceeds the limit"));
  const std::string long_text = "<a>" + std::string(70000, 'x') + "</a>";
  EXPECT_THAT(ParseXml(B(long_text), XmlLimits{}, [](const auto&, const auto&) {}).message(),
              HasSubstr("too long"));
  std::string many = "<r>";
  for (int i = 0; i < 100001; ++i) many += "<c/>";
  many += "</r>";
  EXPECT_THAT(ParseXml(B(many), XmlLimits{}, [](const auto&, const auto&) {}).message(),
              HasSubstr("too many elements"));
}

TEST(S3XmlTest, ParsesErrors) {
  std::optional<S3ErrorBody> err = ParseS3Error(
      B("<?xml version=\"1.0\"?><Error><Code>AuthorizationHeaderMalformed</Code>"
        "<Message>the region 'us-east-1' is wrong;\nexpecting 'eu-west-1'</Message>"
        "<Region>eu-west-1</Region><RequestId>1</RequestId></Error>"));
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->code, "AuthorizationHeaderMalformed");
  EXPECT_EQ(err->region, "eu-west-1");
  EXPECT_EQ(err->message, "the region 'us-east-1' is wrong;?expecting 'eu-west-1'");

  EXPECT_FALSE(ParseS3Error(B("")).has_value());
  EXPECT_FALSE(ParseS3Error(B("<html><body>502 Bad Gateway</body></html>")).has_value());
  EXPECT_FALSE(ParseS3Error(B("<Error><Code>Trunc")).has_value());
  EXPECT_FALSE(ParseS3Error(B("<Error>" + std::string(70000, ' ') + "</Error>")).has_value());

  // Long and non-printable messages are cut and cleaned.
  err = ParseS3Error(B("<Error><Code>X</Code><Message>\xc3\xa9" + std::string(500, 'm') +
                       "</Message></Error>"));
  ASSERT_TRUE(err.has_value());
  EXPECT_LE(err->message.size(), 210u);
  EXPECT_EQ(err->message.substr(0, 3), "??m");
  // Control characters are not even well-formed XML.
  EXPECT_FALSE(ParseS3Error(B("<Error><Code>X\x1b[31m</Code></Error>")).has_value());
}

TEST(S3XmlTest, MultipartDocuments) {
  Result<std::string> id = ParseInitiateMultipartUpload(
      B("<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
        "<UploadId>abc+/=</UploadId></InitiateMultipartUploadResult>"));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "abc+/=");
  EXPECT_FALSE(ParseInitiateMultipartUpload(B("<InitiateMultipartUploadResult/>")).ok());
  EXPECT_FALSE(ParseInitiateMultipartUpload(
                   B("<InitiateMultipartUploadResult><UploadId>a b</UploadId>"
                     "</InitiateMultipartUploadResult>"))
                   .ok());

  EXPECT_EQ(BuildCompleteMultipartUpload({"\"e1\"", "\"a&b\""}),
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>&quot;a&amp;b&quot;</ETag></Part>"
            "</CompleteMultipartUpload>");
  EXPECT_THAT(BuildCreateBucketConfiguration("eu-west-1"),
              HasSubstr("<LocationConstraint>eu-west-1</LocationConstraint>"));
}

TEST(S3XmlTest, ParseDecimal) {
  EXPECT_EQ(ParseDecimal("0"), 0u);
  EXPECT_EQ(ParseDecimal("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(ParseDecimal("18446744073709551616").has_value());
  EXPECT_FALSE(ParseDecimal("").has_value());
  EXPECT_FALSE(ParseDecimal(" 1").has_value());
  EXPECT_FALSE(ParseDecimal("+1").has_value());
}

}  // namespace
}  // namespace lifeboat
