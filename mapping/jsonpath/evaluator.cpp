// Evaluating a compiled JSONPath (iomt-spec §3.8) the way Newtonsoft's lazily chained PathFilters
// do: depth-first, one token at a time through all steps, so results come out in the same order
// and an evaluation error surfaces after exactly the results Newtonsoft would already have yielded.
//
// Newtonsoft's token tree has JProperty nodes between an object and its values. They matter:
//  - a filter without scan tests the CHILDREN of a token; an object's children are JProperties,
//    which a field test never matches (`$.Body[?(@.x)]` on an object Body selects nothing);
//  - `..[?()]` tests DescendantsAndSelf: every token, JProperties and primitives included;
//  - `..*` yields the token itself and every descendant value; `..name` yields the values of the
//    descendant JProperties called `name`, in document (pre-order) order.
// A token here is a value pointer plus, for a JProperty, the member it stands for.
//
// No allocation per call beyond `out`: the tree walk and filter operands use per-thread scratch
// stacks (LIFO segments, addressed by index because nested use may grow them). Recursion depth is
// bounded by the compiled program (program.hpp limits), never by the document; the work of one
// select by max_visits.
#include "mapping/jsonpath/jvalue_compare.hpp"
#include "mapping/jsonpath/program.hpp"

#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace iomt::jsonpath::detail {
namespace {

struct token {
  const json::value* v = nullptr;      // the value; for a JProperty, the property's value
  const json::member* prop = nullptr;  // non-null: this token is the JProperty itself
};

// Newtonsoft JValue: a primitive that is not a JProperty.
bool is_jvalue(token t) { return !t.prop && !t.v->is_container(); }

// JToken.Children(): a JProperty has its value; objects have JProperties; arrays their items.
std::uint32_t child_count(token t) {
  if (t.prop) return 1;
  return t.v->is_container() ? static_cast<std::uint32_t>(t.v->size()) : 0;
}
token child(token t, std::uint32_t i) {
  if (t.prop) return {t.v, nullptr};
  if (t.v->is_array()) return {&t.v->as_array()[i], nullptr};
  const json::member& m = t.v->as_object()[i];
  return {&m.val, &m};
}

enum class flow : std::uint8_t { next, stop, fail };

// A field-chain path (path_ref::field_chain) from t: what the generic run() would yield, i.e. at
// most one value (JObject[name] takes the first property of that name), without the machinery.
const json::value* follow_fields(const program& p, const path_ref& path, token t) {
  if (t.prop) return nullptr;
  const json::value* v = t.v;
  for (std::uint32_t i = 0; i < path.count; ++i) {
    if (!v->is_object()) return nullptr;
    v = v->find(p.steps[path.first + i].name);
    if (!v) return nullptr;
  }
  return v;
}

// A token on which an object_only filter is false: anything but a plain object.
bool not_object(token t) { return t.prop || !t.v->is_object(); }

struct frame {
  token parent;
  std::uint32_t next;
};

struct scratch {
  std::vector<frame> frames;    // tree walks
  std::vector<token> operands;  // right-hand results of comparisons
};

scratch& thread_scratch() {
  thread_local scratch s;
  return s;
}

error out_of_range() {
  return {"Index was out of range. Must be non-negative and less than the size of the collection. (Parameter 'index')",
          "ArgumentOutOfRangeException"};
}

class evaluator {
public:
  evaluator(const program& p, const json::value& root, scratch& s) : p_(p), root_{&root, nullptr}, s_(s) {
    s_.frames.clear();
    s_.operands.clear();
  }

  token root() const { return root_; }
  error take_error() { return err_ ? std::move(*err_) : error{"JSONPath evaluation failed."}; }

  // JPath.Evaluate(filters, root, t): every step whose iterator starts checks its arguments first,
  // so a slice with step 0 anywhere in the path fails before anything is produced.
  template <class Sink>
  flow evaluate(const path_ref& path, token t, Sink& sink) {
    if (path.zero_stride) return fail({"Step cannot be zero.", "JsonException"});
    return run(path, 0, t, sink);
  }

