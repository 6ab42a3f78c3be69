// A main for the fuzz targets where libFuzzer is not linked (the Release build, any compiler):
// runs LLVMFuzzerTestOneInput once on every file named on the command line, or in a directory
// named there, and prints how many ran. A crash fails the ctest test that runs it; the ASan
// build (tests/sanitizers) runs the same inputs with libFuzzer, sanitizers and fuzzing on top.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool Replay(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int ran = 0;
  for (int i = 1; i < argc; ++i) {
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(argv[i])) {
      for (const auto& entry : std::filesystem::directory_iterator(argv[i])) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
    } else {
      files.emplace_back(argv[i]);
    }
    for (const auto& f : files) {
      if (!Replay(f)) {
        std::fprintf(stderr, "cannot read %s\n", f.c_str());
        return 1;
      }
      ++ran;
    }
  }
  if (ran == 0) {
    std::fprintf(stderr, "no inputs: name corpus files or directories\n");
    return 1;
  }
  std::printf("replayed %d inputs\n", ran);
  return 0;
}
