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
  EXPECT_FALSE(DTypeFromName("q3_k").has_value());
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
