// `snug inspect FILE [--json]`: prints what a GGUF file holds (formats/gguf_summary.h).
// Exit 1 with the Status message when the file cannot be read. `snug inspect --architectures`
// lists the architecture registry (models/registry.h): what each entry supports. A model that
// embeds images or audio itself (Gemma 4 12B unified) says so ("media").
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <utility>

#include "cli/commands.h"
#include "formats/gguf.h"
#include "models/hf_import.h"
#include "formats/gguf_summary.h"
#include "models/registry.h"

namespace snug::cli {
namespace {

nlohmann::ordered_json ArchitecturesJson() {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const Architecture& entry : Architectures()) {
    nlohmann::ordered_json tensors = nlohmann::ordered_json::array();
    for (const TensorName& tensor : entry.gguf_tensors) {
      tensors.push_back({{"name", tensor.gguf}, {"required", tensor.required}});
    }
    const ArchitectureFeatures& f = entry.features;
    list.push_back({
        {"name", entry.name},
        {"description", entry.description},
        {"runs", entry.load != nullptr},
        {"memory_plan", entry.spec != nullptr},
        {"chat_format", entry.chat_format
                            ? nlohmann::ordered_json(tokenizer::ChatFormatName(*entry.chat_format))
                            : nlohmann::ordered_json(nullptr)},
        {"formats", entry.hf_import != nullptr ? nlohmann::ordered_json{"gguf", "safetensors"}
                                               : nlohmann::ordered_json{"gguf"}},
        {"sliding_window", f.sliding_window},
        {"mixture_of_experts", f.mixture_of_experts},
        {"attention_sinks", f.attention_sinks},
        {"reasoning", f.reasoning},
        {"media", f.media},
        {"not_runnable", f.not_runnable},
        {"gguf_tensors", tensors},
    });
  }
  return list;
}

void PrintArchitectures() {
  std::printf("%-9s %-5s %-8s %-12s %s\n", "arch", "runs", "chat", "formats", "features");
  for (const Architecture& entry : Architectures()) {
    const ArchitectureFeatures& f = entry.features;
    std::string features;
    for (const auto& [on, name] :
         {std::pair{f.sliding_window, "sliding-window"}, std::pair{f.mixture_of_experts, "experts"},
          std::pair{f.attention_sinks, "sinks"}, std::pair{f.reasoning, "reasoning"},
          std::pair{f.media, "images,audio"}}) {
      if (on) features += (features.empty() ? "" : ",") + std::string(name);
    }
    const std::string chat =
        entry.chat_format ? std::string(tokenizer::ChatFormatName(*entry.chat_format)) : "-";
    std::printf("%-9s %-5s %-8s %-12s %s\n", std::string(entry.name).c_str(),
                entry.load != nullptr ? "yes" : "plan", chat.c_str(),
                entry.hf_import != nullptr ? "gguf,hf" : "gguf",
                features.empty() ? "-" : features.c_str());
    std::printf("          %s\n", std::string(entry.description).c_str());
    if (!f.not_runnable.empty()) {
      std::printf("          not yet: %s\n", std::string(f.not_runnable).c_str());
    }
  }
}

// What the model takes besides text (models/model.h MediaSpec), or null when the file's
// architecture is not one snug parses.
nlohmann::ordered_json MediaJson(const gguf::File& file) {
  const Result<ModelSpec> spec = ReadModelSpec(file);
  if (!spec.ok()) return nullptr;
  const MediaSpec& media = spec->media;
  nlohmann::ordered_json json = {{"images", media.images()}, {"audio", media.audio()}};
  if (media.images()) {
    json["image_patch_px"] = media.image_patch_px;
    json["image_positions"] = media.image_positions;
  }
  if (media.audio()) json["audio_frame_samples"] = media.audio_frame_samples;
  return json;
}

std::string MediaText(const nlohmann::ordered_json& media) {
  if (media.is_null()) return "";
  std::string text = "Media: ";
  if (!media["images"].get<bool>() && !media["audio"].get<bool>()) return text + "text only\n";
  if (media["images"].get<bool>()) {
    text += "images (" + std::to_string(media["image_patch_px"].get<int>()) + "-px patches, " +
            std::to_string(media["image_positions"].get<int>()) + " positions)";
  }
  if (media["audio"].get<bool>()) {
    text += std::string(media["images"].get<bool>() ? ", " : "") + "audio (" +
            std::to_string(media["audio_frame_samples"].get<int>()) + "-sample frames)";
  }
  return text + "\n";
}

}  // namespace

void AddInspectCommand(CLI::App& app, int& exit_code) {
  struct Options {
    std::string path;
    bool json = false;
    bool architectures = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(
      "inspect", "Show a GGUF file: architecture, hyper-parameters, tokenizer, tensors");
  command->add_option("file", options->path, "GGUF file");
  command->add_flag("--json", options->json, "Print one JSON object instead of text");
  command->add_flag("--architectures", options->architectures,
                    "List the architectures snug knows and what each supports");
  command->callback([options, &exit_code] {
    if (options->architectures) {
      if (options->json) {
        std::cout << ArchitecturesJson().dump(2) << "\n";
      } else {
        PrintArchitectures();
      }
      exit_code = 0;
      return;
    }
    if (options->path.empty()) {
      std::cerr << "inspect: a FILE or --architectures is required\n";
      exit_code = 1;
      return;
    }
    const Result<gguf::File> file = OpenModelSource(options->path);
    if (!file.ok()) {
      std::cerr << file.status().message() << "\n";
      exit_code = 1;
      return;
    }
    const gguf::Summary summary = gguf::Summarize(*file, options->path);
    const nlohmann::ordered_json media = MediaJson(*file);
    if (options->json) {
      nlohmann::ordered_json json = gguf::ToJson(summary);
      if (!media.is_null()) json["media"] = media;
      // Strings come from the file: invalid UTF-8 is replaced rather than thrown on.
      std::cout << json.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
                << "\n";
    } else {
      std::cout << gguf::FormatText(summary) << MediaText(media);
    }
    exit_code = 0;
  });
}

}  // namespace snug::cli
