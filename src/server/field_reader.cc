#include "server/field_reader.h"

#include <cmath>

namespace snug::server {
namespace {

// Built by appending: GCC 12 warns falsely (-Wrestrict) on `"'" + std::string(...)`.
std::string Quote(const char* name) {
  std::string quoted = "'";
  quoted += name;
  quoted += "'";
  return quoted;
}

std::string Range(double min, double max) {
  auto text = [](double value) {
    std::string s = std::to_string(value);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  };
  return "between " + text(min) + " and " + text(max);
}

}  // namespace

std::string JsonTypeName(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return "an integer";
    case nlohmann::json::value_t::number_float:
      return "a number";
    case nlohmann::json::value_t::string:
      return "a string";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::object:
      return "an object";
    default:
      return "an unsupported value";
  }
}

bool FieldReader::Has(const char* name) const {
  const auto it = object_.find(name);
  return it != object_.end() && !it->is_null();
}

void FieldReader::Fail(std::string param, std::string message) {
  if (!error_) error_ = BadParam(param, std::move(message));
}

void FieldReader::Number(const char* name, float* out, double min, double max) {
  if (!Has(name)) return;
  const nlohmann::json& value = Get(name);
  if (!value.is_number()) {
    return Fail(name, Quote(name) + " must be a number, not " + JsonTypeName(value));
  }
  const double number = value.get<double>();
  if (!std::isfinite(number) || number < min || number > max) {
    return Fail(name, Quote(name) + " must be " + Range(min, max) + ", got " + value.dump());
  }
  *out = static_cast<float>(number);
}

void FieldReader::Integer(const char* name, int* out, int64_t min, int64_t max) {
  if (!Has(name)) return;
  const nlohmann::json& value = Get(name);
  // 3.0 is accepted as 3 (JavaScript clients cannot tell them apart); 3.5 is not.
  const bool integral =
      value.is_number_integer() || (value.is_number_float() && std::isfinite(value.get<double>()) &&
                                    std::floor(value.get<double>()) == value.get<double>());
  if (!integral) {
    return Fail(name, Quote(name) + " must be an integer, not " + JsonTypeName(value));
  }
  const double number = value.get<double>();
  if (number < static_cast<double>(min) || number > static_cast<double>(max)) {
    return Fail(name, Quote(name) + " must be " +
                          Range(static_cast<double>(min), static_cast<double>(max)) + ", got " +
                          value.dump());
  }
  *out = static_cast<int>(value.is_number_integer() ? value.get<int64_t>() : number);
}

void FieldReader::Unsigned(const char* name, uint64_t* out) {
  if (!Has(name)) return;
  const nlohmann::json& value = Get(name);
  if (value.is_number_unsigned()) {
    *out = value.get<uint64_t>();
  } else if (value.is_number_integer()) {
    // A negative seed is still a seed: keep its bits.
    *out = static_cast<uint64_t>(value.get<int64_t>());
  } else {
    Fail(name, Quote(name) + " must be an integer, not " + JsonTypeName(value));
  }
}

void FieldReader::Boolean(const char* name, bool* out) {
  if (!Has(name)) return;
  const nlohmann::json& value = Get(name);
  if (!value.is_boolean()) {
    return Fail(name, Quote(name) + " must be a boolean, not " + JsonTypeName(value));
  }
  *out = value.get<bool>();
}

void FieldReader::String(const char* name, std::string* out) {
  if (!Has(name)) return;
  const nlohmann::json& value = Get(name);
  if (!value.is_string()) {
    return Fail(name, Quote(name) + " must be a string, not " + JsonTypeName(value));
  }
  *out = value.get<std::string>();
}

void FieldReader::StringOrList(const char* name, std::vector<std::string>* out, size_t max_items) {
  if (!Has(name)) return;
  const nlohmann::json& value = Get(name);
  std::vector<std::string> items;
  if (value.is_string()) {
    items.push_back(value.get<std::string>());
  } else if (value.is_array()) {
    for (const nlohmann::json& item : value) {
      if (!item.is_string()) {
        return Fail(name, Quote(name) + " must be a string or a list of strings; " + "an item is " +
                              JsonTypeName(item));
      }
      items.push_back(item.get<std::string>());
    }
  } else {
    return Fail(name,
                Quote(name) + " must be a string or a list of strings, not " + JsonTypeName(value));
  }
  if (items.size() > max_items) {
    return Fail(name, Quote(name) + " has " + std::to_string(items.size()) + " items; at most " +
                          std::to_string(max_items) + " are allowed");
  }
  for (const std::string& item : items) {
    if (item.empty()) return Fail(name, Quote(name) + " holds an empty string");
  }
  *out = std::move(items);
}

}  // namespace snug::server
