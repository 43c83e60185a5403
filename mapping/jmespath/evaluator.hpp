// Tree-walking evaluation of a compiled program over json::value (JMESPath 2015 semantics,
// JmesPath.Net flavour: a null left side of `a.b` short-circuits).
//
// New arrays/objects are built in the caller's arena. Intermediate element lists use a
// thread-local scratch stack (grown once, reused), so a search allocates only its results.
#pragma once

#include "mapping/jmespath/ast.hpp"
#include "mapping/jmespath/expression.hpp"

#include <optional>
#include <vector>

namespace iomt::jmespath {

class evaluator {
public:
  evaluator(const program& p, json::arena& out);

  // Top-level evaluation: also reports whether the result is a projection (search_result).
  json::value run(const json::value& root, bool& projection);

  json::value eval(node_id n, const json::value& cur);

  json::value fail(error_kind kind, std::string message);
  bool failed() const noexcept { return error_.has_value(); }
  std::optional<error>& failure() noexcept { return error_; }

  const program& prog() const noexcept { return prog_; }
  json::arena& out() noexcept { return out_; }

private:
  json::value eval_top(node_id n, const json::value& cur, bool& projection);
  json::value eval_node(const node& n, const json::value& cur);
  json::value project_array(const node& n, const json::value& list);
  json::value slice(const node& n, const json::value& cur);
  json::value flatten(const json::value& v);
  json::value compare(const node& n, const json::value& cur);
  json::value call_function(const node& n, const json::value& cur);
  json::value finish_array(std::size_t mark);

  const program& prog_;
  json::arena& out_;
  std::vector<json::value>& stack_;
  std::vector<json::member>& members_;
  std::uint32_t depth_ = 0;
  std::optional<error> error_;
};

}  // namespace iomt::jmespath
