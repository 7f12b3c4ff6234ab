// Encoders for the media tests and fuzz seeds (sample_media.h), through the same Debian codec
// libraries the decoders use. Inputs are always valid here, so library errors abort.

#include "sample_media.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include <gif_lib.h>
#include <jpeglib.h>
#include <png.h>
#include <sndfile.h>
#include <webp/encode.h>
#include <zlib.h>

namespace snug::media::samples {
namespace {

void Fail(const char* what) {
  std::fprintf(stderr, "sample_media: %s\n", what);
  std::abort();
}

void PutU32Be(Bytes& out, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

void Append(Bytes& out, const void* data, size_t size) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  out.insert(out.end(), bytes, bytes + size);
}

void AppendLe(Bytes& out, uint32_t v, int size) {
  for (int i = 0; i < size; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

}  // namespace

Image Gradient(int width, int height) {
  Image image;
  image.width = width;
  image.height = height;
  image.rgb.resize(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      uint8_t* p = &image.rgb[(static_cast<size_t>(y) * width + x) * 3];
      p[0] = static_cast<uint8_t>((x * 7 + y * 3) % 256);
      p[1] = static_cast<uint8_t>((x * 5 + y * 11 + 40) % 256);
      p[2] = static_cast<uint8_t>((x * y + 90) % 256);
    }
  }
  return image;
}

Image Smooth(int width, int height) {
  Image image;
  image.width = width;
  image.height = height;
  image.rgb.resize(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      uint8_t* p = &image.rgb[(static_cast<size_t>(y) * width + x) * 3];
      p[0] = static_cast<uint8_t>(128 + 60 * std::sin(x / 5.0) + 25 * std::cos(y / 7.0));
      p[1] = static_cast<uint8_t>(128 + 80 * std::sin((x + y) / 9.0));
      p[2] = static_cast<uint8_t>(128 + 40 * std::cos(x / 3.0) * std::sin(y / 4.0));
    }
  }
  return image;
}

Bytes EncodePng(const Image& image, const PngOptions& options, const std::vector<uint8_t>& alpha) {
  Bytes out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) Fail("png write");
  png_set_write_fn(
      png, &out,
      [](png_structp p, png_bytep data, png_size_t size) {
        Append(*static_cast<Bytes*>(png_get_io_ptr(p)), data, size);
      },
      nullptr);
  const int w = image.width, h = image.height;
  png_set_IHDR(png, info, w, h, options.bit_depth, options.color_type,
               options.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  auto alpha_at = [&](size_t i) -> uint8_t { return alpha.empty() ? 255 : alpha[i]; };
  std::vector<uint8_t> palette_index(static_cast<size_t>(w) * h);
  if (options.color_type == PNG_COLOR_TYPE_PALETTE) {
    std::map<uint32_t, int> index_of;
    std::vector<png_color> colors;
    std::vector<uint8_t> trans;
    for (size_t i = 0; i < palette_index.size(); ++i) {
      const uint8_t* p = &image.rgb[i * 3];
      const uint32_t key = p[0] << 16 | p[1] << 8 | p[2];
      auto [it, added] = index_of.emplace(key, static_cast<int>(colors.size()));
      if (added) {
        if (colors.size() == 256) Fail("more than 256 colors for a palette");
        colors.push_back({p[0], p[1], p[2]});
        trans.push_back(alpha_at(i));
      }
      palette_index[i] = static_cast<uint8_t>(it->second);
    }
    png_set_PLTE(png, info, colors.data(), static_cast<int>(colors.size()));
    if (!alpha.empty()) png_set_tRNS(png, info, trans.data(), static_cast<int>(trans.size()), nullptr);
  }
  png_write_info(png, info);
  if (options.bit_depth == 16) png_set_swap(png);  // rows below are little-endian 16-bit
  const int channels = options.color_type == PNG_COLOR_TYPE_PALETTE ? 1
                       : options.color_type == PNG_COLOR_TYPE_GRAY  ? 1
                       : options.color_type == 4                    ? 2
                       : options.color_type == PNG_COLOR_TYPE_RGB   ? 3
                                                                    : 4;
  const int sample_bytes = options.bit_depth / 8;
  std::vector<uint8_t> rows(static_cast<size_t>(w) * h * channels * sample_bytes);
  for (size_t i = 0; i < static_cast<size_t>(w) * h; ++i) {
    uint8_t values[4];
    int n = 0;
    const uint8_t* p = &image.rgb[i * 3];
    if (options.color_type == PNG_COLOR_TYPE_PALETTE) {
      values[n++] = palette_index[i];
    } else if (channels <= 2) {
      values[n++] = p[0];
    } else {
      values[n++] = p[0], values[n++] = p[1], values[n++] = p[2];
    }
    if (channels == 2 || channels == 4) values[n++] = alpha_at(i);
    for (int c = 0; c < n; ++c) {
      uint8_t* o = &rows[(i * channels + c) * sample_bytes];
      o[0] = values[c];
      if (sample_bytes == 2) o[0] = 0x5A, o[1] = values[c];  // low byte noise, high byte value
    }
  }
  std::vector<png_bytep> pointers(h);
  for (int y = 0; y < h; ++y) pointers[y] = &rows[static_cast<size_t>(y) * w * channels * sample_bytes];
  png_write_image(png, pointers.data());
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return out;
}

Bytes PngHeaderOnly(uint32_t width, uint32_t height) {
  Bytes out = EncodePng(Gradient(1, 1));
  // IHDR's data starts at 16 (8 magic, 4 length, 4 type); its CRC covers type + 13 bytes.
  PutU32Be(out, 16, width);
  PutU32Be(out, 20, height);
  PutU32Be(out, 29, static_cast<uint32_t>(crc32(0, &out[12], 17)));
  return out;
}

namespace {

Bytes EncodeJpegRows(const Image& image, int quality, J_COLOR_SPACE space, int components,
                     const std::vector<uint8_t>& pixels) {
  jpeg_compress_struct info;
  jpeg_error_mgr errors;
  info.err = jpeg_std_error(&errors);
  jpeg_create_compress(&info);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&info, &buffer, &size);
  info.image_width = image.width;
  info.image_height = image.height;
  info.input_components = components;
  info.in_color_space = space;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, quality, TRUE);
  jpeg_start_compress(&info, TRUE);
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(&pixels[static_cast<size_t>(info.next_scanline) *
                                                image.width * components]);
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  Bytes out(buffer, buffer + size);
  std::free(buffer);
  return out;
}

}  // namespace

