// A mixture-of-experts feed-forward block: a router picks experts per token, each expert is a
// gated MLP over a stacked weight tensor, outputs are summed with the router's weights. A
// batch's tokens are grouped by expert so each chosen expert's matrices are read once per
// Forward, not once per token. Routing and activation are the architecture's choice (gpt-oss
// today; Gemma 4's 26B-A4B adds its own router here); the block owns no weights.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "models/blocks.h"
#include "models/model.h"
#include "models/weights.h"
#include "tensor/tensor_view.h"

namespace snug {

// One layer's experts as GGUF stores them (llama.cpp's ffn_*_exps names). Biases are optional.
struct MoeWeights {
  TensorView router;                   // [num_experts, model_dim]
  const float* router_bias = nullptr;  // [num_experts]
  TensorView gate, up;                 // [num_experts, expert_ffn_dim, model_dim]
  TensorView down;                     // [num_experts, model_dim, expert_ffn_dim]
  const float* gate_bias = nullptr;    // [num_experts, expert_ffn_dim]
  const float* up_bias = nullptr;      // [num_experts, expert_ffn_dim]
  const float* down_bias = nullptr;    // [num_experts, model_dim]
};

// Binds {prefix}ffn_gate_inp, ffn_{gate,up,down}_exps (+ .bias where present). Missing tensors
// and wrong shapes go to `weights` (reported by its Finish); a stacked bias that is not f32
// (2-D, so WeightBinder::Vector cannot bind it) is returned as an error at once.
Result<MoeWeights> BindMoe(WeightBinder& weights, const std::string& prefix, const LayerSpec& layer,
                           int model_dim);

// How router logits become (expert, weight) choices.
enum class MoeRouting {
  // gpt-oss: the top k logits (router bias included), softmax over those k only.
  kTopKSoftmax,
};

// How an expert combines its gate and up projections.
enum class MoeActivation {
  // gpt-oss: g = min(gate, limit), u = clamp(up, ±limit), g·sigmoid(alpha·g)·(u + 1) with
  // alpha 1.702, limit 7 (llama.cpp ggml_swiglu_oai).
  kSwigluOai,
};

class MoeBlock {
 public:
  // Buffers for batches of up to `batch_tokens` tokens and the widest layer of `spec`. The
  // matrix products run on the model's `projector` (one scratch for the whole model), which
  // must outlive the block.
  MoeBlock(Projector& projector, const ModelSpec& spec, int batch_tokens);

  // Grows the projector's scratch for this layer's weights (at load only).
  void Reserve(const MoeWeights& weights);
  size_t bytes() const;  // the block's own buffers (the projector counts its scratch)
  // The bytes of the block a model of `spec` makes for `batch_tokens` (the memory plan calls
  // it); 0 when no layer has experts (such a model makes no block).
  static size_t BytesFor(const ModelSpec& spec, int batch_tokens);

  // y: [num_tokens, model_dim] = Σ over each token's chosen experts of weight · expert(x).
  // x: [num_tokens, model_dim].
  void Forward(const MoeWeights& weights, const LayerSpec& layer, MoeRouting routing,
               MoeActivation activation, const float* x, int64_t num_tokens, float* y);

 private:
  void Route(const MoeWeights& weights, const LayerSpec& layer, MoeRouting routing, const float* x,
             int64_t num_tokens);
  void RunExpert(const MoeWeights& weights, const LayerSpec& layer, MoeActivation activation,
                 int expert, const float* x, float* y);

  // Every buffer with its element count: the one list the constructor and BytesFor read.
  struct Layout {
    std::vector<std::pair<std::vector<float> MoeBlock::*, size_t>> floats;
    std::vector<std::pair<std::vector<int32_t> MoeBlock::*, size_t>> ints;
  };
  static Layout LayoutFor(const ModelSpec& spec, int batch_tokens);

  Projector& projector_;
  int model_dim_;
  std::vector<float> logits_;        // [batch, num_experts] router output
  std::vector<int32_t> chosen_;      // [batch, experts_used] expert of each (token, choice)
  std::vector<float> weights_;       // [batch, experts_used] its routing weight
  std::vector<int32_t> offsets_;     // [num_experts + 1] start of each expert's group in order_
  std::vector<int32_t> candidates_;  // [num_experts] sort and cursor scratch
  std::vector<int32_t> order_;       // [batch · experts_used] (token, choice) pairs by expert
  std::vector<float> gathered_;      // [batch, model_dim] rows routed to one expert
  std::vector<float> gate_, up_;     // [batch, expert_ffn_dim]
  std::vector<float> expert_out_;    // [batch, model_dim]
};

}  // namespace snug
