// The seed-writing harness the fuzz targets share: run with SNUG_FUZZ_WRITE_SEEDS=DIR
// (scripts/fuzz.sh does), a target writes its seed inputs into DIR as seed0, seed1, ... and
// exits, so seeds are built by the code under test and never go stale.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace snug::fuzz {

// Call from LLVMFuzzerInitialize; `seeds` runs only when seeds are asked for.
template <class MakeSeeds>
void WriteSeedsIfAsked(MakeSeeds seeds) {
  const char* dir = std::getenv("SNUG_FUZZ_WRITE_SEEDS");
  if (dir == nullptr) return;
  int index = 0;
  for (const std::string& seed : std::vector<std::string>(seeds())) {
    const std::string path = std::string(dir) + "/seed" + std::to_string(index++);
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr || std::fwrite(seed.data(), 1, seed.size(), file) != seed.size()) {
      std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
      std::exit(1);
    }
    std::fclose(file);
  }
  std::exit(0);
}

}  // namespace snug::fuzz