  flow fail(error e) {
    err_.emplace(std::move(e));
    return flow::fail;
  }

private:
  const program& p_;
  token root_;
  scratch& s_;
  std::optional<error> err_;  // set on failure only: no string work per select
  std::uint64_t visits_ = 0;  // tokens handed to a step or a walk so far (max_visits)

  // Counts one visited token; false (failure set) past max_visits.
  bool visit_one() {
    if (++visits_ <= max_visits) return true;
    fail({"The JSONPath '" + p_.text + "' visited more than " + std::to_string(max_visits) +
              " tokens of this document; iomtflow stops there (chained scans such as ..* multiply).",
          "NotSupportedException"});
    return false;
  }

  // Applies step i of `path` to t and feeds each result through the remaining steps into `sink`.
  template <class Sink>
  flow run(const path_ref& path, std::uint32_t i, token t, Sink& sink) {
    if (i == path.count) return sink(t);
    if (!visit_one()) return flow::fail;
    const step& st = p_.steps[path.first + i];
    auto next = [&](token u) { return run(path, i + 1, u, sink); };
    const json::value& v = *t.v;
    switch (st.kind) {
      case step_kind::field:  // FieldFilter
        if (t.prop || !v.is_object()) return flow::next;
        for (const json::member& m : v.as_object()) {
          if (st.wildcard) {
            if (flow f = next({&m.val, nullptr}); f != flow::next) return f;
          } else if (m.key == st.name) {
            return next({&m.val, nullptr});  // JObject[name]: the first such property
          }
        }
        return flow::next;
      case step_kind::fields:  // FieldMultipleFilter: in the listed order
        if (t.prop || !v.is_object()) return flow::next;
        for (std::uint32_t k = 0; k < st.count; ++k)
          if (const json::value* found = v.find(p_.names[st.first + k]))
            if (flow f = next({found, nullptr}); f != flow::next) return f;
        return flow::next;
      case step_kind::scan:  // ScanFilter
        if (st.wildcard)
          if (flow f = next(t); f != flow::next) return f;
        return walk(t, false, [&](token u) {
          if (u.prop) return !st.wildcard && u.prop->key == st.name ? next({u.v, nullptr}) : flow::next;
          return st.wildcard ? next(u) : flow::next;
        });
      case step_kind::scan_fields:  // ScanMultipleFilter
        return walk(t, false, [&](token u) {
          if (!u.prop) return flow::next;
          for (std::uint32_t k = 0; k < st.count; ++k)
            if (u.prop->key == p_.names[st.first + k])
              if (flow f = next({u.v, nullptr}); f != flow::next) return f;
          return flow::next;
        });
      case step_kind::index:  // ArrayIndexFilter
        if (t.prop || !v.is_array()) return flow::next;
        return index_into(v, st.index, next);
      case step_kind::index_all:  // ArrayIndexFilter without index: arrays only
        if (t.prop || !v.is_array()) return flow::next;
        for (const json::value& item : v.as_array())
          if (flow f = next({&item, nullptr}); f != flow::next) return f;
        return flow::next;
      case step_kind::indexes:  // ArrayMultipleIndexFilter
        if (t.prop || !v.is_array()) return flow::next;
        for (std::uint32_t k = 0; k < st.count; ++k)
          if (flow f = index_into(v, p_.ints[st.first + k], next); f != flow::next) return f;
        return flow::next;
      case step_kind::slice:
        if (t.prop || !v.is_array()) return flow::next;
        return slice(v, st, next);
      case step_kind::query: {  // QueryFilter: each child
        std::uint32_t n = child_count(t);
        const bool object_only = p_.exprs[st.expr].object_only;
        for (std::uint32_t k = 0; k < n; ++k) {
          token c = child(t, k);
          if (object_only && not_object(c)) continue;  // the filter is false there, without error
          bool hit = false;
          if (test(st.expr, c, hit) == flow::fail) return flow::fail;
          if (hit)
            if (flow f = next(c); f != flow::next) return f;
        }
        return flow::next;
      }
      case step_kind::query_scan:           // QueryScanFilter: DescendantsAndSelf (or the token itself)
        if (p_.exprs[st.expr].object_only)  // the filter is false, without error, on non-objects
          return walk_objects(t, [&](token u) {
            bool hit = false;
            if (test(st.expr, u, hit) == flow::fail) return flow::fail;
            return hit ? next(u) : flow::next;
          });
        return walk(t, true, [&](token u) {
          bool hit = false;
          if (test(st.expr, u, hit) == flow::fail) return flow::fail;
          return hit ? next(u) : flow::next;
        });
      case step_kind::root:
        return next(root_);
    }
    return flow::next;
  }

