// Hostile GGUF files: every prefix of a valid file, and a table of crafted corruptions, each
// refused with a precise "gguf: ..." message and never a crash or an unbounded allocation.
#include <gtest/gtest.h>

#include <cstring>

#include "formats/gguf.h"

namespace snug::gguf {
namespace {

// Builds GGUF bytes field by field, so a test can write what no Writer would.
class Raw {
 public:
  Raw& U8(uint8_t v) { return Put(v); }
  Raw& U32(uint32_t v) { return Put(v); }
  Raw& U64(uint64_t v) { return Put(v); }
  Raw& Str(std::string_view s) {
    U64(s.size());
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return *this;
  }
  Raw& Header(uint64_t tensors, uint64_t kvs, uint32_t version = 3) {
    return U32(0x46554747).U32(version).U64(tensors).U64(kvs);
  }
  Raw& Kv(std::string_view key, ValueType type) {
    return Str(key).U32(static_cast<uint32_t>(type));
  }
  Raw& KvU32(std::string_view key, uint32_t v) { return Kv(key, ValueType::kU32).U32(v); }
  // A tensor info; ne innermost-first as in the file.
  Raw& Tensor(std::string_view name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    Str(name).U32(static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) U64(d);
    return U32(type).U64(offset);
  }
  Raw& PadTo(size_t alignment) {
    bytes_.resize((bytes_.size() + alignment - 1) / alignment * alignment, 0);
    return *this;
  }
  Raw& Zeros(size_t n) {
    bytes_.resize(bytes_.size() + n, 0);
    return *this;
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  template <class T>
  Raw& Put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
    return *this;
  }
  std::vector<uint8_t> bytes_;
};

constexpr uint32_t kF32 = 0, kQ8_0 = 8;

std::vector<uint8_t> SmallValidFile() {
  Writer writer;
  writer.SetString("general.architecture", "llama");
  writer.SetU32("llama.block_count", 1);
  writer.SetStringArray("tokenizer.ggml.tokens", {"a", "bc", ""});
  writer.SetBoolArray("flags", {true, false});
  writer.AddTensor("a", DType::kF32, {2, 3}, [](std::span<uint8_t> b) { b[0] = 1; });
  writer.AddTensor("b", DType::kQ8_0, {1, 32}, [](std::span<uint8_t> b) { b[0] = 2; });
  return writer.WriteToMemory();
}

TEST(GgufCorrupt, EveryPrefixOfAValidFileIsRefused) {
  const std::vector<uint8_t> bytes = SmallValidFile();
  ASSERT_TRUE(File::Parse(bytes).ok());
  for (size_t length = 0; length < bytes.size(); ++length) {
    const Result<File> file = File::Parse(std::span(bytes).first(length));
    ASSERT_FALSE(file.ok()) << "prefix of " << length << " bytes was accepted";
    EXPECT_EQ(file.status().message().rfind("gguf: ", 0), 0u) << file.status().message();
  }
}

// Every single-byte change either parses or gives a "gguf: " error (never a crash).
TEST(GgufCorrupt, EveryByteFlipIsHandled) {
  const std::vector<uint8_t> valid = SmallValidFile();
  for (size_t i = 0; i < valid.size(); ++i) {
    for (uint8_t flip : {0x01, 0x80, 0xff}) {
      std::vector<uint8_t> bytes = valid;
      bytes[i] ^= flip;
      const Result<File> file = File::Parse(bytes);
      if (!file.ok()) {
        EXPECT_EQ(file.status().message().rfind("gguf: ", 0), 0u) << file.status().message();
      }
    }
  }
}

struct Case {
  const char* name;
  std::vector<uint8_t> bytes;
  std::string expected;  // a substring of the message
};

std::vector<Case> Cases() {
  const uint64_t kHuge = 1ull << 60;
  std::vector<Case> cases;
  auto add = [&](const char* name, const Raw& raw, std::string expected) {
    cases.push_back({name, raw.bytes(), std::move(expected)});
  };
  add("empty", Raw(), "gguf: file truncated: magic needs 4 bytes at offset 0, only 0 left");
  add("bad magic", Raw().U32(0x58554747).U32(3).U64(0).U64(0),
      "gguf: bad magic 'GGUX', expected 'GGUF'");
  add("version 1", Raw().Header(0, 0, 1), "gguf: version 1 is not supported");
  add("version 7", Raw().Header(0, 0, 7),
      "gguf: unsupported version 7 (snug reads versions 2 and 3)");
  add("big-endian", Raw().Header(0, 0, 0x03000000), "is a big-endian file");
  add("short header", Raw().U32(0x46554747).U32(3).U64(0),
      "gguf: file truncated: metadata count needs 8 bytes at offset 16, only 0 left");
  add("absurd kv count", Raw().Header(0, kHuge).Zeros(64),
      "gguf: metadata count 1152921504606846976 cannot fit in the 64 bytes after the header");
  add("absurd tensor count", Raw().Header(kHuge, 0).Zeros(64),
      "gguf: tensor count 1152921504606846976 cannot fit in the 64 bytes after the header");
  add("kv and tensor counts together", Raw().Header(2, 2).Zeros(60),
      "gguf: tensor count 2 cannot fit");
  add("key length past end", Raw().Header(0, 1).U64(1000).Zeros(20),
      "gguf: file truncated: key-value #0 key has length 1000 at offset 24, only 20 bytes left");
  add("empty key", Raw().Header(0, 1).KvU32("", 5), "gguf: key-value #0 has an empty key");
  add("string value past end", Raw().Header(0, 1).Kv("k", ValueType::kString).U64(kHuge).U64(0),
      "gguf: file truncated: value of key 'k' has length 1152921504606846976");
  add("truncated scalar", Raw().Header(0, 1).Kv("k", ValueType::kU64).U32(0).U8(0),
      "gguf: file truncated: value of key 'k' needs 8 bytes at offset 37, only 5 left");
  add("unknown value type", Raw().Header(0, 1).Kv("k", ValueType(13)).U64(0),
      "gguf: key 'k' has unknown value type 13");
  add("unknown array element type", Raw().Header(0, 1).Kv("k", ValueType::kArray).U32(99).U64(0),
      "gguf: key 'k' has an array of unknown value type 99");
  add("numeric array count past end",
      Raw().Header(0, 1).Kv("k", ValueType::kArray).U32(4).U64(1ull << 40).Zeros(16),
      "gguf: file truncated: key 'k' has an array of 1099511627776 u32 elements (at least 4 "
      "bytes each) at offset 49, only 16 bytes left");
  add("string array count past end",
      Raw().Header(0, 1).Kv("k", ValueType::kArray).U32(8).U64(3).Str("a").Zeros(8),
      "has an array of 3 string elements (at least 8 bytes each)");
  add("string element past end",
      Raw().Header(0, 1).Kv("k", ValueType::kArray).U32(8).U64(2).Str("a").U64(50).Zeros(8),
      "gguf: file truncated: string 1 of key 'k' has length 50");
  add("bool value 2", Raw().Header(0, 1).Kv("k", ValueType::kBool).U8(2),
      "gguf: key 'k' has bool value 2 (expected 0 or 1)");
  add("bool array element 7",
      Raw().Header(0, 1).Kv("k", ValueType::kArray).U32(7).U64(3).U8(1).U8(0).U8(7),
      "gguf: key 'k' element 2 has bool value 7");
  add("duplicate key", Raw().Header(0, 3).KvU32("a", 1).KvU32("b", 2).KvU32("a", 3),
      "gguf: duplicate key 'a' (key-values #0 and #2)");
  add("key with control bytes", Raw().Header(0, 1).Kv("k\n\x01", ValueType(20)).U64(0),
      "gguf: key 'k\\x0a\\x01' has unknown value type 20");
  {
    Raw bomb;
    bomb.Header(0, 1).Kv("bomb", ValueType::kArray);
    for (int depth = 0; depth < 9; ++depth) bomb.U32(9).U64(1);  // array of array of ...
    bomb.U32(4).U64(0).Zeros(16);
    add("nesting depth bomb", bomb, "gguf: key 'bomb' nests arrays more than 8 deep");
  }
  {
    Raw wide;
    wide.Header(0, 1).Kv("wide", ValueType::kArray).U32(9).U64(70000);
    for (int i = 0; i < 70000; ++i) wide.U32(4).U64(0);
    add("too many nested arrays", wide,
        "gguf: key 'wide' brings the nested array elements of the file to 70000, more than 65536");
  }
  add("alignment not a power of two", Raw().Header(0, 1).KvU32("general.alignment", 48),
      "gguf: general.alignment = 48 is not a power of two from 1 to 1048576");
  add("alignment zero", Raw().Header(0, 1).KvU32("general.alignment", 0),
      "gguf: general.alignment = 0 is not a power of two");
  add("alignment too large", Raw().Header(0, 1).KvU32("general.alignment", 1u << 30),
      "gguf: general.alignment = 1073741824 is not a power of two from 1 to 1048576");
  add("alignment of the wrong type",
      Raw().Header(0, 1).Kv("general.alignment", ValueType::kU64).U64(32),
      "gguf: key 'general.alignment' has type u64, expected u32");

  auto tensor_file = [](const Raw& infos, size_t data_bytes) {
    Raw raw = infos;
    return raw.PadTo(32).Zeros(data_bytes);
  };
  add("empty tensor name", tensor_file(Raw().Header(1, 0).Tensor("", {4}, kF32, 0), 16),
      "gguf: tensor #0 has an empty name");
  add("64-byte tensor name",
      tensor_file(Raw().Header(1, 0).Tensor(std::string(64, 'n'), {4}, kF32, 0), 16),
      "-byte name, longer than 63");
  add("tensor name past end", Raw().Header(1, 0).U64(500).Zeros(40),
      "gguf: file truncated: tensor #0 name has length 500 at offset 24, only 40 bytes left");
  add("n_dims 0", tensor_file(Raw().Header(1, 0).Tensor("w", {}, kF32, 0).Zeros(8), 16),
      "gguf: tensor 'w' has 0 dimensions (snug reads 1 to 4)");
  add("n_dims 5", tensor_file(Raw().Header(1, 0).Tensor("w", {1, 1, 1, 1, 1}, kF32, 0), 16),
      "gguf: tensor 'w' has 5 dimensions (snug reads 1 to 4)");
  add("truncated dims", Raw().Header(1, 0).Str("w").U32(4).U64(4).U64(4).Zeros(6),
      "gguf: file truncated: dimensions of tensor 'w' needs 8 bytes");
  add("zero dim", tensor_file(Raw().Header(1, 0).Tensor("w", {4, 0}, kF32, 0), 16),
      "gguf: tensor 'w' has ne[1] = 0 (every dimension must be >= 1)");
  add("huge dim", tensor_file(Raw().Header(1, 0).Tensor("w", {1ull << 63}, kF32, 0), 16),
      "gguf: tensor 'w' has shape ne = [9223372036854775808], more than 2^63 - 1 elements");
  add("dims whose product overflows",
      tensor_file(Raw().Header(1, 0).Tensor("w", {1ull << 32, 1ull << 32}, kF32, 0), 16),
      "gguf: tensor 'w' has shape ne = [4294967296, 4294967296], more than 2^63 - 1 elements");
  add("bytes overflow", tensor_file(Raw().Header(1, 0).Tensor("w", {1ull << 62}, kF32, 0), 16),
      "gguf: tensor 'w' of shape ne = [4611686018427387904] needs more than 2^63 - 1 bytes");
  add("unknown tensor type", tensor_file(Raw().Header(1, 0).Tensor("x", {4}, 77, 0), 16),
      "gguf: tensor 'x' has type id 77 (unknown to ggml too), which snug cannot run yet");
  // Issue 15: a ggml type snug cannot even list (one ggml removed) is named, not numbered.
  // Types snug lists but does not run (IQ2_XXS, ...) parse: models refuse them at load.
  add("a removed ggml type", tensor_file(Raw().Header(1, 0).Tensor("x", {256}, 31, 0), 16),
      "gguf: tensor 'x' has type Q4_0_4_4 (ggml type 31, removed from ggml: convert the model "
      "again), which snug cannot run yet");
  add("a listed type's size is checked like any other",
      tensor_file(Raw().Header(1, 0).Tensor("x", {256}, 16, 0), 16),
      "gguf: tensor 'x' (66 bytes at data offset 0) extends past the end of the file");
  add("ne[0] not a multiple of the block",
      tensor_file(Raw().Header(1, 0).Tensor("q", {33, 2}, kQ8_0, 0), 100),
      "gguf: tensor 'q' of type q8_0 has ne[0] = 33, not a multiple of its block size 32");
  add("misaligned offset", tensor_file(Raw().Header(1, 0).Tensor("w", {4}, kF32, 17), 64),
      "gguf: tensor 'w' has offset 17, not a multiple of the alignment 32");
  add("offset past end", tensor_file(Raw().Header(1, 0).Tensor("w", {4}, kF32, 64), 16),
      "gguf: tensor 'w' (16 bytes at data offset 64) extends past the end of the file (the data "
      "section holds 16 bytes)");
  add("huge offset", tensor_file(Raw().Header(1, 0).Tensor("w", {4}, kF32, ~0ull << 5), 16),
      "gguf: tensor 'w' (16 bytes at data offset 18446744073709551584) extends past the end");
  add("data past end", tensor_file(Raw().Header(1, 0).Tensor("w", {8}, kF32, 0), 31),
      "gguf: tensor 'w' (32 bytes at data offset 0) extends past the end of the file");
  add("no data section", Raw().Header(1, 0).Tensor("w", {8}, kF32, 0),
      "gguf: file truncated: the data section starts at offset 64 but the file is 57 bytes");
  add("duplicate tensor name",
      tensor_file(Raw().Header(2, 0).Tensor("w", {4}, kF32, 0).Tensor("w", {4}, kF32, 32), 64),
      "gguf: duplicate tensor name 'w' (tensors #0 and #1)");
  add("overlapping tensors",
      tensor_file(Raw().Header(2, 0).Tensor("a", {16}, kF32, 32).Tensor("b", {16}, kF32, 0), 96),
      "gguf: tensors 'b' (data offsets 0 to 64) and 'a' (from 32) overlap");
  return cases;
}

TEST(GgufCorrupt, EachCorruptionGetsAPreciseMessage) {
  for (const Case& c : Cases()) {
    const Result<File> file = File::Parse(c.bytes);
    ASSERT_FALSE(file.ok()) << c.name << " was accepted";
    EXPECT_NE(file.status().message().find(c.expected), std::string::npos)
        << c.name << ": got '" << file.status().message() << "', expected '" << c.expected << "'";
  }
}

TEST(GgufCorrupt, LimitsThemselvesAreAccepted) {
  Raw deep;
  deep.Header(1, 2).KvU32("general.alignment", 64).Kv("deep", ValueType::kArray);
  for (int depth = 0; depth < 7; ++depth) deep.U32(9).U64(1);  // 8 arrays deep
  deep.U32(4).U64(1).U32(42);
  deep.Tensor(std::string(63, 'n'), {32, 1, 1, 2}, kQ8_0, 0).PadTo(64).Zeros(68);
  const Result<File> file = File::Parse(deep.bytes());
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->alignment(), 64u);
  EXPECT_EQ(file->tensors()[0].bytes, 68u);
  const TensorView& view = file->tensors()[0].view;
  EXPECT_EQ(ShapeString(view), "[2, 1, 1, 32]");  // outermost-first
  const Array* array = &file->Find("deep")->array;
  for (int depth = 0; depth < 7; ++depth) array = &array->items[0].array;
  EXPECT_EQ(array->IntAt(0), 42);

  // Version 2 has the same layout; a file without tensors needs no data section.
  EXPECT_TRUE(File::Parse(Raw().Header(0, 1, 2).KvU32("a", 1).bytes()).ok());
  // Gaps between tensors and any order are fine.
  Raw gaps;
  gaps.Header(2, 0).Tensor("b", {4}, kF32, 96).Tensor("a", {4}, kF32, 0).PadTo(32).Zeros(112);
  EXPECT_TRUE(File::Parse(gaps.bytes()).ok());
}

}  // namespace
}  // namespace snug::gguf
