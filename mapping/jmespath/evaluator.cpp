// Evaluation rules: jmespath.org/specification (2015), with JmesPath.Net's null short-circuit of
// sub-expressions and its projection reporting (iomt-spec §3.9).
#include "mapping/jmespath/evaluator.hpp"

#include "mapping/jmespath/functions.hpp"
#include "mapping/jmespath/value_ops.hpp"

#include <algorithm>
#include <string>

namespace iomt::jmespath {

namespace {

std::vector<json::value>& value_stack() {
  thread_local std::vector<json::value> s;
  return s;
}
std::vector<json::member>& member_stack() {
  thread_local std::vector<json::member> s;
  return s;
}

// Evaluation recursion follows the syntax tree, whose height the parser bounds by max_depth;
// this is a second line of defence.
constexpr std::uint32_t max_eval_depth = 2 * max_depth + 16;

std::string type_expectation(std::uint8_t mask, std::size_t i) {
  switch (mask) {
    case t_number:
      return "only accepts numbers.";
    case t_object:
      return "expects an object.";
    case t_array:
      return "expects an array.";
    case t_string:
      return "expects a string.";
    case t_array | t_string:
      return "expects either an array or a string.";
    case t_array | t_object | t_string:
      return "expects either an object, an array or a string.";
    default:
      return "received an argument " + std::to_string(i) + " of an unexpected type.";
  }
}

}  // namespace

evaluator::evaluator(const program& p, json::arena& out)
    : prog_(p), out_(out), stack_(value_stack()), members_(member_stack()) {}

json::value evaluator::fail(error_kind kind, std::string message) {
  if (!error_) error_ = error{kind, std::move(message)};
  return {};
}

json::value evaluator::run(const json::value& root, bool& projection) {
  const std::size_t mark = stack_.size(), member_mark = members_.size();
  projection = false;
  json::value v = eval_top(prog_.root, root, projection);
  if (failed()) {
    stack_.resize(mark);
    members_.resize(member_mark);
    projection = false;
    return {};
  }
  if (!v.is_array()) projection = false;
  return v;
}

json::value evaluator::eval_top(node_id id, const json::value& cur, bool& projection) {
  const node& n = prog_.nodes[id];
  switch (n.kind) {
    case op::list_projection:
    case op::value_projection:
    case op::filter_projection:
      projection = true;
      return eval(id, cur);
    case op::pipe: {
      json::value l = eval(n.a, cur);
      if (failed()) return {};
      return eval_top(n.b, l, projection);
    }
    case op::subexpr: {
      json::value l = eval(n.a, cur);
      if (failed() || l.is_null()) return {};
      return eval_top(n.b, l, projection);
    }
    case op::or_:
    case op::and_: {
      bool left_projection = false;
      json::value l = eval_top(n.a, cur, left_projection);
      if (failed()) return {};
      if (truthy(l) == (n.kind == op::or_)) {
        projection = left_projection;
        return l;
      }
      return eval_top(n.b, cur, projection);
    }
    default:
      projection = false;
      return eval(id, cur);
  }
}

json::value evaluator::eval(node_id id, const json::value& cur) {
  if (++depth_ > max_eval_depth) {
    --depth_;
    return fail(error_kind::invalid_value, "Error: expression nested too deeply");
  }
  json::value v = eval_node(prog_.nodes[id], cur);
  --depth_;
  return v;
}

json::value evaluator::finish_array(std::size_t mark) {
  json::value v = out_.array(std::span<const json::value>(stack_.data() + mark, stack_.size() - mark));
  stack_.resize(mark);
  return v;
}

json::value evaluator::eval_node(const node& n, const json::value& cur) {
  switch (n.kind) {
    case op::identity:
      return cur;
    case op::field: {
      const json::value* p = cur.find(n.name);
      return p ? *p : json::value{};
    }
    case op::path: {
      const json::value* p = &cur;
      for (std::uint32_t i = 0; i < n.count && p; ++i) p = p->find(prog_.keys[n.first + i]);
      return p ? *p : json::value{};
    }
    case op::index: {
      json::value v = prog_.nodes[n.a].kind == op::identity ? cur : eval(n.a, cur);
      if (!v.is_array()) return {};
      std::int64_t size = static_cast<std::int64_t>(v.size()), i = n.num[0];
      if (i < 0) i += size;
      if (i < 0 || i >= size) return {};
      return v.as_array()[static_cast<std::size_t>(i)];
    }
    case op::slice:
      return slice(n, cur);
    case op::literal:
      return n.lit;
    case op::subexpr: {
      json::value l = eval(n.a, cur);
      if (failed() || l.is_null()) return {};
      return eval(n.b, l);
    }
    case op::list_projection: {
      json::value l = eval(n.a, cur);
      if (failed() || !l.is_array()) return {};
      return project_array(n, l);
    }
    case op::value_projection: {
      json::value l = eval(n.a, cur);
      if (failed() || !l.is_object()) return {};
      const std::size_t mark = stack_.size();
      for (const json::member& m : l.as_object()) {
        json::value r = eval(n.b, m.val);
        if (failed()) return {};
        if (!r.is_null()) stack_.push_back(r);
      }
      return finish_array(mark);
    }
    case op::filter_projection: {
      json::value l = eval(n.a, cur);
      if (failed() || !l.is_array()) return {};
      const std::size_t mark = stack_.size();
      const bool identity_rhs = prog_.nodes[n.b].kind == op::identity;
      for (const json::value& e : l.as_array()) {
        json::value c = eval(n.c, e);
        if (failed()) return {};
        if (!truthy(c)) continue;
        json::value r = identity_rhs ? e : eval(n.b, e);
        if (failed()) return {};
        if (!r.is_null()) stack_.push_back(r);
      }
      return finish_array(mark);
    }
    case op::flatten: {
      json::value v = eval(n.a, cur);
      if (failed()) return {};
      return flatten(v);
    }
    case op::multi_list: {
      if (cur.is_null()) return {};
      const std::size_t mark = stack_.size();
      for (std::uint32_t i = 0; i < n.count; ++i) {
        json::value r = eval(prog_.children[n.first + i], cur);
        if (failed()) return {};
        stack_.push_back(r);
      }
      return finish_array(mark);
    }
    case op::multi_hash: {
      if (cur.is_null()) return {};
      const std::size_t mark = members_.size();
      const auto key0 = static_cast<std::size_t>(n.num[0]);
      for (std::uint32_t i = 0; i < n.count; ++i) {
        json::value r = eval(prog_.children[n.first + i], cur);
        if (failed()) return {};
        members_.push_back(json::member{prog_.keys[key0 + i], r});
      }
      json::value v = out_.object(std::span<const json::member>(members_.data() + mark, members_.size() - mark));
      members_.resize(mark);
      return v;
    }
    case op::or_: {
      json::value l = eval(n.a, cur);
      if (failed() || truthy(l)) return l;
      return eval(n.b, cur);
    }
    case op::and_: {
      json::value l = eval(n.a, cur);
      if (failed() || !truthy(l)) return l;
      return eval(n.b, cur);
    }
    case op::not_: {
      json::value v = eval(n.a, cur);
      if (failed()) return {};
      return json::value::boolean(!truthy(v));
    }
    case op::compare:
      return compare(n, cur);
    case op::pipe: {
      json::value l = eval(n.a, cur);
      if (failed()) return {};
      return eval(n.b, l);
    }
    case op::function:
      return call_function(n, cur);
    case op::expref:
      return {};  // only meaningful as a function argument
  }
  return {};
}

json::value evaluator::project_array(const node& n, const json::value& list) {
  auto items = list.as_array();
  if (prog_.nodes[n.b].kind == op::identity &&
      std::none_of(items.begin(), items.end(), [](const json::value& e) { return e.is_null(); }))
    return list;
  const std::size_t mark = stack_.size();
  for (const json::value& e : items) {
    json::value r = eval(n.b, e);
    if (failed()) return {};
    if (!r.is_null()) stack_.push_back(r);
  }
  return finish_array(mark);
}

// Spec "Slices": negative positions count from the end, then positions are clamped.
json::value evaluator::slice(const node& n, const json::value& cur) {
  json::value v = prog_.nodes[n.a].kind == op::identity ? cur : eval(n.a, cur);
  if (failed() || !v.is_array()) return {};
  const std::int64_t len = static_cast<std::int64_t>(v.size());
  const std::int64_t step = (n.sub & 4u) ? n.num[2] : 1;
  auto clamp = [&](std::int64_t x) {
    if (x < 0) {
      x += len;
      if (x < 0) x = step < 0 ? -1 : 0;
    } else if (x >= len) {
      x = step < 0 ? len - 1 : len;
    }
    return x;
  };
  std::int64_t start = (n.sub & 1u) ? clamp(n.num[0]) : (step < 0 ? len - 1 : 0);
  std::int64_t stop = (n.sub & 2u) ? clamp(n.num[1]) : (step < 0 ? -1 : len);
  auto items = v.as_array();
  if (step == 1) {
    if (stop <= start) return json::value::array_ref({});
    return json::value::array_ref(
        items.subspan(static_cast<std::size_t>(start), static_cast<std::size_t>(stop - start)));
  }
  const std::size_t mark = stack_.size();
  if (step > 0) {
    for (std::int64_t i = start; i < stop;) {
      stack_.push_back(items[static_cast<std::size_t>(i)]);
      if (stop - i <= step) break;
      i += step;
    }
  } else {
    for (std::int64_t i = start; i > stop;) {
      stack_.push_back(items[static_cast<std::size_t>(i)]);
      if (i - stop <= -step) break;
      i += step;
    }
  }
  return finish_array(mark);
}

json::value evaluator::flatten(const json::value& v) {
  if (!v.is_array()) return {};
  auto items = v.as_array();
  if (std::none_of(items.begin(), items.end(), [](const json::value& e) { return e.is_array(); })) return v;
  const std::size_t mark = stack_.size();
  for (const json::value& e : items) {
    if (e.is_array()) {
      auto inner = e.as_array();
      stack_.insert(stack_.end(), inner.begin(), inner.end());
    } else {
      stack_.push_back(e);
    }
  }
  return finish_array(mark);
}

// Comparator expressions with JmesPath.Net's rules (value_ops.hpp): `==` is JToken.DeepEquals;
// ordering compares two numbers or two string-like tokens, anything else gives null.
json::value evaluator::compare(const node& n, const json::value& cur) {
  json::value l = eval(n.a, cur);
  if (failed()) return {};
  json::value r = eval(n.b, cur);
  if (failed()) return {};
  const auto c = static_cast<comparator>(n.sub);
  if (c == comparator::eq) return json::value::boolean(jmes_equal(l, r));
  if (c == comparator::ne) return json::value::boolean(!jmes_equal(l, r));
  return jmes_order(c, l, r, out_);
}

json::value evaluator::call_function(const node& n, const json::value& cur) {
  const function_def& def = function_at(n.fn);
  json::value local[4];
  json::value* argv = local;
  if (n.count > 4) argv = static_cast<json::value*>(out_.allocate(n.count * sizeof(json::value), alignof(json::value)));
  for (std::uint32_t i = 0; i < n.count; ++i) {
    const node_id child = prog_.children[n.first + i];
    if (prog_.nodes[child].kind == op::expref) {
      argv[i] = json::value{};
      continue;
    }
    argv[i] = eval(child, cur);
    if (failed()) return {};
  }
  // Argument types (JmesPathFunction.Validate): expression references only where accepted.
  for (std::uint32_t i = 0; i < n.count; ++i) {
    const std::uint8_t mask = def.params[std::min<std::uint32_t>(i, 2)];
    const bool is_ref = prog_.nodes[prog_.children[n.first + i]].kind == op::expref;
    if (is_ref && !(mask & t_expref))
      return fail(error_kind::invalid_type,
                  "Error: invalid-type, unexpected expression type as a parameter to the function " +
                      std::string(def.name) + ".");
    if (is_ref) continue;
    if (mask == t_expref)
      return fail(error_kind::invalid_type, "Error: invalid-type, function " + std::string(def.name) +
                                                " expects an expression as argument " + std::to_string(i) + ".");
    if (!(type_bit(argv[i]) & mask))
      return fail(error_kind::invalid_type,
                  "Error: invalid-type, function " + std::string(def.name) + " " + type_expectation(mask, i));
  }
  call c(*this, n, std::span<const json::value>(argv, n.count));
  return def.impl(c);
}

// ---- call (functions.hpp) ----

std::string_view call::name() const noexcept { return node_.name; }
json::arena& call::out() noexcept { return ev_.out(); }
bool call::failed() const noexcept { return ev_.failed(); }

bool call::is_expref(std::size_t i) const noexcept {
  const program& p = ev_.prog();
  return i < node_.count && p.nodes[p.children[node_.first + i]].kind == op::expref;
}

json::value call::apply(std::size_t i, const json::value& v) {
  const program& p = ev_.prog();
  const node& ref = p.nodes[p.children[node_.first + i]];
  return ev_.eval(ref.a, v);
}

json::value call::fail(error_kind kind, std::string message) { return ev_.fail(kind, std::move(message)); }

json::value call::type_error(std::string_view what) {
  return ev_.fail(error_kind::invalid_type,
                  "Error: invalid-type, function " + std::string(name()) + " " + std::string(what));
}

}  // namespace iomt::jmespath
