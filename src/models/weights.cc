#include "models/weights.h"

#include <cstdint>
#include <string_view>

namespace snug {
namespace {

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

}  // namespace

const gguf::TensorInfo* WeightBinder::Find(const std::string& name, bool required) {
  const gguf::TensorInfo* tensor = file_.FindTensor(name);
  if (tensor == nullptr && required) errors_.push_back("model: tensor '" + name + "' is missing");
  return tensor;
}

bool WeightBinder::CheckShape(const gguf::TensorInfo& tensor, const std::vector<int64_t>& shape) {
  const TensorView& view = tensor.view;
  bool same = view.num_dims == static_cast<int>(shape.size());
  for (int i = 0; same && i < view.num_dims; ++i) same = view.shape[i] == shape[i];
  if (!same) {
    errors_.push_back("model: tensor '" + std::string(tensor.name) + "' has shape " +
                      ShapeString(view) + ", expected " + ShapeText(shape));
  }
  return same;
}

TensorView WeightBinder::Matrix(const std::string& name, int64_t rows, int64_t cols) {
  const gguf::TensorInfo* tensor = Find(name, /*required=*/true);
  if (tensor == nullptr || !CheckShape(*tensor, {rows, cols})) return {};
  return tensor->view;
}

TensorView WeightBinder::Matrices(const std::string& name, int64_t count, int64_t rows,
                                  int64_t cols) {
  const gguf::TensorInfo* tensor = Find(name, /*required=*/true);
  if (tensor == nullptr || !CheckShape(*tensor, {count, rows, cols})) return {};
  return tensor->view;
}

const float* WeightBinder::Vector(const std::string& name, int64_t size) {
  const gguf::TensorInfo* tensor = Find(name, /*required=*/true);
  if (tensor == nullptr || !CheckShape(*tensor, {size})) return nullptr;
  if (tensor->view.dtype != DType::kF32) {
    errors_.push_back("model: tensor '" + name + "' has type " +
                      std::string(Name(tensor->view.dtype)) + ", expected f32");
    return nullptr;
  }
  if (reinterpret_cast<uintptr_t>(tensor->view.data) % alignof(float) != 0) {
    errors_.push_back("model: tensor '" + name +
                      "' is not 4-byte aligned in the file (general.alignment too small)");
    return nullptr;
  }
  return static_cast<const float*>(tensor->view.data);
}

TensorView WeightBinder::OptionalMatrix(const std::string& name, int64_t rows, int64_t cols) {
  return Has(name) ? Matrix(name, rows, cols) : TensorView{};
}

const float* WeightBinder::OptionalVector(const std::string& name, int64_t size) {
  return Has(name) ? Vector(name, size) : nullptr;
}

Status WeightBinder::Finish() const {
  if (errors_.empty()) return Status::Ok();
  if (errors_.size() == 1) return InvalidArgument(errors_[0]);
  constexpr std::string_view kTag = "model: ";  // every error's, said once here
  std::string_view first = errors_[0];
  if (first.substr(0, kTag.size()) == kTag) first.remove_prefix(kTag.size());
  std::string message = "model: " + std::to_string(errors_.size()) +
                        " tensors are missing or wrong; the first: " + std::string(first);
  for (const std::string& error : errors_) message += "\n" + error;
  return InvalidArgument(message);
}

}  // namespace snug
