// The compiled form of a JSONPath: flat tables of steps and filter expressions (iomt-spec §3.8).
// Internal to mapping/jsonpath. Each step mirrors one Newtonsoft PathFilter class; each expression
// mirrors BooleanQueryExpression / CompositeExpression.
#pragma once

#include "mapping/json/value.hpp"
#include "mapping/jsonpath/path.hpp"
#include "mapping/jsonpath/regex.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::jsonpath::detail {

enum class step_kind : std::uint8_t {
  field,        // FieldFilter: `.name`, `['name']`; wildcard `.*` -> every property value
  fields,       // FieldMultipleFilter: `['a','b']`
  scan,         // ScanFilter: `..name`, `..['name']`; wildcard `..*` -> self + every descendant value
  scan_fields,  // ScanMultipleFilter: `..['a','b']`
  index,        // ArrayIndexFilter with an index: `[0]`
  index_all,    // ArrayIndexFilter without index: `[*]` (arrays only)
  indexes,      // ArrayMultipleIndexFilter: `[0,2]`
  slice,        // ArraySliceFilter: `[start:end:step]`
  query,        // QueryFilter: `[?(...)]`, tests each child
  query_scan,   // QueryScanFilter: `..[?(...)]`, tests DescendantsAndSelf
  root,         // RootFilter: `$` inside a filter
};

struct step {
  step_kind kind = step_kind::field;
  bool wildcard = false;    // field / scan with a null name
  std::string_view name;    // field / scan (points into program::arena)
  std::uint32_t first = 0;  // fields / scan_fields: range in program::names; indexes: in program::ints
  std::uint32_t count = 0;
  std::int32_t index = 0;                          // index
  std::optional<std::int32_t> start, end, stride;  // slice (Start, End, Step)
  std::uint32_t expr = 0;                          // query / query_scan: program::exprs index
};

// A run of steps in program::steps (a path: the main one, or an operand of a filter).
struct path_ref {
  std::uint32_t first = 0;
  std::uint32_t count = 0;
  bool zero_stride = false;  // contains a slice with step 0: Newtonsoft throws whenever it runs
  bool field_chain = false;  // non-empty, only named field steps (`.a.b`, `['a']`): a direct lookup
};

enum class op : std::uint8_t {
  exists,
  equals,
  not_equals,
  strict_equals,
  strict_not_equals,
  less,
  less_equal,
  greater,
  greater_equal,
  regex_equals,
  and_,
  or_,
};

struct operand {
  enum class kind : std::uint8_t { none, path, literal } k = kind::none;
  path_ref path;
  json::value literal;  // strings point into program::arena
};

struct expr {
  op o = op::exists;
  operand left, right;                  // BooleanQueryExpression
  std::int32_t regex = -1;              // =~ with a literal right side: program::regexes index
  std::vector<std::uint32_t> children;  // CompositeExpression (and_ / or_)
  // Compile-time facts (analyze() in parser.cpp), used to skip work without changing results:
  bool object_only = false;  // false, without error, on any token that is not an object (JProperties too)
  std::optional<std::string_view> required_key;  // false, without error, unless the token is an object with this key
};

struct program {
  std::string text;
  std::vector<step> steps;
  path_ref main;
  std::vector<expr> exprs;
  std::vector<std::string_view> names;
  std::vector<std::int32_t> ints;
  std::vector<compiled_regex> regexes;
  // A key every object selected-through by the main path must have (see path::required_key()).
  std::optional<std::string_view> required_key;
  // Set when the whole path is `$..[?(@key)]` (see path::scan_exists_key()).
  std::optional<std::string_view> scan_exists_key;
  std::unique_ptr<json::arena> arena = std::make_unique<json::arena>();
};

// Compile limits (not Newtonsoft's): they bound the evaluator's recursion.
inline constexpr std::size_t max_steps = 256;   // steps in the whole expression
inline constexpr int max_filter_depth = 16;     // [?( ... [?( ... )] ... )]
inline constexpr int max_composite_depth = 32;  // alternations of && and ||
// Evaluation limit (not Newtonsoft's): tokens one select may visit, filter operands included
// (about 20 ms). Chained scans multiply: each `..*` reaches every token again from each of its
// ancestors, so k of them in a row grow like the document's depth to the power k, and a short
// path could keep a thread busy for minutes; beyond the limit select fails
// (NotSupportedException). A template visits each token a few times: a scan such as
// `$..[?(@heartRate)]` stays within it up to documents of about a million tokens.
inline constexpr std::uint64_t max_visits = 2'000'000;

// parser.cpp
boost::system::result<std::shared_ptr<const program>, error> parse(std::string_view text);

// evaluator.cpp. `sink(const json::value*)` semantics are in the .cpp.
boost::system::result<void, error> select_all(const program& p, const json::value& root,
                                              std::vector<const json::value*>& out);
boost::system::result<const json::value*, error> select_one(const program& p, const json::value& root);

}  // namespace iomt::jsonpath::detail
