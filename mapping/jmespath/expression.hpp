// JMESPath (2015 specification, as JmesPath.Net 1.0.20x implements it) plus the eight MedTech
// custom functions, over json::value (iomt-spec §3.3-§3.5, §3.9).
//
// Compile once at template load (syntax, unknown functions and argument counts are detected
// there, like upstream parsing at load), then search many times. An expression is cheap to copy
// (it shares its immutable compiled program) and may be searched from several threads at once.
#pragma once

#include "mapping/json/value.hpp"

#include <boost/system/result.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace iomt::jmespath {

// The error kinds of the JMESPath compliance suite.
enum class error_kind { syntax, unknown_function, invalid_arity, invalid_type, invalid_value };

struct error {
  error_kind kind;
  std::string message;
};

// "syntax", "unknown-function", "invalid-arity", "invalid-type", "invalid-value".
const char* to_string(error_kind);

// Lets boost::system::result<T, error>::value() throw on misuse (a bug, not data).
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location&);

// `projection` is set when the top-level result is a projection (list, slice, flatten, object or
// filter projection; also through a pipe / sub-expression / `||` / `&&` whose chosen side is one).
// Upstream SelectTokens then treats each element as one match (iomt-spec §3.9); nulls are already
// dropped. `projection` implies `value.is_array()`.
struct search_result {
  json::value value;
  bool projection = false;
};

struct program;  // the compiled form (mapping/jmespath/ast.hpp)

class expression {
public:
  // Includes the MedTech custom functions (add subtract multiply divide pow insertString
  // fromUnixTimestamp fromUnixTimestampMs).
  static boost::system::result<expression, error> compile(std::string_view expr);

  // Evaluates against `root`. New values are built in `out`. The result may point into `root`,
  // into `out` and into this expression's literals: keep all three alive while using it.
  // Runtime errors (invalid-type / invalid-value, custom-function failures) are returned.
  boost::system::result<search_result, error> search(const json::value& root, json::arena& out) const;

  std::string_view text() const;

private:
  explicit expression(std::shared_ptr<const program> p) : program_(std::move(p)) {}
  std::shared_ptr<const program> program_;
};

}  // namespace iomt::jmespath
