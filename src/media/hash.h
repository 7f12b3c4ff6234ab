#pragma once
// The content hash that keys media in the prefix cache (PatchGrid::hash, AudioFrames::hash).
// It is SipHash-2-4 under a key drawn at random once per process: a client who could craft two
// images with one hash could make the engine reuse another client's cached image, and a keyed
// hash makes that infeasible without the key. Hashes are therefore stable within a process only.

#include <cstdint>
#include <span>

namespace snug::media {

// Streaming: Add the source bytes, then each preprocessing parameter, then Finish.
class MediaHasher {
 public:
  MediaHasher();  // starts from the process key
  MediaHasher(uint64_t k0, uint64_t k1);  // a given key (the tests' reference vectors)
  MediaHasher& Add(std::span<const uint8_t> bytes);
  MediaHasher& Add(uint64_t value);  // as its 8 little-endian bytes
  uint64_t Finish() const;

 private:
  void Block(uint64_t block);

  uint64_t v_[4];
  uint64_t tail_ = 0;  // up to 7 pending bytes, little-endian
  uint64_t length_ = 0;
};

}  // namespace snug::media
