// A checkpoint's weights across shards: model.safetensors.index.json's weight_map names the
// shard of each tensor; the shards are mapped and every name must be where the map says, once.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "formats/safetensors.h"
#include "formats/text.h"

namespace snug::safetensors {
namespace {

// Shard names come from a downloaded file: only plain names inside the model directory.
bool IsPlainFileName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos && name.find('\0') == std::string::npos;
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> ParseIndex(std::string_view index_json) {
  const nlohmann::json json = nlohmann::json::parse(index_json, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return DataLoss("safetensors: model.safetensors.index.json is not a JSON object");
  }
  const auto map = json.find("weight_map");
  if (map == json.end() || !map->is_object() || map->empty()) {
    return DataLoss("safetensors: model.safetensors.index.json has no weight_map");
  }
  std::vector<std::pair<std::string, std::string>> entries;
  entries.reserve(map->size());
  for (const auto& [name, file] : map->items()) {
    if (!file.is_string() || !IsPlainFileName(file.get_ref<const std::string&>())) {
      return DataLoss("safetensors: weight_map entry " + format_text::Quoted(name) +
                      " does not name a file in the model directory");
    }
    entries.emplace_back(name, file.get<std::string>());
  }
  return entries;
}

Status ShardedWeights::Add(std::unique_ptr<File> file) {
  for (const TensorInfo& tensor : file->tensors()) {
    const auto [it, inserted] = index_.emplace(tensor.name, Entry{file.get(), &tensor});
    if (!inserted) {
      return DataLoss("safetensors: tensor " + format_text::Quoted(tensor.name) + " is in both " +
                      it->second.file->source() + " and " + file->source());
    }
    names_.push_back(tensor.name);
  }
  files_.push_back(std::move(file));
  return Status::Ok();
}

Result<ShardedWeights> ShardedWeights::OpenFiles(const std::vector<std::string>& paths) {
  ShardedWeights weights;
  for (const std::string& path : paths) {
    ASSIGN_OR_RETURN(File file, File::Open(path));
    RETURN_IF_ERROR(weights.Add(std::make_unique<File>(std::move(file))));
  }
  return weights;
}

Result<ShardedWeights> ShardedWeights::OpenIndex(const std::string& dir,
                                                 std::string_view index_json) {
  ASSIGN_OR_RETURN(const auto entries, ParseIndex(index_json));
  std::set<std::string> shard_names;
  for (const auto& [name, shard] : entries) shard_names.insert(shard);
  std::vector<std::string> paths;
  for (const std::string& shard : shard_names) paths.push_back(dir + "/" + shard);
  ASSIGN_OR_RETURN(ShardedWeights weights, OpenFiles(paths));
  for (const auto& [name, shard] : entries) {
    const Entry* entry = weights.Find(name);
    if (entry == nullptr) {
      return DataLoss("safetensors: the index maps tensor " + format_text::Quoted(name) +
                      " to " + shard + ", which does not hold it");
    }
    const std::string& source = entry->file->source();
    if (source.size() < shard.size() + 1 ||
        source.compare(source.size() - shard.size() - 1, std::string::npos, "/" + shard) != 0) {
      return DataLoss("safetensors: the index maps tensor " + format_text::Quoted(name) +
                      " to " + shard + ", but it is in " + source);
    }
  }
  if (weights.index_.size() != entries.size()) {
    // A shard holds a tensor the map does not list: the map and the files disagree.
    for (const std::string& name : weights.names_) {
      const bool listed = std::any_of(entries.begin(), entries.end(),
                                      [&](const auto& entry) { return entry.first == name; });
      if (!listed) {
        return DataLoss("safetensors: tensor " + format_text::Quoted(name) + " in " +
                        weights.Find(name)->file->source() +
                        " is not in model.safetensors.index.json's weight_map");
      }
    }
  }
  return weights;
}

const ShardedWeights::Entry* ShardedWeights::Find(std::string_view name) const {
  const auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &it->second;
}

uint64_t ShardedWeights::data_bytes() const {
  uint64_t total = 0;
  for (const auto& file : files_) {
    for (const TensorInfo& tensor : file->tensors()) total += tensor.bytes();
  }
  return total;
}

}  // namespace snug::safetensors
