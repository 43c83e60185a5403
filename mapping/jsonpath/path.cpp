// Public face of the JSONPath engine (iomt-spec §3.8): compile once, select many.
#include "mapping/jsonpath/path.hpp"

#include "mapping/jsonpath/program.hpp"

#include <stdexcept>

namespace iomt::jsonpath {

std::string error::describe() const {
  if (position == std::string_view::npos) return message;
  return message + " (at position " + std::to_string(position) + ")";
}

void throw_exception_from_error(const error& e, const boost::source_location&) {
  throw std::runtime_error(e.type + ": " + e.describe());
}

boost::system::result<path, error> path::compile(std::string_view expr) {
  auto prog = detail::parse(expr);
  if (!prog) return prog.error();
  return path(std::move(*prog));
}

boost::system::result<void, error> path::select(const json::value& root, std::vector<const json::value*>& out) const {
  return detail::select_all(*prog_, root, out);
}

boost::system::result<const json::value*, error> path::select_single(const json::value& root) const {
  return detail::select_one(*prog_, root);
}

std::string_view path::text() const { return prog_->text; }

std::optional<std::string_view> path::required_key() const { return prog_->required_key; }

std::optional<std::string_view> path::scan_exists_key() const { return prog_->scan_exists_key; }

}  // namespace iomt::jsonpath
