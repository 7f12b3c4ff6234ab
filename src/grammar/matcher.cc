// Matcher: the set-of-stacks pushdown run over bytes, and the mask walk (matcher.h).
#include "grammar/matcher.h"

#include <algorithm>
#include <limits>

#include "base/check.h"
#include "grammar/json_automata.h"

namespace snug::grammar {
namespace {

// Arena sizes reserved up front so steps do not allocate: a document's live stacks need a few
// nodes per nesting level, a mask walk a few per byte of the longest token.
constexpr size_t kReservedNodes = 1 << 13;
constexpr size_t kCompactAbove = 1 << 12;

bool Contains(const ByteSet& set, uint8_t byte) { return (set[byte >> 6] >> (byte & 63)) & 1; }

}  // namespace

Matcher::Matcher(std::shared_ptr<const Grammar> grammar, const TokenIndex* index)
    : grammar_(std::move(grammar)), index_(index) {
  CHECK(grammar_ != nullptr);
  nodes_.reserve(kReservedNodes);
  remap_.reserve(kReservedNodes);
  tops_.reserve(64);
  next_.reserve(64);
  const int depths = (index_ ? index_->max_token_bytes_ : 0) + 2;
  depth_begin_.resize(depths + 1);
  depth_nodes_.resize(depths + 1);
  walk_tops_.reserve(64 * depths);
  for (int32_t alternative : grammar_->rules[grammar_->root]) Expand(alternative, -1, tops_);
}

int32_t Matcher::NewNode(int32_t position, int32_t sub, int32_t parent) {
  nodes_.push_back({position, sub, parent});
  return static_cast<int32_t>(nodes_.size() - 1);
}

// Pushes the stacks that are at `position` (with `parent` below) once every rule reference on
// top is replaced by its alternatives, so each stack's top is a terminal (or it is kAccept).
void Matcher::Expand(int32_t position, int32_t parent, std::vector<int32_t>& out) {
  const Grammar& g = *grammar_;
  for (;;) {
    const Element element = g.elements[position];
    if (element.kind == ElementKind::kEnd) {
      if (parent < 0) {
        out.push_back(kAccept);
        return;
      }
      const Node below = nodes_[parent];
      position = below.position;
      parent = below.parent;
      continue;
    }
    if (element.kind == ElementKind::kRule) {
      // What follows the reference waits below; at an alternative's end nothing does (so right
      // recursion — repetition — does not grow the stack).
      const int32_t after = position + 1;
      const int32_t continuation =
          g.elements[after].kind == ElementKind::kEnd ? parent : NewNode(after, 0, parent);
      for (int32_t alternative : g.rules[element.value]) Expand(alternative, continuation, out);
      return;
    }
    out.push_back(NewNode(position, 0, parent));
    return;
  }
}

bool Matcher::SameStack(int32_t a, int32_t b) const {
  while (a != b) {
    if (a < 0 || b < 0) return false;
    const Node& x = nodes_[a];
    const Node& y = nodes_[b];
    if (x.position != y.position || x.sub != y.sub) return false;
    a = x.parent;
    b = y.parent;
  }
  return true;
}

void Matcher::Step(const std::vector<int32_t>& in, size_t from, size_t to, uint8_t byte,
                   std::vector<int32_t>& out) {
  const Grammar& g = *grammar_;
  const size_t begin = out.size();
  for (size_t k = from; k < to; ++k) {
    const int32_t top = in[k];  // `in` may be `out`: index it afresh every time
    if (top == kAccept) continue;
    const Node node = nodes_[top];
    const Element element = g.elements[node.position];
    switch (element.kind) {
      case ElementKind::kBytes:
        if (Contains(g.byte_sets[element.value], byte)) Expand(node.position + 1, node.parent, out);
        break;
      case ElementKind::kString: {
        const int32_t sub = internal::StepString(node.sub, byte);
        if (sub == internal::kStringClosed) {
          Expand(node.position + 1, node.parent, out);
        } else if (sub != internal::kReject) {
          out.push_back(NewNode(node.position, sub, node.parent));
        }
        break;
      }
      case ElementKind::kNumber:
      case ElementKind::kInteger: {
        const int32_t sub =
            internal::StepNumber(node.sub, byte, element.kind == ElementKind::kInteger);
        if (sub == internal::kReject) break;
        out.push_back(NewNode(node.position, sub, node.parent));
        if (internal::NumberCanEnd(sub)) Expand(node.position + 1, node.parent, out);
        break;
      }
      case ElementKind::kToken:  // matched by StepToken only
        break;
      default:
        DCHECK(false) << "a stack's top is always a terminal";
    }
  }
  Deduplicate(out, begin);
}

// Alternatives that met again (anyOf branches with a common tail) would multiply.
void Matcher::Deduplicate(std::vector<int32_t>& out, size_t begin) const {
  size_t kept = begin;
  for (size_t k = begin; k < out.size(); ++k) {
    bool duplicate = false;
    for (size_t j = begin; j < kept && !duplicate; ++j) duplicate = SameStack(out[j], out[k]);
    if (!duplicate) out[kept++] = out[k];
  }
  out.resize(kept);
}

bool Matcher::AcceptBytes(std::string_view bytes) {
  if (bytes.empty()) return false;
  const size_t mark = nodes_.size();
  walk_tops_.assign(tops_.begin(), tops_.end());
  for (char c : bytes) {
    next_.clear();
    Step(walk_tops_, 0, walk_tops_.size(), static_cast<uint8_t>(c), next_);
    if (next_.empty()) {
      nodes_.resize(mark);
      return false;
    }
    walk_tops_.swap(next_);
  }
  tops_.swap(walk_tops_);
  if (nodes_.size() > kCompactAbove) Compact();
  return true;
}

void Matcher::StepToken(const std::vector<int32_t>& in, int32_t token, std::vector<int32_t>& out) {
  const size_t begin = out.size();
  for (const int32_t top : in) {
    if (top == kAccept) continue;
    const Node node = nodes_[top];
    const Element element = grammar_->elements[node.position];
    if (element.kind == ElementKind::kToken && element.value == token) {
      Expand(node.position + 1, node.parent, out);
    }
  }
  Deduplicate(out, begin);
}

bool Matcher::AcceptToken(int32_t token) {
  CHECK(index_ != nullptr);
  const std::string_view bytes = index_->bytes(token);
  if (!bytes.empty()) return AcceptBytes(bytes);
  next_.clear();
  StepToken(tops_, token, next_);
  if (next_.empty()) return false;
  tops_.swap(next_);
  return true;
}

bool Matcher::CanEnd() const {
  return std::find(tops_.begin(), tops_.end(), kAccept) != tops_.end();
}

bool Matcher::Done() const { return tops_.size() == 1 && tops_[0] == kAccept; }

// Keeps only the nodes the committed stacks use. A node's parent is always older than it, so
// renumbering in index order sees every parent before its children.
void Matcher::Compact() {
  constexpr int32_t kDead = -2;
  remap_.assign(nodes_.size(), kDead);
  for (int32_t top : tops_) {
    for (int32_t n = top; n >= 0 && remap_[n] == kDead; n = nodes_[n].parent) remap_[n] = 0;
  }
  int32_t kept = 0;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (remap_[i] == kDead) continue;
    const Node node = nodes_[i];
    nodes_[kept] = {node.position, node.sub, node.parent < 0 ? node.parent : remap_[node.parent]};
    remap_[i] = kept++;
  }
  nodes_.resize(kept);
  for (int32_t& top : tops_) {
    if (top >= 0) top = remap_[top];
  }
}

