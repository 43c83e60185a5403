// The JPath grammar of Newtonsoft.Json 13.0.3 (iomt-spec §3.8), re-implemented: a hand-written
// scanner that makes the same decisions, in the same order, as Newtonsoft's parser, so that paths
// it accepts mean the same thing here and paths it rejects fail with its messages. Notable quirks
// kept on purpose:
//  - `$` is a root marker only when followed by `.` or `[` (or alone); `$device` is a field name.
//  - Leading spaces before a bare name belong to the name (" a" looks up " a").
//  - A name runs until `.`, `[`, `(`, `)`, `]` or a space; `(` opens an indexer closed by `)`.
//  - `..[0]` and `..[*]` do NOT scan (the scan flag is dropped for array indexers).
//  - `['*']` is a field named "*"; only a bare `*` is a wildcard.
//  - Filter numbers end only at a space or `)`: `@.a==1&&@.b==2` fails to parse.
//  - After `a OP b`, anything other than `)`, `&&`, `||` starts a new expression and the previous
//    one is dropped; mixing && and || nests to the right (`a && b || c` = `a && (b || c)`).
// Internal: a failure unwinds with `parse_failure` to parse(), which returns it as a value.
#include "mapping/jsonpath/dotnet_text.hpp"
#include "mapping/jsonpath/program.hpp"

#include <string>
#include <vector>

namespace iomt::jsonpath::detail {
namespace {

struct parse_failure {
  error e;
};

class parser {
public:
  parser(std::string_view text, program& prog) : s_(text), p_(prog) {}

  // JPath.ParseMain.
  void parse_main() {
    std::size_t part_start = pos_;
    skip_spaces();
    std::vector<step> steps;
    if (pos_ == s_.size()) {
      p_.main = commit(steps);
      return;
    }
    if (s_[pos_] == '$') {
      if (s_.size() == 1) {
        p_.main = commit(steps);
        return;
      }
      char next = at(pos_ + 1);
      if (next == '.' || next == '[') {
        ++pos_;
        part_start = pos_;
      }
    }
    if (!parse_path(steps, part_start, false)) {
      std::size_t last = pos_;
      skip_spaces();
      if (pos_ < s_.size()) fail("Unexpected character while parsing path: " + ch(last), last);
    }
    p_.main = commit(steps);
  }

private:
  std::string_view s_;
  std::size_t pos_ = 0;
  program& p_;
  std::size_t step_total_ = 0;
  int filter_depth_ = 0;

  [[noreturn]] void fail(std::string message, std::size_t at_pos, std::string type = "JsonException") {
    throw parse_failure{{std::move(message), std::move(type), at_pos}};
  }
  [[noreturn]] void fail(std::string message) { fail(std::move(message), pos_); }

