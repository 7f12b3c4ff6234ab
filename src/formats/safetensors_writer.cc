// Writes safetensors files (synthetic HF / MLX checkpoints, tests, the fuzzer's seeds).
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/check.h"
#include "formats/safetensors.h"

namespace snug::safetensors {

void Writer::SetMetadata(std::string key, std::string value) {
  metadata_.emplace_back(std::move(key), std::move(value));
}

void Writer::AddTensor(std::string name, ElementType type, std::vector<int64_t> shape, Fill fill) {
  uint64_t elements = 1;
  for (const int64_t dim : shape) {
    CHECK(dim >= 0);
    elements *= static_cast<uint64_t>(dim);
  }
  for (const Pending& tensor : tensors_) CHECK(tensor.name != name);
  tensors_.push_back(
      {std::move(name), type, std::move(shape), std::move(fill), elements * ElementBytes(type)});
}

std::string Writer::HeaderText() const {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_.empty()) {
    nlohmann::ordered_json metadata = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata_) metadata[key] = value;
    header["__metadata__"] = metadata;
  }
  uint64_t offset = 0;
  for (const Pending& tensor : tensors_) {
    header[tensor.name] = {{"dtype", std::string(ElementTypeName(tensor.type))},
                           {"shape", tensor.shape},
                           {"data_offsets", {offset, offset + tensor.bytes}}};
    offset += tensor.bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

std::vector<uint8_t> Writer::WriteToMemory() const {
  const std::string header = HeaderText();
  std::vector<uint8_t> bytes(8 + header.size());
  const uint64_t length = header.size();
  std::memcpy(bytes.data(), &length, 8);
  std::memcpy(bytes.data() + 8, header.data(), header.size());
  for (const Pending& tensor : tensors_) {
    const size_t at = bytes.size();
    bytes.resize(at + tensor.bytes);
    tensor.fill(std::span(bytes.data() + at, tensor.bytes));
  }
  return bytes;
}

Status Writer::Write(const std::string& path) const {
  std::FILE* out = std::fopen(path.c_str(), "wb");
  if (out == nullptr) return NotFound("safetensors: cannot create " + path);
  const std::string header = HeaderText();
  const uint64_t length = header.size();
  bool ok = std::fwrite(&length, 8, 1, out) == 1 &&
            std::fwrite(header.data(), 1, header.size(), out) == header.size();
  std::vector<uint8_t> buffer;
  for (const Pending& tensor : tensors_) {
    if (!ok) break;
    buffer.assign(tensor.bytes, 0);
    tensor.fill(buffer);
    ok = std::fwrite(buffer.data(), 1, buffer.size(), out) == buffer.size();
  }
  ok = std::fclose(out) == 0 && ok;
  if (!ok) {
    std::remove(path.c_str());
    return ResourceExhausted("safetensors: writing " + path + " failed (disk full?)");
  }
  return Status::Ok();
}

}  // namespace snug::safetensors
