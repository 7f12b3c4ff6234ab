// SipHash-2-4 (Aumasson and Bernstein, 2012), streaming.

#include "media/hash.h"

#include <bit>
#include <cstring>
#include <random>

namespace snug::media {
namespace {

struct Key {
  uint64_t k0, k1;
};

// Drawn once; immutable afterwards (the one process-wide value of this library).
const Key& ProcessKey() {
  static const Key key = [] {
    std::random_device device;
    auto draw = [&] { return (static_cast<uint64_t>(device()) << 32) ^ device(); };
    return Key{draw(), draw()};
  }();
  return key;
}

void Round(uint64_t v[4]) {
  v[0] += v[1];
  v[1] = std::rotl(v[1], 13) ^ v[0];
  v[0] = std::rotl(v[0], 32);
  v[2] += v[3];
  v[3] = std::rotl(v[3], 16) ^ v[2];
  v[0] += v[3];
  v[3] = std::rotl(v[3], 21) ^ v[0];
  v[2] += v[1];
  v[1] = std::rotl(v[1], 17) ^ v[2];
  v[2] = std::rotl(v[2], 32);
}

}  // namespace

MediaHasher::MediaHasher() : MediaHasher(ProcessKey().k0, ProcessKey().k1) {}

MediaHasher::MediaHasher(uint64_t k0, uint64_t k1) {
  v_[0] = k0 ^ 0x736f6d6570736575ull;
  v_[1] = k1 ^ 0x646f72616e646f6dull;
  v_[2] = k0 ^ 0x6c7967656e657261ull;
  v_[3] = k1 ^ 0x7465646279746573ull;
}

void MediaHasher::Block(uint64_t block) {
  v_[3] ^= block;
  Round(v_);
  Round(v_);
  v_[0] ^= block;
}

MediaHasher& MediaHasher::Add(std::span<const uint8_t> bytes) {
  // Whole little-endian words while aligned to a block (x86-64 and arm64 are little-endian).
  while (length_ % 8 == 0 && bytes.size() >= 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data(), 8);
    Block(word);
    length_ += 8;
    bytes = bytes.subspan(8);
  }
  for (uint8_t byte : bytes) {
    tail_ |= static_cast<uint64_t>(byte) << (8 * (length_ % 8));
    ++length_;
    if (length_ % 8 == 0) {
      Block(tail_);
      tail_ = 0;
    }
  }
  return *this;
}

MediaHasher& MediaHasher::Add(uint64_t value) {
  uint8_t bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
  return Add(bytes);
}

uint64_t MediaHasher::Finish() const {
  MediaHasher copy = *this;
  copy.Block(copy.tail_ | (copy.length_ << 56));
  copy.v_[2] ^= 0xff;
  for (int i = 0; i < 4; ++i) Round(copy.v_);
  return copy.v_[0] ^ copy.v_[1] ^ copy.v_[2] ^ copy.v_[3];
}

}  // namespace snug::media
