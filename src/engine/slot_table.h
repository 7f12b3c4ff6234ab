// Which KV slots are free, and what each one still holds: the prefix cache. A finished
// sequence's slot keeps its KV rows and the keys behind them (token ids; media positions carry
// keys from their item's hash, engine/media_prompt.h), so a later prompt that starts
// the same way takes that slot and prefills only the rest. It lives in the slots the memory plan
// already sized; eviction is least-recently-used among free slots. Owned by the engine's loop.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kv/kv_cache.h"

namespace snug {

class SlotTable {
 public:
  // `layers` and `options` as the KvCache was created with. A prefix shorter than
  // `min_reused_tokens` counts as a miss (see TakeBest). Token storage for every slot is
  // reserved here ([slots, context_tokens] ids), so nothing below allocates.
  SlotTable(const std::vector<KvLayerSpec>& layers, const KvCacheOptions& options,
            int min_reused_tokens = 1);

  int free_count() const { return free_count_; }
  int slots() const { return static_cast<int>(slots_.size()); }

  struct Claim {
    int slot = -1;
    int reused_tokens = 0;  // prompt positions the slot already holds; prefill starts here
  };
  // Takes the free slot whose held tokens give the longest reusable prefix of `prompt` (at
  // most prompt.size() - 1: the last prompt token must run to produce logits); ties and misses
  // take the least recently released. A prefix below min_reused_tokens is a miss: every chat
  // prompt shares a few template tokens with every slot, and saving those is not worth evicting
  // a more recent slot instead of the least recent one. The slot keeps only the reused
  // positions.
  Claim TakeBest(std::span<const int32_t> prompt);
  // Keeps only the first `tokens` positions of what a taken slot holds.
  void Truncate(int slot, int tokens);
  // Takes the least recently released free slot, emptied.
  int TakeLeastRecent();
  // Gives a slot back, keeping what it holds for later prompts.
  void Release(int slot);

  // Record what the KV holds, after the rows are written: `tokens` at the next positions.
  void Append(int slot, std::span<const int32_t> tokens);
  void Append(int slot, int32_t token) { Append(slot, std::span<const int32_t>(&token, 1)); }
  // After KvCache::CopySlot(from, to, held(from).size()): `to` holds what `from` holds.
  void Copy(int from, int to);

  std::span<const int32_t> held(int slot) const { return slots_[slot].tokens; }
  // Positions of `prompt` that `slot` could serve from its KV: the common prefix (capped at
  // prompt.size() - 1), or 0 when a sliding-window ring no longer holds the rows the first new
  // position attends to.
  int ReusableTokens(int slot, std::span<const int32_t> prompt) const;

 private:
  struct Slot {
    std::vector<int32_t> tokens;  // [held positions] ids at positions 0.., capacity = context
    // One past the highest position ever written since the slot was emptied. A ring of
    // capacity C keeps only positions ≥ written_end - C: writes past a reused prefix (and a
    // longer sequence that held the slot before) overwrote the rows of older ones.
    int written_end = 0;
    bool free = true;
    uint64_t released_at = 0;  // LRU clock; 0: never used
  };
  struct Ring {
    int window_tokens;    // a position attends to itself and the window - 1 before it
    int capacity_tokens;  // rows of the ring
  };
  void Take(int slot);
  bool RingsHold(const Slot& slot, int reused_tokens) const;

  std::vector<Slot> slots_;
  std::vector<Ring> rings_;  // distinct sliding layers whose ring is shorter than the context
  int min_reused_tokens_;
  int free_count_ = 0;
  uint64_t clock_ = 0;
};

}  // namespace snug
