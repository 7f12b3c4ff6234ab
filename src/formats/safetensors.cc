// Parses and validates safetensors headers (specs/models.md §1.2) against the file's size.
// Decisions beyond the format's text, as its reference implementation decides them: the header
// starts with '{', is at most kMaxHeaderBytes, and its names are unique; beyond it: tensors may
// lie in any order and with gaps (as GGUF's may), but never overlap; a dimension may be 0
// (the format allows empty tensors; FloatView refuses them).
#include "formats/safetensors.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "formats/text.h"

namespace snug::safetensors {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors is read in place");

struct TypeEntry {
  ElementType type;
  std::string_view name;
  size_t bytes;
};
constexpr std::array<TypeEntry, 15> kTypes = {{
    {ElementType::kBool, "BOOL", 1}, {ElementType::kU8, "U8", 1},
    {ElementType::kI8, "I8", 1},     {ElementType::kF8E5M2, "F8_E5M2", 1},
    {ElementType::kF8E4M3, "F8_E4M3", 1}, {ElementType::kI16, "I16", 2},
    {ElementType::kU16, "U16", 2},   {ElementType::kF16, "F16", 2},
    {ElementType::kBF16, "BF16", 2}, {ElementType::kI32, "I32", 4},
    {ElementType::kU32, "U32", 4},   {ElementType::kF32, "F32", 4},
    {ElementType::kF64, "F64", 8},   {ElementType::kI64, "I64", 8},
    {ElementType::kU64, "U64", 8},
}};

std::string Where(std::string_view source) { return "safetensors: " + std::string(source); }

Result<uint64_t> NonNegative(const nlohmann::json& value, const std::string& what) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0) {
    return static_cast<uint64_t>(value.get<int64_t>());
  }
  return DataLoss(what + " is not a non-negative integer");
}

Result<TensorInfo> ParseEntry(const std::string& name, const nlohmann::json& entry,
                              uint64_t data_bytes, std::string_view source) {
  const std::string what = Where(source) + ": tensor " + format_text::Quoted(name);
  if (!entry.is_object()) return DataLoss(what + " is not an object");
  for (const auto& [key, value] : entry.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      return DataLoss(what + " has an unknown field " + format_text::Quoted(key));
    }
  }
  TensorInfo info;
  info.name = name;
  const auto dtype = entry.find("dtype");
  if (dtype == entry.end() || !dtype->is_string()) return DataLoss(what + " has no dtype string");
  const std::optional<ElementType> type = ElementTypeFromName(dtype->get_ref<const std::string&>());
  if (!type) {
    return DataLoss(what + " has an unknown dtype " +
                    format_text::Quoted(dtype->get_ref<const std::string&>()));
  }
  info.type = *type;
  const auto shape = entry.find("shape");
  if (shape == entry.end() || !shape->is_array()) return DataLoss(what + " has no shape array");
  if (shape->size() > static_cast<size_t>(kMaxRank)) {
    return DataLoss(what + " has " + std::to_string(shape->size()) + " dimensions (at most " +
                    std::to_string(kMaxRank) + ")");
  }
  uint64_t elements = 1;
  for (const nlohmann::json& dim : *shape) {
    ASSIGN_OR_RETURN(const uint64_t size, NonNegative(dim, what + " shape entry"));
    if (size > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(elements, size, &elements)) {
      return DataLoss(what + " has a shape whose size overflows");
    }
    info.shape.push_back(static_cast<int64_t>(size));
  }
  uint64_t expected_bytes = 0;
  if (__builtin_mul_overflow(elements, ElementBytes(info.type), &expected_bytes) ||
      elements > static_cast<uint64_t>(INT64_MAX)) {
    return DataLoss(what + " has a shape whose size overflows");
  }
  const auto offsets = entry.find("data_offsets");
  if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2) {
    return DataLoss(what + " has no data_offsets [begin, end]");
  }
  ASSIGN_OR_RETURN(info.begin, NonNegative((*offsets)[0], what + " data_offsets begin"));
  ASSIGN_OR_RETURN(info.end, NonNegative((*offsets)[1], what + " data_offsets end"));
  if (info.begin > info.end) {
    return DataLoss(what + " has data_offsets [" + std::to_string(info.begin) + ", " +
                    std::to_string(info.end) + "] that run backwards");
  }
  if (info.end > data_bytes) {
    return DataLoss(what + " extends past the end of the file (data_offsets end " +
                    std::to_string(info.end) + ", the data section has " +
                    std::to_string(data_bytes) + " bytes)");
  }
  if (info.bytes() != expected_bytes) {
    std::string shape_text;
    for (const int64_t dim : info.shape) {
      shape_text += (shape_text.empty() ? "" : ", ") + std::to_string(dim);
    }
    return DataLoss(what + " has " + std::to_string(info.bytes()) + " bytes, but " +
                    std::string(ElementTypeName(info.type)) + " [" + shape_text + "] needs " +
                    std::to_string(expected_bytes));
  }
  return info;
}

}  // namespace

std::string_view ElementTypeName(ElementType type) {
  for (const TypeEntry& entry : kTypes) {
    if (entry.type == type) return entry.name;
  }
  return "?";
}

size_t ElementBytes(ElementType type) {
  for (const TypeEntry& entry : kTypes) {
    if (entry.type == type) return entry.bytes;
  }
  return 1;
}

std::optional<ElementType> ElementTypeFromName(std::string_view name) {
  for (const TypeEntry& entry : kTypes) {
    if (entry.name == name) return entry.type;
  }
  return std::nullopt;
}

int64_t TensorInfo::elements() const {
  int64_t count = 1;
  for (const int64_t dim : shape) count *= dim;  // validated not to overflow
  return count;
}

const TensorInfo* Header::Find(std::string_view name) const {
  // Headers hold a few thousand tensors at most; callers index them (ShardedWeights).
  for (const TensorInfo& tensor : tensors) {
    if (tensor.name == name) return &tensor;
  }
  return nullptr;
}

Result<uint64_t> HeaderPrefixBytes(std::span<const uint8_t> first8, uint64_t file_bytes) {
  if (first8.size() < 8 || file_bytes < 8) {
    return DataLoss("safetensors: file truncated: " + std::to_string(file_bytes) +
                    " bytes, the header length alone takes 8");
  }
  uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, first8.data(), 8);
  if (header_bytes > kMaxHeaderBytes) {
    return DataLoss("safetensors: header length " + std::to_string(header_bytes) +
                    " is over the limit of " + std::to_string(kMaxHeaderBytes) +
                    " bytes (not a safetensors file?)");
  }
  if (header_bytes > file_bytes - 8) {
    return DataLoss("safetensors: file truncated: the header declares " +
                    std::to_string(header_bytes) + " bytes, only " +
                    std::to_string(file_bytes - 8) + " follow");
  }
  return 8 + header_bytes;
}

Result<Header> ParseHeader(std::span<const uint8_t> prefix, uint64_t file_bytes,
                           std::string_view source) {
  ASSIGN_OR_RETURN(const uint64_t prefix_bytes, HeaderPrefixBytes(prefix, file_bytes));
  if (prefix.size() < prefix_bytes) {
    return DataLoss(Where(source) + ": only " + std::to_string(prefix.size()) + " of the " +
                    std::to_string(prefix_bytes) + " header bytes were given");
  }
  Header header;
  header.header_bytes = prefix_bytes - 8;
  header.file_bytes = file_bytes;
  const auto* text = reinterpret_cast<const char*>(prefix.data() + 8);
  if (header.header_bytes == 0 || text[0] != '{') {
    return DataLoss(Where(source) + ": the header is not a JSON object");
  }
  // Top-level names must be unique: a JSON parser would silently keep the last of two.
  std::unordered_set<std::string> names;
  bool duplicate = false;
  std::string duplicate_name;
  const nlohmann::json::parser_callback_t on_event =
      [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        if (depth == 1 && event == nlohmann::json::parse_event_t::key && parsed.is_string()) {
          if (!names.insert(parsed.get<std::string>()).second && !duplicate) {
            duplicate = true;
            duplicate_name = parsed.get<std::string>();
          }
        }
        return true;
      };
  const nlohmann::json json = nlohmann::json::parse(text, text + header.header_bytes, on_event,
                                                    /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return DataLoss(Where(source) + ": the header is not valid JSON");
  }
  if (duplicate) {
    return DataLoss(Where(source) + ": tensor " + format_text::Quoted(duplicate_name) +
                    " appears twice in the header");
  }
  const uint64_t data_bytes = file_bytes - header.data_offset();
  header.tensors.reserve(json.size());
  for (const auto& [name, entry] : json.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) return DataLoss(Where(source) + ": __metadata__ is not an object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) {
          return DataLoss(Where(source) + ": __metadata__ value " + format_text::Quoted(key) +
                          " is not a string");
        }
        header.metadata.emplace_back(key, value.get<std::string>());
      }
      continue;
    }
    if (name.empty()) return DataLoss(Where(source) + ": a tensor has an empty name");
    ASSIGN_OR_RETURN(TensorInfo info, ParseEntry(name, entry, data_bytes, source));
    header.tensors.push_back(std::move(info));
  }
  std::sort(header.tensors.begin(), header.tensors.end(),
            [](const TensorInfo& a, const TensorInfo& b) {
              return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
            });
  for (size_t i = 1; i < header.tensors.size(); ++i) {
    const TensorInfo& previous = header.tensors[i - 1];
    const TensorInfo& tensor = header.tensors[i];
    if (tensor.begin < previous.end) {
      return DataLoss(Where(source) + ": tensors " + format_text::Quoted(previous.name) + " [" +
                      std::to_string(previous.begin) + ", " + std::to_string(previous.end) +
                      ") and " + format_text::Quoted(tensor.name) + " [" +
                      std::to_string(tensor.begin) + ", " + std::to_string(tensor.end) +
                      ") overlap");
    }
  }
  return header;
}

Result<File> File::Open(const std::string& path) {
  ASSIGN_OR_RETURN(MappedFile mapping, MappedFile::Open(path));
  const std::span<const uint8_t> bytes = mapping.bytes();
  ASSIGN_OR_RETURN(Header header, ParseHeader(bytes, bytes.size(), path));
  File file;
  file.mapping_ = std::move(mapping);
  file.bytes_ = file.mapping_.bytes();  // a mapping's address survives the move
  file.source_ = path;
  file.header_ = std::move(header);
  return file;
}

Result<File> File::Parse(std::span<const uint8_t> bytes, std::string_view source) {
  ASSIGN_OR_RETURN(Header header, ParseHeader(bytes, bytes.size(), source));
  File file;
  file.bytes_ = bytes;
  file.source_ = std::string(source);
  file.header_ = std::move(header);
  return file;
}

Result<TensorView> FloatView(const TensorInfo& tensor, std::span<const uint8_t> bytes) {
  const std::string what = "safetensors: tensor " + format_text::Quoted(tensor.name);
  TensorView view;
  switch (tensor.type) {
    case ElementType::kF32: view.dtype = DType::kF32; break;
    case ElementType::kF16: view.dtype = DType::kF16; break;
    case ElementType::kBF16: view.dtype = DType::kBF16; break;
    default:
      return InvalidArgument(what + " has type " + std::string(ElementTypeName(tensor.type)) +
                             ", expected F32, F16 or BF16");
  }
  if (tensor.shape.empty() || tensor.shape.size() > static_cast<size_t>(kMaxDims)) {
    return InvalidArgument(what + " has " + std::to_string(tensor.shape.size()) +
                           " dimensions, expected 1 to " + std::to_string(kMaxDims));
  }
  view.num_dims = static_cast<int>(tensor.shape.size());
  for (int i = 0; i < view.num_dims; ++i) {
    if (tensor.shape[i] == 0) return InvalidArgument(what + " is empty");
    view.shape[i] = tensor.shape[i];
  }
  CHECK(static_cast<uint64_t>(view.bytes()) == bytes.size());
  view.data = bytes.data();
  return view;
}

}  // namespace snug::safetensors
