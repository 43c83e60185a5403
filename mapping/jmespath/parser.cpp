// Pratt parser for the JMESPath 2015 grammar (jmespath.org/specification). Binding powers follow
// the specification's operator precedence: pipe < or < and < comparators < flatten < star <
// filter < dot < not < { < [ < (. Projections stop at binding power 10 (pipe, or, and,
// comparators, flatten).
#include "mapping/jmespath/parser.hpp"

#include "mapping/jmespath/functions.hpp"
#include "mapping/jmespath/lexer.hpp"

#include <algorithm>
#include <optional>
#include <string>

namespace iomt::jmespath {

namespace {

constexpr int projection_stop = 10;

int binding_power(tok t) {
  switch (t) {
    case tok::pipe:
      return 1;
    case tok::or_:
      return 2;
    case tok::and_:
      return 3;
    case tok::eq:
    case tok::ne:
    case tok::lt:
    case tok::le:
    case tok::gt:
    case tok::ge:
      return 5;
    case tok::flatten:
      return 9;
    case tok::star:
      return 20;
    case tok::filter:
      return 21;
    case tok::dot:
      return 40;
    case tok::not_:
      return 45;
    case tok::lbrace:
      return 50;
    case tok::lbracket:
      return 55;
    case tok::lparen:
      return 60;
    default:
      return 0;
  }
}

class parser {
public:
  parser(program& p, std::vector<token> toks) : p_(p), toks_(std::move(toks)) {}

  boost::system::result<void, error> run() {
    node_id root = expression(0);
    if (root != no_node && cur().kind != tok::eof) root = unexpected(cur());
    if (root == no_node) return *err_;
    p_.root = root;
    return {};
  }

private:
  struct depth_guard {
    std::uint32_t& d;
    explicit depth_guard(std::uint32_t& x) : d(x) { ++d; }
    ~depth_guard() { --d; }
    depth_guard(const depth_guard&) = delete;
    depth_guard& operator=(const depth_guard&) = delete;
  };

  const token& cur() const { return toks_[i_]; }
  const token& peek(std::size_t k) const { return toks_[std::min(i_ + k, toks_.size() - 1)]; }
  token advance() {
    token t = toks_[i_];
    if (i_ + 1 < toks_.size()) ++i_;
    return t;
  }

  node_id fail(error e) {
    if (!err_) err_ = std::move(e);
    return no_node;
  }
  node_id fail(std::uint32_t pos, std::string_view what) { return fail(syntax_error(pos, what)); }
  node_id unexpected(const token& t) { return fail(t.pos, std::string("unexpected ") + describe(t.kind)); }
  bool expect(tok k) {
    if (cur().kind != k) {
      fail(cur().pos, std::string("expected ") + describe(k) + ", found " + describe(cur().kind));
      return false;
    }
    advance();
    return true;
  }

  std::uint32_t depth_of(node_id id) const { return id == no_node ? 0 : p_.nodes[id].depth; }

  node_id add(node n, std::uint32_t extra_depth = 0) {
    n.depth = 1 + std::max({depth_of(n.a), depth_of(n.b), depth_of(n.c), extra_depth});
    if (n.depth > max_depth) return fail(n.pos, "expression nested too deeply");
    p_.nodes.push_back(n);
    return static_cast<node_id>(p_.nodes.size() - 1);
  }
  node_id add(op k, std::uint32_t pos, node_id a = no_node, node_id b = no_node, node_id c = no_node) {
    node n;
    n.kind = k;
    n.pos = pos;
    n.a = a;
    n.b = b;
    n.c = c;
    return add(n);
  }
  node_id identity(std::uint32_t pos) { return add(op::identity, pos); }

  node_id expression(int rbp) {
    depth_guard g(rec_);
    if (rec_ > max_depth) return fail(cur().pos, "expression nested too deeply");
    token t = advance();
    node_id left = nud(t);
    while (left != no_node && rbp < binding_power(cur().kind)) {
      token o = advance();
      left = led(o, left);
    }
    return left;
  }

