// Writer → reader round trips: every value type (nested and empty arrays included), tensor
// bytes and views, alignment, key order, streaming to a file and write failures.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "formats/gguf.h"

namespace snug::gguf {
namespace {

Value Scalar(ValueType type) {
  Value value;
  value.type = type;
  return value;
}

template <class T>
Value NumericArray(ValueType type, const std::vector<T>& values, std::vector<uint8_t>* storage) {
  storage->resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(storage->data(), values.data(), storage->size());
  Value value = Scalar(ValueType::kArray);
  value.array.element_type = type;
  value.array.count = values.size();
  value.array.raw = *storage;
  return value;
}

Value StringArray(const std::vector<std::string_view>& strings) {
  Value value = Scalar(ValueType::kArray);
  value.array.element_type = ValueType::kString;
  value.array.count = strings.size();
  value.array.strings = strings;
  return value;
}

Value ArrayOfArrays(std::vector<Value> items) {
  Value value = Scalar(ValueType::kArray);
  value.array.element_type = ValueType::kArray;
  value.array.count = items.size();
  value.array.items = std::move(items);
  return value;
}

// Compares two values field by field, arrays element by element (raw bytes for numbers).
void ExpectSameValue(const Value& expected, const Value& actual, const std::string& key) {
  SCOPED_TRACE(key);
  ASSERT_EQ(expected.type, actual.type);
  switch (expected.type) {
    case ValueType::kString:
      EXPECT_EQ(expected.s, actual.s);
      break;
    case ValueType::kF32:
    case ValueType::kF64:
      EXPECT_EQ(expected.f, actual.f);
      break;
    case ValueType::kI8:
    case ValueType::kI16:
    case ValueType::kI32:
    case ValueType::kI64:
      EXPECT_EQ(expected.i, actual.i);
      break;
    case ValueType::kArray: {
      const Array& a = expected.array;
      const Array& b = actual.array;
      ASSERT_EQ(a.element_type, b.element_type);
      ASSERT_EQ(a.count, b.count);
      EXPECT_TRUE(std::equal(a.raw.begin(), a.raw.end(), b.raw.begin(), b.raw.end()));
      EXPECT_EQ(a.strings, b.strings);
      ASSERT_EQ(a.items.size(), b.items.size());
      for (size_t i = 0; i < a.items.size(); ++i) ExpectSameValue(a.items[i], b.items[i], key);
      break;
    }
    default:
      EXPECT_EQ(expected.u, actual.u);
  }
}

TEST(GgufRoundTrip, EveryValueType) {
  std::vector<std::pair<std::string, Value>> values;
  Value v = Scalar(ValueType::kU8);
  v.u = 250;
  values.emplace_back("t.u8", v);
  v = Scalar(ValueType::kI8);
  v.i = -100;
  values.emplace_back("t.i8", v);
  v = Scalar(ValueType::kU16);
  v.u = 65000;
  values.emplace_back("t.u16", v);
  v = Scalar(ValueType::kI16);
  v.i = -32000;
  values.emplace_back("t.i16", v);
  v = Scalar(ValueType::kU32);
  v.u = 4000000000u;
  values.emplace_back("t.u32", v);
  v = Scalar(ValueType::kI32);
  v.i = -2000000000;
  values.emplace_back("t.i32", v);
  v = Scalar(ValueType::kF32);
  v.f = 1e-6f;
  values.emplace_back("t.f32", v);
  v = Scalar(ValueType::kBool);
  v.u = 1;
  values.emplace_back("t.bool", v);
  v = Scalar(ValueType::kString);
  v.s = "héllo";
  values.emplace_back("t.string", v);
  v = Scalar(ValueType::kString);
  v.s = "";
  values.emplace_back("t.empty_string", v);
  v = Scalar(ValueType::kU64);
  v.u = ~0ull;
  values.emplace_back("t.u64", v);
  v = Scalar(ValueType::kI64);
  v.i = INT64_MIN;
  values.emplace_back("t.i64", v);
  v = Scalar(ValueType::kF64);
  v.f = -2.5e300;
  values.emplace_back("t.f64", v);
  std::vector<std::vector<uint8_t>> storage(16);
  values.emplace_back("a.u8", NumericArray<uint8_t>(ValueType::kU8, {1, 2, 255}, &storage[0]));
  values.emplace_back("a.i16", NumericArray<int16_t>(ValueType::kI16, {-1, 7}, &storage[1]));
  values.emplace_back("a.u64", NumericArray<uint64_t>(ValueType::kU64, {1ull << 60}, &storage[2]));
  values.emplace_back("a.f64", NumericArray<double>(ValueType::kF64, {0.5, -3}, &storage[3]));
  values.emplace_back("a.bool", NumericArray<uint8_t>(ValueType::kBool, {1, 0, 1}, &storage[4]));
  values.emplace_back("a.empty_u32", NumericArray<uint32_t>(ValueType::kU32, {}, &storage[5]));
  values.emplace_back("a.strings", StringArray({"a", "", "ccc"}));
  values.emplace_back("a.empty_strings", StringArray({}));
  values.emplace_back(
      "a.nested",
      ArrayOfArrays({NumericArray<uint32_t>(ValueType::kU32, {1, 2}, &storage[6]),
                     StringArray({"x"}), ArrayOfArrays({}),
                     ArrayOfArrays({NumericArray<int8_t>(ValueType::kI8, {-5}, &storage[7])})}));
  values.emplace_back("a.empty_nested", ArrayOfArrays({}));

  Writer writer;
  for (const auto& [key, value] : values) writer.SetValue(key, value);
  const std::vector<uint8_t> bytes = writer.WriteToMemory();
  Result<File> file = File::Parse(bytes);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->version(), 3u);
  ASSERT_EQ(file->metadata().size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(file->metadata()[i].key, values[i].first);  // insertion order
    ExpectSameValue(values[i].second, file->metadata()[i].value, values[i].first);
  }
  EXPECT_EQ(file->tensors().size(), 0u);
  EXPECT_EQ(file->Find("a.nested")->array.items[3].array.items[0].array.IntAt(0), -5);
  EXPECT_EQ(file->Find("a.bool")->array.BoolAt(1), false);
  EXPECT_EQ(file->Find("a.u64")->array.U64At(0), 1ull << 60);
  EXPECT_EQ(file->Find("a.f64")->array.FloatAt(1), -3.0);
  EXPECT_EQ(file->Find("a.strings")->array.StringAt(2), "ccc");
}

TEST(GgufRoundTrip, NamedSettersAndTypedGetters) {
  Writer writer;
  writer.SetString("general.architecture", "gemma3");
  writer.SetU32("gemma3.block_count", 26);
  writer.SetI32("gemma3.negative", -3);
  writer.SetU64("gemma3.big", 1ull << 63);
  writer.SetF32("gemma3.eps", 1e-6f);
  writer.SetBool("gemma3.flag", true);
  writer.SetStringArray("tokenizer.ggml.tokens", {"<pad>", "<eos>"});
  writer.SetI32Array("i32s", {-1, 2});
  writer.SetU32Array("u32s", {7, 8, 9});
  writer.SetF32Array("f32s", {0.25f});
  writer.SetBoolArray("bools", {true, false, true});
  writer.SetU32("gemma3.block_count", 34);  // keeps its position, takes the new value
  const std::vector<uint8_t> bytes = writer.WriteToMemory();
  Result<File> file = File::Parse(bytes);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->architecture(), "gemma3");
  EXPECT_EQ(file->metadata()[1].key, "gemma3.block_count");
  EXPECT_EQ(*file->GetInt("gemma3.block_count"), 34);
  EXPECT_EQ(*file->GetInt("gemma3.negative"), -3);
  EXPECT_EQ(*file->GetFloat("gemma3.eps"), static_cast<double>(1e-6f));
  EXPECT_EQ(*file->GetFloat("gemma3.block_count"), 34.0);
  EXPECT_TRUE(*file->GetBool("gemma3.flag"));
  EXPECT_EQ(*file->GetString("general.architecture"), "gemma3");
  EXPECT_EQ((*file->GetArray("u32s"))->IntAt(2), 9);
  EXPECT_EQ((*file->GetArray("i32s"))->IntAt(0), -1);
  EXPECT_EQ((*file->GetArray("f32s"))->FloatAt(0), 0.25);
  EXPECT_EQ((*file->GetArray("bools"))->count, 3u);
  EXPECT_TRUE((*file->GetArray("bools"))->BoolAt(2));
  EXPECT_EQ((*file->GetArray("tokenizer.ggml.tokens"))->StringAt(1), "<eos>");

