// Unit tests (no server) for SFTP URL and option parsing.
#include "sftp/sftp_config.h"

#include <gtest/gtest.h>

#include "sftp/sftp_backend.h"

namespace lifeboat {
namespace {

struct UrlCase {
  std::string in;
  std::string user, host;
  int port;
  std::string path;
};

TEST(SftpUrlTest, ParsesValidForms) {
  const std::vector<UrlCase> cases = {
      {"bktest@127.0.0.1:2222:/srv/repo", "bktest", "127.0.0.1", 2222, "/srv/repo"},
      {"host:/path", "", "host", 22, "/path"},
      {"host:/path/", "", "host", 22, "/path"},
      {"host:/", "", "host", 22, "/"},
      {"user@example.com:repo", "user", "example.com", 22, "repo"},
      {"user@example.com:~/repo", "user", "example.com", 22, "repo"},
      {"example.com:~", "", "example.com", 22, ""},
      {"example.com:~/", "", "example.com", 22, ""},
      {"h:123", "", "h", 22, "123"},  // no second ':' → a relative path
      {"h:123:rel", "", "h", 123, "rel"},
      {"h:rel:with:colons", "", "h", 22, "rel:with:colons"},
      {"u@h:/pa@th", "u", "h", 22, "/pa@th"},
      {"[::1]:2222:/srv/repo", "", "::1", 2222, "/srv/repo"},
      {"bk@[2001:db8::1]:/r", "bk", "2001:db8::1", 22, "/r"},
      {"[fe80::1%eth0]:/r", "", "fe80::1%eth0", 22, "/r"},
      {"//u@h:2222//srv/repo", "u", "h", 2222, "/srv/repo"},
      {"//h/relative/repo", "", "h", 22, "relative/repo"},
      {"//[::1]:22//abs", "", "::1", 22, "/abs"},
  };
  for (const UrlCase& c : cases) {
    SCOPED_TRACE(c.in);
    Result<SftpUrl> url = ParseSftpUrl(c.in);
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    EXPECT_EQ(url->user, c.user);
    EXPECT_EQ(url->host, c.host);
    EXPECT_EQ(url->port, c.port);
    EXPECT_EQ(url->path, c.path);
  }
}

TEST(SftpUrlTest, RejectsMalformed) {
  for (const char* in :
       {"",           "host",    "host:",        "@host:/p",      "user@:/p",
        ":/path",     "h:0:/p",  "h:65536:/p",   "h:99999999:/p", "[::1:/p",
        "[::1]/p",    "[zz]:/p", "[1.2.3.4]:/p", "ho st:/p",      "-oProxyCommand=x:/p",
        "h:~other/p", "h:/p\n",  "//h",          "//h:22",        "//h:x/p",
        "u@h@i:/p",   "h/x:/p"}) {
    SCOPED_TRACE(in);
    Result<SftpUrl> url = ParseSftpUrl(in);
    ASSERT_FALSE(url.ok()) << "parsed as host '" << url->host << "' path '" << url->path << "'";
    EXPECT_EQ(url.status().code(), Code::kInvalidArgument);
    EXPECT_NE(url.status().message().find("invalid SFTP location"), std::string::npos);
    EXPECT_FALSE(url.status().hint().empty());
  }
}

TEST(SftpUrlTest, FormatsForMessages) {
  EXPECT_EQ(FormatSftpUrl({"u", "h", 22, "/r"}), "sftp:u@h:/r");
  EXPECT_EQ(FormatSftpUrl({"u", "::1", 2222, "/r"}), "sftp:u@[::1]:2222:/r");
  EXPECT_EQ(FormatSftpUrl({"", "h", 22, ""}), "sftp:h:~");
  // Round trip.
  Result<SftpUrl> back = ParseSftpUrl(FormatSftpUrl({"u", "::1", 2222, "/r"}).substr(5));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->host, "::1");
  EXPECT_EQ(back->port, 2222);
}

TEST(SftpOptionsTest, Defaults) {
  Result<SftpOptions> o = ParseSftpOptions({});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->connections, 2);
  EXPECT_EQ(o->retries, 3);
  EXPECT_EQ(o->timeout_seconds, 30);
  EXPECT_TRUE(o->key_file.empty());
  EXPECT_TRUE(o->known_hosts.empty());
}

TEST(SftpOptionsTest, ParsesKnownKeysAndIgnoresOtherBackends) {
  Result<SftpOptions> o = ParseSftpOptions({{"sftp.key", "/k"},
                                            {"sftp.known-hosts", "/kh"},
                                            {"sftp.connections", "8"},
                                            {"sftp.retries", "0"},
                                            {"sftp.timeout", "5"},
                                            {"s3.region", "eu-west-1"}});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->key_file, "/k");
  EXPECT_EQ(o->known_hosts, "/kh");
  EXPECT_EQ(o->connections, 8);
  EXPECT_EQ(o->retries, 0);
  EXPECT_EQ(o->timeout_seconds, 5);
}

TEST(SftpOptionsTest, RejectsUnknownKeysAndBadValues) {
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"sftp.password", "hunter2"},
                                                        {"sftp.Key", "/k"},
                                                        {"sftp.connections", "0"},
                                                        {"sftp.connections", "33"},
                                                        {"sftp.connections", "two"},
                                                        {"sftp.retries", "-1"},
                                                        {"sftp.retries", "21"},
                                                        {"sftp.timeout", "0"},
                                                        {"sftp.timeout", "1e3"},
                                                        {"sftp.timeout", ""},
                                                        {"sftp.key", ""}}) {
    SCOPED_TRACE(key + "=" + value);
    Result<SftpOptions> o = ParseSftpOptions({{key, value}});
    ASSERT_FALSE(o.ok());
    EXPECT_EQ(o.status().code(), Code::kInvalidArgument);
    EXPECT_NE(o.status().message().find(key), std::string::npos) << o.status().message();
    EXPECT_EQ(o.status().ToString().find("hunter2"), std::string::npos)
        << "an option value is echoed: " << o.status().ToString();
  }
}

TEST(SftpOpenTest, ValidatesBeforeConnecting) {
  // Both fail without any network access.
  Result<std::unique_ptr<Backend>> bad_url = OpenSftpBackend("nohost", {});
  EXPECT_EQ(bad_url.status().code(), Code::kInvalidArgument);
  Result<std::unique_ptr<Backend>> bad_option =
      OpenSftpBackend("127.0.0.1:/r", {{"sftp.bogus", "1"}});
  EXPECT_EQ(bad_option.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad_option.status().message().find("sftp.bogus"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat
