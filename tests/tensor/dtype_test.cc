#include "tensor/dtype.h"

#include <gtest/gtest.h>

#include "tensor/tensor_view.h"

namespace snug {
namespace {

TEST(DTypeTest, GgmlIdsAndSizes) {
  EXPECT_EQ(FindDType(2)->name, "q4_0");
  EXPECT_EQ(FindDType(39)->block_bytes, 17);
  EXPECT_EQ(FindDType(14)->block_elements, 256);
  EXPECT_EQ(FindDType(4), nullptr);  // Q4_2 was removed from ggml
  EXPECT_EQ(FindDType(1000), nullptr);
  EXPECT_EQ(RowBytes(DType::kQ6_K, 512), 420);
  EXPECT_EQ(DTypeFromName("Q4_K"), DType::kQ4_K);
  EXPECT_EQ(DTypeFromName("q3_k"), DType::kQ3_K);
  EXPECT_EQ(FindDType(23)->block_bytes, 136);  // iq4_xs
  EXPECT_FALSE(DTypeFromName("iq2_xxs").has_value());  // listed only: not a --type choice
}

// Issue 15: ggml's other types are listed with ggml-common.h's block sizes, and do not run.
TEST(DTypeTest, ListedOnlyTypesHaveGgmlSizes) {
  const std::pair<uint32_t, int> kBlockBytes[] = {
      {16, 66}, {17, 74}, {18, 98}, {19, 50}, {21, 110}, {22, 82}, {29, 56}, {34, 54}, {35, 66},
  };
  for (const auto& [id, bytes] : kBlockBytes) {
    const DTypeInfo* info = FindDType(id);
    ASSERT_NE(info, nullptr) << id;
    EXPECT_EQ(info->block_elements, 256) << info->name;
    EXPECT_EQ(info->block_bytes, bytes) << info->name;
    EXPECT_FALSE(info->runs) << info->name;
  }
  EXPECT_EQ(FindDType(28)->block_bytes, 8);  // f64
  EXPECT_EQ(FindDType(24)->block_bytes, 1);  // i8
  EXPECT_EQ(FindDType(31), nullptr);         // Q4_0_4_4, removed from ggml
  EXPECT_TRUE(FindDType(12)->runs);          // q4_k
}

TEST(DTypeTest, MlxTypesAreNoGgufTypes) {
  EXPECT_EQ(FindDType(static_cast<uint32_t>(DType::kMlxQ4)), nullptr);
  EXPECT_EQ(Name(DType::kMlxQ4), "mlx_q4");
  EXPECT_TRUE(IsMlx(DType::kMlxMXFP4));
  EXPECT_FALSE(IsMlx(DType::kMXFP4));
  EXPECT_EQ(MlxBits(DType::kMlxQ3), 3);
  EXPECT_EQ(MlxBits(DType::kMlxMXFP4), 4);
  EXPECT_EQ(MlxAffineType(6), DType::kMlxQ6);
  EXPECT_FALSE(MlxAffineType(7).has_value());
  EXPECT_EQ(RowBytes(DType::kMlxQ3, 128), 48);  // MLX's uint32 [rows, 128·3/32]
}

TEST(TensorViewTest, MlxSlicesCarryTheirScales) {
  // [2 experts, 3 rows, 128] of 4-bit codes, bf16 scales and biases per 64.
  TensorView view{nullptr, DType::kMlxQ4, 3, {2, 3, 128, 0}};
  const uint8_t* scales = reinterpret_cast<const uint8_t*>(0x1000);
  const uint8_t* biases = reinterpret_cast<const uint8_t*>(0x2000);
  view.groups = {scales, biases, DType::kBF16, 64};
  EXPECT_EQ(view.row_bytes(), 64);
  EXPECT_EQ(view.scale_row_bytes(), 4);
  const TensorView expert = view.Slice(1);
  EXPECT_EQ(expert.scale_row(0), scales + 3 * 4);
  EXPECT_EQ(expert.bias_row(2), biases + 5 * 4);
  EXPECT_EQ(expert.groups.group_size, 64);
}

TEST(TensorViewTest, RowsColsAndSlices) {
  TensorView view{nullptr, DType::kQ8_0, 3, {4, 8, 64, 0}};
  EXPECT_EQ(view.cols(), 64);
  EXPECT_EQ(view.rows(), 32);
  EXPECT_EQ(view.row_bytes(), 68);
  EXPECT_EQ(ShapeString(view), "[4, 8, 64]");
  TensorView expert = view.Slice(2);
  EXPECT_EQ(expert.rows(), 8);
  EXPECT_EQ(static_cast<const uint8_t*>(expert.data) - static_cast<const uint8_t*>(view.data),
            2 * 8 * 68);
}

}  // namespace
}  // namespace snug
