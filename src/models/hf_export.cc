// GGUF -> Hugging Face / MLX directory (hf_export.h): each tensor of the architecture's HF name
// table is read as f32, its GGUF conversion undone, and written as float or MLX-quantized
// (specs/models.md §1.3: `.weight` codes as U32, `.scales` and `.biases` beside it). Tensors are
// produced one at a time when the safetensors writer asks for them.
#include "models/hf_export.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "formats/safetensors.h"
#include "kernels/kernels.h"
#include "models/hf_import.h"
#include "models/registry.h"
#include "tokenizer/vocabulary.h"

namespace snug {
namespace {

using Json = nlohmann::ordered_json;

safetensors::ElementType ElementOf(DType type) {
  switch (type) {
    case DType::kF32:
      return safetensors::ElementType::kF32;
    case DType::kF16:
      return safetensors::ElementType::kF16;
    default:
      return safetensors::ElementType::kBF16;
  }
}

// One output tensor's values, computed when the writer first asks for any of its arrays.
struct Pending {
  std::vector<float> values;  // f32, HF layout
  std::vector<uint8_t> codes, scales, biases;
};

}  // namespace

// Within each head, GGUF row 2j + i holds HF row i·(head_dim/2) + j (convert_hf_to_gguf permute).
std::vector<float> PermuteRopePairs(const std::vector<float>& values, int64_t rows, int64_t cols,
                                    int heads, bool to_gguf) {
  std::vector<float> out(values.size());
  const int64_t head_dim = rows / heads, half = head_dim / 2;
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < 2; ++i) {
      for (int64_t j = 0; j < half; ++j) {
        const int64_t gguf_row = h * head_dim + 2 * j + i, hf_row = h * head_dim + i * half + j;
        const float* from = values.data() + (to_gguf ? hf_row : gguf_row) * cols;
        std::copy(from, from + cols, out.data() + (to_gguf ? gguf_row : hf_row) * cols);
      }
    }
  }
  return out;
}

Status WriteHfDirectory(const gguf::File& file, const std::string& config_json,
                        const HfExportOptions& options, const std::string& dir) {
  const Architecture* entry = FindArchitecture(file.architecture());
  if (entry == nullptr || entry->hf_tensors.empty()) {
    return Unimplemented("make-model: architecture '" + std::string(file.architecture()) +
                         "' has no Hugging Face names");
  }
  ASSIGN_OR_RETURN(const ModelSpec spec, ReadModelSpec(file));
  const bool permuted = file.Find(kHfRopePairsKey) == nullptr;  // imported HF: already HF order
  Json quantization = {
      {"group_size", options.group_size}, {"bits", options.bits}, {"mode", "affine"}};
  const std::optional<DType> affine = MlxAffineType(options.bits);
  if (options.mlx && !affine) {
    return InvalidArgument("make-model: --bits " + std::to_string(options.bits) +
                           " (2, 3, 4, 5, 6 or 8)");
  }
  safetensors::Writer writer;
  for (const HfTensorName& names : entry->hf_tensors) {
    const bool per_layer = names.gguf.find("{layer}") != std::string_view::npos;
    for (int layer = 0; layer < (per_layer ? static_cast<int>(spec.layers.size()) : 1); ++layer) {
      const gguf::TensorInfo* tensor = file.FindTensor(ExpandLayer(names.gguf, layer));
      if (tensor == nullptr) continue;
      const TensorView view = tensor->view;
      const std::string hf = ExpandLayer(names.hf, layer);
      const std::string full = hf.starts_with('^') ? hf.substr(1) : "model." + hf;
      const std::string module = full.ends_with(".weight") ? full.substr(0, full.size() - 7) : "";
      std::vector<int64_t> shape(view.shape.begin(), view.shape.begin() + view.num_dims);
      const HfTransform transform = names.transform;
      auto pending = std::make_shared<Pending>();
      const auto values = [ pending, view, transform, permuted, &spec, layer ]() -> auto& {
        if (pending->values.empty()) {
          pending->values = ReadF32(view);
          if (transform == HfTransform::kNormPlusOne) {
            for (float& value : pending->values) value -= 1.0f;
          } else if ((transform == HfTransform::kRopePairsQ ||
                      transform == HfTransform::kRopePairsK) &&
                     permuted) {
            const LayerSpec& s = spec.layers[layer];
            pending->values = PermuteRopePairs(
                pending->values, view.rows(), view.cols(),
                transform == HfTransform::kRopePairsQ ? s.num_heads : s.num_kv_heads,
                /*to_gguf=*/false);
          }
        }
        return pending->values;
      };
      const bool experts = view.num_dims == 3 && names.gguf.ends_with("_exps.weight");
      const bool matrix =
          view.num_dims >= 2 && !module.empty() &&
          (transform == HfTransform::kNone || transform == HfTransform::kRopePairsQ ||
           transform == HfTransform::kRopePairsK);
      const bool mxfp4 = options.mlx && experts && options.mxfp4_experts;
      const int64_t group = mxfp4 ? 32 : options.group_size;
      if (!options.mlx || !matrix || view.cols() % group != 0) {
        const DType type = options.float_type;
        writer.AddTensor(
            full, ElementOf(type), shape, [values, type, view](std::span<uint8_t> out) {
              kernels::Quantize(type, values().data(), view.rows(), view.cols(), out.data());
            });
        continue;
      }
      const DType type = mxfp4 ? DType::kMlxMXFP4 : *affine;
      if (mxfp4) quantization[module] = {{"group_size", 32}, {"bits", 4}, {"mode", "mxfp4"}};
      const auto quantize = [pending, values, type, group, view] {
        if (!pending->codes.empty()) return;
        const int64_t rows = view.rows(), cols = view.cols();
        const int64_t scale_bytes = kernels::MlxScaleBytes(type, DType::kBF16, rows, cols, group);
        pending->codes.resize(rows * RowBytes(type, cols));
        pending->scales.resize(scale_bytes);
        if (type != DType::kMlxMXFP4) pending->biases.resize(scale_bytes);
        kernels::QuantizeMlx(type, group, DType::kBF16, values().data(), rows, cols,
                             pending->codes.data(), pending->scales.data(),
                             type == DType::kMlxMXFP4 ? nullptr : pending->biases.data());
        std::vector<float>().swap(pending->values);
      };
      const auto copy = [quantize](std::vector<uint8_t>& from, std::span<uint8_t> out) {
        quantize();
        std::memcpy(out.data(), from.data(), out.size());
        std::vector<uint8_t>().swap(from);
      };
      std::vector<int64_t> code_shape = shape, scale_shape = shape;
      code_shape.back() = RowBytes(type, view.cols()) / 4;
      scale_shape.back() = view.cols() / group;
      writer.AddTensor(full, safetensors::ElementType::kU32, code_shape,
                       [pending, copy](std::span<uint8_t> out) { copy(pending->codes, out); });
      writer.AddTensor(module + ".scales",
                       mxfp4 ? safetensors::ElementType::kU8 : safetensors::ElementType::kBF16,
                       scale_shape,
                       [pending, copy](std::span<uint8_t> out) { copy(pending->scales, out); });
      if (!mxfp4) {
        writer.AddTensor(module + ".biases", safetensors::ElementType::kBF16, scale_shape,
                         [pending, copy](std::span<uint8_t> out) { copy(pending->biases, out); });
      }
    }
  }

  Json config = Json::parse(config_json);
  if (options.mlx) {
    config["quantization"] = quantization;
    config["quantization_config"] = quantization;
  }
  ASSIGN_OR_RETURN(const tokenizer::Vocabulary vocab, tokenizer::VocabularyFromGguf(file));
  ASSIGN_OR_RETURN(const std::string tokenizer_json, tokenizer::TokenizerJson(vocab));
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return NotFound("make-model: cannot create " + dir + ": " + error.message());
  const auto write_text = [&](const char* name, const std::string& text) -> Status {
    std::ofstream out(dir + "/" + name, std::ios::binary);
    if (!(out << text << "\n")) return DataLoss("make-model: cannot write " + dir + "/" + name);
    return Status::Ok();
  };
  RETURN_IF_ERROR(write_text("config.json", config.dump(2)));
  RETURN_IF_ERROR(write_text("tokenizer.json", tokenizer_json));
  RETURN_IF_ERROR(write_text("tokenizer_config.json", tokenizer::TokenizerConfigJson(vocab)));
  writer.SetMetadata("format", options.mlx ? "mlx" : "pt");
  return writer.Write(dir + "/model.safetensors");
}

