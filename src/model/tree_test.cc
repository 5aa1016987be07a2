#include "model/tree.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

namespace lifeboat {
namespace {

Id MakeId(uint8_t seed) {
  Id id;
  for (size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<uint8_t>(seed + i * 7);
  return id;
}

Node FileNode(std::string name) {
  Node n;
  n.name = std::move(name);
  n.type = NodeType::kFile;
  n.mode = 0644;
  n.uid = 1000;
  n.gid = 1000;
  n.user = "alice";
  n.group = "staff";
  n.mtime_ns = 1795306323123456789;
  n.atime_ns = 1795306324000000000;
  n.ctime_ns = 1795306325000000001;
  n.size = 12345;
  n.inode = 42;
  n.device_id = 2049;
  n.links = 1;
  n.content = {MakeId(1), MakeId(2)};
  return n;
}

// An independent writer for the format in docs/FORMAT.md, with every
// field under the test's control (including invalid values).
struct RawNode {
  std::string name = "f";
  uint8_t type = 1;
  uint64_t mode = 0644, uid = 0, gid = 0;
  std::string user, group;
  uint64_t mtime_zz = 0, atime_zz = 0, ctime_zz = 0;
  uint64_t size = 0, inode = 0, device_id = 0, links = 1, rdev = 0;
  std::string link_target;
  std::vector<std::pair<std::string, std::string>> xattrs;
  std::vector<Id> content;
  uint8_t subtree_flag = 0;
  Id subtree;
  Bytes extra;  // appended after the known fields
};

Bytes RawBody(const RawNode& n) {
  Bytes b;
  ByteWriter w(&b);
  w.LengthPrefixed(n.name);
  w.U8(n.type);
  for (uint64_t v : {n.mode, n.uid, n.gid}) w.Varint(v);
  w.LengthPrefixed(n.user);
  w.LengthPrefixed(n.group);
  for (uint64_t v : {n.mtime_zz, n.atime_zz, n.ctime_zz, n.size, n.inode, n.device_id, n.links,
                     n.rdev}) {
    w.Varint(v);
  }
  w.LengthPrefixed(n.link_target);
  w.Varint(n.xattrs.size());
  for (auto& [k, v] : n.xattrs) {
    w.LengthPrefixed(k);
    w.LengthPrefixed(v);
  }
  w.Varint(n.content.size());
  for (const Id& id : n.content) w.Raw(id.View());
  w.U8(n.subtree_flag);
  if (n.subtree_flag == 1) w.Raw(n.subtree.View());
  w.Raw(ByteView(n.extra));
  return b;
}

Bytes RawTree(const std::vector<Bytes>& bodies, std::string_view magic = "LBT1") {
  Bytes out;
  ByteWriter w(&out);
  w.Raw(magic);
  w.Varint(bodies.size());
  for (const Bytes& b : bodies) w.LengthPrefixed(ByteView(b));
  return out;
}

Bytes RawTree(const std::vector<RawNode>& nodes) {
  std::vector<Bytes> bodies;
  for (const RawNode& n : nodes) bodies.push_back(RawBody(n));
  return RawTree(bodies);
}

void ExpectCorrupt(ByteView data, std::string_view what) {
  auto got = DecodeTree(data);
  ASSERT_FALSE(got.ok()) << what << ": accepted";
  EXPECT_EQ(got.status().code(), Code::kCorrupt) << what << ": " << got.status().ToString();
}

Tree AwkwardTree() {
  Tree t;
  t.nodes.push_back(FileNode("plain.txt"));

  Node non_utf8 = FileNode(std::string("caf\xe9\xff\xfe", 6));
  non_utf8.user = std::string("\xc3\x28", 2);
  t.nodes.push_back(non_utf8);

  t.nodes.push_back(FileNode("line\nbreak\r\ttab"));
  t.nodes.push_back(FileNode(std::string(255, 'x')));

  Node huge = FileNode("huge");
  huge.size = std::numeric_limits<uint64_t>::max();
  huge.inode = std::numeric_limits<uint64_t>::max();
  huge.device_id = std::numeric_limits<uint64_t>::max() - 1;
  huge.uid = std::numeric_limits<uint32_t>::max();
  huge.gid = std::numeric_limits<uint32_t>::max();
  huge.links = std::numeric_limits<uint32_t>::max();
  huge.mode = 07777;
  t.nodes.push_back(huge);

  Node old = FileNode("old");
  old.mtime_ns = -1;
  old.atime_ns = std::numeric_limits<int64_t>::min();
  old.ctime_ns = std::numeric_limits<int64_t>::max();
  t.nodes.push_back(old);

  Node x = FileNode("xattrs");
  x.xattrs.push_back({"user.binary", Bytes{0, 1, 2, 0xff, 0, 0x80}});
  x.xattrs.push_back({"user.empty", Bytes{}});
  x.xattrs.push_back({"security.selinux", Bytes(300, 0xab)});
  t.nodes.push_back(x);

  Node many = FileNode("many-chunks");
  many.content.clear();
  for (int i = 0; i < 5000; ++i) many.content.push_back(MakeId(static_cast<uint8_t>(i)));
  t.nodes.push_back(many);

  Node dir;
  dir.name = "dir";
  dir.type = NodeType::kDir;
  dir.mode = 01777;
  dir.links = 3;
  dir.subtree = MakeId(99);
  t.nodes.push_back(dir);

  Node link;
  link.name = "link";
  link.type = NodeType::kSymlink;
  link.mode = 0777;
  link.link_target = std::string(3000, 'a') + std::string("\x80\n/..", 5);
  t.nodes.push_back(link);

  Node dev;
  dev.name = "null";
  dev.type = NodeType::kCharDev;
  dev.rdev = (1u << 8) | 3;
  t.nodes.push_back(dev);

  for (NodeType type : {NodeType::kBlockDev, NodeType::kFifo, NodeType::kSocket}) {
    Node n;
    n.name = std::string(NodeTypeName(type));
    n.type = type;
    t.nodes.push_back(n);
  }
  t.Sort();
  return t;
}

TEST(Tree, SortIsBytewiseUnsigned) {
  Tree t;
  for (std::string name : {"b", "\xff", "a", "B", "\x01", "\x80z", "ab"}) {
    Node n;
    n.name = name;
    t.nodes.push_back(n);
  }
  t.Sort();
  std::vector<std::string> names;
  for (const Node& n : t.nodes) names.push_back(n.name);
  EXPECT_EQ(names, (std::vector<std::string>{"\x01", "B", "a", "ab", "b", "\x80z", "\xff"}));
}

TEST(Tree, FindUsesBinarySearch) {
  Tree t = AwkwardTree();
  for (const Node& n : t.nodes) {
    const Node* found = t.Find(n.name);
    ASSERT_NE(found, nullptr) << n.name;
    EXPECT_EQ(found, &n);
  }
  EXPECT_EQ(t.Find("missing"), nullptr);
  EXPECT_EQ(t.Find(""), nullptr);
  EXPECT_EQ(t.Find("\xff\xff\xff"), nullptr);
  EXPECT_EQ(t.Find("hug"), nullptr);
  EXPECT_EQ(Tree{}.Find("x"), nullptr);
}

TEST(Tree, EmptyTreeRoundTrips) {
  Bytes enc = EncodeTree(Tree{});
  EXPECT_EQ(enc, (Bytes{'L', 'B', 'T', '1', 0}));
  auto back = DecodeTree(enc);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->nodes.empty());
}

TEST(Tree, AwkwardNodesRoundTrip) {
  Tree t = AwkwardTree();
  Bytes enc = EncodeTree(t);
  auto back = DecodeTree(enc);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->nodes.size(), t.nodes.size());
  for (size_t i = 0; i < t.nodes.size(); ++i) EXPECT_EQ(back->nodes[i], t.nodes[i]) << i;
  EXPECT_EQ(EncodeTree(*back), enc);
}

TEST(Tree, EncodingMatchesTheSpecification) {
  Node n = FileNode("spec");
  n.mode = 04755;
  n.mtime_ns = -3;  // zigzag 5
  n.atime_ns = 2;   // zigzag 4
  n.ctime_ns = 0;
  n.rdev = 7;
  n.link_target = "t";
  n.xattrs = {{"user.k", Bytes{'v'}}};
  n.subtree = MakeId(5);
  Tree t;
  t.nodes.push_back(n);

  RawNode r;
  r.name = "spec";
  r.type = 1;
  r.mode = 04755;
  r.uid = 1000;
  r.gid = 1000;
  r.user = "alice";
  r.group = "staff";
  r.mtime_zz = 5;
  r.atime_zz = 4;
  r.ctime_zz = 0;
  r.size = 12345;
  r.inode = 42;
  r.device_id = 2049;
  r.links = 1;
  r.rdev = 7;
  r.link_target = "t";
  r.xattrs = {{"user.k", "v"}};
  r.content = n.content;
  r.subtree_flag = 1;
  r.subtree = MakeId(5);
  EXPECT_EQ(EncodeTree(t), RawTree(std::vector<RawNode>{r}));
}

TEST(Tree, EncodingMatchesTheDocumentedExample) {
  // docs/FORMAT.md, "Example".
  Tree t;
  Node n;
  n.name = "a";
  n.mode = 0644;
  t.nodes.push_back(n);
  const Bytes want = {0x4c, 0x42, 0x54, 0x31, 0x01, 0x15, 0x01, 0x61, 0x01, 0xa4, 0x03,
                      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                      0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(EncodeTree(t), want);
}

TEST(Tree, AcceptsNonMinimalVarints) {
  Bytes enc = {'L', 'B', 'T', '1', 0x81, 0x00};  // node_count 1, written in two bytes
  RawNode r;
  Bytes body = RawBody(r);
  ByteWriter w(&enc);
  w.LengthPrefixed(ByteView(body));
  auto got = DecodeTree(enc);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->nodes.size(), 1u);
  Bytes overlong = {'L', 'B', 'T', '1', 0x80, 0x80, 0x80, 0x80, 0x80,
                    0x80, 0x80, 0x80, 0x80, 0x80, 0x00};  // 11-byte varint
  ExpectCorrupt(overlong, "11-byte varint");
}

TEST(Tree, SkipsUnknownTrailingFieldsInsideARecord) {
  RawNode r;
  r.name = "future";
  r.extra = {0x01, 0x02, 0x03, 0xff};
  RawNode r2;
  r2.name = "g";
  auto got = DecodeTree(RawTree(std::vector<RawNode>{r, r2}));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->nodes.size(), 2u);
  EXPECT_EQ(got->nodes[0].name, "future");
  EXPECT_EQ(got->nodes[0].mode, 0644u);
  EXPECT_EQ(got->nodes[1].name, "g");
}

