#include "transport/amqp/message_mapper.hpp"

#include "transport/amqp/value_json.hpp"

#include <proton/codec.h>
#include <proton/error.h>

#include <charconv>
#include <cstring>

namespace iomt::transport::amqp {

namespace {

// Section descriptors (AMQP 1.0 §3.2).
enum : std::uint64_t {
  header = 0x70,
  delivery_annotations = 0x71,
  message_annotations = 0x72,
  properties_section = 0x73,
  application_properties = 0x74,
  data_section = 0x75,
  amqp_sequence = 0x76,
  amqp_value = 0x77,
  footer = 0x78,
};

std::uint64_t code_of_symbol(std::string_view s) {
  static constexpr std::pair<std::string_view, std::uint64_t> names[] = {
      {"amqp:header:list", header},
      {"amqp:delivery-annotations:map", delivery_annotations},
      {"amqp:message-annotations:map", message_annotations},
      {"amqp:properties:list", properties_section},
      {"amqp:application-properties:map", application_properties},
      {"amqp:data:binary", data_section},
      {"amqp:amqp-sequence:list", amqp_sequence},
      {"amqp:amqp-value:*", amqp_value},
      {"amqp:footer:map", footer},
  };
  for (const auto& [n, c] : names)
    if (n == s) return c;
  return 0;
}

std::string_view view(pn_bytes_t b) { return {b.start ? b.start : "", b.size}; }

void member_name(std::string& out, std::string_view name) {
  if (out.size() > 1) out.push_back(',');
  append_json_string(name, out);
  out.push_back(':');
}

bool integer_value(pn_data_t* d, std::int64_t& v) {
  switch (pn_data_type(d)) {
    case PN_LONG:
      v = pn_data_get_long(d);
      return true;
    case PN_ULONG:
      v = static_cast<std::int64_t>(pn_data_get_ulong(d));
      return true;
    case PN_INT:
      v = pn_data_get_int(d);
      return true;
    case PN_UINT:
      v = pn_data_get_uint(d);
      return true;
    case PN_STRING:
    case PN_SYMBOL: {
      auto s = pn_data_type(d) == PN_STRING ? view(pn_data_get_string(d)) : view(pn_data_get_symbol(d));
      auto r = std::from_chars(s.data(), s.data() + s.size(), v);
      return r.ec == std::errc{} && r.ptr == s.data() + s.size();
    }
    default:
      return false;
  }
}

// Moves `d` to the value of a decoded section (descriptor checked); returns its code, 0 if not a
// section.
std::uint64_t enter_section(pn_data_t* d) {
  pn_data_rewind(d);
  if (!pn_data_next(d) || pn_data_type(d) != PN_DESCRIBED || !pn_data_enter(d) || !pn_data_next(d)) return 0;
  std::uint64_t code = 0;
  if (pn_data_type(d) == PN_ULONG)
    code = pn_data_get_ulong(d);
  else if (pn_data_type(d) == PN_SYMBOL)
    code = code_of_symbol(view(pn_data_get_symbol(d)));
  if (code < header || code > footer) return 0;
  if (!pn_data_next(d)) return 0;  // descriptor without a value
  return code;
}

// The properties section (a list, §3.2.4) into SystemProperties members, only the fields set.
void append_properties_section(pn_data_t* d, std::string& out) {
  static constexpr std::string_view fields[] = {"message-id",       "user-id",          "to",
                                                "subject",          "reply-to",         "correlation-id",
                                                "content-type",     "content-encoding", "absolute-expiry-time",
                                                "creation-time",    "group-id",         "group-sequence",
                                                "reply-to-group-id"};
  if (enter_section(d) != properties_section || pn_data_type(d) != PN_LIST || !pn_data_enter(d)) return;
  for (std::size_t i = 0; i < std::size(fields) && pn_data_next(d); ++i) {
    if (pn_data_type(d) == PN_NULL) continue;
    member_name(out, fields[i]);
    append_value_json(d, out, 1);
  }
}

}  // namespace

json::date_time date_time_from_unix_ms(std::int64_t ms) noexcept {
  return {json::unix_epoch_ticks + ms * json::ticks_per_millisecond, json::date_kind::utc};
}

message_mapper::message_mapper()
    : section_(pn_data(16)), annotations_(pn_data(16)), properties_(pn_data(16)), app_(pn_data(16)) {}

message_mapper::~message_mapper() {
  pn_data_free(section_);
  pn_data_free(annotations_);
  pn_data_free(properties_);
  pn_data_free(app_);
}

boost::system::result<void, decode_error> message_mapper::map(std::string_view bytes,
                                                              std::chrono::system_clock::time_point received,
                                                              event& out, stream_position& position) {
  position = {};
  out.body.clear();
  pn_data_clear(annotations_);
  pn_data_clear(properties_);
  pn_data_clear(app_);
  bool have_annotations = false, have_properties = false, have_app = false;

  std::size_t off = 0;
  while (off < bytes.size()) {
    pn_data_clear(section_);
    const ssize_t n = pn_data_decode(section_, bytes.data() + off, bytes.size() - off);
    if (n <= 0)
      return decode_error{"not a valid AMQP message: cannot decode the section at byte " + std::to_string(off) + " (" +
                          pn_code(static_cast<int>(n)) + ")"};
    const std::uint64_t code = enter_section(section_);
    if (code == 0)
      return decode_error{"not a valid AMQP message: byte " + std::to_string(off) +
                          " does not start a message section"};
    pn_data_t** keep = nullptr;  // sections read after the loop, in SystemProperties order
    switch (code) {
      case message_annotations:
        keep = &annotations_;
        have_annotations = true;
        break;
      case properties_section:
        keep = &properties_;
        have_properties = true;
        break;
      case application_properties:
        keep = &app_;
        have_app = true;
        break;
      case data_section:
        if (pn_data_type(section_) != PN_BINARY)
          return decode_error{"not a valid AMQP message: a data section must hold binary"};
        out.body.append(view(pn_data_get_binary(section_)));
        break;
      case amqp_value:
        switch (pn_data_type(section_)) {
          case PN_BINARY:
            out.body.assign(view(pn_data_get_binary(section_)));
            break;
          case PN_STRING:
            out.body.assign(view(pn_data_get_string(section_)));
            break;
          case PN_SYMBOL:
            out.body.assign(view(pn_data_get_symbol(section_)));
            break;
          case PN_NULL:
            break;
          default:
            append_value_json(section_, out.body);
            break;
        }
        break;
      case amqp_sequence:
        append_value_json(section_, out.body);
        break;
      default:  // header, delivery-annotations, footer: not part of the event
        break;
    }
    if (keep) std::swap(*keep, section_);  // the scratch decoder becomes the kept one and vice versa
    off += static_cast<std::size_t>(n);
  }

  // Application properties.
  out.properties.assign("{");
  if (have_app && enter_section(app_) == application_properties) append_map_members(app_, out.properties);
  out.properties.push_back('}');

  // Properties section, then message annotations.
  std::string& sys = out.system_properties;
  sys.assign("{");
  if (have_properties) append_properties_section(properties_, sys);

  std::int64_t enqueued_ms = 0, iothub_enqueued_ms = 0;
  bool have_enqueued = false, have_iothub_enqueued = false;
  out.partition_key.clear();
  if (have_annotations && enter_section(annotations_) == message_annotations && pn_data_type(annotations_) == PN_MAP &&
      pn_data_enter(annotations_)) {
    pn_data_t* ann = annotations_;
    while (pn_data_next(ann)) {
      const std::string key = key_text(ann);
      member_name(sys, key);
      if (!pn_data_next(ann)) {
        sys += "null";
        break;
      }
      const pn_type_t t = pn_data_type(ann);
      if (key == "x-opt-enqueued-time" && t == PN_TIMESTAMP) {
        enqueued_ms = pn_data_get_timestamp(ann);
        have_enqueued = true;
      } else if (key == "iothub-enqueuedtime" && t == PN_TIMESTAMP) {
        iothub_enqueued_ms = pn_data_get_timestamp(ann);
        have_iothub_enqueued = true;
      } else if (key == "x-opt-sequence-number") {
        integer_value(ann, position.sequence_number);
      } else if (key == "x-opt-offset") {
        integer_value(ann, position.offset);
      } else if (key == "x-opt-partition-key" && (t == PN_STRING || t == PN_SYMBOL)) {
        out.partition_key.assign(t == PN_STRING ? view(pn_data_get_string(ann)) : view(pn_data_get_symbol(ann)));
      }
      append_value_json(ann, sys, 1);
    }
  }
  sys.push_back('}');

  if (have_enqueued) {
    out.enqueued_time = date_time_from_unix_ms(enqueued_ms);
  } else if (have_iothub_enqueued) {
    out.enqueued_time = date_time_from_unix_ms(iothub_enqueued_ms);
  } else {
    using namespace std::chrono;
    out.enqueued_time = date_time_from_unix_ms(duration_cast<milliseconds>(received.time_since_epoch()).count());
  }
  return {};
}

}  // namespace iomt::transport::amqp
