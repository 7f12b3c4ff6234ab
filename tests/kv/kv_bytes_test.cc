// The KV byte math for every KV type against hand-computed sizes.
#include <gtest/gtest.h>

#include "kv/kv_cache.h"

namespace snug {
namespace {

TEST(KvBytesTest, RowBytesPerType) {
  EXPECT_EQ(KvRowBytes(KvType::kF16, 256), 512u);
  EXPECT_EQ(KvRowBytes(KvType::kQ8_0, 256), 8u * 34);
  EXPECT_EQ(KvRowBytes(KvType::kQ4_0, 256), 8u * 18);
  EXPECT_EQ(KvRowBytes(KvType::kQ8_0, 40), 2u * 34);  // padded to whole blocks
}

TEST(KvBytesTest, NamesRoundTrip) {
  for (KvType type : {KvType::kF16, KvType::kQ8_0, KvType::kQ4_0}) {
    EXPECT_EQ(KvTypeFromName(KvTypeName(type)), type);
  }
  EXPECT_EQ(KvTypeFromName("Q4_0"), KvType::kQ4_0);
  EXPECT_FALSE(KvTypeFromName("q5_0").has_value());
}

TEST(KvBytesTest, TypedBytesMatchTheF16CacheAndScaleByBlocks) {
  // Layer 0 sliding (window 8), layer 1 full, layer 2 shares layer 1.
  const std::vector<KvLayerSpec> layers = {{2, 32, 8, 0}, {1, 64, 0, 1}, {1, 64, 0, 1}};
  const KvCacheOptions options{.slots = 3, .context_tokens = 100, .batch_tokens = 4};
  EXPECT_EQ(KvCache::BytesFor(layers, options, KvType::kF16), KvCache::BytesFor(layers, options));
  auto cache = KvCache::Create(layers, options);
  ASSERT_TRUE(cache.ok());
  EXPECT_EQ(KvCache::BytesFor(layers, options, KvType::kF16), (*cache)->bytes());
  // Rows of 64 values: 2 blocks each; the ring keeps window + batch = 12 rows.
  const size_t rows = 3 * (12 + 100);
  EXPECT_EQ(KvCache::BytesFor(layers, options, KvType::kQ8_0), 2 * rows * 2 * 34);
  EXPECT_EQ(KvCache::BytesFor(layers, options, KvType::kQ4_0), 2 * rows * 2 * 18);
  EXPECT_EQ(KvCache::CapacityTokensFor(layers[0], options), 12);
  EXPECT_EQ(KvCache::CapacityTokensFor(layers[0], {.context_tokens = 10}), 10);
}

}  // namespace
}  // namespace snug
