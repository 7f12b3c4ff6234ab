// JPEG through libjpeg-turbo. libjpeg reports errors by calling error_exit, which must not
// return: it longjmps back to Decode, whose frame holds nothing with a destructor (the output
// Image is owned by the caller), so the jump skips no C++ cleanup.

#include <csetjmp>
#include <cstdio>
#include <string>

#include <jerror.h>
#include <jpeglib.h>

#include "media/image_codecs.h"

namespace snug::media::internal {
namespace {

// A progressive JPEG may declare thousands of scans, each a full pass over the coefficients: a
// small file that costs minutes. libjpeg-turbo's own advice is to stop such files by scan count.
constexpr int kMaxScans = 500;

struct ErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = {};
  bool truncated = false;
};

void OnError(j_common_ptr info) {
  auto* errors = reinterpret_cast<ErrorManager*>(info->err);
  info->err->format_message(info, errors->message);
  std::longjmp(errors->jump, 1);
}

// Warnings are not printed. A file that ends early is decoded by libjpeg with grey filling the
// rest; it is refused instead, like PIL does unless told to load truncated images.
void OnMessage(j_common_ptr info, int level) {
  auto* errors = reinterpret_cast<ErrorManager*>(info->err);
  if (level < 0 && info->err->msg_code == JWRN_JPEG_EOF) errors->truncated = true;
}

void OnProgress(j_common_ptr info) {
  auto* decompress = reinterpret_cast<j_decompress_ptr>(info);
  if (decompress->input_scan_number > kMaxScans) {
    auto* errors = reinterpret_cast<ErrorManager*>(info->err);
    std::snprintf(errors->message, sizeof(errors->message), "more than %d progressive scans",
                  kMaxScans);
    std::longjmp(errors->jump, 1);
  }
}

// CMYK to RGB as PIL does: R = (255 − C)(255 − K)/255, where Adobe's files store 255 − C.
void CmykRowToRgb(const uint8_t* cmyk, uint8_t* rgb, int width, bool inverted) {
  for (int x = 0; x < width; ++x) {
    int k = cmyk[x * 4 + 3];
    if (!inverted) k = 255 - k;
    for (int c = 0; c < 3; ++c) {
      int v = cmyk[x * 4 + c];
      if (!inverted) v = 255 - v;
      rgb[x * 3 + c] = static_cast<uint8_t>((v * k + 127) / 255);
    }
  }
}

// 0: decoded; 1: libjpeg failed (message in errors); 2: the size check refused (status set).
int Decode(std::span<const uint8_t> bytes, const ImageLimits& limits, ErrorManager& errors,
           Image& image, Status& size_status, std::vector<uint8_t>& cmyk_row) {
  jpeg_decompress_struct info;
  jpeg_progress_mgr progress;
  info.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = OnError;
  errors.base.emit_message = OnMessage;
  if (setjmp(errors.jump)) {
    jpeg_destroy_decompress(&info);
    return 1;
  }
  jpeg_create_decompress(&info);
  progress.progress_monitor = OnProgress;
  info.progress = &progress;
  jpeg_mem_src(&info, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&info, TRUE);
  size_status = CheckImageSize("jpeg", info.image_width, info.image_height, limits);
  if (!size_status.ok()) {
    jpeg_destroy_decompress(&info);
    return 2;
  }
  const bool cmyk = info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK;
  info.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(&info);
  image = AllocateImage(static_cast<int>(info.output_width), static_cast<int>(info.output_height));
  if (cmyk) cmyk_row.resize(static_cast<size_t>(info.output_width) * 4);
  while (info.output_scanline < info.output_height) {
    uint8_t* row = image.rgb.data() + static_cast<size_t>(info.output_scanline) * image.width * 3;
    JSAMPROW target = cmyk ? cmyk_row.data() : row;
    jpeg_read_scanlines(&info, &target, 1);
    if (cmyk) CmykRowToRgb(cmyk_row.data(), row, image.width, info.saw_Adobe_marker);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  return 0;
}

}  // namespace

Result<Image> DecodeJpeg(std::span<const uint8_t> bytes, const ImageLimits& limits) {
  ErrorManager errors;
  Image image;
  Status size_status;
  std::vector<uint8_t> cmyk_row;
  const int outcome = Decode(bytes, limits, errors, image, size_status, cmyk_row);
  if (outcome == 2) return size_status;
  if (outcome == 1) return InvalidArgument(std::string("jpeg: ") + errors.message);
  if (errors.truncated) return InvalidArgument("jpeg: the file is truncated");
  return image;
}

}  // namespace snug::media::internal
