// libFuzzer target for the safetensors reader: parses the input as a file and as a sharded
// index, touches the first and last byte of every tensor (ASan sees any view that escapes the
// input) and checks every accepted tensor against its dtype × shape and the data section.
// With SNUG_FUZZ_WRITE_SEEDS=DIR it writes valid files (from safetensors::Writer) into DIR.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "formats/safetensors.h"

namespace {

using snug::safetensors::ElementType;

volatile uint64_t g_sink = 0;

void Fill(std::span<uint8_t> bytes) {
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 13 + 5);
}

void WriteSeeds(const std::string& dir) {
  snug::safetensors::Writer mlx;
  mlx.SetMetadata("format", "mlx");
  mlx.AddTensor("model.embed_tokens.weight", ElementType::kU32, {8, 4}, Fill);
  mlx.AddTensor("model.embed_tokens.scales", ElementType::kBF16, {8, 1}, Fill);
  mlx.AddTensor("model.embed_tokens.biases", ElementType::kBF16, {8, 1}, Fill);
  mlx.AddTensor("model.norm.weight", ElementType::kF32, {32}, Fill);
  mlx.AddTensor("experts.blocks", ElementType::kU8, {2, 3, 1, 16}, Fill);
  mlx.AddTensor("empty", ElementType::kF16, {0}, Fill);
  snug::Status status = mlx.Write(dir + "/mlx.safetensors");
  snug::safetensors::Writer plain;
  for (const ElementType type : {ElementType::kF16, ElementType::kBF16, ElementType::kI64,
                                 ElementType::kBool, ElementType::kF8E4M3}) {
    plain.AddTensor(std::string(snug::safetensors::ElementTypeName(type)), type, {2, 3}, Fill);
  }
  if (status.ok()) status = plain.Write(dir + "/plain.safetensors");
  std::FILE* index = std::fopen((dir + "/index.json").c_str(), "wb");
  const char kIndex[] = R"({"metadata":{"total_size":8},"weight_map":{"a":"model.safetensors"}})";
  if (index == nullptr || std::fwrite(kIndex, 1, sizeof(kIndex) - 1, index) == 0) std::exit(1);
  std::fclose(index);
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.message().c_str());
    std::exit(1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  if (const char* dir = std::getenv("SNUG_FUZZ_WRITE_SEEDS")) {
    WriteSeeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto index = snug::safetensors::ParseIndex(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (index.ok()) g_sink = g_sink + index->size();
  const auto file = snug::safetensors::File::Parse({data, size}, "fuzz");
  if (!file.ok()) {
    if (file.status().message().rfind("safetensors: ", 0) != 0) std::abort();  // untagged
    return 0;
  }
  const uint64_t data_bytes = size - file->header().data_offset();
  for (const snug::safetensors::TensorInfo& tensor : file->tensors()) {
    if (tensor.end > data_bytes || tensor.begin > tensor.end) std::abort();
    if (tensor.bytes() != static_cast<uint64_t>(tensor.elements()) *
                              snug::safetensors::ElementBytes(tensor.type)) {
      std::abort();
    }
    const std::span<const uint8_t> bytes = file->Data(tensor);
    if (!bytes.empty()) g_sink = g_sink + bytes.front() + bytes.back();
    const auto view = snug::safetensors::FloatView(tensor, bytes);
    if (view.ok()) g_sink = g_sink + static_cast<uint64_t>(view->bytes());
    if (file->Find(tensor.name) == nullptr) std::abort();
  }
  return 0;
}
