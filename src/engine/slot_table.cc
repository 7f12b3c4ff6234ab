#include "engine/slot_table.h"

#include <algorithm>

#include "base/check.h"

namespace snug {

SlotTable::SlotTable(const std::vector<KvLayerSpec>& layers, const KvCacheOptions& options,
                     int min_reused_tokens)
    : slots_(options.slots),
      min_reused_tokens_(std::max(min_reused_tokens, 1)),
      free_count_(options.slots) {
  for (Slot& slot : slots_) slot.tokens.reserve(options.context_tokens);
  for (const KvLayerSpec& layer : layers) {
    if (layer.window_tokens <= 0) continue;
    // A layer that shares another's KV reads that layer's ring with its own window.
    const KvLayerSpec& source = layers[std::max(layer.source_layer, 0)];
    const int capacity = KvCache::CapacityTokensFor(source, options);
    if (capacity >= options.context_tokens) continue;  // never wraps
    const Ring ring{layer.window_tokens, capacity};
    const bool known = std::any_of(rings_.begin(), rings_.end(), [&](const Ring& r) {
      return r.window_tokens == ring.window_tokens && r.capacity_tokens == ring.capacity_tokens;
    });
    if (!known) rings_.push_back(ring);
  }
}

bool SlotTable::RingsHold(const Slot& slot, int reused_tokens) const {
  if (reused_tokens == 0) return true;
  for (const Ring& ring : rings_) {
    // Position P (the first to prefill) attends to [P - window + 1, P); the ring still holds
    // [written_end - capacity, held).
    const int first_needed = std::max(0, reused_tokens - ring.window_tokens + 1);
    if (first_needed < slot.written_end - ring.capacity_tokens) return false;
  }
  return true;
}

int SlotTable::ReusableTokens(int slot, std::span<const int32_t> prompt) const {
  const Slot& held = slots_[slot];
  const size_t limit = std::min(held.tokens.size(), prompt.empty() ? 0 : prompt.size() - 1);
  const auto mismatch =
      std::mismatch(held.tokens.begin(), held.tokens.begin() + limit, prompt.begin());
  const int common = static_cast<int>(mismatch.first - held.tokens.begin());
  // Validity only grows with the prefix (a longer one needs rows nearer the end), so when the
  // common prefix is not servable no shorter one is either.
  return RingsHold(held, common) ? common : 0;
}

void SlotTable::Take(int slot) {
  CHECK(slots_[slot].free) << "slot " << slot << " is taken";
  slots_[slot].free = false;
  --free_count_;
}

SlotTable::Claim SlotTable::TakeBest(std::span<const int32_t> prompt) {
  Claim best;
  uint64_t best_released_at = 0;
  for (int slot = 0; slot < slots(); ++slot) {
    if (!slots_[slot].free) continue;
    int reused = ReusableTokens(slot, prompt);
    if (reused < min_reused_tokens_) reused = 0;
    const uint64_t released_at = slots_[slot].released_at;
    if (best.slot < 0 || reused > best.reused_tokens ||
        (reused == best.reused_tokens && released_at < best_released_at)) {
      best = {slot, reused};
      best_released_at = released_at;
    }
  }
  CHECK_GE(best.slot, 0) << "no free slot";
  Take(best.slot);
  Slot& slot = slots_[best.slot];
  if (best.reused_tokens == 0) {
    slot.tokens.clear();
    slot.written_end = 0;
  } else {
    slot.tokens.resize(best.reused_tokens);
  }
  return best;
}

void SlotTable::Truncate(int slot, int tokens) {
  CHECK(!slots_[slot].free) << "slot " << slot << " is free";
  if (tokens < static_cast<int>(slots_[slot].tokens.size())) slots_[slot].tokens.resize(tokens);
}

int SlotTable::TakeLeastRecent() {
  int best = -1;
  for (int slot = 0; slot < slots(); ++slot) {
    if (!slots_[slot].free) continue;
    if (best < 0 || slots_[slot].released_at < slots_[best].released_at) best = slot;
  }
  CHECK_GE(best, 0) << "no free slot";
  Take(best);
  slots_[best].tokens.clear();
  slots_[best].written_end = 0;
  return best;
}

void SlotTable::Release(int slot) {
  CHECK(!slots_[slot].free) << "slot " << slot << " is already free";
  slots_[slot].free = true;
  slots_[slot].released_at = ++clock_;
  ++free_count_;
}

void SlotTable::Append(int slot, std::span<const int32_t> tokens) {
  Slot& held = slots_[slot];
  CHECK_LE(held.tokens.size() + tokens.size(), held.tokens.capacity()) << "beyond the context";
  held.tokens.insert(held.tokens.end(), tokens.begin(), tokens.end());
  held.written_end = std::max(held.written_end, static_cast<int>(held.tokens.size()));
}

void SlotTable::Copy(int from, int to) {
  // The rows are copied as they lie, so `to` inherits what `from`'s rings lost too.
  slots_[to].tokens.assign(slots_[from].tokens.begin(), slots_[from].tokens.end());
  slots_[to].written_end = slots_[from].written_end;
}

}  // namespace snug
