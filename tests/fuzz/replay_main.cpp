// tests/fuzz/replay_main.cpp - a stand-alone driver for a libFuzzer
// harness: feeds every file named on the command line (a directory: every
// file in it, sorted) to LLVMFuzzerTestOneInput once. Any finding aborts.
// Built with every compiler, it replays the checked-in corpus as a ctest
// (fuzz_replay_<target>) without libFuzzer.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

/// Runs one file; false when it cannot be read.
bool run_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return false;
  const std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::uint8_t> data(bytes.begin(), bytes.end());  // exactly sized, as libFuzzer's
  LLVMFuzzerTestOneInput(data.data(), data.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t files = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::error_code ec;
    std::vector<std::filesystem::path> list;
    if (std::filesystem::is_directory(arg, ec)) {
      for (const auto& e : std::filesystem::directory_iterator(arg, ec))
        if (e.is_regular_file()) list.push_back(e.path());
      std::sort(list.begin(), list.end());
    } else {
      list.push_back(arg);
    }
    for (const auto& p : list) {
      if (!run_file(p)) {
        std::fprintf(stderr, "replay: cannot read %s\n", p.string().c_str());
        return 2;
      }
      ++files;
    }
  }
  std::printf("replay: %zu inputs, no finding\n", files);
  if (files == 0) {
    std::fprintf(stderr, "replay: no input (give corpus files or directories)\n");
    return 2;
  }
  return 0;
}
