#include "models/blocks.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "kernels/attention.h"
#include "kernels/kernels.h"
#include "tensor/fp16.h"

namespace snug {

void EmbedTokens(const TensorView& table, std::span<const int32_t> tokens, float scale,
                 float* out) {
  const int64_t dim = table.cols();
  for (size_t i = 0; i < tokens.size(); ++i) {
    CHECK(tokens[i] >= 0 && tokens[i] < table.rows()) << "token " << tokens[i];
    float* row = out + i * dim;
    kernels::DequantizeRow(table, tokens[i], row);  // any type, MLX included
    if (scale != 1.0f) kernels::Scale(row, scale, row, dim);
  }
}

void RmsNormRows(const float* x, const float* weight, float eps, int64_t rows, int64_t dim,
                 float* y) {
  for (int64_t r = 0; r < rows; ++r) kernels::RmsNorm(x + r * dim, weight, eps, dim, y + r * dim);
}

RopeTable::RopeTable(const RopeSpec& spec, int batch_tokens)
    : spec_(spec),
      pairs_(spec.rotary_dims / 2),
      cos_(static_cast<size_t>(batch_tokens) * pairs_),
      sin_(static_cast<size_t>(batch_tokens) * pairs_) {}

size_t RopeTable::BytesFor(const RopeSpec& spec, int batch_tokens) {
  return RopeTable(spec, batch_tokens).bytes();  // small: cos and sin per (token, pair)
}

void RopeTable::Compute(std::span<const int32_t> positions) {
  CHECK_LE(positions.size() * pairs_, cos_.size());
  for (size_t t = 0; t < positions.size(); ++t) {
    for (int i = 0; i < pairs_; ++i) {
      // Angles in fp32 as the references compute them (llama.cpp: theta = pos · freq).
      const float angle = static_cast<float>(positions[t]) * spec_.frequencies[i];
      cos_[t * pairs_ + i] = std::cos(angle) * spec_.magnitude;
      sin_[t * pairs_ + i] = std::sin(angle) * spec_.magnitude;
    }
  }
}

void RopeTable::Apply(float* x, int64_t num_tokens, int num_heads, int head_dim) const {
  for (int64_t t = 0; t < num_tokens; ++t) {
    float* token = x + t * num_heads * head_dim;
    const float* cos = cos_.data() + t * pairs_;
    const float* sin = sin_.data() + t * pairs_;
    if (spec_.interleaved) {
      kernels::RopeInterleaved(token, num_heads, head_dim, spec_.rotary_dims, cos, sin);
    } else {
      kernels::RopeNeox(token, num_heads, head_dim, spec_.rotary_dims, cos, sin);
    }
  }
}

void Projector::Reserve(const TensorView& weight) {
  const size_t bytes = kernels::MatMulScratchBytes(weight.dtype, weight.cols(), batch_tokens_);
  if (bytes > scratch_.size()) scratch_.resize(bytes);
}

void Projector::Reserve(const AttentionWeights& weights) {
  for (const TensorView* w : {&weights.q, &weights.k, &weights.v, &weights.output}) {
    if (w->data != nullptr) Reserve(*w);  // v is absent on Gemma 4's k_eq_v layers
  }
}

void Projector::Reserve(const FfnWeights& weights) {
  for (const TensorView* w : {&weights.gate, &weights.up, &weights.down}) Reserve(*w);
}

void Projector::Apply(const TensorView& weight, const float* x, int64_t num_tokens, float* y) {
  DCHECK(num_tokens <= batch_tokens_);
  kernels::MatMul(weight, x, num_tokens, y, scratch_, pool_);
}

void Projector::AddBias(const float* bias, int64_t num_tokens, int64_t size, float* y) {
  for (int64_t t = 0; t < num_tokens; ++t) kernels::Add(y + t * size, bias, y + t * size, size);
}

void StoreKv(const Batch& batch, int layer, const float* keys, const float* values, KvCache& kv) {
  const int64_t row = kv.row_elements(layer);
  for (size_t t = 0; t < batch.tokens.size(); ++t) {
    CHECK(batch.positions[t] >= 0 && batch.positions[t] < kv.context_tokens())
        << "position " << batch.positions[t] << " outside the context";
    kv.WriteRow(layer, batch.slots[t], batch.positions[t], keys + t * row, values + t * row);
  }
}

namespace {

// Folds rows [first_row, first_row + num_rows) of one KV head into the online softmax, with
// the kernel of the cache's type.
void AttendRows(const KvHeadRows& rows, int first_row, int num_rows, const float* query,
                int head_dim, float scale, kernels::AttentionState& state, float* accumulator) {
  const std::byte* keys = rows.keys + first_row * rows.row_bytes;
  const std::byte* values = rows.values + first_row * rows.row_bytes;
  switch (rows.type) {
    case KvType::kF16:
      kernels::AttendF16(query, reinterpret_cast<const uint16_t*>(keys),
                         reinterpret_cast<const uint16_t*>(values), num_rows,
                         rows.row_bytes / sizeof(uint16_t), head_dim, scale, state, accumulator);
      return;
    case KvType::kQ8_0:
      kernels::AttendQ8_0(query, reinterpret_cast<const BlockQ8_0*>(keys),
                          reinterpret_cast<const BlockQ8_0*>(values), num_rows,
                          rows.row_bytes / sizeof(BlockQ8_0), head_dim, scale, state, accumulator);
      return;
    case KvType::kQ4_0:
      kernels::AttendQ4_0(query, reinterpret_cast<const BlockQ4_0*>(keys),
                          reinterpret_cast<const BlockQ4_0*>(values), num_rows,
                          rows.row_bytes / sizeof(BlockQ4_0), head_dim, scale, state, accumulator);
      return;
  }
}

}  // namespace

void Attend(const Batch& batch, const LayerSpec& layer, int layer_index, const float* q,
            const float* sinks, const KvCache& kv, ThreadPool& pool, float* out) {
  const int num_tokens = static_cast<int>(batch.tokens.size());
  const int head_dim = layer.head_dim;
  const int group = layer.num_heads / layer.num_kv_heads;
  const int capacity = kv.capacity_tokens(layer_index);
  const int64_t work_items = static_cast<int64_t>(num_tokens) * layer.num_heads;
  pool.ParallelFor(work_items, 1, [&](int64_t begin, int64_t end, int) {
    for (int64_t item = begin; item < end; ++item) {
      const int t = static_cast<int>(item / layer.num_heads);
      const int head = static_cast<int>(item % layer.num_heads);
      const int position = batch.positions[t];
      int first = layer.window_tokens > 0 ? std::max(0, position - layer.window_tokens + 1) : 0;
      int last = position;
      // The union of the causal window and the token's block is one range: the block starts at
      // or before the token and ends at or after it. Its rows are in the KV (StoreKv came first)
      // and span at most one batch, which every ring holds beside its window.
      for (const BatchMedia& block : batch.media) {
        if (block.bidirectional && t >= block.first_token &&
            t < block.first_token + block.num_tokens) {
          first = std::min(first, batch.positions[block.first_token]);
          last = batch.positions[block.first_token + block.num_tokens - 1];
        }
      }
      const KvHeadRows rows = kv.HeadRows(layer_index, batch.slots[t], head / group);
      const float* query = q + (static_cast<int64_t>(t) * layer.num_heads + head) * head_dim;
      float* accumulator = out + (static_cast<int64_t>(t) * layer.num_heads + head) * head_dim;
      std::fill(accumulator, accumulator + head_dim, 0.0f);
      kernels::AttentionState state;
      // Positions first..last are rows first % capacity onwards, wrapping at most once.
      int remaining = last - first + 1;
      int row = first % capacity;
      while (remaining > 0) {
        const int run = std::min(remaining, capacity - row);
        AttendRows(rows, row, run, query, head_dim, layer.attention_scale, state, accumulator);
        remaining -= run;
        row = 0;
      }
      const float sink = sinks != nullptr ? sinks[head] : -HUGE_VALF;
      kernels::FinishAttention(state, accumulator, head_dim, sink, accumulator);
    }
  });
}

void GatedFfn(Projector& projector, const FfnWeights& ffn, Activation activation, const float* x,
              int64_t num_tokens, float* gate_buffer, float* up_buffer, float* y) {
  projector.Apply(ffn.gate, x, num_tokens, gate_buffer);
  projector.Apply(ffn.up, x, num_tokens, up_buffer);
  const int64_t size = num_tokens * ffn.gate.rows();
  if (activation == Activation::kGeluTanh) {
    kernels::GeluTanh(gate_buffer, gate_buffer, size);
  } else {
    kernels::Silu(gate_buffer, gate_buffer, size);
  }
  kernels::Mul(gate_buffer, up_buffer, gate_buffer, size);
  projector.Apply(ffn.down, gate_buffer, num_tokens, y);
}

}  // namespace snug

