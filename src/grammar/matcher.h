// Matching a grammar incrementally, byte by byte, and the per-step token mask of constrained
// decoding. Owns the parse state of one sequence; the grammar and the vocabulary index are
// shared and immutable.
//
// The state is a set of stacks (a pushdown automaton run on every alternative at once, as
// llama.cpp's grammar sampler): a stack's top is a terminal (a byte class or a JSON lexical
// automaton with its sub-state), the nodes below are where to continue after it. Nodes live in
// an arena with parent links, so stacks share their bottoms and a token's trial costs a few
// nodes, dropped afterwards.
//
// Masks walk the vocabulary in byte order (TokenIndex), so tokens that share a prefix share
// its matching, and a dead prefix skips every token that starts with it. Inside a free JSON
// string every token made only of plain string characters keeps the state as it is, so those
// (most of the vocabulary) are allowed at once from a precomputed bitmap and only the others
// are matched.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/grammar.h"
#include "tokenizer/tokenizer.h"

namespace snug::grammar {

// The vocabulary as the matcher needs it: every token's bytes (what it adds to decoded text;
// tokens adding nothing — control tokens — are never allowed), sorted. Build once per model.
class TokenIndex {
 public:
  explicit TokenIndex(const std::vector<std::string>& token_bytes);
  static TokenIndex FromTokenizer(const tokenizer::Tokenizer& tokenizer);

  int vocab_size() const { return vocab_size_; }
  int mask_words() const { return (vocab_size_ + 63) / 64; }
  std::string_view bytes(int32_t token) const;  // "" for tokens never allowed

  // Tokens sorted by bytes, with each one's common prefix with the previous one.
  struct Sorted {
    std::vector<int32_t> ids;
    std::vector<uint16_t> common;
  };

 private:
  friend class Matcher;
  int vocab_size_ = 0;
  int max_token_bytes_ = 0;
  std::string text_;               // every token's bytes, by id
  std::vector<uint32_t> offsets_;  // [vocab_size + 1] into text_
  Sorted all_;                     // every token with bytes
  Sorted not_plain_;               // those not in plain_
  std::vector<uint64_t> plain_;    // [mask_words] plain JSON string content, whole UTF-8
};

class Matcher {
 public:
  // `index` may be null when only Accept/AcceptBytes are used (no masks, no token ids).
  Matcher(std::shared_ptr<const Grammar> grammar, const TokenIndex* index);

  // Feeds bytes / a token's bytes; false, with the state unchanged, when they cannot continue
  // a document (a token with no bytes never can).
  bool AcceptBytes(std::string_view bytes);
  // A token with bytes is matched by them; one without (a control token) only where the
  // grammar has its kToken.
  bool AcceptToken(int32_t token);
  // The bytes so far form a whole document / one to which nothing more can be added.
  bool CanEnd() const;
  bool Done() const;

  // Sets bit t of `mask` ([index.mask_words()]) iff token t can continue the document; the
  // caller adds end-of-generation tokens when CanEnd(). Allocates nothing once warm.
  void FillMask(std::span<uint64_t> mask);

 private:
  struct Node {
    int32_t position;  // element of the grammar
    int32_t sub;       // the JSON automaton's state when the element is one
    int32_t parent;    // -1: bottom
  };
  static constexpr int32_t kAccept = -1;  // a "stack" with nothing left: the document is whole

  int32_t NewNode(int32_t position, int32_t sub, int32_t parent);
  void Expand(int32_t position, int32_t parent, std::vector<int32_t>& out);
  // Appends to `out` the stacks `byte` leads to from in[from, to) (deduplicated); `in` may be
  // `out`.
  void Step(const std::vector<int32_t>& in, size_t from, size_t to, uint8_t byte,
            std::vector<int32_t>& out);
  void StepToken(const std::vector<int32_t>& in, int32_t token, std::vector<int32_t>& out);
  void Deduplicate(std::vector<int32_t>& out, size_t begin) const;
  bool SameStack(int32_t a, int32_t b) const;
  bool InFreeString() const;
  void Walk(const TokenIndex::Sorted& sorted, std::span<uint64_t> mask);
  void Compact();

  std::shared_ptr<const Grammar> grammar_;
  const TokenIndex* index_;
  std::vector<Node> nodes_;    // arena; [0, nodes_.size()) after the last Accept are live
  std::vector<int32_t> tops_;  // the committed state
  std::vector<int32_t> next_;  // scratch for Accept
  // Mask walk: stacks per depth, flat; depth d's are [depth_begin_[d], depth_begin_[d + 1]).
  std::vector<int32_t> walk_tops_;
  std::vector<uint32_t> depth_begin_;
  std::vector<uint32_t> depth_nodes_;  // arena size at each depth
  std::vector<int32_t> remap_;         // Compact()
};

}  // namespace snug::grammar
