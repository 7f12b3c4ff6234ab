// The KV cache in every KV type: layout and sizes, rows round-tripping within the block format's
// error, slots that do not overlap, rings, CopySlot, per-head views, refused head dims.
#include "kv/kv_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/kernels.h"

namespace snug {
namespace {

constexpr KvType kTypes[] = {KvType::kF16, KvType::kQ8_0, KvType::kQ4_0};

DType DTypeOf(KvType type) {
  return type == KvType::kF16 ? DType::kF16 : type == KvType::kQ8_0 ? DType::kQ8_0 : DType::kQ4_0;
}

// The largest error the format may make on a 32-value block whose largest magnitude is amax.
// f16: half an ulp (2^-11 relative). q8_0: half a step of d = amax/127, plus d rounded to f16
// (2^-11 relative, times up to 127 steps). q4_0: d = amax/8 and the value +amax clamps to
// 7·d, a whole step; plus d rounded to f16 (times up to 8 steps).
double BlockErrorBound(KvType type, double amax) {
  switch (type) {
    case KvType::kF16:
      return amax * std::ldexp(1.0, -11);
    case KvType::kQ8_0:
      return amax / 254 + amax * std::ldexp(1.0, -11) + 1e-7;
    case KvType::kQ4_0:
      return amax / 8 + amax * std::ldexp(1.0, -11) + 1e-7;
  }
  return 0;
}

// Row values for (layer, slot, position, keys or values): distinct per row, reproducible.
std::vector<float> RowValues(int64_t elements, int layer, int slot, int position, int which) {
  std::mt19937 rng(((layer * 16 + slot) * 4096 + position) * 2 + which);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> row(elements);
  for (float& x : row) x = normal(rng);
  return row;
}

// Asserts `decoded` is `original` within the format's per-block bound.
void ExpectWithinFormat(KvType type, const std::vector<float>& original,
                        const std::vector<float>& decoded, const std::string& where) {
  ASSERT_EQ(original.size(), decoded.size());
  for (size_t block = 0; block < original.size(); block += 32) {
    const size_t end = std::min(original.size(), block + 32);
    double amax = 0;
    for (size_t i = block; i < end; ++i) amax = std::max(amax, std::abs(double{original[i]}));
    const double bound = BlockErrorBound(type, amax);
    for (size_t i = block; i < end; ++i) {
      ASSERT_LE(std::abs(original[i] - decoded[i]), bound)
          << KvTypeName(type) << " " << where << " value " << i;
    }
  }
}

void WriteRow(KvCache& kv, int layer, int slot, int position) {
  const int64_t n = kv.row_elements(layer);
  const std::vector<float> keys = RowValues(n, layer, slot, position, 0);
  const std::vector<float> values = RowValues(n, layer, slot, position, 1);
  kv.WriteRow(layer, slot, position, keys.data(), values.data());
}

// Reads (layer, slot, position) back and checks it is what WriteRow stored for `written_slot`.
void ExpectRow(const KvCache& kv, int layer, int slot, int position, int written_slot) {
  const int64_t n = kv.row_elements(layer);
  std::vector<float> keys(n), values(n);
  kv.ReadRow(layer, slot, position, keys.data(), values.data());
  const std::string where = "layer " + std::to_string(layer) + " slot " + std::to_string(slot) +
                            " position " + std::to_string(position);
  ExpectWithinFormat(kv.type(), RowValues(n, layer, written_slot, position, 0), keys,
                     where + " keys");
  ExpectWithinFormat(kv.type(), RowValues(n, layer, written_slot, position, 1), values,
                     where + " values");
}

TEST(KvCacheTest, SizesFullSlidingAndSharedLayers) {
  // Layer 0 sliding (window 8), layer 1 full, layer 2 shares layer 1.
  std::vector<KvLayerSpec> layers = {{2, 32, 8, 0}, {1, 64, 0, 1}, {1, 64, 0, 1}};
  for (KvType type : kTypes) {
    KvCacheOptions options{.slots = 3, .context_tokens = 100, .batch_tokens = 4, .type = type};
    const size_t expected =
        2 * 3 * ((8 + 4) * KvRowBytes(type, 2 * 32) + 100 * KvRowBytes(type, 64));
    EXPECT_EQ(KvCache::BytesFor(layers, options), expected);
    auto cache = KvCache::Create(layers, options);
    ASSERT_TRUE(cache.ok()) << cache.status().ToString();
    const KvCache& kv = **cache;
    EXPECT_EQ(kv.bytes(), expected);
    EXPECT_EQ(kv.type(), type);
    EXPECT_EQ(kv.capacity_tokens(0), 12);
    EXPECT_EQ(kv.capacity_tokens(1), 100);
    EXPECT_EQ(kv.capacity_tokens(2), 100);
    EXPECT_EQ(kv.RowOf(0, 13), 1);
    EXPECT_EQ(kv.row_bytes(0), KvRowBytes(type, 64));
    EXPECT_EQ(kv.HeadRows(2, 1, 0).keys, kv.HeadRows(1, 1, 0).keys);  // shared storage
    EXPECT_NE(kv.HeadRows(1, 0, 0).keys, kv.HeadRows(1, 1, 0).keys);
    EXPECT_NE(kv.HeadRows(1, 2, 0).keys, kv.HeadRows(1, 0, 0).values);
    // Head 1 of layer 0 starts half a row in: 32 values, one block.
    EXPECT_EQ(kv.HeadRows(0, 0, 1).keys - kv.HeadRows(0, 0, 0).keys,
              static_cast<ptrdiff_t>(KvRowBytes(type, 32)));
  }
}

TEST(KvCacheTest, RowsRoundTripWithinTheFormatAndSlotsDoNotOverlap) {
  std::vector<KvLayerSpec> layers = {{2, 32, 0, 0}, {1, 64, 5, 1}};
  for (KvType type : kTypes) {
    auto cache = KvCache::Create(
        layers, {.slots = 2, .context_tokens = 10, .batch_tokens = 3, .type = type});
    ASSERT_TRUE(cache.ok());
    KvCache& kv = **cache;
    // Fill every row of every slot with its own values, then read them all back.
    for (int layer = 0; layer < 2; ++layer) {
      for (int slot = 0; slot < 2; ++slot) {
        for (int p = 0; p < kv.capacity_tokens(layer); ++p) WriteRow(kv, layer, slot, p);
      }
    }
    for (int layer = 0; layer < 2; ++layer) {
      for (int slot = 0; slot < 2; ++slot) {
        for (int p = 0; p < kv.capacity_tokens(layer); ++p) ExpectRow(kv, layer, slot, p, slot);
      }
    }
  }
}

TEST(KvCacheTest, RingsKeepTheLatestWindowInEveryType) {
  // Window 5 + batch 3: a ring of 8 rows.
  std::vector<KvLayerSpec> layers = {{2, 32, 5, 0}};
  for (KvType type : kTypes) {
    auto cache = KvCache::Create(
        layers, {.slots = 1, .context_tokens = 64, .batch_tokens = 3, .type = type});
    ASSERT_TRUE(cache.ok());
    KvCache& kv = **cache;
    ASSERT_EQ(kv.capacity_tokens(0), 8);
    for (int p = 0; p < 30; ++p) WriteRow(kv, 0, 0, p);
    for (int p = 30 - 8; p < 30; ++p) ExpectRow(kv, 0, 0, p, 0);
  }
}

TEST(KvCacheTest, HeadRowsViewEachHeadsPartOfTheRow) {
  std::vector<KvLayerSpec> layers = {{3, 64, 0, 0}};
  for (KvType type : kTypes) {
    auto cache =
        KvCache::Create(layers, {.slots = 2, .context_tokens = 6, .batch_tokens = 2, .type = type});
    ASSERT_TRUE(cache.ok());
    KvCache& kv = **cache;
    for (int p = 0; p < 6; ++p) WriteRow(kv, 0, 1, p);
    std::vector<float> keys(3 * 64), values(3 * 64), head(64);
    for (int p = 0; p < 6; ++p) {
      kv.ReadRow(0, 1, p, keys.data(), values.data());
      for (int h = 0; h < 3; ++h) {
        const KvHeadRows rows = kv.HeadRows(0, 1, h);
        ASSERT_EQ(rows.type, type);
        kernels::DequantizeRow(DTypeOf(type), rows.keys + p * rows.row_bytes, head.data(), 64);
        EXPECT_TRUE(std::equal(head.begin(), head.end(), keys.begin() + h * 64));
        kernels::DequantizeRow(DTypeOf(type), rows.values + p * rows.row_bytes, head.data(), 64);
        EXPECT_TRUE(std::equal(head.begin(), head.end(), values.begin() + h * 64));
      }
    }
  }
}

TEST(KvCacheTest, CopySlotCopiesRowsAndRingsInEveryType) {
  // Layer 0 full, layer 1 a ring of window 4 + batch 2 = 6 rows.
  std::vector<KvLayerSpec> layers = {{1, 32, 0, 0}, {2, 32, 4, 1}};
  for (KvType type : kTypes) {
    auto cache = KvCache::Create(
        layers, {.slots = 3, .context_tokens = 16, .batch_tokens = 2, .type = type});
    ASSERT_TRUE(cache.ok());
    KvCache& kv = **cache;
    // Slot 0: 11 positions (the ring has wrapped); copied whole into slot 1.
    for (int p = 0; p < 11; ++p) {
      for (int layer = 0; layer < 2; ++layer) WriteRow(kv, layer, 0, p);
    }
    kv.set_length(0, 11);
    kv.CopySlot(0, 1, 11);
    EXPECT_EQ(kv.length(1), 11);
    for (int p = 0; p < 11; ++p) ExpectRow(kv, 0, 1, p, 0);
    for (int p = 11 - 6; p < 11; ++p) ExpectRow(kv, 1, 1, p, 0);
    // A prefix of a slot whose ring has not wrapped: slot 2 gets the first 3 of 5 positions.
    for (int p = 0; p < 5; ++p) {
      for (int layer = 0; layer < 2; ++layer) WriteRow(kv, layer, 2, p);
    }
    kv.set_length(2, 5);
    kv.CopySlot(2, 0, 3);
    EXPECT_EQ(kv.length(0), 3);
    for (int p = 0; p < 3; ++p) {
      for (int layer = 0; layer < 2; ++layer) ExpectRow(kv, layer, 0, p, 2);
    }
  }
}

TEST(KvCacheTest, BlockTypesRefuseHeadDimsThatAreNotWholeBlocks) {
  std::vector<KvLayerSpec> layers = {{2, 32, 0, 0}, {2, 20, 0, 1}};
  EXPECT_TRUE(KvCache::Create(layers, {.type = KvType::kF16}).ok());
  for (KvType type : {KvType::kQ8_0, KvType::kQ4_0}) {
    auto cache = KvCache::Create(layers, {.type = type});
    ASSERT_FALSE(cache.ok());
    EXPECT_EQ(cache.status().code(), StatusCode::kInvalidArgument);
    const std::string& message = cache.status().message();
    EXPECT_NE(message.find("head_dim a multiple of 32"), std::string::npos) << message;
    EXPECT_NE(message.find("layer 1 has head_dim 20"), std::string::npos) << message;
  }
}

TEST(KvCacheTest, RefusesBadSharing) {
  std::vector<KvLayerSpec> layers = {{1, 4, 0, 1}, {1, 4, 0, 1}};
  EXPECT_FALSE(KvCache::Create(layers, {}).ok());
}

}  // namespace
}  // namespace snug