  node_id nud(const token& t) {
    switch (t.kind) {
      case tok::literal: {
        node n;
        n.kind = op::literal;
        n.pos = t.pos;
        n.lit = t.lit;
        return add(n);
      }
      case tok::unquoted_identifier:
      case tok::quoted_identifier: {
        if (t.kind == tok::quoted_identifier && cur().kind == tok::lparen)
          return fail(cur().pos, "a quoted identifier cannot be a function name");
        node n;
        n.kind = op::field;
        n.pos = t.pos;
        n.name = t.text;
        n.sub = t.kind == tok::quoted_identifier ? 1 : 0;
        return add(n);
      }
      case tok::star: {
        node_id left = identity(t.pos);
        node_id right = cur().kind == tok::rbracket ? identity(t.pos) : projection_rhs(binding_power(tok::star));
        if (left == no_node || right == no_node) return no_node;
        return add(op::value_projection, t.pos, left, right);
      }
      case tok::filter: {
        node_id left = identity(t.pos);
        return left == no_node ? no_node : led_filter(t, left);
      }
      case tok::flatten: {
        node_id left = identity(t.pos);
        return left == no_node ? no_node : led_flatten(t, left);
      }
      case tok::lbrace:
        return multi_hash(t);
      case tok::lparen: {
        node_id e = expression(0);
        if (e == no_node || !expect(tok::rparen)) return no_node;
        return e;
      }
      case tok::not_: {
        node_id e = expression(binding_power(tok::not_));
        return e == no_node ? no_node : add(op::not_, t.pos, e);
      }
      case tok::lbracket: {
        if (cur().kind == tok::number || cur().kind == tok::colon) {
          node_id left = identity(t.pos);
          return left == no_node ? no_node : index_expression(t, left);
        }
        if (cur().kind == tok::star && peek(1).kind == tok::rbracket) {
          advance();
          advance();
          node_id left = identity(t.pos);
          node_id right = projection_rhs(binding_power(tok::star));
          if (left == no_node || right == no_node) return no_node;
          return add(op::list_projection, t.pos, left, right);
        }
        return multi_list(t);
      }
      case tok::current:
        return identity(t.pos);
      case tok::expref: {
        node_id e = expression(0);
        return e == no_node ? no_node : add(op::expref, t.pos, e);
      }
      default:
        return unexpected(t);
    }
  }

  node_id led(const token& t, node_id left) {
    switch (t.kind) {
      case tok::dot: {
        if (cur().kind == tok::star) {
          advance();
          node_id right = projection_rhs(binding_power(tok::dot));
          return right == no_node ? no_node : add(op::value_projection, t.pos, left, right);
        }
        node_id right = dot_rhs(binding_power(tok::dot));
        return right == no_node ? no_node : subexpr(left, right, t.pos);
      }
      case tok::pipe:
      case tok::or_:
      case tok::and_: {
        node_id right = expression(binding_power(t.kind));
        if (right == no_node) return no_node;
        op k = t.kind == tok::pipe ? op::pipe : (t.kind == tok::or_ ? op::or_ : op::and_);
        return add(k, t.pos, left, right);
      }
      case tok::eq:
      case tok::ne:
      case tok::lt:
      case tok::le:
      case tok::gt:
      case tok::ge: {
        node_id right = expression(binding_power(t.kind));
        if (right == no_node) return no_node;
        node n;
        n.kind = op::compare;
        n.pos = t.pos;
        n.a = left;
        n.b = right;
        n.sub = static_cast<std::uint8_t>(t.kind == tok::eq   ? comparator::eq
                                          : t.kind == tok::ne ? comparator::ne
                                          : t.kind == tok::lt ? comparator::lt
                                          : t.kind == tok::le ? comparator::le
                                          : t.kind == tok::gt ? comparator::gt
                                                              : comparator::ge);
        return add(n);
      }
      case tok::flatten:
        return led_flatten(t, left);
      case tok::filter:
        return led_filter(t, left);
      case tok::lbracket: {
        if (cur().kind == tok::number || cur().kind == tok::colon) return index_expression(t, left);
        if (!expect(tok::star) || !expect(tok::rbracket)) return no_node;
        node_id right = projection_rhs(binding_power(tok::star));
        return right == no_node ? no_node : add(op::list_projection, t.pos, left, right);
      }
      case tok::lparen:
        return function_call(t, left);
      default:
        return unexpected(t);
    }
  }

  node_id led_filter(const token& t, node_id left) {
    node_id cond = expression(0);
    if (cond == no_node || !expect(tok::rbracket)) return no_node;
    node_id right = cur().kind == tok::flatten ? identity(t.pos) : projection_rhs(binding_power(tok::filter));
    return right == no_node ? no_node : add(op::filter_projection, t.pos, left, right, cond);
  }