  // s[i] where .NET would throw IndexOutOfRangeException past the end.
  char at(std::size_t i) {
    if (i >= s_.size()) fail("Index was outside the bounds of the array.", i, "IndexOutOfRangeException");
    return s_[i];
  }
  std::string ch(std::size_t i) { return std::string(char_at(s_, i)); }
  void skip_spaces() {
    while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
  }
  void ensure_length(const char* message) {
    if (pos_ >= s_.size()) fail(message);
  }
  bool match(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  void count_step() {
    if (++step_total_ > max_steps)
      fail("JSONPath expression has more than " + std::to_string(max_steps) + " steps.", pos_, "NotSupportedException");
  }

  path_ref commit(const std::vector<step>& steps) {
    path_ref r{static_cast<std::uint32_t>(p_.steps.size()), static_cast<std::uint32_t>(steps.size()), false, false};
    r.field_chain = !steps.empty();
    for (const step& st : steps) {
      if (st.kind == step_kind::slice && st.stride && *st.stride == 0) r.zero_stride = true;
      if (st.kind != step_kind::field || st.wildcard) r.field_chain = false;
      p_.steps.push_back(st);
    }
    return r;
  }

  // JPath.CreatePathFilter; `bare` names (not quoted) turn "*" into the wildcard.
  void add_name(std::vector<step>& steps, std::string_view name, bool scan, bool bare) {
    count_step();
    step st;
    st.kind = scan ? step_kind::scan : step_kind::field;
    st.wildcard = bare && name == "*";
    if (!st.wildcard) st.name = p_.arena->copy(name);
    steps.push_back(st);
  }

  // JPath.ParsePath: returns true when the whole expression was consumed.
  bool parse_path(std::vector<step>& steps, std::size_t part_start, bool query) {
    bool scan = false, following_indexer = false, following_dot = false, ended = false;
    while (pos_ < s_.size() && !ended) {
      char c = s_[pos_];
      switch (c) {
        case '[':
        case '(':
          if (pos_ > part_start) {
            add_name(steps, s_.substr(part_start, pos_ - part_start), scan, true);
            scan = false;
          }
          parse_indexer(steps, c, scan);
          scan = false;
          ++pos_;
          part_start = pos_;
          following_indexer = true;
          following_dot = false;
          break;
        case ']':
        case ')':
        case ' ':
          ended = true;
          break;
        case '.':
          if (pos_ > part_start) {
            add_name(steps, s_.substr(part_start, pos_ - part_start), scan, true);
            scan = false;
          }
          if (pos_ + 1 < s_.size() && s_[pos_ + 1] == '.') {
            scan = true;
            ++pos_;
          }
          ++pos_;
          part_start = pos_;
          following_indexer = false;
          following_dot = true;
          break;
        default:
          if (query && (c == '=' || c == '<' || c == '!' || c == '>' || c == '|' || c == '&')) {
            ended = true;
          } else {
            if (following_indexer) fail("Unexpected character following indexer: " + ch(pos_));
            ++pos_;
          }
          break;
      }
    }
    bool at_end = pos_ == s_.size();
    if (pos_ > part_start) {
      add_name(steps, trim_end(s_.substr(part_start, pos_ - part_start)), scan, true);
    } else if (following_dot && (at_end || query)) {
      fail("Unexpected end while parsing path.");
    }
    return at_end;
  }

  // JPath.ParseIndexer: `[` or `(` at pos_; leaves pos_ on the closing character.
  void parse_indexer(std::vector<step>& steps, char open, bool scan) {
    ++pos_;
    char close = open == '[' ? ']' : ')';
    ensure_length("Path ended with open indexer.");
    skip_spaces();
    char c = at(pos_);
    if (c == '\'')
      parse_quoted_field(steps, close, scan);
    else if (c == '?')
      parse_query(steps, close, scan);
    else
      parse_array_indexer(steps, close);  // the scan flag is ignored here, as in Newtonsoft
  }

  std::int32_t to_int32(std::size_t start, std::size_t length) {
    std::string_view text = s_.substr(start, length);
    std::int32_t v = 0;
    switch (parse_int32(text, v)) {
      case parse_status::ok:
        return v;
      case parse_status::overflow:
        fail("Value was either too large or too small for an Int32.", start, "OverflowException");
      case parse_status::format:
        break;
    }
    fail(format_exception_message(text), start, "FormatException");
  }

  // JPath.ParseArrayIndexer: `[0]`, `[0,1]`, `[1:2:3]`, `[*]`.
  void parse_array_indexer(std::vector<step>& steps, char close) {
    std::size_t start = pos_;
    std::optional<std::size_t> end;
    std::optional<std::vector<std::int32_t>> indexes;
    int colons = 0;
    std::optional<std::int32_t> slice_start, slice_end, slice_step;
    auto length = [&] { return (end ? *end : pos_) - start; };
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == ' ') {
        end = pos_;
        skip_spaces();
        continue;
      }
      if (c == close) {
        std::size_t len = length();
        count_step();
        step st;
        if (indexes) {
          if (len == 0) fail("Array index expected.");
          indexes->push_back(to_int32(start, len));
          st.kind = step_kind::indexes;
          st.first = static_cast<std::uint32_t>(p_.ints.size());
          st.count = static_cast<std::uint32_t>(indexes->size());
          p_.ints.insert(p_.ints.end(), indexes->begin(), indexes->end());
        } else if (colons > 0) {
          if (len > 0) (colons == 1 ? slice_end : slice_step) = to_int32(start, len);
          st.kind = step_kind::slice;
          st.start = slice_start;
          st.end = slice_end;
          st.stride = slice_step;
        } else {
          if (len == 0) fail("Array index expected.");
          st.kind = step_kind::index;
          st.index = to_int32(start, len);
        }
        steps.push_back(st);
        return;
      }
      if (c == ',') {
        std::size_t len = length();
        if (len == 0) fail("Array index expected.");
        if (!indexes) indexes.emplace();
        indexes->push_back(to_int32(start, len));
        ++pos_;
        skip_spaces();
        start = pos_;
        end.reset();
      } else if (c == '*') {
        ++pos_;
        ensure_length("Path ended with open indexer.");
        skip_spaces();
        // Newtonsoft reports the '*' itself, not the unexpected character.
        if (at(pos_) != close) fail("Unexpected character while parsing path indexer: *");
        count_step();
        step st;
        st.kind = step_kind::index_all;
        steps.push_back(st);
        return;
      } else if (c == ':') {
        std::size_t len = length();
        if (len > 0) (colons == 0 ? slice_start : colons == 1 ? slice_end : slice_step) = to_int32(start, len);
        ++colons;
        ++pos_;
        skip_spaces();
        start = pos_;
        end.reset();
      } else if ((c < '0' || c > '9') && c != '-') {
        fail("Unexpected character while parsing path indexer: " + ch(pos_));
      } else {
        if (end) fail("Unexpected character while parsing path indexer: " + ch(pos_));
        ++pos_;
      }
    }
    fail("Path ended with open indexer.");
  }