namespace snug {

RopeSpec MakeRope(int rotary_dims, float theta, float linear_scale, bool interleaved,
                  const float* factors) {
  RopeSpec rope;
  rope.interleaved = interleaved;
  rope.rotary_dims = rotary_dims;
  rope.frequencies.resize(rotary_dims / 2);
  for (int i = 0; i < rotary_dims / 2; ++i) {
    double frequency = std::pow(static_cast<double>(theta), -2.0 * i / rotary_dims);
    frequency /= linear_scale;
    if (factors != nullptr) frequency /= factors[i];
    rope.frequencies[i] = static_cast<float>(frequency);
  }
  return rope;
}

}  // namespace snug

namespace snug {

namespace {

// Every buffer of DecoderBuffers with its element count: the one list Allocate and BytesFor read.
std::vector<std::pair<std::vector<float> DecoderBuffers::*, size_t>> BufferLayout(
    const ModelSpec& spec, int batch_tokens) {
  const size_t b = batch_tokens;
  size_t max_q = 0, max_kv = 0, max_ffn = 0;
  for (const LayerSpec& s : spec.layers) {
    max_q = std::max<size_t>(max_q, static_cast<size_t>(s.num_heads) * s.head_dim);
    max_kv = std::max<size_t>(max_kv, static_cast<size_t>(s.num_kv_heads) * s.head_dim);
    max_ffn = std::max<size_t>(max_ffn, s.ffn_dim);
  }
  const size_t model = b * spec.model_dim;
  using B = DecoderBuffers;
  return {{&B::hidden, model},  {&B::normed, model}, {&B::projected, model},
          {&B::last, model},    {&B::q, b * max_q},  {&B::attention, b * max_q},
          {&B::k, b * max_kv},  {&B::v, b * max_kv}, {&B::gate, b * max_ffn},
          {&B::up, b * max_ffn}};
}

}  // namespace

void DecoderBuffers::Allocate(const ModelSpec& spec, int batch_tokens) {
  for (const auto& [buffer, elements] : BufferLayout(spec, batch_tokens)) {
    (this->*buffer).resize(elements);
  }
}

size_t DecoderBuffers::bytes() const {
  size_t total = 0;
  for (const auto* buffer :
       {&hidden, &normed, &projected, &last, &q, &attention, &k, &v, &gate, &up}) {
    total += buffer->size() * sizeof(float);
  }
  return total;
}

size_t DecoderBuffers::BytesFor(const ModelSpec& spec, int batch_tokens) {
  size_t total = 0;
  for (const auto& [buffer, elements] : BufferLayout(spec, batch_tokens)) {
    total += elements * sizeof(float);
  }
  return total;
}

EndWeights BindEnds(const gguf::File& file, WeightBinder& weights, ModelSpec& spec) {
  const gguf::TensorInfo* tensor = file.FindTensor("token_embd.weight");
  spec.vocab_size = tensor != nullptr ? static_cast<int>(tensor->view.rows()) : 0;
  EndWeights ends;
  ends.embedding = weights.Matrix("token_embd.weight", spec.vocab_size, spec.model_dim);
  ends.norm = weights.Vector("output_norm.weight", spec.model_dim);
  ends.output = weights.OptionalMatrix("output.weight", spec.vocab_size, spec.model_dim);
  if (ends.output.data == nullptr) ends.output = ends.embedding;  // tied embeddings
  return ends;
}

AttentionWeights BindAttention(WeightBinder& weights, const std::string& prefix,
                               const LayerSpec& layer, int model_dim, const AttentionParts& parts) {
  const int q_dim = layer.num_heads * layer.head_dim;
  const int kv_dim = layer.num_kv_heads * layer.head_dim;
  // A part: absent (never looked for), optional (null when the file lacks it) or required.
  const auto vector = [&](Part part, const std::string& name, int64_t size) -> const float* {
    if (part == Part::kNone) return nullptr;
    return part == Part::kRequired ? weights.Vector(prefix + name, size)
                                   : weights.OptionalVector(prefix + name, size);
  };
  AttentionWeights w;
  w.norm = weights.Vector(prefix + "attn_norm.weight", model_dim);
  w.q = weights.Matrix(prefix + "attn_q.weight", q_dim, model_dim);
  w.k = weights.Matrix(prefix + "attn_k.weight", kv_dim, model_dim);
  w.v = parts.value == Part::kRequired
            ? weights.Matrix(prefix + "attn_v.weight", kv_dim, model_dim)
            : weights.OptionalMatrix(prefix + "attn_v.weight", kv_dim, model_dim);
  w.output = weights.Matrix(prefix + "attn_output.weight", model_dim, q_dim);
  w.q_bias = vector(parts.qkv_bias, "attn_q.bias", q_dim);
  w.k_bias = vector(parts.qkv_bias, "attn_k.bias", kv_dim);
  w.v_bias = vector(parts.qkv_bias, "attn_v.bias", kv_dim);
  w.output_bias = vector(parts.output_bias, "attn_output.bias", model_dim);
  w.q_norm = vector(parts.qk_norm, "attn_q_norm.weight", layer.head_dim);
  w.k_norm = vector(parts.qk_norm, "attn_k_norm.weight", layer.head_dim);
  w.value_norm = parts.value_norm;
  w.sinks = vector(parts.sinks, "attn_sinks.weight", layer.num_heads);
  return w;
}

FfnWeights BindFfn(WeightBinder& weights, const std::string& prefix, int ffn_dim, int model_dim) {
  return {weights.Matrix(prefix + "ffn_gate.weight", ffn_dim, model_dim),
          weights.Matrix(prefix + "ffn_up.weight", ffn_dim, model_dim),
          weights.Matrix(prefix + "ffn_down.weight", model_dim, ffn_dim)};
}

}  // namespace snug