TEST(Tree, RawWriterProducesDecodableTree) {
  // Guards the rejection tests below: without the mutation the input is valid.
  RawNode a, b;
  a.name = "a";
  b.name = "b";
  ASSERT_TRUE(DecodeTree(RawTree(std::vector<RawNode>{a, b})).ok());
}

TEST(Tree, RejectsBadMagic) {
  RawNode r;
  ExpectCorrupt(Bytes{}, "empty input");
  ExpectCorrupt(AsBytes("LBT"), "short magic");
  ExpectCorrupt(RawTree({RawBody(r)}, "LBT2"), "future version");
  ExpectCorrupt(RawTree({RawBody(r)}, "XXXX"), "wrong magic");
}

TEST(Tree, RejectsInvalidNames) {
  for (std::string name : {std::string(""), std::string("."), std::string(".."),
                           std::string("a/b"), std::string("/"), std::string("a\0b", 3),
                           std::string("\0", 1)}) {
    RawNode r;
    r.name = name;
    ExpectCorrupt(RawTree(std::vector<RawNode>{r}), "name '" + name + "'");
  }
  EXPECT_TRUE(IsValidNodeName("..."));
  EXPECT_TRUE(IsValidNodeName(".hidden"));
  EXPECT_TRUE(IsValidNodeName("a\\b"));
}