  EXPECT_EQ(file->GetInt("missing").status().message(), "gguf: key 'missing' is missing");
  EXPECT_EQ(file->GetInt("missing").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(file->GetInt("general.architecture").status().message(),
            "gguf: key 'general.architecture' has type string, expected an integer");
  EXPECT_NE(file->GetInt("gemma3.big").status().message().find("does not fit"), std::string::npos);
  EXPECT_FALSE(file->GetBool("gemma3.block_count").ok());
  EXPECT_FALSE(file->GetString("gemma3.flag").ok());
  EXPECT_FALSE(file->GetArray("gemma3.flag").ok());
  EXPECT_FALSE(file->GetFloat("general.architecture").ok());
}

// Deterministic bytes per tensor, so views can be compared with what the writer was given.
std::vector<uint8_t> Pattern(size_t bytes, int seed) {
  std::vector<uint8_t> out(bytes);
  for (size_t i = 0; i < bytes; ++i) out[i] = static_cast<uint8_t>(i * 31 + seed * 7 + 1);
  return out;
}

struct TensorCase {
  std::string name;
  DType type;
  std::vector<int64_t> shape;
  int64_t bytes;
};

const std::vector<TensorCase> kTensors = {
    {"token_embd.weight", DType::kQ8_0, {5, 64}, 5 * 2 * 34},
    {"blk.0.attn_norm.weight", DType::kF32, {7}, 28},
    {"blk.0.ffn_up.weight", DType::kQ4_K, {3, 256}, 3 * 144},
    {"blk.0.ffn_gate_exps.weight", DType::kMXFP4, {2, 3, 32}, 6 * 17},
    {"blk.0.attn_q.weight", DType::kF16, {2, 2, 2, 3}, 24 * 2},
    {"output.weight", DType::kBF16, {1, 1}, 2},
    {"blk.0.ffn_down.weight", DType::kQ6_K, {1, 512}, 2 * 210},
};

Writer TensorWriter(uint32_t alignment) {
  Writer writer;
  writer.SetString("general.architecture", "test");
  if (alignment != 32) writer.SetAlignment(alignment);
  for (size_t t = 0; t < kTensors.size(); ++t) {
    const TensorCase& c = kTensors[t];
    writer.AddTensor(c.name, c.type, c.shape, [&c, t](std::span<uint8_t> bytes) {
      ASSERT_EQ(static_cast<int64_t>(bytes.size()), c.bytes) << c.name;
      const std::vector<uint8_t> pattern = Pattern(bytes.size(), static_cast<int>(t));
      std::copy(pattern.begin(), pattern.end(), bytes.begin());
    });
  }
  return writer;
}

void ExpectTensors(const File& file, const uint8_t* base, uint64_t alignment) {
  ASSERT_EQ(file.tensors().size(), kTensors.size());
  EXPECT_EQ(file.alignment(), alignment);
  EXPECT_EQ(file.data_offset() % alignment, 0u);
  for (size_t t = 0; t < kTensors.size(); ++t) {
    const TensorCase& c = kTensors[t];
    const TensorInfo& info = file.tensors()[t];
    SCOPED_TRACE(c.name);
    EXPECT_EQ(info.name, c.name);
    EXPECT_EQ(file.FindTensor(c.name), &info);
    EXPECT_EQ(info.view.dtype, c.type);
    ASSERT_EQ(info.view.num_dims, static_cast<int>(c.shape.size()));
    for (size_t d = 0; d < c.shape.size(); ++d) EXPECT_EQ(info.view.shape[d], c.shape[d]);
    EXPECT_EQ(static_cast<int64_t>(info.bytes), c.bytes);
    EXPECT_EQ(info.view.bytes(), c.bytes);
    EXPECT_EQ(info.offset % alignment, 0u);
    const auto* data = static_cast<const uint8_t*>(info.view.data);
    EXPECT_EQ(static_cast<uint64_t>(data - base), file.data_offset() + info.offset);
    EXPECT_EQ(std::vector<uint8_t>(data, data + info.bytes), Pattern(c.bytes, static_cast<int>(t)));
  }
  EXPECT_EQ(file.FindTensor("absent"), nullptr);
}

TEST(GgufRoundTrip, TensorViewsMatchTheBytesWritten) {
  for (uint32_t alignment : {32u, 1u, 64u, 4096u}) {
    SCOPED_TRACE(alignment);
    const std::vector<uint8_t> bytes = TensorWriter(alignment).WriteToMemory();
    Result<File> file = File::Parse(bytes);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    ExpectTensors(*file, bytes.data(), alignment);
    // The key is written only when it is not the default.
    EXPECT_EQ(file->Find("general.alignment") != nullptr, alignment != 32);
    // The last tensor ends the file: no trailing padding.
    const TensorInfo& last = file->tensors().back();
    EXPECT_EQ(file->data_offset() + last.offset + last.bytes, bytes.size());
  }
}

TEST(GgufRoundTrip, WriteStreamsTheSameBytesToAFileThatOpenMaps) {
  const std::string path = testing::TempDir() + "/gguf_roundtrip_" + std::to_string(getpid());
  const Writer writer = TensorWriter(64);
  ASSERT_TRUE(writer.Write(path).ok());
  std::ifstream stream(path, std::ios::binary);
  const std::vector<uint8_t> on_disk((std::istreambuf_iterator<char>(stream)),
                                     std::istreambuf_iterator<char>());
  EXPECT_EQ(on_disk, writer.WriteToMemory());
  {
    Result<File> file = File::Open(path);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    File moved = std::move(file).value();  // views survive moving the File
    ExpectTensors(moved,
                  static_cast<const uint8_t*>(moved.tensors()[0].view.data) - moved.data_offset() -
                      moved.tensors()[0].offset,
                  64);
    EXPECT_EQ(moved.file_bytes(), on_disk.size());
  }
  std::filesystem::remove(path);
}

TEST(GgufRoundTrip, WriteReportsFailures) {
  const Writer writer = TensorWriter(32);
  const Status full = writer.Write("/dev/full");
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(full.message().find("gguf: cannot write '/dev/full': No space left on device"),
            std::string::npos)
      << full.message();
  EXPECT_TRUE(std::filesystem::exists("/dev/full"));  // a device is never removed
  const Status missing = writer.Write("/nonexistent-dir/model.gguf");
  EXPECT_NE(missing.message().find("gguf: cannot create '/nonexistent-dir/model.gguf'"),
            std::string::npos);
}

TEST(GgufRoundTrip, OpenReportsThePath) {
  const std::string path = testing::TempDir() + "/gguf_not_gguf_" + std::to_string(getpid());
  std::ofstream(path) << "not a gguf file at all, but long enough";
  const Result<File> file = File::Open(path);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().message(),
            "gguf: '" + path + "': bad magic 'not ', expected 'GGUF' (not a GGUF file)");
  std::filesystem::remove(path);
  EXPECT_EQ(File::Open(path).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace snug::gguf