namespace {

// Which heads a Llama q/k tensor has, when its rows must be permuted back; 0 otherwise.
int RopePairHeads(const gguf::File& file, const ModelSpec& spec, std::string_view name) {
  if (file.Find(kHfRopePairsKey) == nullptr) return 0;
  for (size_t layer = 0; layer < spec.layers.size(); ++layer) {
    const std::string prefix = "blk." + std::to_string(layer) + ".";
    if (name == prefix + "attn_q.weight") return spec.layers[layer].num_heads;
    if (name == prefix + "attn_k.weight") return spec.layers[layer].num_kv_heads;
  }
  return 0;
}

}  // namespace

Status ConvertToGguf(const gguf::File& file, DType type, const std::string& path) {
  if (IsMlx(type) || !kernels::CanQuantize(type)) {
    return InvalidArgument("convert: '" + std::string(Name(type)) +
                           "' is not a GGUF type snug writes (f32 f16 bf16 q8_0 q4_0 q4_k ...)");
  }
  ASSIGN_OR_RETURN(const ModelSpec spec, ReadModelSpec(file));
  gguf::Writer writer;
  for (const gguf::KeyValue& kv : file.metadata()) {
    // general.file_type described the source's types; the permutation key no longer holds.
    if (kv.key == kHfRopePairsKey || kv.key == "general.file_type") continue;
    writer.SetValue(kv.key, kv.value);
  }
  for (const gguf::TensorInfo& tensor : file.tensors()) {
    const TensorView view = tensor.view;
    const std::string name(tensor.name);
    DType stored = type;
    if (view.num_dims == 1 || name.ends_with(".bias")) {
      stored = DType::kF32;
    } else if (view.cols() % Info(type).block_elements != 0) {
      stored = DType::kF16;
    }
    const int heads = RopePairHeads(file, spec, name);
    std::vector<int64_t> shape(view.shape.begin(), view.shape.begin() + view.num_dims);
    writer.AddTensor(name, stored, shape, [view, stored, heads](std::span<uint8_t> out) {
      std::vector<float> values = ReadF32(view);
      if (heads > 0) {
        values = PermuteRopePairs(values, view.rows(), view.cols(), heads, /*to_gguf=*/true);
      }
      kernels::Quantize(stored, values.data(), view.rows(), view.cols(), out.data());
    });
  }
  return writer.Write(path);
}

}  // namespace snug