  // JArray[index] after the Count check: a negative index throws, a too-large one is skipped.
  template <class Next>
  flow index_into(const json::value& array, std::int32_t index, Next& next) {
    if (index < 0) return fail(out_of_range());
    if (static_cast<std::size_t>(index) >= array.size()) return flow::next;
    return next(token{&array.as_array()[static_cast<std::size_t>(index)], nullptr});
  }

  // ArraySliceFilter, with its int arithmetic (the index wraps like unchecked C#).
  template <class Next>
  flow slice(const json::value& array, const step& st, Next& next) {
    const std::int32_t stride = st.stride.value_or(1);
    const std::int32_t count = static_cast<std::int32_t>(array.size());
    const bool forward = stride > 0;
    std::int32_t begin = st.start.value_or(forward ? 0 : count - 1);
    std::int32_t stop = st.end.value_or(forward ? count : -1);
    if (st.start && *st.start < 0) begin = count + begin;
    if (st.end && *st.end < 0) stop = count + stop;
    begin = std::max(begin, forward ? 0 : INT32_MIN);
    begin = std::min(begin, forward ? count : count - 1);
    stop = std::max(stop, -1);
    stop = std::min(stop, count);
    auto valid = [&](std::int32_t i) { return forward ? i < stop : i > stop; };
    for (std::int32_t i = begin; valid(i);
         i = static_cast<std::int32_t>(static_cast<std::uint32_t>(i) + static_cast<std::uint32_t>(stride))) {
      if (i < 0 || i >= count) return fail(out_of_range());
      if (flow f = next(token{&array.as_array()[static_cast<std::size_t>(i)], nullptr}); f != flow::next) return f;
    }
    return flow::next;
  }

  // Pre-order walk of the descendants of `start` (and `start` itself when `self`), JProperties
  // included, on the per-thread frame stack.
  template <class Visit>
  flow walk(token start, bool self, Visit&& visit) {
    if (self)
      if (flow f = visit(start); f != flow::next) return f;
    if (child_count(start) == 0) return flow::next;
    const std::size_t base = s_.frames.size();
    s_.frames.push_back({start, 0});
    flow result = flow::next;
    while (s_.frames.size() > base) {
      frame& top = s_.frames.back();
      if (top.next >= child_count(top.parent)) {
        s_.frames.pop_back();
        continue;
      }
      token c = child(top.parent, top.next++);
      if (!visit_one()) {
        result = flow::fail;
        break;
      }
      if (flow f = visit(c); f != flow::next) {  // may grow s_.frames: `top` is dead from here
        result = f;
        break;
      }
      if (child_count(c) > 0) s_.frames.push_back({c, 0});
    }
    s_.frames.resize(base);
    return result;
  }