  // JPath.ReadQuotedString: pos_ on the opening quote (not checked, as in Newtonsoft).
  std::string read_quoted_string() {
    std::string out;
    ++pos_;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '\\' && pos_ + 1 < s_.size()) {
        ++pos_;
        switch (s_[pos_]) {
          case 'b':
            out += '\b';
            break;
          case 't':
            out += '\t';
            break;
          case 'n':
            out += '\n';
            break;
          case 'f':
            out += '\f';
            break;
          case 'r':
            out += '\r';
            break;
          case '\\':
          case '"':
          case '\'':
          case '/':
            out += s_[pos_];
            break;
          default:
            fail("Unknown escape character: \\" + ch(pos_));
        }
        ++pos_;
      } else if (c == '\'') {
        ++pos_;
        return out;
      } else {
        out += c;
        ++pos_;
      }
    }
    fail("Path ended with an open string.");
  }

  // JPath.ParseQuotedField: `['a']`, `['a','b']`.
  void parse_quoted_field(std::vector<step>& steps, char close, bool scan) {
    std::vector<std::string> fields;
    bool multiple = false;
    while (pos_ < s_.size()) {
      std::string field = read_quoted_string();
      skip_spaces();
      ensure_length("Path ended with open indexer.");
      char c = s_[pos_];
      if (c == close) {
        if (!multiple) {
          add_name(steps, field, scan, false);
          return;
        }
        fields.push_back(std::move(field));
        count_step();
        step st;
        st.kind = scan ? step_kind::scan_fields : step_kind::fields;
        st.first = static_cast<std::uint32_t>(p_.names.size());
        st.count = static_cast<std::uint32_t>(fields.size());
        for (const std::string& f : fields) p_.names.push_back(p_.arena->copy(f));
        steps.push_back(st);
        return;
      }
      if (c != ',') fail("Unexpected character while parsing path indexer: " + ch(pos_));
      ++pos_;
      skip_spaces();
      multiple = true;
      fields.push_back(std::move(field));
    }
    fail("Path ended with open indexer.");
  }

  // JPath.ParseQuery: `?(` expression `)` then the closing bracket.
  void parse_query(std::vector<step>& steps, char close, bool scan) {
    ++pos_;
    ensure_length("Path ended with open indexer.");
    if (s_[pos_] != '(') fail("Unexpected character while parsing path indexer: " + ch(pos_));
    ++pos_;
    if (++filter_depth_ > max_filter_depth)
      fail("JSONPath filters nested more than " + std::to_string(max_filter_depth) + " deep.", pos_,
           "NotSupportedException");
    std::uint32_t e = parse_expression();
    --filter_depth_;
    ++pos_;
    ensure_length("Path ended with open indexer.");
    skip_spaces();
    if (at(pos_) != close) fail("Unexpected character while parsing path indexer: " + ch(pos_));
    count_step();
    step st;
    st.kind = scan ? step_kind::query_scan : step_kind::query;
    st.expr = e;
    steps.push_back(st);
  }

  std::uint32_t add_expr(expr e) {
    p_.exprs.push_back(std::move(e));
    return static_cast<std::uint32_t>(p_.exprs.size() - 1);
  }

  // JPath.ParseExpression: returns with pos_ on the closing ')'.
  std::uint32_t parse_expression() {
    std::optional<std::uint32_t> root, parent;
    int depth = 0;
    auto attach = [&](op composite, std::uint32_t boolean) {
      if (!parent || p_.exprs[*parent].o != composite) {
        if (++depth > max_composite_depth)
          fail("JSONPath filter mixes && and || more than " + std::to_string(max_composite_depth) + " times.", pos_,
               "NotSupportedException");
        expr c;
        c.o = composite;
        std::uint32_t id = add_expr(std::move(c));
        if (parent) p_.exprs[*parent].children.push_back(id);
        parent = id;
        if (!root) root = id;
      }
      p_.exprs[*parent].children.push_back(boolean);
    };
    while (pos_ < s_.size()) {
      expr b;
      b.left = parse_side();
      char c = s_[pos_];  // parse_side guarantees pos_ < size
      if (c == ')' || c == '|' || c == '&') {
        b.o = op::exists;
      } else {
        b.o = parse_operator();
        b.right = parse_side();
        if (b.o == op::regex_equals && b.right.k == operand::kind::literal && b.right.literal.is_string()) {
          p_.regexes.push_back(compile_regex(b.right.literal.as_string()));
          b.regex = static_cast<std::int32_t>(p_.regexes.size() - 1);
        }
      }
      std::uint32_t id = add_expr(std::move(b));
      if (s_[pos_] == ')') {
        if (parent) {
          p_.exprs[*parent].children.push_back(id);
          return *root;
        }
        return id;
      }
      if (s_[pos_] == '&') {
        if (!match("&&")) fail("Unexpected character while parsing path query: " + ch(pos_));
        attach(op::and_, id);
      }
      if (at(pos_) == '|') {  // re-read after "&&", as Newtonsoft does
        if (!match("||")) fail("Unexpected character while parsing path query: " + ch(pos_));
        attach(op::or_, id);
      }
      // Any other character: this expression is dropped and parsing goes on (Newtonsoft quirk).
    }
    fail("Path ended with open query.");
  }

  // JPath.ParseSide: a `$`/`@` path or a literal, followed by optional spaces.
  operand parse_side() {
    skip_spaces();
    operand o;
    char c = at(pos_);
    if (c == '$' || c == '@') {
      std::vector<step> steps;
      if (c == '$') {
        count_step();
        step st;
        st.kind = step_kind::root;
        steps.push_back(st);
      }
      ++pos_;
      if (parse_path(steps, pos_, true)) fail("Path ended with open query.");
      o.k = operand::kind::path;
      o.path = commit(steps);
    } else if (try_parse_value(o.literal)) {
      o.k = operand::kind::literal;
    } else {
      fail("Unexpected character while parsing path query: " + ch_or_throw(pos_));
    }
    skip_spaces();
    ensure_length("Path ended with open query.");
    return o;
  }

  std::string ch_or_throw(std::size_t i) {
    at(i);
    return ch(i);
  }

  // JPath.TryParseValue: 'string', numbers, true, false, null, /regex/flags.
  bool try_parse_value(json::value& out) {
    char c = s_[pos_];
    if (c == '\'') {
      out = p_.arena->string(read_quoted_string());
      return true;
    }
    if ((c >= '0' && c <= '9') || c == '-') {
      std::size_t start = pos_++;
      while (pos_ < s_.size()) {
        c = s_[pos_];
        if (c == ' ' || c == ')') {
          std::string_view text = s_.substr(start, pos_ - start);
          if (text.find_first_of(".Ee") != std::string_view::npos) {
            double d = 0;
            bool ok = parse_double(text, d) == parse_status::ok;
            out = json::value::floating(d);
            return ok;
          }
          std::int64_t l = 0;
          bool ok = parse_int64(text, l) == parse_status::ok;
          out = json::value::integer(l);
          return ok;
        }
        ++pos_;
      }
      return false;
    }
    if (c == 't' && match("true")) {
      out = json::value::boolean(true);
      return true;
    }
    if (c == 'f' && match("false")) {
      out = json::value::boolean(false);
      return true;
    }
    if (c == 'n' && match("null")) {
      out = json::value::null();
      return true;
    }
    if (c == '/') {
      out = p_.arena->string(read_regex_string());
      return true;
    }
    return false;
  }

  // JPath.ReadRegexString: the whole "/pattern/flags" text (flags = letters).
  std::string_view read_regex_string() {
    std::size_t start = pos_++;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '\\' && pos_ + 1 < s_.size()) {
        pos_ += 2;
      } else if (c == '/') {
        ++pos_;
        while (pos_ < s_.size() && ((s_[pos_] >= 'a' && s_[pos_] <= 'z') || (s_[pos_] >= 'A' && s_[pos_] <= 'Z')))
          ++pos_;
        return s_.substr(start, pos_ - start);
      } else {
        ++pos_;
      }
    }
    fail("Path ended with an open regex.");
  }

  // JPath.ParseOperator.
  op parse_operator() {
    if (pos_ + 1 >= s_.size()) fail("Path ended with open query.");
    if (match("===")) return op::strict_equals;
    if (match("==")) return op::equals;
    if (match("=~")) return op::regex_equals;
    if (match("!==")) return op::strict_not_equals;
    if (match("!=") || match("<>")) return op::not_equals;
    if (match("<=")) return op::less_equal;
    if (match("<")) return op::less;
    if (match(">=")) return op::greater_equal;
    if (match(">")) return op::greater;
    fail("Could not read query operator.");
  }
};

