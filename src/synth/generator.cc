// Types per tensor, the GGUF metadata, and the weight fills.
#include "synth/generator.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string_view>
#include <thread>

#include "base/check.h"
#include "base/thread_pool.h"
#include "kernels/kernels.h"
#include "synth/random.h"

namespace snug::synth {
namespace {

bool RowsFit(DType type, int64_t cols) { return cols % Info(type).block_elements == 0; }

// llama.cpp's llama-quant.cpp substitutes these when a row is not a multiple of 256.
DType KFallback(DType type) {
  switch (type) {
    case DType::kQ4_K:
      return DType::kQ5_0;
    case DType::kQ5_K:
      return DType::kQ5_1;
    case DType::kQ6_K:
      return DType::kQ8_0;
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kIQ4_XS:
      return DType::kIQ4_NL;
    default:
      return DType::kQ8_0;
  }
}

// Values of one tensor row into `out` (cols floats).
void DrawRow(const TensorSpec& spec, uint64_t seed, uint64_t name_hash, int64_t row, float* out) {
  const int64_t cols = spec.shape.back();
  if (!spec.values.empty()) {
    std::copy_n(spec.values.begin() + row * cols, cols, out);
    return;
  }
  SplitMix64 stream = RowStream(seed, name_hash, row);
  for (int64_t c = 0; c < cols; ++c) out[c] = spec.center + spec.stddev * stream.Normalish();
}

// llama.cpp's use_more_bits: the first and last eighth of the layers, every third between.
bool MoreBits(int layer, int num_layers) {
  return layer < num_layers / 8 || layer >= 7 * num_layers / 8 ||
         (layer - num_layers / 8) % 3 == 2;
}

// Q6_K for attn_v and ffn_down of the layers MoreBits picks, under the _M mix.
bool MixTakesQ6K(const std::string& name, int num_layers) {
  int layer = -1;
  int consumed = 0;
  if (std::sscanf(name.c_str(), "blk.%d.%n", &layer, &consumed) != 1 || consumed == 0) return false;
  const std::string_view role = std::string_view(name).substr(static_cast<size_t>(consumed));
  const bool mixed = role.starts_with("attn_v.") || role.starts_with("ffn_down.");
  return mixed && MoreBits(layer, num_layers);
}

// The type asked for, before a row that does not fit its blocks falls back.
DType RequestedType(const TensorSpec& spec, const TypeOptions& types, int num_layers) {
  DType type = types.main;
  switch (spec.tensor_class) {
    case TensorClass::kVector:
    case TensorClass::kRouter:
      return DType::kF32;
    case TensorClass::kExperts:
      return types.experts.value_or(DType::kMXFP4);
    case TensorClass::kEmbedding:
    case TensorClass::kOutput:
      type = types.embedding.value_or(types.k_mix ? DType::kQ6_K : types.main);
      break;
    case TensorClass::kProjection:
      if (types.k_mix && MixTakesQ6K(spec.name, num_layers)) type = DType::kQ6_K;
      break;
  }
  return type == DType::kMXFP4 ? DType::kQ8_0 : type;  // MXFP4 is for experts only
}

}  // namespace

int64_t TensorPlan::bytes() const {
  const int64_t cols = spec.shape.back();
  return spec.elements() / cols * RowBytes(type, cols);
}

int64_t ModelPlan::parameters() const {
  int64_t n = 0;
  for (const TensorPlan& t : tensors) n += t.spec.elements();
  return n;
}

int64_t ModelPlan::tensor_bytes() const {
  int64_t n = 0;
  for (const TensorPlan& t : tensors) n += t.bytes();
  return n;
}

DType ChooseType(const TensorSpec& spec, const TypeOptions& types, bool* fallback,
                 int num_layers) {
  if (fallback) *fallback = false;
  const DType type = RequestedType(spec, types, num_layers);
  const int64_t cols = spec.shape.back();
  if (RowsFit(type, cols)) return type;
  if (fallback) *fallback = true;
  for (DType candidate : {KFallback(type), DType::kQ8_0}) {
    if (kernels::CanQuantize(candidate) && RowsFit(candidate, cols)) return candidate;
  }
  return DType::kF16;
}

Status ValidateTypes(const TypeOptions& types) {
  for (std::optional<DType> type :
       {std::optional<DType>(types.main), types.embedding, types.experts}) {
    if (type && !kernels::CanQuantize(*type)) {
      return Unimplemented("synth: cannot write weights of type " + std::string(Name(*type)));
    }
  }
  return Status::Ok();
}

Result<ModelConfig> WithLayers(ModelConfig config, int num_layers) {
  if (num_layers < 0 || num_layers > 1024) {
    return InvalidArgument("synth: --layers must be between 1 and 1024");
  }
  if (num_layers > 0) config.num_layers = num_layers;
  return config;
}

ModelPlan PlanModel(const ModelConfig& config, Vocabulary vocab, const TypeOptions& types) {
  ModelPlan plan;
  plan.config = config;
  plan.types = types;
  std::map<std::pair<DType, DType>, std::pair<int, std::vector<int64_t>>> fallbacks;
  for (TensorSpec& spec : BuildTensors(config, vocab.size())) {
    bool fell_back = false;
    const DType type = ChooseType(spec, types, &fell_back, config.num_layers);
    if (fell_back) {
      const DType requested = RequestedType(spec, types, config.num_layers);
      auto& [count, widths] = fallbacks[{requested, type}];
      ++count;
      if (std::find(widths.begin(), widths.end(), spec.shape.back()) == widths.end()) {
        widths.push_back(spec.shape.back());
      }
    }
    plan.tensors.push_back({std::move(spec), type});
  }
  for (const auto& [types_pair, info] : fallbacks) {
    std::string widths;
    for (int64_t w : info.second) widths += (widths.empty() ? "" : ", ") + std::to_string(w);
    plan.notes.push_back(
        std::string(Name(types_pair.first)) + " -> " + std::string(Name(types_pair.second)) +
        " for " + std::to_string(info.first) + " tensors (rows of " + widths +
        " are not a multiple of " + std::to_string(Info(types_pair.first).block_elements) + ")");
  }
  plan.vocab = std::move(vocab);
  return plan;
}

uint32_t FileType(DType main) {
  switch (main) {
    case DType::kF32:
      return 0;
    case DType::kF16:
      return 1;
    case DType::kQ4_0:
      return 2;
    case DType::kQ4_1:
      return 3;
    case DType::kQ8_0:
      return 7;
    case DType::kQ5_0:
      return 8;
    case DType::kQ5_1:
      return 9;
    case DType::kQ4_K:
      return 15;  // Q4_K_M
    case DType::kQ5_K:
      return 17;  // Q5_K_M
    case DType::kQ6_K:
      return 18;
    case DType::kBF16:
      return 32;
    case DType::kMXFP4:
      return 38;  // MXFP4_MOE
    case DType::kQ2_K:
      return 10;
    case DType::kQ3_K:
      return 12;  // Q3_K_M
    case DType::kIQ4_NL:
      return 25;
    case DType::kIQ4_XS:
      return 30;
    default:
      return 1;
  }
}

int64_t DefaultVocabSize(const ModelConfig& config) {
  switch (config.default_vocab) {
    case VocabSource::kBuiltin:
      return BuiltinVocabulary(config.architecture).size();
    case VocabSource::kGemma3:
      return 262144;
    case VocabSource::kGptOss:
      return config.architecture == Architecture::kLlama ? 128256 : 201088;
  }
  return 0;
}

void AddModel(const ModelPlan& plan, uint64_t seed, ThreadPool& pool, gguf::Writer& writer,
              ProgressFn progress) {
  const ModelConfig& config = plan.config;
  const std::string arch(ArchitectureName(config.architecture));
  writer.SetString("general.architecture", arch);
  writer.SetString("general.type", "model");
  writer.SetString("general.name", "snug synthetic " + config.preset);
  writer.SetU32("general.file_type", FileType(plan.types.main));
  writer.SetU32("general.quantization_version", 2);
  // Marks the file as synthetic and says how to make it again.
  writer.SetString("snug.synthetic.preset", config.preset);
  writer.SetU64("snug.synthetic.seed", seed);
  writer.SetString("snug.synthetic.vocab", plan.vocab.description);
  if (config.architecture == Architecture::kLlama) {
    writer.SetU32("llama.vocab_size", static_cast<uint32_t>(plan.vocab.size()));
  }
  WriteArchitectureMetadata(config, writer);
  WriteVocabulary(plan.vocab, writer);

  // Shared by the fills, which the writer calls one after another.
  struct Counter {
    int64_t tensors_done = 0;
    int64_t bytes_done = 0;
  };
  auto counter = std::make_shared<Counter>();
  const int64_t total_bytes = plan.tensor_bytes();
  const int64_t total_tensors = static_cast<int64_t>(plan.tensors.size());
  for (const TensorPlan& tensor : plan.tensors) {
    const TensorSpec* spec = &tensor.spec;  // the plan outlives writer.Write()
    const DType type = tensor.type;
    const int64_t tensor_bytes = tensor.bytes();
    writer.AddTensor(spec->name, type, spec->shape, [=, &pool](std::span<uint8_t> bytes) {
      const int64_t cols = spec->shape.back();
      const int64_t rows = spec->elements() / cols;
      const int64_t row_bytes = RowBytes(type, cols);
      CHECK_EQ(static_cast<int64_t>(bytes.size()), rows * row_bytes);
      const uint64_t name_hash = HashName(spec->name);
      // Rows per batch: about 256 KiB of f32 per thread, at least one row.
      const int64_t batch = std::max<int64_t>(1, (64 << 10) / cols);
      const auto fill_rows = [&](int64_t begin, int64_t end, int) {
        std::vector<float> values(static_cast<size_t>(std::min(batch, end - begin) * cols));
        for (int64_t row = begin; row < end; row += batch) {
          const int64_t count = std::min(batch, end - row);
          for (int64_t r = 0; r < count; ++r) {
            DrawRow(*spec, seed, name_hash, row + r, values.data() + r * cols);
          }
          kernels::Quantize(type, values.data(), count, cols, bytes.data() + row * row_bytes);
        }
      };
      // Small tensors stay on this thread: waking the pool costs more than they take (and on
      // a busy machine a descheduled worker costs a whole time slice).
      if (rows * cols < (int64_t{1} << 20)) {
        fill_rows(0, rows, 0);
      } else {
        pool.ParallelFor(rows, batch, fill_rows);
      }
      counter->tensors_done += 1;
      counter->bytes_done += tensor_bytes;
      if (progress) {
        progress(
            {counter->tensors_done, total_tensors, counter->bytes_done, total_bytes, spec->name});
      }
    });
  }
}

Status WriteModel(const ModelPlan& plan, uint64_t seed, const std::string& path, int num_threads,
                  ProgressFn progress) {
  if (num_threads <= 0)
    num_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ThreadPool pool(num_threads);
  gguf::Writer writer;
  AddModel(plan, seed, pool, writer, std::move(progress));
  return writer.Write(path);
}

}  // namespace snug::synth
