// body_reader, parse, parse_lenient, parse_located (iomt-spec §2).
//
// The strict path parses with simdjson's DOM parser (one per body_reader, buffers reused) and
// converts the tape into json::value in the caller's arena. Any simdjson error (comments, trailing
// commas, integers beyond UInt64, trailing content, invalid UTF-8, ...) or a construct whose
// Newtonsoft reading differs (deep nesting) falls back to the lenient reader, which produces the
// Newtonsoft result or error.
#include "mapping/json/reader.hpp"

#include "mapping/json/dotnet.hpp"
#include "mapping/json/lenient_reader.hpp"
#include "mapping/json/member_index.hpp"

#include <simdjson.h>

#include <charconv>
#include <stdexcept>

namespace iomt::json {

void throw_exception_from_error(const parse_error& e, const boost::source_location&) {
  throw std::runtime_error("JSON parse error: " + e.message);
}

namespace {

// A container at depth >= 64 (the 65th level) is a Newtonsoft MaxDepth error: the lenient reader
// reports it.
constexpr int strict_max_depth = detail::newtonsoft_max_depth;

class strict_converter {
public:
  strict_converter(arena& a, bool sniff) : a_(a), sniff_(sniff) {}

  // false: the lenient reader must decide.
  bool convert(simdjson::dom::element e, value& out, int depth) {
    using simdjson::dom::element_type;
    switch (e.type()) {
      case element_type::NULL_VALUE:
        out = value::null();
        return true;
      case element_type::BOOL:
        out = value::boolean(e.get_bool().value_unsafe());
        return true;
      case element_type::INT64:
        out = value::integer(e.get_int64().value_unsafe());
        return true;
      case element_type::UINT64: {  // beyond Int64: a BigInteger token in Newtonsoft
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof(buf), e.get_uint64().value_unsafe());
        out = a_.big_integer(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
        return true;
      }
      case element_type::DOUBLE:
        out = value::floating(e.get_double().value_unsafe());
        return true;
      case element_type::STRING: {
        std::string_view s = e.get_string().value_unsafe();
        if (sniff_ && !s.empty() && (s[0] == '/' || (s.size() >= 19 && s[0] >= '0' && s[0] <= '9'))) {
          if (auto d = sniff_date(s)) {
            out = value::date(*d);
            return true;
          }
        }
        out = a_.string(s);
        return true;
      }
      case element_type::ARRAY: {
        if (depth >= strict_max_depth) return false;
        simdjson::dom::array arr = e.get_array().value_unsafe();
        std::size_t n = arr.size();
        if (n == 0) {
          out = value::array_ref({});
          return true;
        }
        auto* slots = static_cast<value*>(a_.allocate(n * sizeof(value), alignof(value)));
        std::size_t i = 0;
        for (simdjson::dom::element child : arr) {
          if (i == n) return false;  // size() saturated: let the lenient reader handle it
          value v;
          if (!convert(child, v, depth + 1)) return false;
          new (slots + i++) value(v);
        }
        out = value::array_ref({slots, i});
        return true;
      }
      case element_type::OBJECT: {
        if (depth >= strict_max_depth) return false;
        simdjson::dom::object obj = e.get_object().value_unsafe();
        std::size_t n = obj.size();
        if (n == 0) {
          out = value::object_ref({});
          return true;
        }
        auto* slots = static_cast<member*>(a_.allocate(n * sizeof(member), alignof(member)));
        std::size_t count = 0;
        detail::member_index index;
        for (simdjson::dom::key_value_pair kv : obj) {
          if (count == n) return false;
          value v;
          if (!convert(kv.value, v, depth + 1)) return false;
          std::span<const member> so_far(slots, count);
          std::size_t dup = index.find(so_far, kv.key);
          if (dup != detail::member_index::npos) {
            slots[dup].val = v;  // last value wins, first position (iomt-spec §2)
            continue;
          }
          new (slots + count++) member{a_.copy(kv.key), v};
          index.added({slots, count});
        }
        out = value::object_ref({slots, count});
        return true;
      }
    }
    return false;
  }

private:
  arena& a_;
  bool sniff_;
};

std::string_view strip_bom(std::string_view text) {
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF && static_cast<unsigned char>(text[1]) == 0xBB &&
      static_cast<unsigned char>(text[2]) == 0xBF)
    text.remove_prefix(3);
  return text;
}

}  // namespace

struct body_reader::impl {
  simdjson::dom::parser parser;
};

body_reader::body_reader() : impl_(std::make_unique<impl>()) {}
body_reader::~body_reader() = default;

boost::system::result<value, parse_error> body_reader::read(std::string_view text, arena& out,
                                                            const read_options& opt) {
  std::string_view body = strip_bom(text);
  if (body.empty()) return value::null();  // zero-length body -> Body null (iomt-spec §2)

  simdjson::dom::element root;
  auto err = impl_->parser.parse(body.data(), body.size(), true).get(root);
  if (err == simdjson::SUCCESS) {
    strict_converter conv(out, opt.sniff_dates);
    value v;
    if (conv.convert(root, v, 0)) return v;
    // Too deep for the fast path: the lenient reader applies Newtonsoft's MaxDepth rule. Partially
    // built values stay in the arena until it is reset.
  } else if (!opt.lenient) {
    return parse_error{std::string("Invalid JSON: ") + simdjson::error_message(err), {}};
  }
  // The original text: the lenient reader skips the one BOM itself (a second one is an error, as
  // in Newtonsoft, so both paths must see the same bytes).
  return detail::read_lenient(text, out, {opt.sniff_dates, nullptr});
}

boost::system::result<document, parse_error> parse(std::string_view text, const read_options& opt) {
  document doc;
  body_reader reader;
  auto r = reader.read(text, *doc.arena, opt);
  if (r.has_error()) return r.error();
  doc.root = *r;
  return doc;
}

boost::system::result<value, parse_error> parse_lenient(std::string_view text, arena& out, const read_options& opt) {
  return detail::read_lenient(text, out, {opt.sniff_dates, nullptr});
}

boost::system::result<located_document, parse_error> parse_located(std::string_view text) {
  located_document ld;
  auto r = detail::read_lenient(text, *ld.doc.arena, {false, &ld});
  if (r.has_error()) return r.error();
  ld.doc.root = *r;
  return ld;
}

}  // namespace iomt::json
