// The compiled form of a JMESPath expression: a flat array of nodes (children by index), the
// literal and identifier storage, and function calls already resolved to their implementation.
#pragma once

#include "mapping/jmespath/expression.hpp"
#include "mapping/json/value.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::jmespath {

using node_id = std::uint32_t;
inline constexpr node_id no_node = 0xffffffffu;

enum class op : std::uint8_t {
  identity,           // @ (also the implicit right side of a projection)
  field,              // name
  path,               // a.b.c: a chain of plain field lookups (keys[first, first+count))
  index,              // a[n] (a = operand; `[n]` alone has a = identity)
  slice,              // a[start:stop:step] -> array (always the left side of a list_projection)
  literal,            // `json` or 'raw'
  subexpr,            // a.b: evaluate b against a (a null a short-circuits, as JmesPath.Net does)
  list_projection,    // a[*].b / a[].b / a[1:2].b: b over each element of the array a, nulls dropped
  value_projection,   // a.*.b: b over each member value of the object a, nulls dropped
  filter_projection,  // a[?c].b
  flatten,            // a[]: one level of nested arrays merged (always the left side of a list_projection)
  multi_list,         // [a, b]
  multi_hash,         // {k: a, ...}: values children[first, first+count), keys keys[num[0], num[0]+count)
  or_,
  and_,
  not_,
  compare,  // sub = comparator
  pipe,
  function,  // fn = function id, children[first, first+count) = arguments
  expref,    // &a
};

enum class comparator : std::uint8_t { eq, ne, lt, le, gt, ge };

struct node {
  op kind = op::identity;
  std::uint8_t sub = 0;     // comparator; for slice: bit 0/1/2 = start/stop/step given
  std::uint16_t fn = 0;     // function id (functions.hpp)
  node_id a = no_node;      // left / operand / condition
  node_id b = no_node;      // right
  node_id c = no_node;      // filter: projected right side
  std::uint32_t first = 0;  // range in program::children (multi_list, multi_hash, function) or keys (path, multi_hash)
  std::uint32_t count = 0;
  std::uint32_t pos = 0;            // offset in the expression text (errors)
  std::uint32_t depth = 1;          // height of the subtree (bounded by max_depth)
  std::string_view name;            // field name (points into program storage)
  json::value lit;                  // literal value
  std::int64_t num[3] = {0, 0, 0};  // index, or slice start/stop/step
};

struct program {
  std::string text;
  json::arena storage;  // decoded identifiers, literal values
  std::vector<node> nodes;
  std::vector<node_id> children;
  std::vector<std::string_view> keys;
  node_id root = no_node;
};

// Nesting limit of the syntax tree (parser and evaluator recursion; iomt brief: bad input never
// overflows the stack).
inline constexpr std::uint32_t max_depth = 256;

}  // namespace iomt::jmespath
