// The first frame of a GIF through giflib (reading records one by one, so the frames after the
// first are never decoded). The frame is drawn at its offset on a canvas of the logical screen
// size; the canvas outside the frame and the frame's transparent color index are white, as
// every transparent pixel is (image.h).

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include <gif_lib.h>

#include "media/image_codecs.h"

namespace snug::media::internal {
namespace {

struct Reader {
  std::span<const uint8_t> bytes;
  size_t offset = 0;
};

int OnRead(GifFileType* gif, GifByteType* out, int count) {
  auto* reader = static_cast<Reader*>(gif->UserData);
  const size_t n = std::min<size_t>(count, reader->bytes.size() - reader->offset);
  std::memcpy(out, reader->bytes.data() + reader->offset, n);
  reader->offset += n;
  return static_cast<int>(n);
}

struct CloseGif {
  void operator()(GifFileType* gif) const {
    int error = 0;
    DGifCloseFile(gif, &error);
  }
};

Status GifError(const GifFileType* gif, std::string_view what) {
  const char* detail = GifErrorString(gif->Error);
  return InvalidArgument("gif: " + std::string(what) + ": " +
                         (detail != nullptr ? detail : "unknown error"));
}

// The Graphics Control Extension before the frame names its transparent index (or −1).
Result<int> ReadExtension(GifFileType* gif, int transparent) {
  int code = 0;
  GifByteType* block = nullptr;
  if (DGifGetExtension(gif, &code, &block) == GIF_ERROR) return GifError(gif, "extension");
  if (code == GRAPHICS_EXT_FUNC_CODE && block != nullptr && block[0] >= 4) {
    GraphicsControlBlock control;
    if (DGifExtensionToGCB(block[0], block + 1, &control) == GIF_OK) {
      transparent = control.TransparentColor;
    }
  }
  while (block != nullptr) {
    if (DGifGetExtensionNext(gif, &block) == GIF_ERROR) return GifError(gif, "extension");
  }
  return transparent;
}

}  // namespace

Result<Image> DecodeGif(std::span<const uint8_t> bytes, const ImageLimits& limits) {
  Reader reader{bytes};
  int error = 0;
  std::unique_ptr<GifFileType, CloseGif> gif(DGifOpen(&reader, OnRead, &error));
  if (gif == nullptr) {
    const char* detail = GifErrorString(error);
    return InvalidArgument(std::string("gif: ") + (detail != nullptr ? detail : "cannot open"));
  }
  RETURN_IF_ERROR(CheckImageSize("gif", gif->SWidth, gif->SHeight, limits));
  int transparent = NO_TRANSPARENT_COLOR;
  for (;;) {
    GifRecordType type;
    if (DGifGetRecordType(gif.get(), &type) == GIF_ERROR) return GifError(gif.get(), "record");
    if (type == TERMINATE_RECORD_TYPE) return InvalidArgument("gif: the file has no image");
    if (type == EXTENSION_RECORD_TYPE) {
      ASSIGN_OR_RETURN(transparent, ReadExtension(gif.get(), transparent));
      continue;
    }
    if (type != IMAGE_DESC_RECORD_TYPE) continue;
    if (DGifGetImageDesc(gif.get()) == GIF_ERROR) return GifError(gif.get(), "image descriptor");
    break;
  }
  const GifImageDesc& frame = gif->Image;
  RETURN_IF_ERROR(CheckImageSize("gif", frame.Width, frame.Height, limits));
  const ColorMapObject* colors = frame.ColorMap != nullptr ? frame.ColorMap : gif->SColorMap;
  if (colors == nullptr) return InvalidArgument("gif: the first frame has no color table");

  Image image = AllocateImage(gif->SWidth, gif->SHeight);
  std::fill(image.rgb.begin(), image.rgb.end(), 255);
  std::vector<GifPixelType> line(frame.Width);
  // Interlaced frames store rows in four passes: every 8th from 0, every 8th from 4, every
  // 4th from 2, every 2nd from 1.
  constexpr int kPassStart[] = {0, 4, 2, 1};
  constexpr int kPassStep[] = {8, 8, 4, 2};
  const int passes = frame.Interlace ? 4 : 1;
  for (int pass = 0; pass < passes; ++pass) {
    const int start = frame.Interlace ? kPassStart[pass] : 0;
    const int step = frame.Interlace ? kPassStep[pass] : 1;
    for (int row = start; row < frame.Height; row += step) {
      if (DGifGetLine(gif.get(), line.data(), frame.Width) == GIF_ERROR) {
        return GifError(gif.get(), "image data");
      }
      const int y = frame.Top + row;
      if (y < 0 || y >= image.height) continue;
      for (int column = 0; column < frame.Width; ++column) {
        const int x = frame.Left + column;
        const int index = line[column];
        if (x < 0 || x >= image.width || index == transparent) continue;
        uint8_t* pixel = &image.rgb[(static_cast<size_t>(y) * image.width + x) * 3];
        if (index >= colors->ColorCount) {
          pixel[0] = pixel[1] = pixel[2] = 0;
          continue;
        }
        pixel[0] = colors->Colors[index].Red;
        pixel[1] = colors->Colors[index].Green;
        pixel[2] = colors->Colors[index].Blue;
      }
    }
  }
  return image;
}

}  // namespace snug::media::internal