TEST(Tree, RejectsUnsortedAndDuplicateNames) {
  RawNode a, b;
  a.name = "a";
  b.name = "b";
  ExpectCorrupt(RawTree(std::vector<RawNode>{b, a}), "unsorted");
  ExpectCorrupt(RawTree(std::vector<RawNode>{a, a}), "duplicate");
  RawNode high;
  high.name = "\xc3\xa9";
  ExpectCorrupt(RawTree(std::vector<RawNode>{high, b}), "unsigned order");
  EXPECT_TRUE(DecodeTree(RawTree(std::vector<RawNode>{b, high})).ok());
}

TEST(Tree, RejectsUnknownNodeTypes) {
  for (uint8_t type : {0, 8, 255}) {
    RawNode r;
    r.type = type;
    ExpectCorrupt(RawTree(std::vector<RawNode>{r}), "type " + std::to_string(type));
  }
}

TEST(Tree, RejectsOutOfRangeFields) {
  RawNode r;
  r.mode = uint64_t{1} << 32;
  ExpectCorrupt(RawTree(std::vector<RawNode>{r}), "mode");
  r = RawNode{};
  r.uid = uint64_t{1} << 40;
  ExpectCorrupt(RawTree(std::vector<RawNode>{r}), "uid");
  r = RawNode{};
  r.gid = uint64_t{1} << 32;
  ExpectCorrupt(RawTree(std::vector<RawNode>{r}), "gid");
  r = RawNode{};
  r.links = uint64_t{1} << 32;
  ExpectCorrupt(RawTree(std::vector<RawNode>{r}), "links");
  r = RawNode{};
  r.subtree_flag = 2;
  ExpectCorrupt(RawTree(std::vector<RawNode>{r}), "subtree flag");
}

