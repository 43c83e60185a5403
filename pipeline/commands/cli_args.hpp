// Command-line parsing shared by the subcommands: `--name value`, `--name=value`, `--flag`,
// positionals, `--` ends the options; the last of a repeated option wins. Deliberately not
// Boost.Program_options, which cannot keep this contract (see the commit that removed it from
// CMakeLists.txt): an unknown `--x` takes the next argument as its value, a repeated option is
// not an error, a flag accepts `--flag=value`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::cli {

class args {
public:
  // `flags` are the options that take no value; every other `--x` consumes the next argument.
  args(int argc, char** argv, int first, std::vector<std::string_view> flags);

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  bool has(std::string_view name) const;
  std::optional<std::string> get(std::string_view name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }
  // Names given that are not in `known` (for a clear "unknown option" message).
  std::optional<std::string> unknown(const std::vector<std::string_view>& known) const;

private:
  std::vector<std::pair<std::string, std::optional<std::string>>> options_;
  std::vector<std::string> positionals_;
  std::string error_;
};

// Reads a whole file ("-" = standard input). nullopt + message when unreadable.
std::optional<std::string> read_input(const std::string& path, std::string& error);

}  // namespace iomt::cli
