// The web page's files (web/, bundled by esbuild at build time), compiled into the binary by
// cmake/embed_files.cmake. Empty when snug was built without node (SNUG_WEB=OFF).
#pragma once

#include <vector>

#include "server/context.h"

namespace snug::cli {

std::vector<server::WebAsset> WebAssets();

}  // namespace snug::cli
