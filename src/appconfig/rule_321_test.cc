#include "appconfig/rule_321.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

TEST(Rule321Test, NoRepositoryMissesEverything) {
  const Rule321Result r = EvaluateRule321({});
  EXPECT_EQ(r.copies, 1);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.missing,
            (std::vector<std::string>{"only 0 copies off the server; need 2 more",
                                      "all copies on media 'disk'", "no copy off-site"}));
}

TEST(Rule321Test, OneOnsiteDisk) {
  const Rule321Result r = EvaluateRule321({{"/a", "disk", "onsite"}});
  EXPECT_EQ(r.copies, 2);
  EXPECT_EQ(r.missing,
            (std::vector<std::string>{"only 1 copy off the server; need 1 more",
                                      "all copies on media 'disk'", "no copy off-site"}));
}

TEST(Rule321Test, Holds) {
  const Rule321Result r =
      EvaluateRule321({{"onsite", "disk", "onsite"}, {"offsite", "object", "eu-central-1"}});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.copies, 3);
  EXPECT_EQ(r.media, (std::vector<std::string>{"disk", "object"}));
  EXPECT_EQ(r.offsite, std::vector<std::string>{"offsite"});
}

TEST(Rule321Test, OffsiteButSameMedia) {
  const Rule321Result r = EvaluateRule321({{"a", "disk", "onsite"}, {"b", "disk", "hetzner"}});
  EXPECT_EQ(r.missing, std::vector<std::string>{"all copies on media 'disk'"});
}

TEST(Rule321Test, Statement) {
  EXPECT_EQ(Rule321Statement(),
            "rule 3-2-1: at least 3 copies, on at least 2 kinds of media, at least 1 off-site");
}

}  // namespace
}  // namespace lifeboat