// Compile-time facts about filters (program.hpp), derived from the compiled steps only.
// A filter operand path that starts with a field step yields nothing, without error, on a token
// that is not an object (FieldFilter / FieldMultipleFilter skip everything else, JProperties
// included); a named first step also yields nothing when the object lacks that key. Comparisons
// only look at their right side once the left side produced something.
class analyzer {
public:
  explicit analyzer(program& p) : p_(p) {}

  void run() {
    for (std::uint32_t id = 0; id < p_.exprs.size(); ++id) {
      p_.exprs[id].object_only = object_only(id, 0);
      p_.exprs[id].required_key = required_key(id, 0);
    }
    p_.required_key = main_required_key();
    p_.scan_exists_key = main_scan_exists_key();
  }

private:
  program& p_;

  const step* first_step(const operand& o) const {
    if (o.k != operand::kind::path || o.path.count == 0 || o.path.zero_stride) return nullptr;
    return &p_.steps[o.path.first];
  }

  bool object_only(std::uint32_t id, int depth) const {
    if (depth > max_composite_depth + 1) return false;
    const expr& e = p_.exprs[id];
    if (e.o == op::and_) return !e.children.empty() && object_only(e.children.front(), depth + 1);
    if (e.o == op::or_) {
      for (std::uint32_t c : e.children)
        if (!object_only(c, depth + 1)) return false;
      return !e.children.empty();
    }
    const step* s = first_step(e.left);
    return s && (s->kind == step_kind::field || s->kind == step_kind::fields);
  }

