#include "cc/quantize/shard_writer.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <numeric>
#include <string>
#include <vector>

namespace tfjs {
namespace {

class ShardWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = getenv("TEST_TMPDIR");
    std::string pattern = std::string(base ? base : "/tmp") + "/shardsXXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }

  std::vector<uint8_t> Read(const std::string& name) const {
    std::ifstream file(dir_ + "/" + name, std::ios::binary);
    EXPECT_TRUE(file.good()) << name;
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(file), {});
  }

  bool Exists(const std::string& name) const { return access((dir_ + "/" + name).c_str(), F_OK) == 0; }

  std::string dir_;
};

TEST_F(ShardWriterTest, SplitsIntoShardsOfAtMostShardSize) {
  std::vector<uint8_t> data(10);
  std::iota(data.begin(), data.end(), 0);
  ShardWriter writer(dir_, 2, data.size(), 4);
  EXPECT_EQ(writer.shard_count(), 3u);
  writer.Write(data.data(), 3);  // Writes straddle shard boundaries.
  writer.Write(data.data() + 3, 7);
  const std::vector<std::string> names = writer.Close();
  ASSERT_EQ(names, (std::vector<std::string>{"group2-shard1of3.bin", "group2-shard2of3.bin", "group2-shard3of3.bin"}));
  EXPECT_EQ(Read(names[0]), (std::vector<uint8_t>{0, 1, 2, 3}));
  EXPECT_EQ(Read(names[1]), (std::vector<uint8_t>{4, 5, 6, 7}));
  EXPECT_EQ(Read(names[2]), (std::vector<uint8_t>{8, 9}));
}

TEST_F(ShardWriterTest, ExactMultipleMakesNoEmptyShard) {
  std::vector<uint8_t> data(8, 7);
  ShardWriter writer(dir_, 1, data.size(), 4);
  writer.Write(data.data(), data.size());
  EXPECT_EQ(writer.Close().size(), 2u);
  EXPECT_FALSE(Exists("group1-shard3of3.bin"));
}

TEST_F(ShardWriterTest, EmptyGroupWritesNoFile) {
  ShardWriter writer(dir_, 1, 0, 4);
  EXPECT_TRUE(writer.Close().empty());
  EXPECT_FALSE(Exists("group1-shard1of0.bin"));
  EXPECT_FALSE(Exists("group1-shard1of1.bin"));
}

TEST_F(ShardWriterTest, RejectsMoreOrFewerBytesThanPlanned) {
  std::vector<uint8_t> data(6);
  ShardWriter over(dir_, 1, 5, 4);
  EXPECT_THROW(over.Write(data.data(), 6), std::length_error);
  ShardWriter under(dir_, 2, 5, 4);
  under.Write(data.data(), 4);
  EXPECT_THROW(under.Close(), std::length_error);
}

TEST_F(ShardWriterTest, RejectsZeroShardSize) { EXPECT_THROW(ShardWriter(dir_, 1, 5, 0), std::invalid_argument); }

TEST_F(ShardWriterTest, MissingDirectoryIsAnIoErrorNamingThePath) {
  std::vector<uint8_t> data(3);
  ShardWriter writer(dir_ + "/missing", 1, 3, 4);
  try {
    writer.Write(data.data(), 3);
    FAIL() << "expected ShardIoError";
  } catch (const ShardIoError& error) {
    EXPECT_NE(std::string(error.what()).find("missing/group1-shard1of1.bin"), std::string::npos) << error.what();
  }
}

TEST_F(ShardWriterTest, EncodedWritesMatchEncodingDirectly) {
  // More elements than one encoding chunk, odd shard size so elements straddle shards.
  std::vector<float> data(200001);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(std::sin(i * 0.001) * 3.0);
  AffineParams params;
  ASSERT_TRUE(ComputeAffineParams(data.data(), data.size(), 16, &params));
  std::vector<uint16_t> affine(data.size());
  AffineEncode16(data.data(), data.size(), params, affine.data());
  std::vector<uint16_t> half(data.size());
  EncodeFloat16(data.data(), data.size(), half.data());

  const uint64_t total = data.size() * 4;
  ShardWriter writer(dir_, 1, total, 99999);
  writer.WriteAffine(data.data(), data.size(), 16, params);
  writer.WriteFloat16(data.data(), data.size());
  std::vector<uint8_t> all;
  for (const std::string& name : writer.Close()) {
    const std::vector<uint8_t> bytes = Read(name);
    EXPECT_LE(bytes.size(), 99999u);
    all.insert(all.end(), bytes.begin(), bytes.end());
  }
  ASSERT_EQ(all.size(), total);
  const uint8_t* expected_affine = reinterpret_cast<const uint8_t*>(affine.data());
  const uint8_t* expected_half = reinterpret_cast<const uint8_t*>(half.data());
  EXPECT_TRUE(std::equal(all.begin(), all.begin() + total / 2, expected_affine));
  EXPECT_TRUE(std::equal(all.begin() + total / 2, all.end(), expected_half));
}

TEST_F(ShardWriterTest, HugeShardSizesDoNotWrapTheShardCount) {
  const std::vector<uint8_t> data = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  for (uint64_t shard_size : {UINT64_MAX, UINT64_MAX - 1, uint64_t{1} << 63}) {
    ShardWriter writer(dir_, 1, data.size(), shard_size);
    EXPECT_EQ(writer.shard_count(), 1u) << shard_size;
    writer.Write(data.data(), data.size());
    EXPECT_EQ(writer.Close(), std::vector<std::string>{"group1-shard1of1.bin"});
    EXPECT_EQ(Read("group1-shard1of1.bin"), data);
  }
  EXPECT_EQ(ShardWriter(dir_, 1, UINT64_MAX, UINT64_MAX).shard_count(), 1u);
  EXPECT_EQ(ShardWriter(dir_, 1, UINT64_MAX, 2).shard_count(), (UINT64_MAX / 2) + 1);
}

TEST_F(ShardWriterTest, RejectsOtherBitWidths) {
  float value = 1.0f;
  ShardWriter writer(dir_, 1, 4, 4);
  EXPECT_THROW(writer.WriteAffine(&value, 1, 4, AffineParams{0.0, 1.0}), std::invalid_argument);
}

}  // namespace
}  // namespace tfjs
