// Shared flags and their checks (see flags.h).
#include "cli/flags.h"

#include <cctype>
#include <cstdio>
#include <memory>
#include <sstream>

#include "memory/size.h"

namespace snug::cli {
namespace {

std::string Number(double value) {
  std::ostringstream text;
  text << value;
  return text.str();
}

std::string WithNote(std::string message, const std::string& note) {
  if (!note.empty()) message += " (" + note + ")";
  return message;
}

// The value as a number, or nullopt.
std::optional<double> ParseNumber(const std::string& text) {
  try {
    size_t used = 0;
    const double value = std::stod(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

}  // namespace

void AddModelArgument(CLI::App& command, ModelArgument& model) {
  command.add_option("MODEL", model.positional, "GGUF model file");
  command.add_option("-m,--model", model.flag, "GGUF model file (instead of MODEL)");
}

std::string ResolveModel(const ModelArgument& model, std::string* next) {
  if (model.flag.empty()) {
    if (model.positional.empty()) throw CLI::RequiredError("MODEL (a GGUF file, or -m FILE)");
    return model.positional;
  }
  if (!model.positional.empty()) {
    if (next == nullptr || !next->empty()) {
      throw CLI::ValidationError("MODEL", "two models named: '" + model.flag + "' (-m) and '" +
                                              model.positional + "'");
    }
    *next = model.positional;
  }
  return model.flag;
}

void AddVerboseFlag(CLI::App& command, bool& verbose) {
  command.add_flag("-v,--verbose", verbose, "Print errors in full (every missing tensor, ...)");
}

void PrintError(const std::string& command, const Status& status, bool verbose) {
  const std::string& message = status.message();
  const size_t end = message.find('\n');
  if (verbose || end == std::string::npos) {
    std::fprintf(stderr, "snug %s: %s\n", command.c_str(), message.c_str());
  } else {
    std::fprintf(stderr, "snug %s: %s (--verbose for details)\n", command.c_str(),
                 message.substr(0, end).c_str());
  }
}

CLI::Validator AtLeast(double min, const std::string& note) {
  return CLI::Validator(
      [min, note](std::string& value) -> std::string {
        const std::optional<double> number = ParseNumber(value);
        if (!number) return WithNote("'" + value + "' is not a number", note);
        if (*number < min) {
          return WithNote("must be at least " + Number(min) + ", not " + value, note);
        }
        return "";
      },
      "", "at least " + Number(min));
}

CLI::Validator Between(double min, double max, const std::string& note) {
  return CLI::Validator(
      [min, max, note](std::string& value) -> std::string {
        const std::optional<double> number = ParseNumber(value);
        if (!number) return WithNote("'" + value + "' is not a number", note);
        if (*number < min || *number > max) {
          return WithNote(
              "must be between " + Number(min) + " and " + Number(max) + ", not " + value, note);
        }
        return "";
      },
      "", "between " + Number(min) + " and " + Number(max));
}

CLI::Validator SizeWithUnit() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        auto bytes = memory::ParseSize(value);
        if (!bytes.ok()) {
          return "'" + value + "' is not a size: write a number and a unit, e.g. 16GiB, 12G, "
                 "800MiB";
        }
        if (!value.empty() && std::isdigit(static_cast<unsigned char>(value.back()))) {
          return "'" + value + "' needs a unit: did you mean " + value + "GiB? (write e.g. " +
                 value + "GiB, " + value + "G or " + value + "MiB; B for bytes)";
        }
        return "";
      },
      "", "SIZE");
}

void AddKvTypeOption(CLI::App& command, KvType& type) {
  auto names = std::make_shared<std::map<std::string, KvType>>(KvTypeNames());
  command
      .add_option("--kv-type", type,
                  "KV cache type: f16 (default), q8_0 (0.53x the memory), q4_0 (0.28x)")
      ->transform(CLI::Validator(
          [names](std::string& value) -> std::string {
            std::string lower;
            for (char c : value) lower += static_cast<char>(std::tolower(c));
            const auto found = names->find(lower);
            if (found == names->end()) {
              std::string choices;
              for (const auto& [name, ignored] : *names) {
                choices += (choices.empty() ? "" : ", ") + name;
              }
              return "'" + value + "' is not a KV cache type; use one of " + choices;
            }
            value = std::to_string(static_cast<int>(found->second));
            return "";
          },
          "", "f16|q8_0|q4_0"));
}

void AddMlockFlag(CLI::App& command, bool& mlock) {
  command.add_flag("--mlock", mlock,
                   "Lock the weights in RAM (mlock) so memory pressure cannot page them out; "
                   "needs a locked-memory limit above their size (ulimit -l)");
}

void AddGpuLayersOption(CLI::App& command) {
  command
      .add_option_function<std::string>(
          "--n-gpu-layers",
          [](const std::string& value) {
            std::fprintf(stderr,
                         "snug: warning: -ngl/--n-gpu-layers %s has no effect: this build "
                         "computes on the CPU (every layer, always)\n",
                         value.c_str());
          },
          "Accepted for llama-server command lines; no effect (CPU build)")
      ->type_name("N");
}

std::vector<std::string> TranslateLlamaFlags(int argc, char** argv) {
  static const std::pair<const char*, const char*> kFlags[] = {{"-np", "--parallel"},
                                                               {"-ngl", "--n-gpu-layers"}};
  std::vector<std::string> args;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    for (const auto& [llama, snug] : kFlags) {
      const std::string prefix = std::string(llama) + "=";
      if (arg == llama) {
        arg = snug;
      } else if (arg.compare(0, prefix.size(), prefix) == 0) {
        arg = std::string(snug) + arg.substr(std::string(llama).size());
      }
    }
    args.push_back(std::move(arg));
  }
  return args;
}

}  // namespace snug::cli
