// Imports a Hugging Face / MLX model directory as a composed GGUF file (hf_import.h): finds the
// architecture from config.json's model_type, lets it write its GGUF keys, maps every tensor of
// its name table (MLX quantization by the `.scales` rule, specs/models.md §1.3) and adds the
// tokenizer keys.
#include "models/hf_import.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <utility>

#include "formats/hf_cache.h"
#include "kernels/kernels.h"
#include "tokenizer/vocabulary.h"

namespace snug {
namespace {

using Json = nlohmann::json;

// What the composed File keeps alive: the mapped shards and the vectors converted to f32.
struct Storage {
  safetensors::ShardedWeights weights;
  std::deque<std::vector<float>> vectors;  // deque: views into earlier vectors stay valid
};

// Where the text model's tensors live: "model.language_model.layers.0..." (transformers
// ConditionalGeneration), "language_model.model.layers.0..." (mlx-vlm), "model.layers.0..."
// (CausalLM); `top` is where lm_head sits beside it.
struct Prefixes {
  std::string model;
  std::string top;
};

Result<Prefixes> FindPrefixes(const safetensors::ShardedWeights& weights) {
  static constexpr std::pair<std::string_view, std::string_view> kCandidates[] = {
      {"model.language_model.", ""},
      {"language_model.model.", "language_model."},
      {"model.", ""},
      {"", ""}};
  for (const auto& [model, top] : kCandidates) {
    if (weights.Find(std::string(model) + "embed_tokens.weight") != nullptr) {
      return Prefixes{std::string(model), std::string(top)};
    }
  }
  return NotFound(
      "model: the weights have no embed_tokens.weight (under model., "
      "model.language_model. or language_model.model.)");
}

const Json* Member(const Json& object, std::string_view key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

// The MLX quantization of one weight.
struct MlxQuantization {
  DType dtype = DType::kF32;  // an MLX type (tensor/dtype.h IsMlx)
  int64_t group_size = 0;
};

// config.json's quantization of module `module` (its path, without ".weight"): the global
// "quantization" (or "quantization_config"), or a per-module override. mlx-lm passes an override
// to to_quantized() as it stands, so what it omits takes MLX's defaults (mode affine; group 64
// and 4 bits, mxfp4: 32 and 4), not the global values (mlx/nn/layers/quantized.py).
Result<MlxQuantization> QuantizationOf(const Json& config, const std::string& module) {
  const Json* section = Member(config, "quantization");
  if (section == nullptr) section = Member(config, "quantization_config");
  if (section == nullptr || !section->is_object()) {
    return InvalidArgument("model: tensor '" + module +
                           ".scales' says the weight is MLX-quantized but config.json has no "
                           "\"quantization\"");
  }
  const Json* chosen = section;
  if (const Json* override_entry = Member(*section, module);
      override_entry != nullptr && override_entry->is_object()) {
    chosen = override_entry;
  }
  const auto integer = [&](const char* key, int64_t fallback) -> int64_t {
    const Json* value = Member(*chosen, key);
    return value != nullptr && value->is_number_integer() ? value->get<int64_t>() : fallback;
  };
  const Json* mode_value = Member(*chosen, "mode");
  const std::string mode =
      mode_value != nullptr && mode_value->is_string() ? mode_value->get<std::string>() : "affine";
  MlxQuantization quantization;
  const int64_t bits = integer("bits", 4);
  quantization.group_size = integer("group_size", mode == "mxfp4" ? 32 : 64);
  if (mode == "mxfp4") {
    if (bits != 4 || quantization.group_size != 32) {
      return InvalidArgument("model: " + module + ": mxfp4 needs bits 4 and group_size 32");
    }
    quantization.dtype = DType::kMlxMXFP4;
  } else if (mode == "affine") {
    const std::optional<DType> type = MlxAffineType(static_cast<int>(bits));
    if (!type) {
      return Unimplemented("model: " + module + ": MLX affine " + std::to_string(bits) +
                           "-bit is not supported (2, 3, 4, 5, 6, 8 are)");
    }
    quantization.dtype = *type;
  } else {
    return Unimplemented("model: " + module + ": MLX quantization mode '" + mode +
                         "' is not supported (affine, mxfp4 are)");
  }
  const int64_t group = quantization.group_size;
  if (group != 32 && group != 64 && group != 128) {
    return InvalidArgument("model: " + module + ": group_size " + std::to_string(group) +
                           " (32, 64 or 128)");
  }
  return quantization;
}

std::optional<DType> ScaleType(safetensors::ElementType type) {
  switch (type) {
    case safetensors::ElementType::kBF16:
      return DType::kBF16;
    case safetensors::ElementType::kF16:
      return DType::kF16;
    case safetensors::ElementType::kF32:
      return DType::kF32;
    default:
      return std::nullopt;
  }
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// An MLX-quantized weight `<module>.weight` with its `.scales` (and `.biases`) as one view.
Result<TensorView> QuantizedView(const safetensors::ShardedWeights& weights, const Json& config,
                                 const std::string& module) {
  const safetensors::ShardedWeights::Entry& codes = *weights.Find(module + ".weight");
  const safetensors::ShardedWeights::Entry& scales = *weights.Find(module + ".scales");
  const safetensors::ShardedWeights::Entry* biases = weights.Find(module + ".biases");
  ASSIGN_OR_RETURN(const MlxQuantization quantization, QuantizationOf(config, module));
  const safetensors::TensorInfo& info = *codes.info;
  const std::string what = "model: MLX weight '" + module + ".weight'";
  if ((info.type != safetensors::ElementType::kU32 && info.type != safetensors::ElementType::kU8) ||
      info.shape.size() < 2 || info.shape.size() > static_cast<size_t>(kMaxDims)) {
    return InvalidArgument(what + " must be U32 codes of rank 2..4");
  }
  const int bits = MlxBits(quantization.dtype);
  const int64_t row_bytes = info.shape.back() * static_cast<int64_t>(ElementBytes(info.type));
  const int64_t cols = row_bytes * 8 / bits;
  const int64_t group = quantization.group_size;
  if (cols <= 0 || cols % group != 0 || RowBytes(quantization.dtype, cols) != row_bytes) {
    return InvalidArgument(what + " has rows of " + std::to_string(row_bytes) +
                           " bytes, not whole groups of " + std::to_string(group) + " " +
                           std::to_string(bits) + "-bit values");
  }
  std::vector<int64_t> scale_shape = info.shape;
  scale_shape.back() = cols / group;
  const auto check_groups = [&](const safetensors::TensorInfo& tensor) -> Result<DType> {
    const bool mxfp4 = quantization.dtype == DType::kMlxMXFP4;
    const std::optional<DType> type = ScaleType(tensor.type);
    if (tensor.shape != scale_shape ||
        (mxfp4 ? tensor.type != safetensors::ElementType::kU8 : !type)) {
      return InvalidArgument("model: MLX tensor '" + tensor.name + "' must be " +
                             (mxfp4 ? "U8" : "BF16/F16/F32") + " of shape " +
                             ShapeText(scale_shape));
    }
    return mxfp4 ? DType::kBF16 : *type;
  };
  TensorView view;
  view.data = codes.data().data();
  view.dtype = quantization.dtype;
  view.num_dims = static_cast<int>(info.shape.size());
  for (int d = 0; d < view.num_dims; ++d) view.shape[d] = info.shape[d];
  view.shape[view.num_dims - 1] = cols;
  ASSIGN_OR_RETURN(view.groups.scale_dtype, check_groups(*scales.info));
  view.groups.scales = scales.data().data();
  view.groups.group_size = group;
  if (quantization.dtype != DType::kMlxMXFP4) {
    if (biases == nullptr) return InvalidArgument(what + " has scales but no '.biases'");
    ASSIGN_OR_RETURN(const DType bias_type, check_groups(*biases->info));
    if (bias_type != view.groups.scale_dtype) {
      return InvalidArgument(what + ": scales and biases differ in type");
    }
    view.groups.biases = biases->data().data();
  }
  return view;
}

// The view of tensor `full`: quantized iff a sibling `.scales` exists (mlx-lm's rule), else float.
Result<TensorView> MapTensor(const safetensors::ShardedWeights& weights, const Json& config,
                             const std::string& full) {
  if (full.ends_with(".weight")) {
    const std::string module = full.substr(0, full.size() - 7);
    if (weights.Find(module + ".scales") != nullptr) {
      return QuantizedView(weights, config, module);
    }
  }
  const safetensors::ShardedWeights::Entry& entry = *weights.Find(full);
  return safetensors::FloatView(*entry.info, entry.data());
}

TensorView F32View(const std::vector<float>& values, const TensorView& shape_of) {
  TensorView view = shape_of;
  view.data = values.data();
  view.dtype = DType::kF32;
  view.groups = {};
  return view;
}

Status AddTokenizer(const ModelDirectory& dir, gguf::Writer& writer) {
  if (!dir.tokenizer_json) return Status::Ok();  // enough for `snug plan`; loading says what lacks
  ASSIGN_OR_RETURN(tokenizer::Vocabulary vocab, tokenizer::LoadHuggingFaceDirectory(dir.path));
  if (vocab.chat_template.empty() && dir.chat_template) {
    ASSIGN_OR_RETURN(vocab.chat_template, ReadTextFile(*dir.chat_template, kMaxModelJsonBytes));
  }
  tokenizer::WriteVocabularyToGguf(vocab, writer);
  return Status::Ok();
}

const Architecture* ArchitectureOf(const ModelDirectory& dir) {
  if (const Architecture* entry = FindHfArchitecture(dir.model_type())) return entry;
  const Json* type = Member(dir.text_config(), "model_type");
  return type != nullptr && type->is_string() ? FindHfArchitecture(type->get<std::string>())
                                              : nullptr;
}

}  // namespace

std::string ExpandLayer(std::string_view pattern, int layer) {
  std::string text(pattern);
  const size_t at = text.find("{layer}");
  if (at != std::string::npos) text.replace(at, 7, std::to_string(layer));
  return text;
}

std::vector<float> ReadF32(const TensorView& view) {
  std::vector<float> values(static_cast<size_t>(view.elements()));
  for (int64_t row = 0; row < view.rows(); ++row) {
    kernels::DequantizeRow(view, row, values.data() + row * view.cols());
  }
  return values;
}

Result<int64_t> HfImporter::IntOr(std::string_view key, int64_t fallback) const {
  const Json* value = Member(config_, key);
  if (value == nullptr) return fallback;
  if (!value->is_number_integer()) {
    return InvalidArgument("model: config.json: '" + std::string(key) + "' is not an integer");
  }
  return value->get<int64_t>();
}

Result<int64_t> HfImporter::Int(std::string_view key) const {
  if (Member(config_, key) == nullptr) {
    return NotFound("model: config.json: '" + std::string(key) + "' is missing");
  }
  return IntOr(key, 0);
}

Result<double> HfImporter::FloatOr(std::string_view key, double fallback) const {
  const Json* value = Member(config_, key);
  if (value == nullptr) return fallback;
  if (!value->is_number()) {
    return InvalidArgument("model: config.json: '" + std::string(key) + "' is not a number");
  }
  return value->get<double>();
}

Result<bool> HfImporter::BoolOr(std::string_view key, bool fallback) const {
  const Json* value = Member(config_, key);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) {
    return InvalidArgument("model: config.json: '" + std::string(key) + "' is not a boolean");
  }
  return value->get<bool>();
}

const Json* HfImporter::Object(std::string_view key) const {
  const Json* value = Member(config_, key);
  return value != nullptr && value->is_object() ? value : nullptr;
}

Status HfImporter::CopyCount(std::string_view key, const std::string& gguf_key) {
  ASSIGN_OR_RETURN(const int64_t value, Int(key));
  if (value <= 0 || value > (int64_t{1} << 24)) {
    return OutOfRange("model: config.json: '" + std::string(key) + "' = " + std::to_string(value) +
                      " is out of range");
  }
  metadata_.SetU32(gguf_key, static_cast<uint32_t>(value));
  return Status::Ok();
}

Status HfImporter::CopyBasics(std::string_view architecture) {
  const std::string prefix = std::string(architecture) + ".";
  RETURN_IF_ERROR(CopyCount("hidden_size", prefix + "embedding_length"));
  RETURN_IF_ERROR(CopyCount("num_hidden_layers", prefix + "block_count"));
  RETURN_IF_ERROR(CopyCount("num_attention_heads", prefix + "attention.head_count"));
  RETURN_IF_ERROR(CopyCount("intermediate_size", prefix + "feed_forward_length"));
  if (Member(config_, "max_position_embeddings") != nullptr) {
    RETURN_IF_ERROR(CopyCount("max_position_embeddings", prefix + "context_length"));
  }
  if (Member(config_, "rms_norm_eps") != nullptr) {
    ASSIGN_OR_RETURN(const double eps, FloatOr("rms_norm_eps", 0));
    metadata_.SetF32(prefix + "attention.layer_norm_rms_epsilon", static_cast<float>(eps));
  }
  return Status::Ok();
}

Result<int64_t> HfImporter::CopyHeads(std::string_view architecture, int64_t default_head_dim) {
  const std::string p = std::string(architecture) + ".";
  ASSIGN_OR_RETURN(const int64_t heads, Int("num_attention_heads"));
  ASSIGN_OR_RETURN(const int64_t hidden, Int("hidden_size"));
  ASSIGN_OR_RETURN(const int64_t kv_heads, IntOr("num_key_value_heads", heads));
  if (heads <= 0) return OutOfRange("model: config.json: 'num_attention_heads' must be positive");
  ASSIGN_OR_RETURN(const int64_t head_dim,
                   IntOr("head_dim", default_head_dim > 0 ? default_head_dim : hidden / heads));
  metadata_.SetU32(p + "attention.head_count_kv", static_cast<uint32_t>(kv_heads));
  metadata_.SetU32(p + "attention.key_length", static_cast<uint32_t>(head_dim));
  metadata_.SetU32(p + "attention.value_length", static_cast<uint32_t>(head_dim));
  return head_dim;
}

bool HfImporter::CopyLinearScaling(std::string_view architecture, const Rope& rope) {
  if (rope.type != "linear") return false;
  const std::string p = std::string(architecture) + ".";
  metadata_.SetString(p + "rope.scaling.type", "linear");
  metadata_.SetF32(p + "rope.scaling.factor", static_cast<float>(rope.Param("factor", 1.0)));
  return true;
}

double HfImporter::Rope::Param(std::string_view key, double fallback) const {
  if (params == nullptr) return fallback;
  const Json* value = Member(*params, key);
  return value != nullptr && value->is_number() ? value->get<double>() : fallback;
}

HfImporter::Rope HfImporter::RopeOf(std::string_view layer_type, double default_theta) const {
  Rope rope;
  if (const Json* parameters = Object("rope_parameters")) {
    const Json* per_type = Member(*parameters, layer_type);
    rope.params = per_type != nullptr && per_type->is_object() ? per_type : parameters;
  } else {
    rope.params = Object("rope_scaling");
  }
  const Json* theta = rope.params != nullptr ? Member(*rope.params, "rope_theta") : nullptr;
  if (theta == nullptr) theta = Member(config_, "rope_theta");
  rope.theta = theta != nullptr && theta->is_number() ? theta->get<double>() : default_theta;
  if (rope.params != nullptr) {
    const Json* type = Member(*rope.params, "rope_type");
    if (type == nullptr) type = Member(*rope.params, "type");
    if (type != nullptr && type->is_string()) rope.type = type->get<std::string>();
  }
  return rope;
}

void HfImporter::AddF32(std::string name, std::vector<int64_t> shape, std::vector<float> values) {
  extras_.push_back({std::move(name), std::move(shape), std::move(values)});
}

Result<gguf::File> ImportModelDirectory(ModelDirectory dir, const std::string& name) {
  const Architecture* entry = ArchitectureOf(dir);
  if (entry == nullptr || entry->hf_import == nullptr) {
    return Unimplemented("model: " + dir.path + "/config.json: model_type '" + dir.model_type() +
                         "' is not supported (gemma3, gemma4, gpt_oss, llama, qwen2, qwen3 are)");
  }
  auto storage = std::make_shared<Storage>();
  storage->weights = std::move(dir.weights);
  const safetensors::ShardedWeights& weights = storage->weights;
  ASSIGN_OR_RETURN(const Prefixes prefixes, FindPrefixes(weights));
  gguf::Writer metadata;
  metadata.SetString("general.architecture", entry->name);
  metadata.SetString("general.name", name);
  HfImporter import(dir.text_config(), metadata, [&](std::string_view hf) {
    return weights.Find(prefixes.model + std::string(hf)) != nullptr;
  });
  RETURN_IF_ERROR(entry->hf_import(import, entry->name));
  RETURN_IF_ERROR(AddTokenizer(dir, metadata));
  ASSIGN_OR_RETURN(const int64_t num_layers, import.Int("num_hidden_layers"));
  std::vector<gguf::File::ComposedTensor> tensors;
  for (const HfTensorName& names : entry->hf_tensors) {
    const bool per_layer = names.gguf.find("{layer}") != std::string_view::npos;
    for (int layer = 0; layer < (per_layer ? num_layers : 1); ++layer) {
      const std::string hf = ExpandLayer(names.hf, layer);
      std::string full = hf.starts_with('^') ? prefixes.top + hf.substr(1) : prefixes.model + hf;
      // mlx-vlm saves the modules beside the language model without "model." (Gemma 4
      // unified: vision_embedder.*, embed_vision.*, embed_audio.* at the root).
      if (weights.Find(full) == nullptr && hf.starts_with("^model.")) full = hf.substr(7);
      if (weights.Find(full) == nullptr) continue;  // optional; the binder names what lacks
      ASSIGN_OR_RETURN(TensorView view, MapTensor(weights, dir.config, full));
      if (names.transform == HfTransform::kToF32 || names.transform == HfTransform::kNormPlusOne) {
        const float offset = names.transform == HfTransform::kNormPlusOne ? 1.0f : 0.0f;
        std::vector<float> values = ReadF32(view);
        for (float& value : values) value += offset;
        storage->vectors.push_back(std::move(values));
        view = F32View(storage->vectors.back(), view);
      }
      tensors.push_back({ExpandLayer(names.gguf, layer), view});
    }
  }
  for (HfImporter::Extra& extra : import.extras()) {
    storage->vectors.push_back(std::move(extra.values));
    TensorView view{nullptr, DType::kF32, static_cast<int>(extra.shape.size())};
    for (size_t d = 0; d < extra.shape.size(); ++d) view.shape[d] = extra.shape[d];
    tensors.push_back({std::move(extra.name), F32View(storage->vectors.back(), view)});
  }
  return gguf::File::Compose(metadata.WriteToMemory(), std::move(tensors), std::move(storage));
}

namespace {

// The GGUF file of a snapshot without config.json: the only one, or an error naming them all.
Result<std::string> SnapshotGgufFile(const std::string& snapshot, const std::string& name) {
  std::vector<std::string> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(snapshot, error)) {
    if (entry.path().extension() == ".gguf") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.size() == 1) return files.front();
  if (files.empty()) {
    return NotFound("model: the cached snapshot of '" + name + "' (" + snapshot +
                    ") has neither config.json nor a .gguf file");
  }
  std::string list;
  for (const std::string& file : files) list += "\n  " + file;
  return InvalidArgument("model: the cached snapshot of '" + name +
                         "' holds several GGUF files; name one by its path:" + list);
}

}  // namespace

Result<gguf::File> OpenModelSource(const std::string& name) {
  std::error_code error;
  if (std::filesystem::is_directory(name, error)) {
    ASSIGN_OR_RETURN(ModelDirectory dir, ModelDirectory::Open(name));
    return ImportModelDirectory(std::move(dir), name);
  }
  if (!std::filesystem::exists(name, error)) {
    if (const std::optional<hf::RepoName> repo = hf::ParseRepoName(name)) {
      const std::string cache = hf::CacheDir(hf::ProcessEnvironment());
      ASSIGN_OR_RETURN(const std::string snapshot, hf::SnapshotDir(cache, *repo));
      if (!IsModelDirectory(snapshot)) {
        // A GGUF repository (`snug pull ORG/NAME --file X.gguf`): its one GGUF file.
        ASSIGN_OR_RETURN(const std::string file, SnapshotGgufFile(snapshot, name));
        return gguf::File::Open(file);
      }
      ASSIGN_OR_RETURN(ModelDirectory dir, ModelDirectory::Open(snapshot));
      return ImportModelDirectory(std::move(dir), name);
    }
  }
  return gguf::File::Open(name);
}

std::string ModelId(const std::string& name) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (!fs::exists(name, error) && !name.ends_with(".gguf") && hf::ParseRepoName(name)) {
    return name;
  }
  fs::path path(name);
  if (!path.has_filename()) path = path.parent_path();  // "dir/" -> "dir"
  return fs::is_directory(path, error) ? path.filename().string() : path.stem().string();
}

}  // namespace snug
