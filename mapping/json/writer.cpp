// Compact (and indented) JSON text the way Newtonsoft writes it: doubles as shortest round-trip
// with ".0" when integral (JsonConvert.ToString(double)), dates as ISO strings (IsoDateFormat).
#include "mapping/json/writer.hpp"

#include "mapping/json/dotnet.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <cmath>

namespace iomt::json {

namespace {

void write_escaped(std::string_view s, std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += "\\u00";
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 0xF]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

// JsonConvert.ToString(double): NaN/Infinity are not JSON, so they are written as strings.
void write_double(double d, std::string& out) {
  std::string t = format_double(d);
  if (std::isnan(d) || std::isinf(d)) {
    write_escaped(t, out);
    return;
  }
  out += t;
  if (t.find_first_of(".E") == std::string::npos) out += ".0";
}

template <class Int>
void write_int(Int i, std::string& out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), i);
  out.append(buf, r.ptr);
}

void write_boost(const boost::json::value& v, std::string& out, int indent, int level);

// Pretty printing only (indent > 0): a line break and the indentation of `level`.
void newline(std::string& out, int indent, int level) {
  if (indent <= 0) return;
  out.push_back('\n');
  out.append(static_cast<std::size_t>(level * indent), ' ');
}

void write_object(const boost::json::object& o, std::string& out, int indent, int level) {
  out.push_back('{');
  bool first = true;
  for (const auto& kv : o) {
    if (!first) out.push_back(',');
    first = false;
    newline(out, indent, level + 1);
    write_escaped(kv.key(), out);
    out.push_back(':');
    if (indent > 0) out.push_back(' ');
    write_boost(kv.value(), out, indent, level + 1);
  }
  if (!o.empty()) newline(out, indent, level);
  out.push_back('}');
}

void write_boost(const boost::json::value& v, std::string& out, int indent, int level) {
  switch (v.kind()) {
    case boost::json::kind::null:
      out += "null";
      return;
    case boost::json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return;
    case boost::json::kind::int64:
      write_int(v.get_int64(), out);
      return;
    case boost::json::kind::uint64:
      write_int(v.get_uint64(), out);
      return;
    case boost::json::kind::double_:
      write_double(v.get_double(), out);
      return;
    case boost::json::kind::string:
      write_escaped(v.get_string(), out);
      return;
    case boost::json::kind::array: {
      const auto& a = v.get_array();
      out.push_back('[');
      bool first = true;
      for (const auto& e : a) {
        if (!first) out.push_back(',');
        first = false;
        newline(out, indent, level + 1);
        write_boost(e, out, indent, level + 1);
      }
      if (!a.empty()) newline(out, indent, level);
      out.push_back(']');
      return;
    }
    case boost::json::kind::object:
      write_object(v.get_object(), out, indent, level);
      return;
  }
}

}  // namespace

void write(const value& v, std::string& out) {
  switch (v.type()) {
    case kind::null:
      out += "null";
      return;
    case kind::boolean:
      out += v.as_bool() ? "true" : "false";
      return;
    case kind::integer:
      write_int(v.as_integer(), out);
      return;
    case kind::big_integer:
      out += v.as_string();
      return;
    case kind::floating:
      write_double(v.as_floating(), out);
      return;
    case kind::string:
      write_escaped(v.as_string(), out);
      return;
    case kind::date:
      write_escaped(format_iso(v.as_date()), out);
      return;
    case kind::array: {
      out.push_back('[');
      bool first = true;
      for (const value& e : v.as_array()) {
        if (!first) out.push_back(',');
        first = false;
        write(e, out);
      }
      out.push_back(']');
      return;
    }
    case kind::object: {
      out.push_back('{');
      bool first = true;
      for (const member& m : v.as_object()) {
        if (!first) out.push_back(',');
        first = false;
        write_escaped(m.key, out);
        out.push_back(':');
        write(m.val, out);
      }
      out.push_back('}');
      return;
    }
  }
}

std::string to_string(const value& v) {
  std::string s;
  write(v, s);
  return s;
}

boost::json::value to_boost(const value& v) {
  switch (v.type()) {
    case kind::null:
      return nullptr;
    case kind::boolean:
      return v.as_bool();
    case kind::integer:
      return v.as_integer();
    case kind::big_integer: {
      std::string_view d = v.as_string();
      std::uint64_t u = 0;
      auto r = std::from_chars(d.data(), d.data() + d.size(), u);
      if (r.ec == std::errc() && r.ptr == d.data() + d.size()) return u;
      double x = 0;
      std::from_chars(d.data(), d.data() + d.size(), x);
      return x;
    }
    case kind::floating:
      return v.as_floating();
    case kind::string:
      return boost::json::string(v.as_string());
    case kind::date:
      return boost::json::string(format_iso(v.as_date()));
    case kind::array: {
      boost::json::array a;
      a.reserve(v.size());
      for (const value& e : v.as_array()) a.push_back(to_boost(e));
      return a;
    }
    case kind::object: {
      boost::json::object o;
      o.reserve(v.size());
      for (const member& m : v.as_object()) o[m.key] = to_boost(m.val);
      return o;
    }
  }
  return nullptr;
}

value from_boost(const boost::json::value& v, arena& a) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return value::null();
    case boost::json::kind::bool_:
      return value::boolean(v.get_bool());
    case boost::json::kind::int64:
      return value::integer(v.get_int64());
    case boost::json::kind::uint64: {
      std::uint64_t u = v.get_uint64();
      if (u <= static_cast<std::uint64_t>(INT64_MAX)) return value::integer(static_cast<std::int64_t>(u));
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof(buf), u);
      return a.big_integer(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
    }
    case boost::json::kind::double_:
      return value::floating(v.get_double());
    case boost::json::kind::string:
      return a.string(v.get_string());
    case boost::json::kind::array: {
      const auto& arr = v.get_array();
      if (arr.empty()) return value::array_ref({});
      auto* slots = static_cast<value*>(a.allocate(arr.size() * sizeof(value), alignof(value)));
      std::size_t i = 0;
      for (const auto& e : arr) new (slots + i++) value(from_boost(e, a));
      return value::array_ref({slots, i});
    }
    case boost::json::kind::object: {
      const auto& obj = v.get_object();
      if (obj.empty()) return value::object_ref({});
      auto* slots = static_cast<member*>(a.allocate(obj.size() * sizeof(member), alignof(member)));
      std::size_t i = 0;
      for (const auto& kv : obj) new (slots + i++) member{a.copy(kv.key()), from_boost(kv.value(), a)};
      return value::object_ref({slots, i});
    }
  }
  return value::null();
}

void write(const boost::json::value& v, std::string& out) { write_boost(v, out, 0, 0); }

void write(const boost::json::object& o, std::string& out) { write_object(o, out, 0, 0); }

void write_string(std::string_view s, std::string& out) { write_escaped(s, out); }

std::string to_string(const boost::json::value& v) {
  std::string s;
  write_boost(v, s, 0, 0);
  return s;
}

std::string to_pretty_string(const boost::json::value& v) {
  std::string s;
  write_boost(v, s, 2, 0);
  return s;
}

}  // namespace iomt::json