  std::optional<std::string_view> required_key(std::uint32_t id, int depth) const {
    if (depth > max_composite_depth + 1) return std::nullopt;
    const expr& e = p_.exprs[id];
    if (e.o == op::and_) {
      if (e.children.empty()) return std::nullopt;
      return required_key(e.children.front(), depth + 1);
    }
    if (e.o == op::or_) {
      std::optional<std::string_view> key;
      for (std::uint32_t c : e.children) {
        auto k = required_key(c, depth + 1);
        if (!k || (key && *key != *k)) return std::nullopt;
        key = k;
      }
      return key;
    }
    const step* s = first_step(e.left);
    if (s && s->kind == step_kind::field && !s->wildcard) return s->name;
    return std::nullopt;
  }

  // `$..[?(@key)]`: one QueryScanFilter whose expression is an existence test of a one-field
  // chain. It is object_only (false, without error, elsewhere) and true exactly on the objects
  // that have the key (follow_fields: JObject[key] != null), so it cannot fail.
  std::optional<std::string_view> main_scan_exists_key() const {
    if (p_.main.count != 1 || p_.main.zero_stride) return std::nullopt;
    const step& st = p_.steps[p_.main.first];
    if (st.kind != step_kind::query_scan) return std::nullopt;
    const expr& e = p_.exprs[st.expr];
    if (e.o != op::exists || e.left.k != operand::kind::path || !e.left.path.field_chain || e.left.path.count != 1 ||
        e.left.path.zero_stride || !e.object_only)
      return std::nullopt;
    return p_.steps[e.left.path.first].name;
  }

  // The main path selects something only through an object holding the key when a filter step
  // requires it and no step before that filter can fail (an error must still be reported).
  std::optional<std::string_view> main_required_key() const {
    if (p_.main.zero_stride) return std::nullopt;
    for (std::uint32_t i = 0; i < p_.main.count; ++i) {
      const step& st = p_.steps[p_.main.first + i];
      switch (st.kind) {
        case step_kind::query:
        case step_kind::query_scan:
          if (p_.exprs[st.expr].required_key) return p_.exprs[st.expr].required_key;
          return std::nullopt;
        case step_kind::field:
        case step_kind::fields:
        case step_kind::scan:
        case step_kind::scan_fields:
        case step_kind::index_all:
          break;
        default:
          return std::nullopt;
      }
    }
    return std::nullopt;
  }
};

}  // namespace

boost::system::result<std::shared_ptr<const program>, error> parse(std::string_view text) {
  auto prog = std::make_shared<program>();
  prog->text = std::string(text);
  try {
    parser(prog->text, *prog).parse_main();
    analyzer(*prog).run();
  } catch (parse_failure& f) {
    return std::move(f.e);
  }
  return std::shared_ptr<const program>(std::move(prog));
}

}  // namespace iomt::jsonpath::detail
