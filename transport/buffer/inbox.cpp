#include "transport/buffer/inbox.hpp"

#include "transport/buffer/record.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>

#include <unistd.h>

namespace iomt::transport::buffer {

std::string inbox_dir(const std::string& buffer_dir) { return join_path(buffer_dir, "inbox"); }

result<std::string> write_inbox(const file_io& io, const std::string& buffer_dir, std::span<const event> events) {
  static std::atomic<unsigned> counter{0};
  const std::string dir = inbox_dir(buffer_dir);
  if (auto e = io.make_dirs(dir)) return *e;
  std::string bytes;
  append_segment_header(bytes, 1);
  std::uint64_t seq = 1;
  std::string payload;
  for (const event& e : events) {
    payload.clear();
    encode_event(payload, e);
    append_record(bytes, seq++, payload);
  }
  const auto now =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  char name[96];
  std::snprintf(name, sizeof name, "%020lld-%d-%u.batch", static_cast<long long>(now), static_cast<int>(::getpid()),
                counter.fetch_add(1));
  const std::string path = join_path(dir, name);
  if (auto e = io.replace_atomically(path, bytes)) return *e;
  return path;
}

result<std::vector<std::string>> list_inbox(const file_io& io, const std::string& buffer_dir) {
  const std::string dir = inbox_dir(buffer_dir);
  std::vector<std::string> out;
  auto entries = io.list(dir);
  if (!entries) {
    if (entries.error().sys == ENOENT) return out;
    return entries.error();
  }
  for (const auto& e : *entries) {
    const std::string_view n = e.name;
    if (e.regular && n.size() > 6 && n.substr(n.size() - 6) == ".batch") out.push_back(join_path(dir, e.name));
  }
  std::sort(out.begin(), out.end());
  return out;
}

result<std::vector<event>> read_inbox(const file_io& io, const std::string& path) {
  std::optional<std::string> bytes;
  if (auto e = io.read_whole(path, bytes)) return *e;
  if (!bytes) return sys_error(ENOENT, "cannot open", path);
  std::uint64_t first = 0;
  if (!parse_segment_header(*bytes, first))
    return error{errc::corrupt, 0, "replay file " + path + " has no valid header"};
  std::vector<record_view> views;
  const std::string_view body = std::string_view(*bytes).substr(segment_header_bytes);
  const scan_result r = scan_records(body, 0, &views);
  if (r.stop != scan_stop::end)
    return error{errc::corrupt, 0,
                 "replay file " + path + " is damaged at offset " +
                     std::to_string(segment_header_bytes + r.valid_bytes) + " (" + to_string(r.stop) + ")"};
  std::vector<event> out(views.size());
  for (std::size_t i = 0; i < views.size(); ++i)
    if (!decode_event(views[i].payload, out[i]))
      return error{errc::corrupt, 0, "replay file " + path + ": record " + std::to_string(i + 1) + " is not an event"};
  return out;
}

}  // namespace iomt::transport::buffer
