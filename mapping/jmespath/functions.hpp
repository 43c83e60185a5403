// The function table: JMESPath built-ins (as registered by JmesPath.Net 1.0.20x) and the MedTech
// custom functions (iomt-spec §3.9). Names are resolved and argument counts checked at compile
// time; argument types at call time.
#pragma once

#include "mapping/jmespath/expression.hpp"
#include "mapping/json/value.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace iomt::jmespath {

class evaluator;
struct node;

// JMESPath types of a parameter (bit set). Built-ins see integer/floating/big_integer as number
// and date tokens as string (iomt-spec §3.9).
enum : std::uint8_t {
  t_null = 1,
  t_boolean = 2,
  t_number = 4,
  t_string = 8,
  t_array = 16,
  t_object = 32,
  t_expref = 64,
  t_any = 63,
};

std::uint8_t type_bit(const json::value& v) noexcept;
// "number", "string", "boolean", "array", "object", "null".
const char* type_name(const json::value& v) noexcept;

// One function call being evaluated: its argument values and access to expression references.
class call {
public:
  call(evaluator& ev, const node& n, std::span<const json::value> args) : ev_(ev), node_(n), args_(args) {}

  std::span<const json::value> args() const noexcept { return args_; }
  const json::value& operator[](std::size_t i) const noexcept { return args_[i]; }
  std::string_view name() const noexcept;
  json::arena& out() noexcept;

  // Argument i is `&expr`: evaluate expr against v.
  json::value apply(std::size_t i, const json::value& v);
  bool is_expref(std::size_t i) const noexcept;

  // Records the error (first one wins) and returns null; callers return at once.
  json::value fail(error_kind kind, std::string message);
  // "Error: invalid-type, function <name> <what>" (JmesPath.Net wording).
  json::value type_error(std::string_view what);
  bool failed() const noexcept;

private:
  evaluator& ev_;
  const node& node_;
  std::span<const json::value> args_;
};

using function_impl = json::value (*)(call&);

struct function_def {
  std::string_view name;
  std::uint8_t min_args;
  std::uint8_t max_args;   // variadic_args = no upper bound
  std::uint8_t params[3];  // accepted types per parameter; a variadic tail repeats the last
  function_impl impl;
};
inline constexpr std::uint8_t variadic_args = 0xff;

// nullptr when unknown. `id` indexes function_at().
const function_def* find_function(std::string_view name, std::uint16_t& id) noexcept;
const function_def& function_at(std::uint16_t id) noexcept;

// Implementations (builtin_functions.cpp, custom_functions.cpp).
namespace fn {
json::value abs(call&);
json::value avg(call&);
json::value ceil(call&);
json::value contains(call&);
json::value ends_with(call&);
json::value floor(call&);
json::value join(call&);
json::value keys(call&);
json::value length(call&);
json::value map(call&);
json::value max(call&);
json::value max_by(call&);
json::value merge(call&);
json::value min(call&);
json::value min_by(call&);
json::value not_null(call&);
json::value reverse(call&);
json::value sort(call&);
json::value sort_by(call&);
json::value starts_with(call&);
json::value sum(call&);
json::value to_array(call&);
json::value to_number(call&);
json::value to_string(call&);
json::value type(call&);
json::value values(call&);

json::value add(call&);
json::value subtract(call&);
json::value multiply(call&);
json::value divide(call&);
json::value pow(call&);
json::value insert_string(call&);
json::value from_unix_timestamp(call&);
json::value from_unix_timestamp_ms(call&);
}  // namespace fn

}  // namespace iomt::jmespath