bool Matcher::InFreeString() const {
  if (tops_.empty()) return false;
  for (int32_t top : tops_) {
    if (top < 0) return false;
    const Node& node = nodes_[top];
    if (grammar_->elements[node.position].kind != ElementKind::kString ||
        node.sub != internal::kStringContent) {
      return false;
    }
  }
  return true;
}

void Matcher::FillMask(std::span<uint64_t> mask) {
  CHECK(index_ != nullptr);
  std::fill(mask.begin(), mask.end(), 0);
  if (InFreeString()) {
    const size_t words = std::min(mask.size(), index_->plain_.size());
    std::copy(index_->plain_.begin(), index_->plain_.begin() + words, mask.begin());
    Walk(index_->not_plain_, mask);
  } else {
    Walk(index_->all_, mask);
  }
  for (const int32_t top : tops_) {
    if (top == kAccept) continue;
    const Element element = grammar_->elements[nodes_[top].position];
    if (element.kind == ElementKind::kToken && element.value >= 0 &&
        static_cast<size_t>(element.value / 64) < mask.size()) {
      mask[element.value / 64] |= uint64_t{1} << (element.value % 64);
    }
  }
}

// Depth d of the walk holds the stacks after the first d bytes of the current token.
void Matcher::Walk(const TokenIndex::Sorted& sorted, std::span<uint64_t> mask) {
  walk_tops_.assign(tops_.begin(), tops_.end());
  depth_begin_[0] = 0;
  depth_begin_[1] = static_cast<uint32_t>(walk_tops_.size());
  depth_nodes_[0] = static_cast<uint32_t>(nodes_.size());
  int have = 0;                                // depths [0, have] hold valid stacks
  int dead = std::numeric_limits<int>::max();  // the previous token's first `dead` bytes fail
  for (size_t i = 0; i < sorted.ids.size(); ++i) {
    const int common = sorted.common[i];
    if (common >= dead) continue;  // starts with the prefix that already failed
    dead = std::numeric_limits<int>::max();
    have = std::min(have, common);
    const int32_t id = sorted.ids[i];
    const std::string_view bytes = index_->bytes(id);
    nodes_.resize(depth_nodes_[have]);
    walk_tops_.resize(depth_begin_[have + 1]);
    bool alive = true;
    for (int d = have; d < static_cast<int>(bytes.size()); ++d) {
      Step(walk_tops_, depth_begin_[d], depth_begin_[d + 1], static_cast<uint8_t>(bytes[d]),
           walk_tops_);
      depth_begin_[d + 2] = static_cast<uint32_t>(walk_tops_.size());
      depth_nodes_[d + 1] = static_cast<uint32_t>(nodes_.size());
      if (depth_begin_[d + 2] == depth_begin_[d + 1]) {
        dead = d + 1;
        have = d;
        alive = false;
        break;
      }
      have = d + 1;
    }
    if (alive && static_cast<size_t>(id / 64) < mask.size()) {
      mask[id / 64] |= uint64_t{1} << (id % 64);
    }
  }
  nodes_.resize(depth_nodes_[0]);
}

}  // namespace snug::grammar
