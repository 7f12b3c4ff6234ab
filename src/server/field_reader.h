// Typed reads of a JSON request object that name the field at fault: the first problem becomes
// a 400 with `param` set. Absent and null fields leave the output untouched; unknown fields are
// ignored, as OpenAI's API does.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "server/api_error.h"

namespace snug::server {

class FieldReader {
 public:
  explicit FieldReader(const nlohmann::json& object) : object_(object) {}

  // Present and not null.
  bool Has(const char* name) const;
  const nlohmann::json& Get(const char* name) const { return object_.at(name); }

  void Number(const char* name, float* out, double min, double max);
  void Integer(const char* name, int* out, int64_t min, int64_t max);
  void Unsigned(const char* name, uint64_t* out);
  void Boolean(const char* name, bool* out);
  void String(const char* name, std::string* out);
  // A string or a list of strings (`stop`): at most `max_items`, none empty.
  void StringOrList(const char* name, std::vector<std::string>* out, size_t max_items);

  void Fail(std::string param, std::string message);
  bool ok() const { return !error_.has_value(); }
  const ApiError& error() const { return *error_; }

 private:
  const nlohmann::json& object_;
  std::optional<ApiError> error_;  // the first problem found
};

// The JSON type of `value` in the words of OpenAI's messages ("a string", "an integer").
std::string JsonTypeName(const nlohmann::json& value);

}  // namespace snug::server
