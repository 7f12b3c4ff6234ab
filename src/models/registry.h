// The architecture registry: one table entry per architecture (registry.cc) naming everything
// the rest of snug needs to know about it — its spec parser and loader, the tensors it binds,
// its chat format and what it supports. No other file branches on an architecture's name.
// Adding an architecture: its model file, its entry in registry.cc, its tests
// (docs/architecture.md lists the files).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "models/model.h"
#include "tokenizer/chat_format.h"

namespace snug {

class HfImporter;  // models/hf_import.h

using SpecFunction = Result<ModelSpec> (*)(const gguf::File& file);
using LoadFunction = Result<std::unique_ptr<Model>> (*)(std::shared_ptr<const gguf::File> file,
                                                        const ModelOptions& options,
                                                        ThreadPool& pool);
// Presents a Hugging Face / MLX directory as the GGUF file llama.cpp's converter would write:
// config.json's hyper-parameters under this architecture's GGUF keys (so `spec` parses it
// unchanged) and every tensor under its GGUF name (the HF -> GGUF tensor-name map).
using HfImportFunction = Status (*)(HfImporter& import, std::string_view architecture);

// A tensor the architecture binds, by its GGUF name; "{layer}" stands for each layer's index.
struct TensorName {
  std::string_view gguf;
  bool required = true;  // false: bound where the file has it (tied output, Qwen biases, ...)
};

// How a Hugging Face / MLX tensor becomes its GGUF counterpart (and back, for make-model).
enum class HfTransform {
  kNone,         // the same values and layout: mapped as it lies (float or MLX-quantized)
  kToF32,        // a vector the model reads as f32 (norms, biases, sinks): converted at import
  kNormPlusOne,  // Gemma 3 RMSNorm weight: HF stores w, GGUF the folded 1 + w (as f32)
  kRopePairsQ,   // Llama q/k rows: GGUF permutes each head for adjacent-pair RoPE; an import
  kRopePairsK,   // keeps HF's order and rotates NEOX pairs instead ("snug.rope.hf_pairs")
};

// A tensor by its GGUF name and its name in a Hugging Face / MLX checkpoint, after the text
// model's prefix ("model.", "language_model.model.", ...); "{layer}" stands for each layer.
// `hf` starting with "^" is at the checkpoint's top level beside the model (lm_head).
struct HfTensorName {
  std::string_view gguf;
  std::string_view hf;
  HfTransform transform = HfTransform::kNone;
};

// What an entry supports, for `snug inspect --architectures` and the tests.
struct ArchitectureFeatures {
  bool sliding_window = false;      // some layers attend over a window (ring KV)
  bool mixture_of_experts = false;  // routed experts (moe.h)
  bool attention_sinks = false;     // a learned softmax logit per head
  bool reasoning = false;           // the chat format has an analysis channel (engine/reasoning)
  bool media = false;  // image and audio embedders where the file has them (Gemma 4 12B unified)
  std::string_view not_runnable;    // model shapes whose spec parses (the plan) but that cannot
                                    // run yet, "" when every shape runs
};

struct Architecture {
  std::string_view name;  // GGUF general.architecture
  std::string_view description;
  SpecFunction spec;  // metadata -> ModelSpec (no weight read: the memory plan uses it)
  LoadFunction load;  // null: the spec is known (memory plans) but the model cannot run yet
  std::span<const TensorName> gguf_tensors;          // every tensor `load` binds
  std::optional<tokenizer::ChatFormat> chat_format;  // none: raw prompts only
  ArchitectureFeatures features;

  // Hugging Face / MLX safetensors directories: the config.json model_type values naming this
  // architecture, the function that imports config.json (see HfImportFunction) and the tensor
  // names (models/hf_import.h applies them). Empty / null: GGUF only.
  std::span<const std::string_view> hf_model_types = {};
  HfImportFunction hf_import = nullptr;
  std::span<const HfTensorName> hf_tensors = {};
};

// Every entry, in the order `snug inspect --architectures` lists them.
std::span<const Architecture> Architectures();
// The entry for a GGUF general.architecture, or null.
const Architecture* FindArchitecture(std::string_view name);
// The entry whose hf_model_types holds a config.json model_type, or null.
const Architecture* FindHfArchitecture(std::string_view model_type);

}  // namespace snug
