#include "kv/kv_cache.h"

#include <gtest/gtest.h>

namespace snug {
namespace {

TEST(KvCacheTest, SizesFullSlidingAndSharedLayers) {
  // Layer 0 sliding (window 8), layer 1 full, layer 2 shares layer 1.
  std::vector<KvLayerSpec> layers = {{2, 16, 8, 0}, {1, 32, 0, 1}, {1, 32, 0, 1}};
  KvCacheOptions options{.slots = 3, .context_tokens = 100, .batch_tokens = 4};
  const size_t expected = 2 * 3 * ((8 + 4) * 2 * 16 + 100 * 1 * 32) * sizeof(uint16_t);
  EXPECT_EQ(KvCache::BytesFor(layers, options), expected);
  auto cache = KvCache::Create(layers, options);
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  EXPECT_EQ((*cache)->bytes(), expected);
  EXPECT_EQ((*cache)->capacity_tokens(0), 12);
  EXPECT_EQ((*cache)->capacity_tokens(1), 100);
  EXPECT_EQ((*cache)->capacity_tokens(2), 100);
  EXPECT_EQ((*cache)->RowOf(0, 13), 1);
  EXPECT_EQ((*cache)->keys(2, 1), (*cache)->keys(1, 1));  // shared storage
  EXPECT_NE((*cache)->keys(1, 0), (*cache)->keys(1, 1));
  EXPECT_NE((*cache)->keys(1, 2), (*cache)->values(1, 0));
}

TEST(KvCacheTest, SlotsDoNotOverlap) {
  std::vector<KvLayerSpec> layers = {{2, 4, 0, 0}, {1, 8, 5, 1}};
  auto cache = KvCache::Create(layers, {.slots = 2, .context_tokens = 10, .batch_tokens = 3});
  ASSERT_TRUE(cache.ok());
  KvCache& kv = **cache;
  // Fill every row of every slot with a distinct value, then read them back.
  uint16_t next = 1;
  for (int layer = 0; layer < 2; ++layer) {
    for (int slot = 0; slot < 2; ++slot) {
      for (int64_t i = 0; i < kv.capacity_tokens(layer) * kv.row_elements(layer); ++i) {
        kv.keys(layer, slot)[i] = next++;
        kv.values(layer, slot)[i] = next++;
      }
    }
  }
  next = 1;
  for (int layer = 0; layer < 2; ++layer) {
    for (int slot = 0; slot < 2; ++slot) {
      for (int64_t i = 0; i < kv.capacity_tokens(layer) * kv.row_elements(layer); ++i) {
        ASSERT_EQ(kv.keys(layer, slot)[i], next++);
        ASSERT_EQ(kv.values(layer, slot)[i], next++);
      }
    }
  }
}

TEST(KvCacheTest, RefusesBadSharing) {
  std::vector<KvLayerSpec> layers = {{1, 4, 0, 1}, {1, 4, 0, 1}};
  EXPECT_FALSE(KvCache::Create(layers, {}).ok());
}

}  // namespace
}  // namespace snug
