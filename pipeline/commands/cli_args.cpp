#include "pipeline/commands/cli_args.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace iomt::cli {

args::args(int argc, char** argv, int first, std::vector<std::string_view> flags) {
  for (int i = first; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      for (++i; i < argc; ++i) positionals_.emplace_back(argv[i]);
      break;
    }
    if (a.size() > 2 && a.substr(0, 2) == "--") {
      std::string name(a.substr(2));
      std::optional<std::string> val;
      if (auto eq = name.find('='); eq != std::string::npos) {
        val = name.substr(eq + 1);
        name.resize(eq);
      } else if (std::find(flags.begin(), flags.end(), name) == flags.end()) {
        if (i + 1 >= argc) {
          error_ = "option --" + name + " needs a value";
          return;
        }
        val = argv[++i];
      }
      options_.emplace_back(std::move(name), std::move(val));
    } else {
      positionals_.emplace_back(a);
    }
  }
}

bool args::has(std::string_view name) const {
  return std::any_of(options_.begin(), options_.end(), [&](const auto& o) { return o.first == name; });
}

std::optional<std::string> args::get(std::string_view name) const {
  for (auto it = options_.rbegin(); it != options_.rend(); ++it)
    if (it->first == name) return it->second;
  return std::nullopt;
}

std::optional<std::string> args::unknown(const std::vector<std::string_view>& known) const {
  for (const auto& o : options_)
    if (std::find(known.begin(), known.end(), o.first) == known.end()) return o.first;
  return std::nullopt;
}

std::optional<std::string> read_input(const std::string& path, std::string& error) {
  if (path == "-") {
    std::ostringstream s;
    s << std::cin.rdbuf();
    return s.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read '" + path + "': " + std::strerror(errno);
    return std::nullopt;
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace iomt::cli
