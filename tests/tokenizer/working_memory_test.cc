// One Encode's heap, measured by replacing the global operator new (for this whole binary; it
// only counts, per thread). Whatever the text — 2 MB of one word, 2 MB of words — Encode holds
// at most kEncodeWorkingBytes besides its result (issue 14 item 7: twelve 2 MB one-word
// prompts took 1.9 GB through BPE's per-symbol lists and heap), and text split between words
// encodes exactly as a whole.
#include "tokenizer/working_memory.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>

#include "test_vocabularies.h"

namespace {

thread_local bool t_counting = false;
thread_local int64_t t_live = 0;
thread_local int64_t t_peak = 0;

void* Allocate(std::size_t size) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  if (t_counting) {
    t_live += static_cast<int64_t>(malloc_usable_size(p));
    t_peak = std::max(t_peak, t_live);
  }
  return p;
}

void Release(void* p) {
  if (p != nullptr && t_counting) t_live -= static_cast<int64_t>(malloc_usable_size(p));
  std::free(p);
}

}  // namespace

void* operator new(std::size_t size) { return Allocate(size); }
void* operator new[](std::size_t size) { return Allocate(size); }
void operator delete(void* p) noexcept { Release(p); }
void operator delete[](void* p) noexcept { Release(p); }
void operator delete(void* p, std::size_t) noexcept { Release(p); }
void operator delete[](void* p, std::size_t) noexcept { Release(p); }

namespace snug::tokenizer {
namespace {

using testing::VocabBuilder;
using Ids = std::vector<TokenId>;

constexpr size_t kTextBytes = 2 << 20;

// Encodes `text` and returns the peak heap it held beyond its result's buffer.
int64_t PeakBeyondResult(const Tokenizer& tokenizer, const std::string& text, Ids& ids) {
  t_live = 0;
  t_peak = 0;
  t_counting = true;
  ids = tokenizer.Encode(text);
  t_counting = false;
  // The result grows by doubling: its last two buffers (half and all of its capacity) may be
  // alive at once.
  return t_peak - 3 * static_cast<int64_t>(ids.capacity() * sizeof(TokenId)) / 2;
}

// A vocabulary of `kind` where "hello" and " hello" are single tokens and "a" runs merge.
struct Fixture {
  VocabBuilder builder;
  TokenId hello = 0, space_hello = 0;
  explicit Fixture(ModelKind kind) : builder(kind) {
    const std::string space = kind == ModelKind::kByteLevelBpe ? "\xC4\xA0" : "\xE2\x96\x81";
    if (kind == ModelKind::kByteLevelBpe) {
      builder.AddByteLevelAlphabet();
      builder.vocab().pre = "default";
    } else {
      builder.AddByteTokens();
    }
    auto id = [&](const std::string& text) {
      for (size_t i = 0; i < builder.vocab().tokens.size(); ++i) {
        if (builder.vocab().tokens[i] == text) return static_cast<TokenId>(i);
      }
      return builder.Add(text, TokenType::kNormal, -10);
    };
    const TokenId a = id("a"), aa = builder.Merge(a, a, -2);
    builder.Merge(aa, aa, -1);
    const TokenId he = builder.Merge(id("h"), id("e"), -3);
    const TokenId llo = builder.Merge(builder.Merge(id("l"), id("l"), -4), id("o"), -5);
    hello = builder.Merge(he, llo, -0.5);
    space_hello = builder.Merge(id(space), hello, -0.25);
  }
};

class WorkingMemory : public ::testing::TestWithParam<ModelKind> {};

std::string KindName(const ::testing::TestParamInfo<ModelKind>& info) {
  constexpr const char* kNames[] = {"SentencePiece", "MergesBpe", "ByteLevelBpe"};
  return kNames[static_cast<int>(info.param)];
}

TEST_P(WorkingMemory, OneHugeWordIsBounded) {
  Fixture f(GetParam());
  const Tokenizer tokenizer = f.builder.Build();
  Ids ids;
  const int64_t peak = PeakBeyondResult(tokenizer, std::string(kTextBytes, 'a'), ids);
  EXPECT_LE(peak, kEncodeWorkingBytes) << "peak " << peak << " B beyond the result";
  EXPECT_EQ(ids.size(), kTextBytes / 4);  // "aaaa" tokens, windows included
  // Spaces: for SentencePiece each is a 3-byte "▁", the most symbols a window can hold.
  const int64_t spaces = PeakBeyondResult(tokenizer, std::string(kTextBytes, ' '), ids);
  EXPECT_LE(spaces, kEncodeWorkingBytes) << "peak " << spaces << " B beyond the result";
  std::printf("peak working memory: %lld B (one word), %lld B (spaces)\n",
              static_cast<long long>(peak), static_cast<long long>(spaces));
}

TEST_P(WorkingMemory, ManyWordsAreBoundedAndExact) {
  Fixture f(GetParam());
  const Tokenizer tokenizer = f.builder.Build();
  std::string text = "hello";
  while (text.size() < kTextBytes) text += " hello";
  Ids ids;
  const int64_t peak = PeakBeyondResult(tokenizer, text, ids);
  EXPECT_LE(peak, kEncodeWorkingBytes) << "peak " << peak << " B beyond the result";
  Ids expected(text.size() / 6 + 1, f.space_hello);
  expected[0] = f.hello;
  EXPECT_EQ(ids, expected);  // split between words: the same tokens as one whole encoding
}

INSTANTIATE_TEST_SUITE_P(Kinds, WorkingMemory,
                         ::testing::Values(ModelKind::kSentencePiece, ModelKind::kMergesBpe,
                                           ModelKind::kByteLevelBpe),
                         KindName);

}  // namespace
}  // namespace snug::tokenizer