TEST(Tree, RejectsTrailingGarbage) {
  Bytes enc = EncodeTree(AwkwardTree());
  enc.push_back(0);
  ExpectCorrupt(enc, "one trailing byte");
}

TEST(Tree, RejectsShortRecords) {
  RawNode r;
  r.subtree_flag = 1;
  r.subtree = MakeId(3);
  Bytes body = RawBody(r);
  for (size_t len = 0; len < body.size(); ++len) {
    Bytes cut(body.begin(), body.begin() + static_cast<ptrdiff_t>(len));
    ExpectCorrupt(RawTree({cut}), "record cut to " + std::to_string(len));
  }
  EXPECT_TRUE(DecodeTree(RawTree({body})).ok());
}

TEST(Tree, RejectsCountsLargerThanTheData) {
  RawNode r;
  Bytes body = RawBody(r);
  // Node count claims more records than present.
  Bytes enc = RawTree({body});
  enc[4] = 2;
  ExpectCorrupt(enc, "node count 2 with one record");
  // Absurd node count must not allocate.
  Bytes huge;
  ByteWriter w(&huge);
  w.Raw(std::string_view("LBT1"));
  w.Varint(uint64_t{1} << 60);
  w.Raw(ByteView(body));
  ExpectCorrupt(huge, "node count 2^60");
  // Record length beyond the data.
  Bytes long_record;
  ByteWriter lw(&long_record);
  lw.Raw(std::string_view("LBT1"));
  lw.Varint(1);
  lw.Varint(body.size() + 1);
  lw.Raw(ByteView(body));
  ExpectCorrupt(long_record, "record length beyond data");
}

TEST(Tree, RejectsHugeInnerCounts) {
  // A record whose xattr / content counts are absurd, followed by nothing.
  for (bool xattr : {true, false}) {
    Bytes b;
    ByteWriter w(&b);
    w.LengthPrefixed(std::string_view("f"));
    w.U8(1);
    for (int i = 0; i < 3; ++i) w.Varint(0);
    w.LengthPrefixed(std::string_view(""));
    w.LengthPrefixed(std::string_view(""));
    for (int i = 0; i < 8; ++i) w.Varint(0);
    w.LengthPrefixed(std::string_view(""));
    if (!xattr) w.Varint(0);
    w.Varint(uint64_t{1} << 62);
    w.Raw(Bytes(64, 0));
    ExpectCorrupt(RawTree({b}), xattr ? "xattr count" : "content count");
  }
}

TEST(Tree, TruncationAtEveryOffsetFailsCleanly) {
  Tree t = AwkwardTree();
  // Keep it small enough to try every prefix quickly.
  t.nodes.erase(std::remove_if(t.nodes.begin(), t.nodes.end(),
                               [](const Node& n) { return n.name == "many-chunks"; }),
                t.nodes.end());
  Bytes enc = EncodeTree(t);
  for (size_t len = 0; len < enc.size(); ++len) {
    auto got = DecodeTree(ByteView(enc.data(), len));
    ASSERT_FALSE(got.ok()) << "prefix of " << len << " bytes accepted";
    ASSERT_EQ(got.status().code(), Code::kCorrupt);
  }
  EXPECT_TRUE(DecodeTree(enc).ok());
}

TEST(Tree, RandomMutationsNeverCrash) {
  Tree t;
  t.nodes = {FileNode("a"), FileNode("b"), FileNode("c")};
  t.nodes[1].xattrs = {{"user.x", Bytes{1, 2, 3}}};
  Bytes enc = EncodeTree(t);
  std::mt19937 rng(7);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes m = enc;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) m[rng() % m.size()] = static_cast<uint8_t>(rng());
    auto got = DecodeTree(m);
    if (got.ok()) {
      ++accepted;
      auto again = DecodeTree(EncodeTree(*got));
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(again->nodes, got->nodes);
    } else {
      EXPECT_EQ(got.status().code(), Code::kCorrupt);
    }
  }
  // Many flips hit times/sizes/ids, which any value is valid for.
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace lifeboat
