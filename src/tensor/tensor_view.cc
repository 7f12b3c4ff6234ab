#include "tensor/tensor_view.h"

namespace snug {

std::string ShapeString(const TensorView& view) {
  std::string text = "[";
  for (int i = 0; i < view.num_dims; ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(view.shape[i]);
  }
  return text + "]";
}

}  // namespace snug