Bytes EncodeJpeg(const Image& image, int quality, bool grayscale) {
  if (!grayscale) return EncodeJpegRows(image, quality, JCS_RGB, 3, image.rgb);
  std::vector<uint8_t> gray(static_cast<size_t>(image.width) * image.height);
  for (size_t i = 0; i < gray.size(); ++i) gray[i] = image.rgb[i * 3];
  return EncodeJpegRows(image, quality, JCS_GRAYSCALE, 1, gray);
}

Bytes EncodeCmykJpeg(const Image& image) {
  // Stored (inverted) C', M', Y' = R, G, B and K' = 255: decodes back to the RGB pixels.
  std::vector<uint8_t> cmyk(static_cast<size_t>(image.width) * image.height * 4);
  for (size_t i = 0; i < cmyk.size() / 4; ++i) {
    for (int c = 0; c < 3; ++c) cmyk[i * 4 + c] = image.rgb[i * 3 + c];
    cmyk[i * 4 + 3] = 255;
  }
  return EncodeJpegRows(image, 100, JCS_CMYK, 4, cmyk);
}

Bytes EncodeWebpLossless(const Image& image, const std::vector<uint8_t>& alpha) {
  uint8_t* output = nullptr;
  size_t size = 0;
  if (alpha.empty()) {
    size = WebPEncodeLosslessRGB(image.rgb.data(), image.width, image.height, image.width * 3,
                                 &output);
  } else {
    std::vector<uint8_t> rgba(static_cast<size_t>(image.width) * image.height * 4);
    for (size_t i = 0; i < rgba.size() / 4; ++i) {
      for (int c = 0; c < 3; ++c) rgba[i * 4 + c] = image.rgb[i * 3 + c];
      rgba[i * 4 + 3] = alpha[i];
    }
    size = WebPEncodeLosslessRGBA(rgba.data(), image.width, image.height, image.width * 4,
                                  &output);
  }
  if (size == 0) Fail("webp encode");
  Bytes out(output, output + size);
  WebPFree(output);
  return out;
}

