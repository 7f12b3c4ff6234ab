// PNG through libpng. Like jpeg.cc, libpng's errors longjmp back to Decode, whose frame holds
// nothing with a destructor: the buffers live in the caller's PngState.

#include <algorithm>
#include <cstring>
#include <string>

#include <png.h>

#include "media/image_codecs.h"

namespace snug::media::internal {
namespace {

// Ancillary chunks (text, ICC profiles) are never needed here; a hostile file may declare
// huge compressed ones. The pixel data itself is bounded by the size check.
constexpr png_alloc_size_t kMaxChunkBytes = 8 << 20;

struct PngState {
  std::span<const uint8_t> bytes;
  size_t offset = 0;
  std::string error;
  Status size_status;
  std::vector<uint8_t> rgba;  // width * height * 4 when the image has alpha
  std::vector<png_bytep> rows;
};

void OnRead(png_structp png, png_bytep out, png_size_t count) {
  auto* state = static_cast<PngState*>(png_get_io_ptr(png));
  if (count > state->bytes.size() - state->offset) png_error(png, "the file is truncated");
  std::memcpy(out, state->bytes.data() + state->offset, count);
  state->offset += count;
}

void OnError(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngState*>(png_get_error_ptr(png));
  state->error = message;
  png_longjmp(png, 1);
}

void OnWarning(png_structp, png_const_charp) {}

// 0: decoded; 1: libpng failed (state.error); 2: the size check refused (state.size_status).
int Decode(const ImageLimits& limits, PngState& state, Image& image) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, OnError, OnWarning);
  if (png == nullptr) {
    state.error = "cannot create a decoder";
    return 1;
  }
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, info == nullptr ? nullptr : &info, nullptr);
    if (state.error.empty()) state.error = "cannot create a decoder";
    return 1;
  }
  png_set_read_fn(png, &state, OnRead);
  png_set_chunk_malloc_max(png, kMaxChunkBytes);
  png_read_info(png, info);
  state.size_status =
      CheckImageSize("png", png_get_image_width(png, info), png_get_image_height(png, info),
                     limits);
  if (!state.size_status.ok()) {
    png_destroy_read_struct(&png, &info, nullptr);
    return 2;
  }
  // Every color type and depth becomes 8-bit RGB or RGBA.
  png_set_strip_16(png);
  png_set_packing(png);
  png_set_palette_to_rgb(png);
  png_set_expand_gray_1_2_4_to_8(png);
  png_set_tRNS_to_alpha(png);
  png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  const int channels = png_get_channels(png, info);
  if (png_get_bit_depth(png, info) != 8 || (channels != 3 && channels != 4)) {
    png_error(png, "unsupported pixel layout after conversion");
  }
  const int width = static_cast<int>(png_get_image_width(png, info));
  const int height = static_cast<int>(png_get_image_height(png, info));
  image = AllocateImage(width, height);
  uint8_t* pixels = image.rgb.data();
  if (channels == 4) {
    state.rgba.resize(static_cast<size_t>(width) * height * 4);
    pixels = state.rgba.data();
  }
  state.rows.resize(height);
  for (int y = 0; y < height; ++y) {
    state.rows[y] = pixels + static_cast<size_t>(y) * width * channels;
  }
  png_read_image(png, state.rows.data());
  png_destroy_read_struct(&png, &info, nullptr);
  if (channels == 4) CompositeOnWhite(state.rgba, image);
  return 0;
}

}  // namespace

Result<Image> DecodePng(std::span<const uint8_t> bytes, const ImageLimits& limits) {
  PngState state;
  state.bytes = bytes;
  Image image;
  const int outcome = Decode(limits, state, image);
  if (outcome == 2) return state.size_status;
  if (outcome == 1) return InvalidArgument("png: " + state.error);
  return image;
}

}  // namespace snug::media::internal
