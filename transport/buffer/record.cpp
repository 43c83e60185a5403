#include "transport/buffer/record.hpp"

#include "transport/buffer/crc32c.hpp"

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
  std::memcpy(tail, header, 4);      // payload_len
  std::memcpy(tail + 4, header + 8, 8);  // seq
  return crc32c_extend(payload_crc, tail, sizeof tail);
}

constexpr std::uint8_t event_version = 1;
constexpr std::size_t event_fixed_bytes = 1 + 1 + 8 + 4 * 4;

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
    case scan_stop::end: return "end";
    case scan_stop::incomplete: return "incomplete record (torn write)";
    case scan_stop::bad_length: return "invalid record length";
    case scan_stop::bad_crc: return "CRC mismatch";
    case scan_stop::bad_sequence: return "sequence out of order";
  }
  return "?";
}

scan_result scan_records(std::string_view bytes, std::uint64_t min_seq, std::vector<record_view>* out, std::size_t max_records) {
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

std::size_t encoded_size(const event& e) noexcept {
  return event_fixed_bytes + e.body.size() + e.properties.size() + e.system_properties.size() + e.partition_key.size();
}

void encode_event(std::string& out, const event& e) {
  out.push_back(static_cast<char>(event_version));
  out.push_back(static_cast<char>(e.enqueued_time.zone));
  put(out, e.enqueued_time.ticks);
  put_string(out, e.body);
  put_string(out, e.properties);
  put_string(out, e.system_properties);
  put_string(out, e.partition_key);
}

bool decode_event(std::string_view p, event& out) {
  if (p.size() < event_fixed_bytes || static_cast<std::uint8_t>(p[0]) != event_version) return false;
  const auto zone = static_cast<std::uint8_t>(p[1]);
  if (zone > static_cast<std::uint8_t>(json::date_kind::local)) return false;
  out.enqueued_time.zone = static_cast<json::date_kind>(zone);
  out.enqueued_time.ticks = get_at<std::int64_t>(p.data() + 2);
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

}  // namespace iomt::transport::buffer