namespace snug {

void ForwardPass::ObserveRows(std::string_view name, int layer, const float* data,
                              int64_t width) const {
  const TensorView view{data, DType::kF32, 2, {num_tokens(), width, 0, 0}};
  (*observer)(name, layer, view);
}

void AttentionBlock(const ForwardPass& pass, int layer_index, const LayerSpec& layer,
                    const AttentionWeights& w, const RopeTable& rope, const float* x, float* y) {
  DecoderBuffers& b = pass.buffers;
  Projector& projector = pass.projector;
  const int64_t n = pass.num_tokens();
  const int64_t q_dim = static_cast<int64_t>(layer.num_heads) * layer.head_dim;
  const int64_t kv_dim = static_cast<int64_t>(layer.num_kv_heads) * layer.head_dim;
  const int64_t q_rows = n * layer.num_heads, kv_rows = n * layer.num_kv_heads;
  const float eps = pass.norm_eps;
  const int64_t model_dim = w.output.rows();
  RmsNormRows(x, w.norm, eps, n, model_dim, b.normed.data());
  const float* normed = b.normed.data();
  projector.Apply(w.q, normed, n, b.q.data());
  projector.Apply(w.k, normed, n, b.k.data());
  if (w.v.data != nullptr) projector.Apply(w.v, normed, n, b.v.data());
  if (w.q_bias != nullptr) Projector::AddBias(w.q_bias, n, q_dim, b.q.data());
  if (w.k_bias != nullptr) Projector::AddBias(w.k_bias, n, kv_dim, b.k.data());
  if (w.v_bias != nullptr) Projector::AddBias(w.v_bias, n, kv_dim, b.v.data());
  // V from the raw K (before its norm and RoPE) where the layer has no V projection.
  const float* values = w.v.data != nullptr ? b.v.data() : b.k.data();
  if (w.value_norm) {
    RmsNormRows(values, nullptr, eps, kv_rows, layer.head_dim, b.v.data());
  } else if (w.v.data == nullptr) {
    std::copy(b.k.begin(), b.k.begin() + n * kv_dim, b.v.begin());
  }
  if (w.q_norm != nullptr)
    RmsNormRows(b.q.data(), w.q_norm, eps, q_rows, layer.head_dim, b.q.data());
  if (w.k_norm != nullptr)
    RmsNormRows(b.k.data(), w.k_norm, eps, kv_rows, layer.head_dim, b.k.data());
  rope.Apply(b.q.data(), n, layer.num_heads, layer.head_dim);
  rope.Apply(b.k.data(), n, layer.num_kv_heads, layer.head_dim);
  StoreKv(pass.batch, layer_index, b.k.data(), b.v.data(), pass.kv);
  Attend(pass.batch, layer, layer_index, b.q.data(), w.sinks, pass.kv, projector.pool(),
         b.attention.data());
  projector.Apply(w.output, b.attention.data(), n, y);
  if (w.output_bias != nullptr) Projector::AddBias(w.output_bias, n, model_dim, y);
  pass.Observe("attn_out", layer_index, y, model_dim);
}

void FfnBlock(const ForwardPass& pass, int layer_index, const FfnWeights& ffn,
              Activation activation, const float* x, float* y) {
  GatedFfn(pass.projector, ffn, activation, x, pass.num_tokens(), pass.buffers.gate.data(),
           pass.buffers.up.data(), y);
  pass.Observe("ffn_out", layer_index, y, ffn.down.rows());
}

void AddResidual(const ForwardPass& pass, const float* y) {
  float* hidden = pass.buffers.hidden.data();
  kernels::Add(hidden, y, hidden, pass.num_tokens() * pass.model_dim);
}

void LogitsBlock(const ForwardPass& pass, const EndWeights& ends, float softcap, float* logits) {
  const Batch& batch = pass.batch;
  DecoderBuffers& buffers = pass.buffers;
  const int64_t model_dim = pass.model_dim;
  const int64_t rows = static_cast<int64_t>(batch.logit_indices.size());
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t index = batch.logit_indices[r];
    CHECK(index >= 0 && index < static_cast<int64_t>(batch.tokens.size()));
    kernels::RmsNorm(buffers.hidden.data() + index * model_dim, ends.norm, pass.norm_eps, model_dim,
                     buffers.last.data() + r * model_dim);
  }
  if (pass.observer != nullptr) {
    const TensorView view{buffers.last.data(), DType::kF32, 2, {rows, model_dim, 0, 0}};
    (*pass.observer)("result_norm", -1, view);
  }
  if (rows == 0) return;
  pass.projector.Apply(ends.output, buffers.last.data(), rows, logits);
  if (softcap <= 0.0f) return;
  // Split over the pool: a 262,144-entry vocabulary is that many tanh per row.
  const float inverse = 1.0f / softcap;
  const int64_t count = rows * ends.output.rows();
  pass.projector.pool().ParallelFor(count, 4096, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) logits[i] = softcap * std::tanh(logits[i] * inverse);
  });
}

}  // namespace snug
