// Rank-driven and score-driven BPE merge loops (see bpe.h).
#include "tokenizer/bpe.h"

#include <queue>
#include <string>

namespace snug::tokenizer {

Status MergeTable::Build(const Vocabulary& vocab,
                         const std::unordered_map<std::string_view, TokenId>& ids) {
  merges_.clear();
  merges_.reserve(vocab.merges.size());
  std::string joined;
  for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
    const auto [left, right] = vocab.merges[rank];
    joined = vocab.tokens[left];
    joined += vocab.tokens[right];
    const auto it = ids.find(joined);
    if (it == ids.end()) {
      return DataLoss("tokenizer: merge " + std::to_string(rank) +
                      " produces a token that is not in the vocabulary");
    }
    // A pair listed twice keeps its first (best) rank.
    merges_.try_emplace(Key(left, right), Merge{static_cast<int32_t>(rank), it->second});
  }
  return Status::Ok();
}

void MergeByRank(const MergeTable& table, std::vector<TokenId>& symbols) {
  const int n = static_cast<int>(symbols.size());
  if (n < 2) return;
  std::vector<int> prev(n), next(n);  // [n] linked list over positions; -1 ends it
  std::vector<bool> alive(n, true);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    int32_t rank;
    int position;  // of the left symbol
    TokenId left, right;
    bool operator>(const Candidate& other) const {
      return rank != other.rank ? rank > other.rank : position > other.position;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  const auto consider = [&](int position) {
    if (position < 0 || next[position] < 0) return;
    const TokenId left = symbols[position], right = symbols[next[position]];
    if (const MergeTable::Merge* merge = table.Find(left, right)) {
      queue.push({merge->rank, position, left, right});
    }
  };
  for (int i = 0; i + 1 < n; ++i) consider(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    const int position = top.position;
    // Stale: a symbol only changes by absorbing its right neighbour, which changes its id.
    if (!alive[position] || symbols[position] != top.left || next[position] < 0 ||
        symbols[next[position]] != top.right) {
      continue;
    }
    const int right = next[position];
    symbols[position] = table.Find(top.left, top.right)->merged;
    alive[right] = false;
    next[position] = next[right];
    if (next[right] >= 0) prev[next[right]] = position;
    consider(prev[position]);
    consider(position);
  }
  int out = 0;
  for (int i = 0; i >= 0 && i < n; i = next[i]) symbols[out++] = symbols[i];
  symbols.resize(out);
}

namespace {

// llama.cpp's utf8_len: the sequence length a lead byte announces (1 for stray bytes).
size_t LeadByteLength(uint8_t byte) {
  static constexpr uint8_t kLengths[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLengths[byte >> 4];
}

struct Symbol {
  int prev, next;
  size_t offset, length;  // into the text; length 0 once merged away
};

struct Bigram {
  float score;
  int left, right;
  size_t length;
  // Max-heap order: higher score first, then the leftmost.
  bool operator<(const Bigram& other) const {
    return score < other.score || (score == other.score && left > other.left);
  }
};

}  // namespace

void EncodeSentencePiece(const SentencePieceModel& model, std::string_view text,
                         std::vector<TokenId>& out) {
  const Vocabulary& vocab = *model.vocab;
  const auto& ids = *model.ids;
  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  for (size_t offset = 0; offset < text.size();) {
    const size_t length =
        std::min(LeadByteLength(static_cast<uint8_t>(text[offset])), text.size() - offset);
    const int index = static_cast<int>(symbols.size());
    symbols.push_back({index - 1, -1, offset, length});
    if (index > 0) symbols[index - 1].next = index;
    offset += length;
  }
  std::priority_queue<Bigram> queue;
  const auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const std::string_view joined =
        text.substr(symbols[left].offset, symbols[left].length + symbols[right].length);
    const auto it = ids.find(joined);
    if (it == ids.end()) return;
    // Never assemble a control or unknown token out of plain text (llama.cpp would; with
    // parse_special off that would let user text forge e.g. <start_of_turn>).
    const TokenType type = vocab.types[it->second];
    if (type == TokenType::kControl || type == TokenType::kUnknown) return;
    queue.push({vocab.scores[it->second], left, right, joined.size()});
  };
  for (size_t i = 1; i < symbols.size(); ++i) try_add(static_cast<int>(i) - 1, static_cast<int>(i));
  while (!queue.empty()) {
    const Bigram bigram = queue.top();
    queue.pop();
    Symbol& left = symbols[bigram.left];
    Symbol& right = symbols[bigram.right];
    if (left.length == 0 || right.length == 0 || left.length + right.length != bigram.length) {
      continue;  // stale
    }
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    try_add(left.prev, bigram.left);
    try_add(bigram.left, left.next);
  }
  // A merged symbol is always a token; an original character that is not becomes bytes.
  for (int i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next) {
    const std::string_view piece = text.substr(symbols[i].offset, symbols[i].length);
    if (const auto it = ids.find(piece); it != ids.end()) {
      out.push_back(it->second);
      continue;
    }
    for (const char c : piece) {
      const TokenId byte_token = (*model.byte_tokens)[static_cast<uint8_t>(c)];
      if (byte_token != kNoToken) {
        out.push_back(byte_token);
      } else if (vocab.unk != kNoToken) {
        out.push_back(vocab.unk);
      }
    }
  }
}

}  // namespace snug::tokenizer
