#include "transport/amqp/value_json.hpp"

#include "mapping/text/ascii.hpp"
#include "transport/http/event_properties.hpp"
#include "transport/http/json_scan.hpp"
#include "transport/http/sas.hpp"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace iomt::transport::amqp {

namespace {

template <class T>
void append_number(T v, std::string& out) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_double(double v, std::string& out) {
  if (std::isnan(v)) {
    out += "\"NaN\"";
  } else if (std::isinf(v)) {
    out += v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  } else {
    append_number(v, out);
  }
}

// AMQP char is a UTF-32 code unit: anything that is not a Unicode scalar value becomes U+FFFD.
void append_char(std::uint32_t cp, std::string& out) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  mapping::text::append_utf8(out, cp);
}

void append_uuid(const pn_uuid_t& u, std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    const auto b = static_cast<unsigned char>(u.bytes[i]);
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 0xF]);
  }
  out.push_back('"');
}

std::string_view view(pn_bytes_t b) { return {b.start ? b.start : "", b.size}; }

// Children of the container at the current position (already entered), `count` of them.
void append_items(pn_data_t* data, std::string& out, int depth) {
  bool first = true;
  while (pn_data_next(data)) {
    if (!first) out.push_back(',');
    first = false;
    append_value_json(data, out, depth + 1);
  }
}

}  // namespace

void append_json_string(std::string_view s, std::string& out) { http::json_scan::append_quoted(s, out); }

std::string format_timestamp(std::int64_t unix_ms) {
  return http::format_enqueued_time(http::enqueue_clock_time{std::chrono::milliseconds(unix_ms)});
}

void append_value_json(pn_data_t* data, std::string& out, int depth) {
  if (depth >= max_value_depth) {
    out += "null";
    return;
  }
  switch (pn_data_type(data)) {
    case PN_BOOL:
      out += pn_data_get_bool(data) ? "true" : "false";
      return;
    case PN_UBYTE:
      append_number(static_cast<unsigned>(pn_data_get_ubyte(data)), out);
      return;
    case PN_BYTE:
      append_number(static_cast<int>(pn_data_get_byte(data)), out);
      return;
    case PN_USHORT:
      append_number(static_cast<unsigned>(pn_data_get_ushort(data)), out);
      return;
    case PN_SHORT:
      append_number(static_cast<int>(pn_data_get_short(data)), out);
      return;
    case PN_UINT:
      append_number(pn_data_get_uint(data), out);
      return;
    case PN_INT:
      append_number(pn_data_get_int(data), out);
      return;
    case PN_ULONG:
      append_number(pn_data_get_ulong(data), out);
      return;
    case PN_LONG:
      append_number(pn_data_get_long(data), out);
      return;
    case PN_FLOAT:
      append_double(static_cast<double>(pn_data_get_float(data)), out);
      return;
    case PN_DOUBLE:
      append_double(pn_data_get_double(data), out);
      return;
    case PN_CHAR: {
      std::string s;
      append_char(pn_data_get_char(data), s);
      append_json_string(s, out);
      return;
    }
    case PN_TIMESTAMP: {
      out.push_back('"');
      out += format_timestamp(pn_data_get_timestamp(data));
      out.push_back('"');
      return;
    }
    case PN_UUID:
      append_uuid(pn_data_get_uuid(data), out);
      return;
    case PN_BINARY: {
      out.push_back('"');
      out += http::base64_encode(view(pn_data_get_binary(data)));
      out.push_back('"');
      return;
    }
    case PN_STRING:
      append_json_string(view(pn_data_get_string(data)), out);
      return;
    case PN_SYMBOL:
      append_json_string(view(pn_data_get_symbol(data)), out);
      return;
    case PN_DESCRIBED: {
      // descriptor, then the value: keep the value only.
      if (!pn_data_enter(data)) {
        out += "null";
        return;
      }
      bool has_descriptor = pn_data_next(data);
      if (has_descriptor && pn_data_next(data)) {
        append_value_json(data, out, depth + 1);
      } else {
        out += "null";
      }
      pn_data_exit(data);
      return;
    }
    case PN_LIST:
    case PN_ARRAY: {
      const bool described_array = pn_data_type(data) == PN_ARRAY && pn_data_is_array_described(data);
      out.push_back('[');
      if (pn_data_enter(data)) {
        if (described_array) pn_data_next(data);  // skip the array's descriptor
        append_items(data, out, depth);
        pn_data_exit(data);
      }
      out.push_back(']');
      return;
    }
    case PN_MAP: {
      out.push_back('{');
      append_map_members(data, out, depth);
      out.push_back('}');
      return;
    }
    default:  // PN_NULL, decimals, invalid
      out += "null";
      return;
  }
}

std::string key_text(pn_data_t* data) {
  switch (pn_data_type(data)) {
    case PN_STRING:
      return std::string(view(pn_data_get_string(data)));
    case PN_SYMBOL:
      return std::string(view(pn_data_get_symbol(data)));
    default: {
      std::string s;
      append_value_json(data, s, max_value_depth - 1);
      if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
      return s;
    }
  }
}

std::size_t append_map_members(pn_data_t* data, std::string& out, int depth) {
  if (pn_data_type(data) != PN_MAP || !pn_data_enter(data)) return 0;
  std::size_t n = 0;
  while (pn_data_next(data)) {
    pn_type_t kt = pn_data_type(data);
    if (!out.empty() && out.back() != '{') out.push_back(',');
    if (kt == PN_STRING) {
      append_json_string(view(pn_data_get_string(data)), out);
    } else if (kt == PN_SYMBOL) {
      append_json_string(view(pn_data_get_symbol(data)), out);
    } else {
      append_json_string(key_text(data), out);
    }
    out.push_back(':');
    if (pn_data_next(data)) {
      append_value_json(data, out, depth + 1);
    } else {
      out += "null";  // odd member count: a malformed map
    }
    ++n;
  }
  pn_data_exit(data);
  return n;
}

}  // namespace iomt::transport::amqp