  node_id led_flatten(const token& t, node_id left) {
    node_id f = add(op::flatten, t.pos, left);
    if (f == no_node) return no_node;
    node_id right = projection_rhs(binding_power(tok::flatten));
    return right == no_node ? no_node : add(op::list_projection, t.pos, f, right);
  }

  // After `[` when a number or ':' follows: an index `[n]` or a slice `[a:b:c]` (projected).
  node_id index_expression(const token& t, node_id left) {
    if (cur().kind == tok::colon || peek(1).kind == tok::colon) {
      node n;
      n.kind = op::slice;
      n.pos = t.pos;
      n.a = left;
      int part = 0;
      bool have_number = false;
      while (cur().kind != tok::rbracket) {
        if (cur().kind == tok::colon) {
          if (++part == 3) return fail(cur().pos, "too many colons in slice expression");
          have_number = false;
          advance();
        } else if (cur().kind == tok::number && !have_number) {
          n.num[part] = cur().num;
          n.sub = static_cast<std::uint8_t>(n.sub | (1u << part));
          have_number = true;
          advance();
        } else {
          return unexpected(cur());
        }
      }
      advance();  // ]
      if ((n.sub & 4u) && n.num[2] == 0)
        return fail(error{error_kind::invalid_value, "Error: invalid-value, slice step cannot be 0"});
      node_id s = add(n);
      if (s == no_node) return no_node;
      node_id right = projection_rhs(binding_power(tok::star));
      return right == no_node ? no_node : add(op::list_projection, t.pos, s, right);
    }
    node n;
    n.kind = op::index;
    n.pos = t.pos;
    n.a = left;
    n.num[0] = cur().num;
    advance();  // the number
    if (!expect(tok::rbracket)) return no_node;
    return add(n);
  }

  // What follows a projection: stops at low binding powers, else `[...]`, `[?...]` or `.rhs`.
  node_id projection_rhs(int bp) {
    const token& t = cur();
    if (binding_power(t.kind) < projection_stop) return identity(t.pos);
    if (t.kind == tok::lbracket || t.kind == tok::filter) return expression(bp);
    if (t.kind == tok::dot) {
      advance();
      return dot_rhs(bp);
    }
    return unexpected(t);
  }

  node_id dot_rhs(int bp) {
    const token& t = cur();
    switch (t.kind) {
      case tok::quoted_identifier:
      case tok::unquoted_identifier:
      case tok::star:
        return expression(bp);
      case tok::lbracket: {
        token o = advance();
        return multi_list(o);
      }
      case tok::lbrace: {
        token o = advance();
        return multi_hash(o);
      }
      default:
        return unexpected(t);
    }
  }

  // After `[` (consumed): expression (, expression)* ]
  node_id multi_list(const token& t) {
    std::vector<node_id> items;
    std::uint32_t deepest = 0;
    for (;;) {
      node_id e = expression(0);
      if (e == no_node) return no_node;
      items.push_back(e);
      deepest = std::max(deepest, depth_of(e));
      if (cur().kind == tok::rbracket) break;
      if (!expect(tok::comma)) return no_node;
    }
    advance();  // ]
    node n;
    n.kind = op::multi_list;
    n.pos = t.pos;
    n.first = static_cast<std::uint32_t>(p_.children.size());
    n.count = static_cast<std::uint32_t>(items.size());
    p_.children.insert(p_.children.end(), items.begin(), items.end());
    return add(n, deepest);
  }

  // After `{` (consumed): key: expression (, key: expression)* }
  node_id multi_hash(const token& t) {
    std::vector<std::string_view> keys;
    std::vector<node_id> items;
    std::uint32_t deepest = 0;
    for (;;) {
      const token& k = cur();
      if (k.kind != tok::unquoted_identifier && k.kind != tok::quoted_identifier)
        return fail(k.pos, std::string("expected a key name, found ") + describe(k.kind));
      keys.push_back(k.text);
      advance();
      if (!expect(tok::colon)) return no_node;
      node_id e = expression(0);
      if (e == no_node) return no_node;
      items.push_back(e);
      deepest = std::max(deepest, depth_of(e));
      if (cur().kind == tok::comma) {
        advance();
        continue;
      }
      if (cur().kind == tok::rbrace) {
        advance();
        break;
      }
      return unexpected(cur());
    }
    node n;
    n.kind = op::multi_hash;
    n.pos = t.pos;
    n.first = static_cast<std::uint32_t>(p_.children.size());
    n.count = static_cast<std::uint32_t>(items.size());
    p_.children.insert(p_.children.end(), items.begin(), items.end());
    // keys share the index range through a parallel table (keys[first + i] in p_.keys is not
    // aligned with children), so store the key range start in num[0].
    n.num[0] = static_cast<std::int64_t>(p_.keys.size());
    p_.keys.insert(p_.keys.end(), keys.begin(), keys.end());
    return add(n, deepest);
  }

