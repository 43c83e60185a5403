#include "transport/buffer/record.hpp"

#include "transport/buffer/compact_properties.hpp"
#include "transport/buffer/crc32c.hpp"
#include "transport/buffer/varint.hpp"

#include <array>
#include <cstring>

namespace iomt::transport::buffer {

namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the buffer format is little-endian; add byte swaps");

template <class T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

template <class T>
void put_at(char* p, T v) noexcept {
  std::memcpy(p, &v, sizeof(T));
}

template <class T>
T get_at(const char* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

void put_string(std::string& out, std::string_view s) {
  put(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

// CRC of a record: payload, then its length and sequence fields (record.hpp).
std::uint32_t finish_crc(std::uint32_t payload_crc, const char* header) noexcept {
  char tail[12];
  std::memcpy(tail, header, 4);          // payload_len
  std::memcpy(tail + 4, header + 8, 8);  // seq
  return crc32c_extend(payload_crc, tail, sizeof tail);
}

constexpr std::uint8_t event_v1 = 1;
constexpr std::size_t event_v1_fixed_bytes = 1 + 1 + 8 + 4 * 4;
constexpr std::uint8_t event_v2 = 2;

// Version-2 flags (record.hpp).
constexpr std::uint8_t zone_mask = 0x03;
constexpr std::uint8_t empty_properties = 0x04;
constexpr std::uint8_t sys_shift = 3;
constexpr std::uint8_t sys_mask = 0x18;
enum sys_form : std::uint8_t { sys_empty = 0, sys_text = 1, sys_compact = 2 };
constexpr std::uint8_t no_partition_key = 0x20;
constexpr std::uint8_t has_origin = 0x40;  // since issue 13: older versions refuse such a record

// The origin byte (record.hpp).
constexpr std::uint8_t origin_partition = 0x01;
constexpr std::uint8_t origin_id_shift = 1;
constexpr std::uint8_t origin_id_mask = 0x06;
enum id_form : std::uint8_t { id_none = 0, id_text = 1, id_guid = 2 };

bool has_origin_fields(const event& e) noexcept { return e.partition >= 0 || e.request_id; }

// Hex digit values; -1 for anything else (upper case too: only what decodes back byte for byte
// is packed).
constexpr std::array<std::int8_t, 256> hex_values = [] {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int c = 0; c < 10; ++c) t[static_cast<std::size_t>('0' + c)] = static_cast<std::int8_t>(c);
  for (int c = 0; c < 6; ++c) t[static_cast<std::size_t>('a' + c)] = static_cast<std::int8_t>(10 + c);
  return t;
}();

// Where the 16 hex pairs of a "8-4-4-4-12" GUID start.
constexpr std::array<std::uint8_t, 16> guid_pairs = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};

// A lower-case "8-4-4-4-12" GUID (what the service makes, and what Azure SDKs send) in 16 bytes.
bool pack_guid(std::string_view id, char (&out)[16]) noexcept {
  if (id.size() != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-') return false;
  int bad = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    const int hi = hex_values[static_cast<std::uint8_t>(id[guid_pairs[i]])];
    const int lo = hex_values[static_cast<std::uint8_t>(id[guid_pairs[i] + 1u])];
    bad |= hi | lo;  // negative when either is not a hex digit
    out[i] = static_cast<char>((hi << 4) | (lo & 0xF));
  }
  return bad >= 0;
}

void unpack_guid(const char* in, char (&out)[36]) noexcept {
  static constexpr char hex[] = "0123456789abcdef";
  out[8] = out[13] = out[18] = out[23] = '-';
  for (std::size_t i = 0; i < 16; ++i) {
    const auto b = static_cast<std::uint8_t>(in[i]);
    out[guid_pairs[i]] = hex[b >> 4];
    out[guid_pairs[i] + 1u] = hex[b & 0xF];
  }
}

// The request id's form; `packed` holds the GUID's bytes for id_guid.
std::uint8_t id_form_of(const event& e, char (&packed)[16]) noexcept {
  if (!e.request_id) return id_none;
  return pack_guid(*e.request_id, packed) ? id_guid : id_text;
}

std::size_t origin_size(const event& e) noexcept {
  std::size_t n = 1;
  if (e.partition >= 0) n += varint_size(static_cast<std::uint64_t>(e.partition));
  char packed[16];
  switch (id_form_of(e, packed)) {
    case id_text:
      n += varint_size(e.request_id->size()) + e.request_id->size();
      break;
    case id_guid:
      n += 16;
      break;
    default:
      return n;
  }
  return n + varint_size(static_cast<std::uint64_t>(static_cast<std::int64_t>(e.batch_index) + 1));
}

void put_origin(std::string& out, const event& e) {
  char packed[16];
  const std::uint8_t form = id_form_of(e, packed);
  auto origin = static_cast<std::uint8_t>(form << origin_id_shift);
  if (e.partition >= 0) origin |= origin_partition;
  out.push_back(static_cast<char>(origin));
  if (e.partition >= 0) put_varint(out, static_cast<std::uint64_t>(e.partition));
  if (form == id_none) return;
  if (form == id_guid) {
    out.append(packed, sizeof packed);
  } else {
    put_bytes(out, *e.request_id);
  }
  put_varint(out, static_cast<std::uint64_t>(static_cast<std::int64_t>(e.batch_index) + 1));
}

// `out.request_id` is kept when it already holds the decoded id (decode_event in record.hpp).
bool get_origin(std::string_view& p, event& out) {
  if (p.empty()) return false;
  const auto origin = static_cast<std::uint8_t>(p[0]);
  p.remove_prefix(1);
  if (origin & ~(origin_partition | origin_id_mask)) return false;
  out.partition = -1;
  if (origin & origin_partition) {
    std::uint64_t partition = 0;
    if (!get_varint(p, partition) || partition > 0x7FFFFFFF) return false;
    out.partition = static_cast<std::int32_t>(partition);
  }
  std::string_view id;
  char unpacked[36];
  switch ((origin & origin_id_mask) >> origin_id_shift) {
    case id_none:
      out.request_id.reset();
      out.batch_index = -1;
      return true;
    case id_text:
      if (!get_bytes(p, id)) return false;
      break;
    case id_guid:
      if (p.size() < 16) return false;
      unpack_guid(p.data(), unpacked);
      p.remove_prefix(16);
      id = std::string_view(unpacked, sizeof unpacked);
      break;
    default:
      return false;
  }
  std::uint64_t item = 0;
  if (!get_varint(p, item) || item > 0x80000000ull) return false;
  out.batch_index = static_cast<std::int32_t>(static_cast<std::int64_t>(item) - 1);
  if (!out.request_id || *out.request_id != id) out.request_id = std::make_shared<const std::string>(id);
  return true;
}

// The flags of `e` and, for compact system properties, their bytes in `compact`.
std::uint8_t v2_flags(const event& e, std::string& compact, bool origin) {
  auto flags = static_cast<std::uint8_t>(static_cast<std::uint8_t>(e.enqueued_time.zone) & zone_mask);
  if (e.properties == "{}") flags |= empty_properties;
  std::uint8_t sys = sys_text;
  if (e.system_properties == "{}")
    sys = sys_empty;
  else if (compact_properties_encode(e.system_properties, e.enqueued_time.ticks, compact))
    sys = sys_compact;
  flags |= static_cast<std::uint8_t>(sys << sys_shift);
  if (e.partition_key.empty()) flags |= no_partition_key;
  if (origin && has_origin_fields(e)) flags |= has_origin;
  return flags;
}

std::size_t bytes_size(std::string_view s) { return varint_size(s.size()) + s.size(); }

bool decode_v1(std::string_view p, event& out) {
  if (p.size() < event_v1_fixed_bytes) return false;
  const auto zone = static_cast<std::uint8_t>(p[1]);
  if (zone > static_cast<std::uint8_t>(json::date_kind::local)) return false;
  out.enqueued_time.zone = static_cast<json::date_kind>(zone);
  out.enqueued_time.ticks = get_at<std::int64_t>(p.data() + 2);
  out.partition = -1;  // version 1 has no origin
  out.request_id.reset();
  out.batch_index = -1;
  std::size_t pos = 10;
  for (std::string* s : {&out.body, &out.properties, &out.system_properties, &out.partition_key}) {
    if (p.size() - pos < 4) return false;
    const auto n = get_at<std::uint32_t>(p.data() + pos);
    pos += 4;
    if (p.size() - pos < n) return false;
    s->assign(p.data() + pos, n);
    pos += n;
  }
  return pos == p.size();
}

bool decode_v2(std::string_view p, event& out) {
  if (p.size() < 2) return false;
  const auto flags = static_cast<std::uint8_t>(p[1]);
  if (flags & ~(zone_mask | empty_properties | sys_mask | no_partition_key | has_origin)) return false;
  const auto zone = static_cast<std::uint8_t>(flags & zone_mask);
  if (zone > static_cast<std::uint8_t>(json::date_kind::local)) return false;
  p.remove_prefix(2);
  std::uint64_t ticks = 0;
  if (!get_varint(p, ticks)) return false;
  out.enqueued_time = {unzigzag(ticks), static_cast<json::date_kind>(zone)};
  std::string_view s;
  if (!get_bytes(p, s)) return false;
  out.body.assign(s);
  if (flags & empty_properties) {
    out.properties.assign("{}");
  } else {
    if (!get_bytes(p, s)) return false;
    out.properties.assign(s);
  }
  out.system_properties.clear();
  switch ((flags & sys_mask) >> sys_shift) {
    case sys_empty:
      out.system_properties.assign("{}");
      break;
    case sys_text:
      if (!get_bytes(p, s)) return false;
      out.system_properties.assign(s);
      break;
    case sys_compact:
      if (!compact_properties_decode(p, out.enqueued_time.ticks, out.system_properties)) return false;
      break;
    default:
      return false;
  }
  if (flags & no_partition_key) {
    out.partition_key.clear();
  } else {
    if (!get_bytes(p, s)) return false;
    out.partition_key.assign(s);
  }
  if (flags & has_origin) {
    if (!get_origin(p, out)) return false;
  } else {
    out.partition = -1;
    out.request_id.reset();
    out.batch_index = -1;
  }
  return p.empty();
}

}  // namespace

void append_segment_header(std::string& out, std::uint64_t first_seq) {
  out.append(segment_magic);
  put(out, first_seq);
}

bool parse_segment_header(std::string_view bytes, std::uint64_t& first_seq) {
  if (bytes.size() < segment_header_bytes || bytes.substr(0, segment_magic.size()) != segment_magic) return false;
  first_seq = get_at<std::uint64_t>(bytes.data() + 8);
  return true;
}

void append_record(std::string& out, std::uint64_t seq, std::string_view payload) {
  std::size_t at = 0;
  begin_record(out, at);
  out.append(payload);
  end_record(out, at);
  seal_record(out.data() + at, seq);
}

void begin_record(std::string& out, std::size_t& header_at) {
  header_at = out.size();
  out.append(record_header_bytes, '\0');
}

void end_record(std::string& out, std::size_t header_at) {
  char* h = out.data() + header_at;
  const std::size_t n = out.size() - header_at - record_header_bytes;
  put_at(h, static_cast<std::uint32_t>(n));
  put_at(h + 4, crc32c_extend(0, h + record_header_bytes, n));
}

void seal_record(char* header, std::uint64_t seq) noexcept {
  put_at(header + 8, seq);
  put_at(header + 4, finish_crc(get_at<std::uint32_t>(header + 4), header));
}

std::uint32_t record_payload_length(const char* header) noexcept { return get_at<std::uint32_t>(header); }

const char* to_string(scan_stop s) {
  switch (s) {
    case scan_stop::end:
      return "end";
    case scan_stop::incomplete:
      return "incomplete record (torn write)";
    case scan_stop::bad_length:
      return "invalid record length";
    case scan_stop::bad_crc:
      return "CRC mismatch";
    case scan_stop::bad_sequence:
      return "sequence out of order";
  }
  return "?";
}

scan_result scan_records(std::string_view bytes, std::uint64_t min_seq, std::vector<record_view>* out,
                         std::size_t max_records) {
  scan_result r;
  std::size_t pos = 0;
  while (pos < bytes.size() && r.records < max_records) {
    const std::size_t left = bytes.size() - pos;
    const char* h = bytes.data() + pos;
    if (left < record_header_bytes) {
      r.stop = scan_stop::incomplete;
      r.need_bytes = record_header_bytes;
      break;
    }
    const std::uint32_t len = get_at<std::uint32_t>(h);
    if (len == 0 || len > max_payload_bytes) {
      r.stop = scan_stop::bad_length;
      break;
    }
    if (left < record_header_bytes + len) {
      r.stop = scan_stop::incomplete;
      r.need_bytes = record_header_bytes + len;
      break;
    }
    const std::uint32_t crc = finish_crc(crc32c_extend(0, h + record_header_bytes, len), h);
    if (crc != get_at<std::uint32_t>(h + 4)) {
      r.stop = scan_stop::bad_crc;
      break;
    }
    const auto seq = get_at<std::uint64_t>(h + 8);
    if (seq < min_seq || (r.records > 0 && seq <= r.last_seq)) {
      r.stop = scan_stop::bad_sequence;
      break;
    }
    if (r.records == 0) r.first_seq = seq;
    r.last_seq = seq;
    ++r.records;
    if (out) out->push_back({seq, bytes.substr(pos + record_header_bytes, len)});
    pos += record_header_bytes + len;
  }
  r.valid_bytes = pos;
  return r;
}

std::size_t encoded_size(const event& e, bool origin) {
  std::string compact;
  const std::uint8_t flags = v2_flags(e, compact, origin);
  std::size_t n = 2 + varint_size(zigzag(e.enqueued_time.ticks)) + bytes_size(e.body);
  if (!(flags & empty_properties)) n += bytes_size(e.properties);
  const auto sys = (flags & sys_mask) >> sys_shift;
  if (sys == sys_text) n += bytes_size(e.system_properties);
  if (sys == sys_compact) n += compact.size();
  if (!(flags & no_partition_key)) n += bytes_size(e.partition_key);
  if (flags & has_origin) n += origin_size(e);
  return n;
}

void encode_event(std::string& out, const event& e, bool origin) {
  std::string compact;
  const std::uint8_t flags = v2_flags(e, compact, origin);
  out.push_back(static_cast<char>(event_v2));
  out.push_back(static_cast<char>(flags));
  put_varint(out, zigzag(e.enqueued_time.ticks));
  put_bytes(out, e.body);
  if (!(flags & empty_properties)) put_bytes(out, e.properties);
  const auto sys = (flags & sys_mask) >> sys_shift;
  if (sys == sys_text) put_bytes(out, e.system_properties);
  if (sys == sys_compact) out += compact;
  if (!(flags & no_partition_key)) put_bytes(out, e.partition_key);
  if (flags & has_origin) put_origin(out, e);
}

void encode_event_v1(std::string& out, const event& e) {
  out.push_back(static_cast<char>(event_v1));
  out.push_back(static_cast<char>(e.enqueued_time.zone));
  put(out, e.enqueued_time.ticks);
  put_string(out, e.body);
  put_string(out, e.properties);
  put_string(out, e.system_properties);
  put_string(out, e.partition_key);
}

bool decode_event(std::string_view p, event& out) {
  if (p.empty()) return false;
  switch (static_cast<std::uint8_t>(p[0])) {
    case event_v1:
      return decode_v1(p, out);
    case event_v2:
      return decode_v2(p, out);
    default:
      return false;
  }
}

}  // namespace iomt::transport::buffer