  // The objects among DescendantsAndSelf of t, in the same pre-order as walk(t, true, ...): a
  // JProperty is always followed directly by its value, so skipping JProperties and primitives
  // keeps the relative order of the objects.
  template <class Visit>
  flow walk_objects(token start, Visit&& visit) {
    const json::value* first = start.v;  // a JProperty start: its value is its only descendant
    if (!first->is_container()) return flow::next;
    if (first->is_object())
      if (flow f = visit(token{first, nullptr}); f != flow::next) return f;
    const std::size_t base = s_.frames.size();
    s_.frames.push_back({token{first, nullptr}, 0});
    flow result = flow::next;
    while (s_.frames.size() > base) {
      frame& top = s_.frames.back();
      const json::value& parent = *top.parent.v;
      if (top.next >= parent.size()) {
        s_.frames.pop_back();
        continue;
      }
      const std::uint32_t k = top.next++;
      const json::value* c = parent.is_array() ? &parent.as_array()[k] : &parent.as_object()[k].val;
      if (!visit_one()) {
        result = flow::fail;
        break;
      }
      if (!c->is_container()) continue;
      if (c->is_object())
        if (flow f = visit(token{c, nullptr}); f != flow::next) {  // may grow s_.frames: `top` is dead
          result = f;
          break;
        }
      if (c->size() > 0) s_.frames.push_back({token{c, nullptr}, 0});
    }
    s_.frames.resize(base);
    return result;
  }

  // QueryExpression.IsMatch(root, t).
  flow test(std::uint32_t id, token t, bool& hit) {
    const expr& e = p_.exprs[id];
    switch (e.o) {
      case op::and_:
        for (std::uint32_t c : e.children) {
          if (test(c, t, hit) == flow::fail) return flow::fail;
          if (!hit) return flow::next;
        }
        hit = true;
        return flow::next;
      case op::or_:
        for (std::uint32_t c : e.children) {
          if (test(c, t, hit) == flow::fail) return flow::fail;
          if (hit) return flow::next;
        }
        hit = false;
        return flow::next;
      case op::exists: {  // GetResult(Left).Any()
        hit = false;
        if (e.left.k == operand::kind::literal) {
          hit = true;
          return flow::next;
        }
        if (e.left.path.field_chain) {  // `@name`, `@.a.b`, `@['x']`: a direct lookup
          hit = follow_fields(p_, e.left.path, t) != nullptr;
          return flow::next;
        }
        auto any = [&](token) {
          hit = true;
          return flow::stop;
        };
        return evaluate(e.left.path, t, any) == flow::fail ? flow::fail : flow::next;
      }
      default:
        return compare(e, t, hit);
    }
  }

  // BooleanQueryExpression.IsMatch for a comparison: the left results are enumerated lazily, the
  // right ones materialised once the left has produced something; true if any pair matches.
  flow compare(const expr& e, token t, bool& hit) {
    hit = false;
    const std::size_t base = s_.operands.size();
    std::size_t right_end = base;
    bool right_ready = false;
    auto on_left = [&](token l) -> flow {
      if (!right_ready) {
        right_ready = true;
        if (e.right.k == operand::kind::literal) {
          s_.operands.push_back({&e.right.literal, nullptr});
        } else if (e.right.k == operand::kind::path) {
          auto collect = [&](token r) {
            s_.operands.push_back(r);
            return flow::next;
          };
          if (evaluate(e.right.path, t, collect) == flow::fail) return flow::fail;
        }
        right_end = s_.operands.size();
      }
      for (std::size_t k = base; k < right_end; ++k) {
        bool match = false;
        if (match_tokens(e, l, s_.operands[k], match) == flow::fail) return flow::fail;
        if (match) {
          hit = true;
          return flow::stop;
        }
      }
      return flow::next;
    };
    flow f = flow::next;
    if (e.left.k == operand::kind::literal) {
      f = on_left(token{&e.left.literal, nullptr});
    } else if (e.left.k == operand::kind::path && e.left.path.field_chain) {  // `@name == ...`
      if (const json::value* l = follow_fields(p_, e.left.path, t)) f = on_left(token{l, nullptr});
    } else if (e.left.k == operand::kind::path) {
      f = evaluate(e.left.path, t, on_left);
    }
    s_.operands.resize(base);
    return f == flow::fail ? flow::fail : flow::next;
  }

