// Binds a model's declared weights to the tensors of a GGUF file, checking each name, shape and
// type. Errors accumulate so a model file can declare its weights top to bottom and report
// every problem at once: "model: tensor 'blk.3.attn_q.weight' has shape [64, 128], expected
// [128, 128]".
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "formats/gguf.h"
#include "tensor/tensor_view.h"

namespace snug {

class WeightBinder {
 public:
  explicit WeightBinder(const gguf::File& file) : file_(file) {}

  // A matrix applied with kernels::MatMul (any weight type), shape [rows, cols].
  TensorView Matrix(const std::string& name, int64_t rows, int64_t cols);
  // A stack of matrices (MoE experts), shape [count, rows, cols].
  TensorView Matrices(const std::string& name, int64_t count, int64_t rows, int64_t cols);
  // An f32 vector (norm scales, biases, sinks), shape [size].
  const float* Vector(const std::string& name, int64_t size);
  // Same as above, but a missing tensor is not an error: returns an empty view / nullptr.
  TensorView OptionalMatrix(const std::string& name, int64_t rows, int64_t cols);
  const float* OptionalVector(const std::string& name, int64_t size);
  bool Has(const std::string& name) const { return file_.FindTensor(name) != nullptr; }

  // Ok, or every error found: the first line says how many and shows the first (what a command
  // prints), then one line per error (what --verbose adds).
  Status Finish() const;

 private:
  const gguf::TensorInfo* Find(const std::string& name, bool required);
  bool CheckShape(const gguf::TensorInfo& tensor, const std::vector<int64_t>& shape);

  const gguf::File& file_;
  std::vector<std::string> errors_;
};

}  // namespace snug