  node_id function_call(const token& t, node_id left) {
    const node& callee = p_.nodes[left];
    if (callee.kind != op::field || callee.sub != 0) return fail(t.pos, "invalid function name");
    std::string_view name = callee.name;
    std::uint32_t name_pos = callee.pos;
    std::vector<node_id> args;
    std::uint32_t deepest = 0;
    if (cur().kind == tok::rparen) {
      advance();
    } else {
      for (;;) {
        node_id e = expression(0);
        if (e == no_node) return no_node;
        args.push_back(e);
        deepest = std::max(deepest, depth_of(e));
        if (cur().kind == tok::comma) {
          advance();
          continue;
        }
        if (!expect(tok::rparen)) return no_node;
        break;
      }
    }
    std::uint16_t id = 0;
    const function_def* def = find_function(name, id);
    if (!def)
      return fail(error{error_kind::unknown_function,
                        "Error: unknown-function, no function named '" + std::string(name) + "' has been registered"});
    if (args.size() < def->min_args || (def->max_args != variadic_args && args.size() > def->max_args)) {
      std::string expected = std::to_string(def->min_args);
      if (def->max_args == variadic_args) expected = "at least " + expected;
      return fail(error{error_kind::invalid_arity, "Error: invalid-arity, the function '" + std::string(name) +
                                                       "' expects " + expected + " argument(s) but " +
                                                       std::to_string(args.size()) + " were supplied"});
    }
    node n;
    n.kind = op::function;
    n.pos = name_pos;
    n.fn = id;
    n.name = name;
    n.first = static_cast<std::uint32_t>(p_.children.size());
    n.count = static_cast<std::uint32_t>(args.size());
    p_.children.insert(p_.children.end(), args.begin(), args.end());
    return add(n, deepest);
  }

  static bool rotates(op k) {
    return k == op::index || k == op::slice || k == op::flatten || k == op::list_projection ||
           k == op::value_projection || k == op::filter_projection;
  }

  // a.b: field chains fold into one `path` node; `a.(b[...])` rotates into `(a.b)[...]` (the same
  // meaning because both sides short-circuit on null) so paths stay flat and projections stay at
  // the top, where search() reports them.
  node_id subexpr(node_id left, node_id right, std::uint32_t pos) {
    node& r = p_.nodes[right];
    if (r.kind == op::identity) return left;
    node& l = p_.nodes[left];
    if (r.kind == op::field && (l.kind == op::field || l.kind == op::path)) {
      if (l.kind == op::field) {
        l.kind = op::path;
        l.first = static_cast<std::uint32_t>(p_.keys.size());
        l.count = 1;
        p_.keys.push_back(l.name);
      } else if (l.first + l.count != p_.keys.size()) {
        std::vector<std::string_view> copy(p_.keys.begin() + l.first, p_.keys.begin() + l.first + l.count);
        l.first = static_cast<std::uint32_t>(p_.keys.size());
        p_.keys.insert(p_.keys.end(), copy.begin(), copy.end());
      }
      p_.keys.push_back(r.name);
      ++p_.nodes[left].count;
      return left;
    }
    if (rotates(r.kind)) {
      node_id inner = subexpr(left, r.a, pos);
      if (inner == no_node) return no_node;
      node& rr = p_.nodes[right];
      rr.a = inner;
      rr.depth = 1 + std::max({depth_of(rr.a), depth_of(rr.b), depth_of(rr.c)});
      if (rr.depth > max_depth) return fail(rr.pos, "expression nested too deeply");
      return right;
    }
    return add(op::subexpr, pos, left, right);
  }

  program& p_;
  std::vector<token> toks_;
  std::size_t i_ = 0;
  std::uint32_t rec_ = 0;
  std::optional<error> err_;
};

}  // namespace

boost::system::result<void, error> parse(program& p) {
  auto toks = tokenize(p.text, p.storage);
  if (!toks) return toks.error();
  parser ps(p, std::move(*toks));
  return ps.run();
}

}  // namespace iomt::jmespath
