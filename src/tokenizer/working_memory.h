// The bound on one Encode's working memory (tokenizer.cc), which the memory plan counts per HTTP
// worker. Its own header, so the plan's count and the tokenizer's windows are one constant.
#pragma once

#include <cstddef>
#include <cstdint>

namespace snug::tokenizer {

// Text between special tokens is encoded in windows of at most this many bytes, cut at a space
// between two words where there is one (the same tokens as one whole encoding), else inside an
// over-long word, so BPE never works on more than this at once, whatever the text.
inline constexpr size_t kEncodeWindowBytes = 2048;
// The heap one Encode holds besides its result (4 bytes per token): the escaped window, BPE
// symbols and candidates, pre-token views: 160 KB measured at worst (2,048 spaces, each a
// 3-byte "▁" symbol, in SentencePiece BPE; tests/tokenizer/working_memory_test.cc).
inline constexpr int64_t kEncodeWorkingBytes = 256 << 10;

}  // namespace snug::tokenizer
