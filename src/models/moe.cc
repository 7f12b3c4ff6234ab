// The mixture-of-experts block (moe.h): route, group the batch by expert, run each chosen
// expert once over all of its tokens, scatter the weighted outputs back.
#include "models/moe.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "kernels/kernels.h"

namespace snug {
namespace {

// A stacked [count, size] f32 bias (ffn_*_exps.bias), or null when the file has none.
Result<const float*> BindStackedBias(WeightBinder& weights, const std::string& name, int64_t count,
                                     int64_t size) {
  const TensorView view = weights.OptionalMatrix(name, count, size);
  if (view.data == nullptr) return static_cast<const float*>(nullptr);
  if (view.dtype != DType::kF32) {
    return InvalidArgument("model: tensor '" + name + "' has type " +
                           std::string(Name(view.dtype)) + ", expected f32");
  }
  if (reinterpret_cast<uintptr_t>(view.data) % alignof(float) != 0) {
    return InvalidArgument("model: tensor '" + name + "' is not 4-byte aligned in the file");
  }
  return static_cast<const float*>(view.data);
}

// llama.cpp ggml_compute_forward_swiglu_oai_f32, element for element.
void SwigluOai(const float* gate, const float* up, int64_t n, float* out) {
  constexpr float kAlpha = 1.702f, kLimit = 7.0f;
  for (int64_t i = 0; i < n; ++i) {
    const float g = std::min(gate[i], kLimit);
    const float u = std::clamp(up[i], -kLimit, kLimit);
    out[i] = g / (1.0f + std::exp(kAlpha * -g)) * (u + 1.0f);
  }
}

}  // namespace

Result<MoeWeights> BindMoe(WeightBinder& weights, const std::string& prefix, const LayerSpec& layer,
                           int model_dim) {
  const int experts = layer.num_experts, ffn = layer.expert_ffn_dim;
  MoeWeights moe;
  moe.router = weights.Matrix(prefix + "ffn_gate_inp.weight", experts, model_dim);
  moe.router_bias = weights.OptionalVector(prefix + "ffn_gate_inp.bias", experts);
  moe.gate = weights.Matrices(prefix + "ffn_gate_exps.weight", experts, ffn, model_dim);
  moe.up = weights.Matrices(prefix + "ffn_up_exps.weight", experts, ffn, model_dim);
  moe.down = weights.Matrices(prefix + "ffn_down_exps.weight", experts, model_dim, ffn);
  ASSIGN_OR_RETURN(moe.gate_bias,
                   BindStackedBias(weights, prefix + "ffn_gate_exps.bias", experts, ffn));
  ASSIGN_OR_RETURN(moe.up_bias,
                   BindStackedBias(weights, prefix + "ffn_up_exps.bias", experts, ffn));
  ASSIGN_OR_RETURN(moe.down_bias,
                   BindStackedBias(weights, prefix + "ffn_down_exps.bias", experts, model_dim));
  return moe;
}

MoeBlock::Layout MoeBlock::LayoutFor(const ModelSpec& spec, int batch_tokens) {
  size_t experts = 0, used = 0, ffn = 0;
  for (const LayerSpec& layer : spec.layers) {
    experts = std::max<size_t>(experts, layer.num_experts);
    used = std::max<size_t>(used, layer.num_experts_used);
    ffn = std::max<size_t>(ffn, layer.expert_ffn_dim);
  }
  const size_t b = batch_tokens, dim = spec.model_dim;
  return {.floats = {{&MoeBlock::logits_, b * experts},
                     {&MoeBlock::weights_, b * used},
                     {&MoeBlock::gathered_, b * dim},
                     {&MoeBlock::gate_, b * ffn},
                     {&MoeBlock::up_, b * ffn},
                     {&MoeBlock::expert_out_, b * dim}},
          .ints = {{&MoeBlock::chosen_, b * used},
                   {&MoeBlock::offsets_, experts + 1},
                   {&MoeBlock::candidates_, experts},
                   {&MoeBlock::order_, b * used}}};
}

MoeBlock::MoeBlock(Projector& projector, const ModelSpec& spec, int batch_tokens)
    : projector_(projector), model_dim_(spec.model_dim) {
  const Layout layout = LayoutFor(spec, batch_tokens);
  for (const auto& [buffer, elements] : layout.floats) (this->*buffer).resize(elements);
  for (const auto& [buffer, elements] : layout.ints) (this->*buffer).resize(elements);
}

size_t MoeBlock::BytesFor(const ModelSpec& spec, int batch_tokens) {
  bool has_experts = false;
  for (const LayerSpec& layer : spec.layers) has_experts |= layer.num_experts > 0;
  if (!has_experts) return 0;
  const Layout layout = LayoutFor(spec, batch_tokens);
  size_t total = 0;
  for (const auto& [buffer, elements] : layout.floats) total += elements * sizeof(float);
  for (const auto& [buffer, elements] : layout.ints) total += elements * sizeof(int32_t);
  return total;
}

void MoeBlock::Reserve(const MoeWeights& weights) {
  projector_.Reserve(weights.router);
  // Every expert's slice has its stack's type and width, so the first one sizes them all.
  for (const TensorView* stack : {&weights.gate, &weights.up, &weights.down}) {
    if (stack->data != nullptr) projector_.Reserve(stack->Slice(0));
  }
}

size_t MoeBlock::bytes() const {
  size_t total = 0;
  for (const std::vector<float>* buffer :
       {&logits_, &weights_, &gathered_, &gate_, &up_, &expert_out_}) {
    total += buffer->size() * sizeof(float);
  }
  for (const std::vector<int32_t>* buffer : {&chosen_, &offsets_, &candidates_, &order_}) {
    total += buffer->size() * sizeof(int32_t);
  }
  return total;
}

void MoeBlock::Route(const MoeWeights& weights, const LayerSpec& layer, MoeRouting routing,
                     const float* x, int64_t num_tokens) {
  const int experts = layer.num_experts, k = layer.num_experts_used;
  projector_.Apply(weights.router, x, num_tokens, logits_.data());
  if (weights.router_bias != nullptr) {
    Projector::AddBias(weights.router_bias, num_tokens, experts, logits_.data());
  }
  switch (routing) {
    case MoeRouting::kTopKSoftmax:
      for (int64_t t = 0; t < num_tokens; ++t) {
        const float* logits = logits_.data() + t * experts;
        int32_t* chosen = chosen_.data() + t * k;
        float* weight = weights_.data() + t * k;
        // Highest logits first; equal logits keep the lower expert first (a stable order, so
        // a token routes the same way whatever batch it is in).
        int32_t* candidates = candidates_.data();
        for (int e = 0; e < experts; ++e) candidates[e] = e;
        std::partial_sort(candidates, candidates + k, candidates + experts,
                          [&](int32_t a, int32_t b) {
                            return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
                          });
        const float max = logits[candidates[0]];
        float sum = 0.0f;
        for (int j = 0; j < k; ++j) {
          chosen[j] = candidates[j];
          weight[j] = std::exp(logits[candidates[j]] - max);
          sum += weight[j];
        }
        for (int j = 0; j < k; ++j) weight[j] /= sum;
      }
      break;
  }
  // Group the (token, choice) pairs by expert: a counting sort, tokens ascending in each group.
  std::fill(offsets_.begin(), offsets_.begin() + experts + 1, 0);
  for (int64_t i = 0; i < num_tokens * k; ++i) ++offsets_[chosen_[i] + 1];
  for (int e = 0; e < experts; ++e) offsets_[e + 1] += offsets_[e];
  int32_t* cursor = candidates_.data();
  std::copy(offsets_.begin(), offsets_.begin() + experts, cursor);
  for (int64_t i = 0; i < num_tokens * k; ++i) {
    order_[cursor[chosen_[i]]++] = static_cast<int32_t>(i);
  }
}

void MoeBlock::RunExpert(const MoeWeights& weights, const LayerSpec& layer,
                         MoeActivation activation, int expert, const float* x, float* y) {
  const int ffn = layer.expert_ffn_dim;
  const int64_t rows = offsets_[expert + 1] - offsets_[expert];
  projector_.Apply(weights.gate.Slice(expert), x, rows, gate_.data());
  projector_.Apply(weights.up.Slice(expert), x, rows, up_.data());
  if (weights.gate_bias != nullptr) {
    Projector::AddBias(weights.gate_bias + static_cast<int64_t>(expert) * ffn, rows, ffn,
                       gate_.data());
  }
  if (weights.up_bias != nullptr) {
    Projector::AddBias(weights.up_bias + static_cast<int64_t>(expert) * ffn, rows, ffn, up_.data());
  }
  switch (activation) {
    case MoeActivation::kSwigluOai:
      SwigluOai(gate_.data(), up_.data(), rows * ffn, gate_.data());
      break;
  }
  projector_.Apply(weights.down.Slice(expert), gate_.data(), rows, y);
  if (weights.down_bias != nullptr) {
    Projector::AddBias(weights.down_bias + static_cast<int64_t>(expert) * model_dim_, rows,
                       model_dim_, y);
  }
}

void MoeBlock::Forward(const MoeWeights& weights, const LayerSpec& layer, MoeRouting routing,
                       MoeActivation activation, const float* x, int64_t num_tokens, float* y) {
  const int k = layer.num_experts_used;
  const int64_t dim = model_dim_;
  Route(weights, layer, routing, x, num_tokens);
  std::fill(y, y + num_tokens * dim, 0.0f);
  for (int e = 0; e < layer.num_experts; ++e) {
    const int32_t begin = offsets_[e], end = offsets_[e + 1];
    if (begin == end) continue;  // no token chose it: its weights are not read at all
    for (int32_t i = begin; i < end; ++i) {
      const int64_t token = order_[i] / k;
      std::copy(x + token * dim, x + (token + 1) * dim, gathered_.data() + (i - begin) * dim);
    }
    RunExpert(weights, layer, activation, e, gathered_.data(), expert_out_.data());
    for (int32_t i = begin; i < end; ++i) {
      const int64_t token = order_[i] / k;
      const float weight = weights_[order_[i]];
      const float* out = expert_out_.data() + (i - begin) * dim;
      float* row = y + token * dim;
      for (int64_t c = 0; c < dim; ++c) row[c] += weight * out[c];
    }
  }
}

}  // namespace snug
