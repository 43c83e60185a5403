#include "mapping/jmespath/expression.hpp"

#include "mapping/jmespath/ast.hpp"
#include "mapping/jmespath/evaluator.hpp"
#include "mapping/jmespath/parser.hpp"

#include <stdexcept>

namespace iomt::jmespath {

const char* to_string(error_kind k) {
  switch (k) {
    case error_kind::syntax:
      return "syntax";
    case error_kind::unknown_function:
      return "unknown-function";
    case error_kind::invalid_arity:
      return "invalid-arity";
    case error_kind::invalid_type:
      return "invalid-type";
    case error_kind::invalid_value:
      return "invalid-value";
  }
  return "unknown";
}

void throw_exception_from_error(const error& e, const boost::source_location&) {
  throw std::runtime_error(std::string("jmespath ") + to_string(e.kind) + ": " + e.message);
}

boost::system::result<expression, error> expression::compile(std::string_view expr) {
  auto p = std::make_shared<program>();
  p->text.assign(expr);
  auto r = parse(*p);
  if (!r) return r.error();
  return expression(std::move(p));
}

boost::system::result<search_result, error> expression::search(const json::value& root, json::arena& out) const {
  evaluator ev(*program_, out);
  search_result r;
  r.value = ev.run(root, r.projection);
  if (ev.failed()) return std::move(*ev.failure());
  return r;
}

std::string_view expression::text() const { return program_->text; }

}  // namespace iomt::jmespath
