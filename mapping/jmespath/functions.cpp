// The function table (iomt-spec §3.9): the JMESPath built-ins registered by JmesPath.Net 1.0.20x
// and the 8 MedTech custom functions (upstream test AllExpressionsAreLoadedFromAssembly).
#include "mapping/jmespath/functions.hpp"

#include <array>

namespace iomt::jmespath {

namespace {

constexpr std::uint8_t any = t_any;
constexpr std::uint8_t num = t_number;
constexpr std::uint8_t str = t_string;
constexpr std::uint8_t arr = t_array;
constexpr std::uint8_t obj = t_object;
constexpr std::uint8_t ref = t_expref;
constexpr std::uint8_t v = variadic_args;

// Custom functions check raw token kinds themselves (iomt-spec §3.9); here they only refuse
// expression references, like JmesPathFunction.Validate.
constexpr std::array<function_def, 34> table{{
    {"abs", 1, 1, {num, num, num}, fn::abs},
    {"avg", 1, 1, {arr, arr, arr}, fn::avg},
    {"ceil", 1, 1, {num, num, num}, fn::ceil},
    {"contains", 2, 2, {arr | str, any, any}, fn::contains},
    {"ends_with", 2, 2, {str, str, str}, fn::ends_with},
    {"floor", 1, 1, {num, num, num}, fn::floor},
    {"join", 2, 2, {str, arr, arr}, fn::join},
    {"keys", 1, 1, {obj, obj, obj}, fn::keys},
    {"length", 1, 1, {str | arr | obj, any, any}, fn::length},
    {"map", 2, 2, {ref, arr, arr}, fn::map},
    {"max", 1, 1, {arr, arr, arr}, fn::max},
    {"max_by", 2, 2, {arr, ref, ref}, fn::max_by},
    {"merge", 1, v, {obj, obj, obj}, fn::merge},
    {"min", 1, 1, {arr, arr, arr}, fn::min},
    {"min_by", 2, 2, {arr, ref, ref}, fn::min_by},
    {"not_null", 1, v, {any, any, any}, fn::not_null},
    {"reverse", 1, 1, {arr | str, any, any}, fn::reverse},
    {"sort", 1, 1, {arr, arr, arr}, fn::sort},
    {"sort_by", 2, 2, {arr, ref, ref}, fn::sort_by},
    {"starts_with", 2, 2, {str, str, str}, fn::starts_with},
    {"sum", 1, 1, {arr, arr, arr}, fn::sum},
    {"to_array", 1, 1, {any, any, any}, fn::to_array},
    {"to_number", 1, 1, {any, any, any}, fn::to_number},
    {"to_string", 1, 1, {any, any, any}, fn::to_string},
    {"type", 1, 1, {any, any, any}, fn::type},
    {"values", 1, 1, {obj, obj, obj}, fn::values},
    // MedTech custom functions (src/lib/Microsoft.Health.Expressions).
    {"add", 2, 2, {any, any, any}, fn::add},
    {"subtract", 2, 2, {any, any, any}, fn::subtract},
    {"multiply", 2, 2, {any, any, any}, fn::multiply},
    {"divide", 2, 2, {any, any, any}, fn::divide},
    {"pow", 2, 2, {any, any, any}, fn::pow},
    {"insertString", 3, 3, {any, any, any}, fn::insert_string},
    {"fromUnixTimestamp", 1, 1, {any, any, any}, fn::from_unix_timestamp},
    {"fromUnixTimestampMs", 1, 1, {any, any, any}, fn::from_unix_timestamp_ms},
}};

}  // namespace

std::uint8_t type_bit(const json::value& val) noexcept {
  switch (val.type()) {
    case json::kind::null:
      return t_null;
    case json::kind::boolean:
      return t_boolean;
    case json::kind::integer:
    case json::kind::big_integer:
    case json::kind::floating:
      return t_number;
    case json::kind::string:
    case json::kind::date:
      return t_string;
    case json::kind::array:
      return t_array;
    case json::kind::object:
      return t_object;
  }
  return t_null;
}

const char* type_name(const json::value& val) noexcept {
  switch (type_bit(val)) {
    case t_boolean:
      return "boolean";
    case t_number:
      return "number";
    case t_string:
      return "string";
    case t_array:
      return "array";
    case t_object:
      return "object";
    default:
      return "null";
  }
}

const function_def* find_function(std::string_view name, std::uint16_t& id) noexcept {
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (table[i].name == name) {
      id = static_cast<std::uint16_t>(i);
      return &table[i];
    }
  }
  return nullptr;
}

const function_def& function_at(std::uint16_t id) noexcept { return table[id]; }

}  // namespace iomt::jmespath
