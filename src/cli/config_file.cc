// TOML settings for a CLI11 command (see config_file.h). toml++ (Debian libtomlplusplus-dev)
// parses; CLI11 converts and checks each value exactly as it would a flag's.
#include "cli/config_file.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace snug::cli {
namespace {

bool IsFlag(const CLI::Option& option) { return option.get_expected_min() == 0; }
bool IsList(const CLI::Option& option) { return option.get_items_expected_max() > 1; }

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned char>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool IsInteger(const std::string& text) {
  if (text.empty() || text.size() > 18) return false;
  size_t start = text[0] == '-' ? 1 : 0;
  if (start == text.size()) return false;
  return std::all_of(text.begin() + start, text.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// A value as TOML: integers stay integers when the option takes one, everything else is a
// string (CLI11 converts strings to whatever the option holds, so this reads back the same).
std::string TomlValue(const CLI::Option& option, const std::string& text) {
  // "INT:INT in [0 - 65535]": the type, then the checks' descriptions.
  const std::string full_type = option.get_type_name();
  const std::string type = full_type.substr(0, full_type.find(':'));
  if ((type == "INT" || type == "UINT") && IsInteger(text)) return text;
  return Quote(text);
}

// The strings CLI11 gets for one TOML value, or why it cannot be one.
Result<std::vector<std::string>> Inputs(const toml::node& node) {
  std::vector<std::string> inputs;
  auto scalar = [&](const toml::node& value) -> Status {
    if (auto text = value.value_exact<std::string>()) {
      inputs.push_back(*text);
    } else if (auto integer = value.value_exact<int64_t>()) {
      inputs.push_back(std::to_string(*integer));
    } else if (auto real = value.value_exact<double>()) {
      std::ostringstream out;
      out << *real;
      inputs.push_back(out.str());
    } else if (auto boolean = value.value_exact<bool>()) {
      inputs.push_back(*boolean ? "true" : "false");
    } else {
      return InvalidArgument("expected a string, number, boolean or a list of them");
    }
    return Status::Ok();
  };
  if (const toml::array* array = node.as_array()) {
    for (const toml::node& element : *array) RETURN_IF_ERROR(scalar(element));
  } else {
    RETURN_IF_ERROR(scalar(node));
  }
  return inputs;
}

}  // namespace

std::string ConfigKey(const CLI::Option& option) {
  if (!option.get_lnames().empty()) return option.get_lnames().front();
  if (!option.get_snames().empty()) return option.get_snames().front();
  std::string name = option.get_name(true, false);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

namespace {

bool IsPositional(const CLI::Option& option) {
  return option.get_lnames().empty() && option.get_snames().empty();
}

// A positional with a named option of the same key (MODEL and -m/--model): one setting, keyed
// by the named option; a value given to either counts.
const CLI::Option* PositionalTwin(const CLI::App& command, const CLI::Option& named) {
  if (IsPositional(named)) return nullptr;
  for (const CLI::Option* option : command.get_options()) {
    if (IsPositional(*option) && ConfigKey(*option) == ConfigKey(named)) return option;
  }
  return nullptr;
}

}  // namespace

std::vector<const CLI::Option*> ConfigurableOptions(const CLI::App& command) {
  std::vector<const CLI::Option*> options;
  for (const CLI::Option* option : command.get_options()) {
    if (option == command.get_help_ptr() || option == command.get_help_all_ptr()) continue;
    if (!option->get_configurable()) continue;
    if (IsPositional(*option)) {
      const auto& all = command.get_options();
      const bool has_named_twin = std::any_of(all.begin(), all.end(), [&](const CLI::Option* other) {
        return !IsPositional(*other) && ConfigKey(*other) == ConfigKey(*option);
      });
      if (has_named_twin) continue;
    }
    options.push_back(option);
  }
  return options;
}

std::shared_ptr<CommandConfig> CommandConfig::Attach(CLI::App& command) {
  std::shared_ptr<CommandConfig> config(new CommandConfig(command));
  command.add_option("--config", config->path_, "Read settings from this TOML file (keys are the "
                     "flags' long names; flags given here win)")
      ->configurable(false)
      ->check(CLI::ExistingFile);
  command.add_flag("--print-config", config->print_,
                   "Print the effective settings as a TOML file for --config, and exit")
      ->configurable(false);
  // Options are instrumented when the command is reached, so flags added after Attach count.
  CommandConfig* raw = config.get();
  command.preparse_callback([raw](size_t) {
    for (const CLI::Option* option : ConfigurableOptions(raw->command_)) {
      raw->Capture(const_cast<CLI::Option&>(*option));
    }
  });
  return config;
}

void CommandConfig::Capture(CLI::Option& option) {
  // transform() puts the validator first, so it sees the text as typed.
  auto raw = raw_;
  const CLI::Option* key = &option;
  option.transform(
      CLI::Validator(
          [raw, key](std::string& text) {
            raw->emplace_back(key, text);
            return std::string();
          },
          ""),
      "");
}

Status CommandConfig::Apply() {
  if (path_.empty()) return Status::Ok();
  std::ifstream file(path_);
  std::stringstream text;
  text << file.rdbuf();
  if (!file) return NotFound("config: cannot read '" + path_ + "'");
  return ApplyText(text.str(), path_);
}

Status CommandConfig::ApplyText(const std::string& text, const std::string& source) {
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    return InvalidArgument("config: " + source + ":" + std::to_string(error.source().begin.line) +
                           ": " + std::string(error.description()));
  }
  const std::vector<const CLI::Option*> options = ConfigurableOptions(command_);
  for (const auto& [key, node] : table) {
    const std::string where =
        "config: " + source + ":" + std::to_string(node.source().begin.line) + ": ";
    const std::string name(key.str());
    auto found = std::find_if(options.begin(), options.end(),
                              [&](const CLI::Option* option) { return ConfigKey(*option) == name; });
    if (found == options.end()) {
      std::string known;
      for (const CLI::Option* option : options) known += (known.empty() ? "" : ", ") + ConfigKey(*option);
      return InvalidArgument(where + "unknown key '" + name + "' (the keys of `snug " +
                             command_.get_name() + "` are: " + known + ")");
    }
    CLI::Option& option = const_cast<CLI::Option&>(**found);
    auto inputs = Inputs(node);
    if (!inputs.ok()) return InvalidArgument(where + "'" + name + "': " + inputs.status().message());
    if (inputs->size() != 1 && !IsList(option)) {
      return InvalidArgument(where + "'" + name + "' takes one value, not a list");
    }
    const CLI::Option* twin = PositionalTwin(command_, option);
    if (option.count() > 0 || (twin != nullptr && twin->count() > 0)) continue;  // the command line wins
    try {
      if (IsFlag(option)) {
        option.add_result(option.get_flag_value(name, inputs->front()));
      } else {
        option.add_result(*inputs);
      }
      option.run_callback();
    } catch (const CLI::Error& error) {
      return InvalidArgument(where + "'" + name + "': " + error.what());
    }
  }
  return Status::Ok();
}

std::vector<std::string> CommandConfig::GivenValues(const std::string& key) const {
  const CLI::Option* option = nullptr;
  for (const CLI::Option* candidate : ConfigurableOptions(command_)) {
    if (ConfigKey(*candidate) == key) option = candidate;
  }
  if (option == nullptr) return {};
  if (option->count() == 0) {
    const CLI::Option* twin = PositionalTwin(command_, *option);
    if (twin == nullptr || twin->count() == 0) return {};
    option = twin;
  }
  std::vector<std::string> values;
  for (const auto& [owner, text] : *raw_) {
    if (owner == option) values.push_back(text);
  }
  if (values.empty()) values = option->results();
  if (!IsList(*option) && values.size() > 1) values.erase(values.begin(), values.end() - 1);
  return values;
}

std::string CommandConfig::Render(
    bool defaults, const std::map<std::string, std::vector<std::string>>& replace) const {
  std::string out;
  for (const CLI::Option* option : ConfigurableOptions(command_)) {
    const std::string key = ConfigKey(*option);
    std::string line;
    if (auto replaced = replace.find(key); replaced != replace.end()) {
      if (replaced->second.empty()) continue;
      line = key + " = " + TomlValue(*option, replaced->second.back());
    } else if (option->count() > 0 || !GivenValues(key).empty()) {
      if (IsFlag(*option)) {
        line = key + " = " + (option->as<bool>() ? "true" : "false");
      } else {
        const std::vector<std::string> values = GivenValues(key);
        if (IsList(*option)) {
          line = key + " = [";
          for (size_t i = 0; i < values.size(); ++i) {
            line += (i > 0 ? ", " : "") + TomlValue(*option, values[i]);
          }
          line += "]";
        } else if (!values.empty()) {
          line = key + " = " + TomlValue(*option, values.back());
        }
      }
    } else if (!defaults) {
      continue;
    } else if (IsFlag(*option)) {
      line = key + " = false";
    } else if (!option->get_default_str().empty()) {
      line = key + " = " + TomlValue(*option, option->get_default_str());
    } else {
      line = "# " + key + " = (not set)";
    }
    if (defaults && !option->get_description().empty()) {
      std::string description = option->get_description();
      for (size_t at = description.find('\n'); at != std::string::npos;
           at = description.find('\n', at + 3)) {
        description.replace(at, 1, "\n# ");
      }
      out += "# " + description + "\n";
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace snug::cli