  template <class T>
  flow take(boost::system::result<T, error> r, T& out) {
    if (!r) return fail(r.error());
    out = *r;
    return flow::next;
  }

  // BooleanQueryExpression.MatchTokens.
  flow match_tokens(const expr& e, token l, token r, bool& match) {
    match = false;
    if (!is_jvalue(l) || !is_jvalue(r)) {
      // "you can only specify primitive types in a comparison; notequals will always be true"
      match = e.o == op::exists || e.o == op::not_equals;
      return flow::next;
    }
    const json::value& a = *l.v;
    const json::value& b = *r.v;
    int c = 0;
    switch (e.o) {
      case op::equals:
        return take(equals_with_string_coercion(a, b), match);
      case op::not_equals:
        if (take(equals_with_string_coercion(a, b), match) == flow::fail) return flow::fail;
        match = !match;
        return flow::next;
      case op::strict_equals:
        return take(equals_strict(a, b), match);
      case op::strict_not_equals:
        if (take(equals_strict(a, b), match) == flow::fail) return flow::fail;
        match = !match;
        return flow::next;
      case op::less:
      case op::less_equal:
      case op::greater:
      case op::greater_equal:
        if (take(jvalue_compare(a, b), c) == flow::fail) return flow::fail;
        match = e.o == op::less ? c < 0 : e.o == op::less_equal ? c <= 0 : e.o == op::greater ? c > 0 : c >= 0;
        return flow::next;
      case op::regex_equals: {
        if (!a.is_string() || !b.is_string()) return flow::next;
        if (e.regex >= 0 && r.v == &e.right.literal)
          return take(regex_is_match(p_.regexes[static_cast<std::size_t>(e.regex)], a.as_string()), match);
        // A pattern taken from the document: compiled per use (rare).
        return take(regex_is_match(compile_regex(b.as_string()), a.as_string()), match);
      }
      case op::exists:
        match = true;
        return flow::next;
      case op::and_:
      case op::or_:
        break;
    }
    return flow::next;
  }
};

error property_selected(const json::member& m) {
  return {"The JSONPath selected the JProperty '" + std::string(m.key) +
              "' (a filter applied to an object's properties); iomtflow only returns values.",
          "NotSupportedException"};
}

}  // namespace

boost::system::result<void, error> select_all(const program& p, const json::value& root,
                                              std::vector<const json::value*>& out) {
  if (p.main.field_chain) {  // `$.a.b`: a direct lookup
    if (const json::value* v = follow_fields(p, p.main, token{&root, nullptr})) out.push_back(v);
    return {};
  }
  evaluator ev(p, root, thread_scratch());
  auto sink = [&](token t) {
    if (t.prop) return ev.fail(property_selected(*t.prop));
    out.push_back(t.v);
    return flow::next;
  };
  if (ev.evaluate(p.main, ev.root(), sink) == flow::fail) return ev.take_error();
  return {};
}

boost::system::result<const json::value*, error> select_one(const program& p, const json::value& root) {
  if (p.main.field_chain) return follow_fields(p, p.main, token{&root, nullptr});  // `$.a.b`
  evaluator ev(p, root, thread_scratch());
  const json::value* found = nullptr;
  auto sink = [&](token t) {
    if (found) return ev.fail({"Path returned multiple tokens.", "JsonException"});
    if (t.prop) return ev.fail(property_selected(*t.prop));
    found = t.v;
    return flow::next;
  };
  if (ev.evaluate(p.main, ev.root(), sink) == flow::fail) return ev.take_error();
  return found;
}

}  // namespace iomt::jsonpath::detail