Bytes EncodeGif(int screen_width, int screen_height, const std::vector<GifFrame>& frames) {
  Bytes out;
  int error = 0;
  GifFileType* gif = EGifOpen(
      &out,
      [](GifFileType* g, const GifByteType* data, int size) {
        Append(*static_cast<Bytes*>(g->UserData), data, size);
        return size;
      },
      &error);
  if (gif == nullptr) Fail("gif open");
  GifColorType colors[4] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
  ColorMapObject* map = GifMakeMapObject(4, colors);
  EGifSetGifVersion(gif, true);
  if (EGifPutScreenDesc(gif, screen_width, screen_height, 8, 0, map) == GIF_ERROR) Fail("gif screen");
  for (const GifFrame& frame : frames) {
    GraphicsControlBlock control{};
    control.DisposalMode = DISPOSAL_UNSPECIFIED;
    control.TransparentColor = frame.transparent;
    GifByteType extension[4];
    const size_t length = EGifGCBToExtension(&control, extension);
    EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(length), extension);
    if (EGifPutImageDesc(gif, frame.left, frame.top, frame.width, frame.height, frame.interlaced,
                         nullptr) == GIF_ERROR) {
      Fail("gif image");
    }
    std::vector<int> order;
    if (frame.interlaced) {
      for (int start : {0, 4, 2, 1}) {
        const int step = start == 0 || start == 4 ? 8 : start == 2 ? 4 : 2;
        for (int row = start; row < frame.height; row += step) order.push_back(row);
      }
    } else {
      for (int row = 0; row < frame.height; ++row) order.push_back(row);
    }
    for (int row : order) {
      std::vector<GifPixelType> line(&frame.indices[static_cast<size_t>(row) * frame.width],
                                     &frame.indices[static_cast<size_t>(row) * frame.width] + frame.width);
      if (EGifPutLine(gif, line.data(), frame.width) == GIF_ERROR) Fail("gif line");
    }
  }
  EGifCloseFile(gif, &error);
  GifFreeMapObject(map);
  return out;
}

Bytes EncodeWav(const std::vector<double>& samples, int channels, int sample_rate, int format,
                int bits) {
  const int bytes_per_sample = bits / 8;
  const uint32_t data_bytes = static_cast<uint32_t>(samples.size() * bytes_per_sample);
  Bytes out;
  Append(out, "RIFF", 4);
  AppendLe(out, 36 + data_bytes, 4);
  Append(out, "WAVEfmt ", 8);
  AppendLe(out, 16, 4);
  AppendLe(out, format, 2);
  AppendLe(out, channels, 2);
  AppendLe(out, sample_rate, 4);
  AppendLe(out, sample_rate * channels * bytes_per_sample, 4);
  AppendLe(out, channels * bytes_per_sample, 2);
  AppendLe(out, bits, 2);
  Append(out, "data", 4);
  AppendLe(out, data_bytes, 4);
  for (double sample : samples) {
    const double s = std::clamp(sample, -1.0, 1.0);
    if (format == 3) {
      const float f = static_cast<float>(s);
      uint32_t u;
      std::memcpy(&u, &f, 4);
      AppendLe(out, u, 4);
    } else if (bits == 8) {
      out.push_back(static_cast<uint8_t>(std::lround(s * 127) + 128));  // unsigned
    } else {
      const double scale = std::ldexp(1.0, bits - 1) - 1;
      AppendLe(out, static_cast<uint32_t>(static_cast<int32_t>(std::lround(s * scale))),
               bytes_per_sample);
    }
  }
  return out;
}

namespace {

struct Sink {
  Bytes bytes;
  sf_count_t offset = 0;
};

}  // namespace

Bytes EncodeWithSndfile(const std::vector<float>& mono, int sample_rate, int format) {
  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = 1;
  info.format = format;
  if (!sf_format_check(&info)) return {};
  Sink sink;
  SF_VIRTUAL_IO io;
  io.get_filelen = [](void* u) { return static_cast<sf_count_t>(static_cast<Sink*>(u)->bytes.size()); };
  io.seek = [](sf_count_t offset, int whence, void* u) {
    auto* s = static_cast<Sink*>(u);
    if (whence == SEEK_SET) s->offset = offset;
    if (whence == SEEK_CUR) s->offset += offset;
    if (whence == SEEK_END) s->offset = static_cast<sf_count_t>(s->bytes.size()) + offset;
    return s->offset;
  };
  io.read = [](void* out, sf_count_t count, void* u) {
    auto* s = static_cast<Sink*>(u);
    const sf_count_t n = std::max<sf_count_t>(0, std::min<sf_count_t>(
        count, static_cast<sf_count_t>(s->bytes.size()) - s->offset));
    std::memcpy(out, s->bytes.data() + s->offset, n);
    s->offset += n;
    return n;
  };
  io.write = [](const void* data, sf_count_t count, void* u) {
    auto* s = static_cast<Sink*>(u);
    if (s->offset + count > static_cast<sf_count_t>(s->bytes.size())) s->bytes.resize(s->offset + count);
    std::memcpy(s->bytes.data() + s->offset, data, count);
    s->offset += count;
    return count;
  };
  io.tell = [](void* u) { return static_cast<Sink*>(u)->offset; };
  SNDFILE* file = sf_open_virtual(&io, SFM_WRITE, &info, &sink);
  if (file == nullptr) return {};
  sf_writef_float(file, mono.data(), static_cast<sf_count_t>(mono.size()));
  sf_close(file);
  return sink.bytes;
}

}  // namespace snug::media::samples
