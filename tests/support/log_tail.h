#pragma once

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace otp::test {

/// Prints the last `count` lines of the log at `path` to stderr under a heading, or nothing when
/// there is no such file. For a fixture's TearDown after a failure: what the service under test
/// said last.
inline void print_log_tail(const std::string& path, std::size_t count) {
  if (!std::filesystem::exists(path)) return;
  std::ifstream log(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(log, line);) lines.push_back(std::move(line));
  const std::size_t from = lines.size() > count ? lines.size() - count : 0;
  std::fprintf(stderr, "---- last lines of %s ----\n", path.c_str());
  for (std::size_t i = from; i < lines.size(); ++i) std::fprintf(stderr, "%s\n", lines[i].c_str());
}

}  // namespace otp::test
