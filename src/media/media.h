#pragma once
// What the engine receives for one image or audio clip of a prompt: already decoded and
// preprocessed (models.md §3.2, §3.4), in the layout the model's embedder reads. Decoding and
// preprocessing live beside this header; the engine and the models only read these types.

#include <cstdint>
#include <vector>

namespace snug::media {

// An image cut into square model patches (48 px for Gemma 4 unified: 16-px patches pooled 3×3),
// in raster order (row-major over patch rows, then columns). Each patch is patch_px × patch_px
// pixels flattened as [row][col][R, G, B] (channel fastest), values in [0, 1]. The patch at
// (row r, col c) has position (x, y) = (c, r). One soft token per patch.
struct PatchGrid {
  int rows = 0;
  int cols = 0;
  int patch_px = 0;
  std::vector<float> values;  // rows * cols * patch_px * patch_px * 3
  uint64_t hash = 0;          // of the source bytes and the preprocessing: the prefix cache's key

  int soft_tokens() const { return rows * cols; }
  int patch_values() const { return patch_px * patch_px * 3; }
};

// An audio clip as mono 16 kHz float samples in [-1, 1], zero-padded to whole frames of
// frame_samples (640 for Gemma 4 unified: 40 ms). One soft token per frame.
struct AudioFrames {
  int frames = 0;
  int frame_samples = 0;
  std::vector<float> samples;  // frames * frame_samples
  uint64_t hash = 0;

  int soft_tokens() const { return frames; }
};

}  // namespace snug::media
