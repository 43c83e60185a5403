// The segment log on real files: group commit from many threads, reading back, recovery of torn
// and corrupt tails (at every byte offset of the last record), checkpoint + segment deletion, the
// size bound, and disk errors (read-only, full, failing fsync) that must never look like success.
#define BOOST_TEST_MODULE transport buffer segment log
#include <boost/test/unit_test.hpp>

#include "buffer_test_support.hpp"
#include "manual_clock.hpp"
#include "transport/buffer/checkpoint.hpp"
#include "transport/buffer/log_reader.hpp"
#include "transport/buffer/record.hpp"

#include <fstream>
#include <thread>

#include <unistd.h>

using namespace iomt;
using namespace iomt::transport::buffer;
using iomt::test::append_wait;
using iomt::test::make_event;
using iomt::test::temp_dir;
namespace fs = std::filesystem;

namespace {

log_options options_for(const temp_dir& d, fsync_policy p = fsync_policy::always) {
  log_options o;
  o.dir = d.str();
  o.fsync = p;
  return o;
}

std::unique_ptr<segment_log> open_log(const log_options& o) {
  auto l = segment_log::open(o);
  BOOST_REQUIRE_MESSAGE(l, (l ? "" : l.error().message));
  return std::move(*l);
}

// Reads everything committed from `from` on.
std::vector<std::pair<std::uint64_t, transport::event>> read_all(const segment_log& log, std::uint64_t from) {
  log_reader r(log, from);
  std::vector<transport::event> ev;
  std::vector<std::uint64_t> seqs;
  for (;;) {
    auto n = r.read(ev, seqs, 7, 1 << 20);
    BOOST_REQUIRE_MESSAGE(n, (n ? "" : n.error().message));
    if (*n == 0) break;
  }
  std::vector<std::pair<std::uint64_t, transport::event>> out;
  for (std::size_t i = 0; i < ev.size(); ++i) out.emplace_back(seqs[i], std::move(ev[i]));
  return out;
}

std::vector<fs::path> segment_files(const temp_dir& d) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(d.path))
    if (e.path().extension() == ".seg") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(append_then_read_in_order) {
  temp_dir d;
  auto log = open_log(options_for(d));
  BOOST_TEST(log->recovery().clean());
  BOOST_TEST(log->recovery().next_seq == 1u);
  int k = 0;
  for (int b = 0; b < 10; ++b) {
    std::vector<transport::event> batch;
    for (int i = 0; i < 1 + b; ++i) batch.push_back(make_event(k++));
    auto r = append_wait(*log, batch);
    BOOST_REQUIRE(!r.refused);
    BOOST_TEST(!r.done.err);
    BOOST_TEST(r.done.count == batch.size());
  }
  const auto all = read_all(*log, log->checkpoint_seq());
  BOOST_REQUIRE(all.size() == 55u);
  for (std::size_t i = 0; i < all.size(); ++i) {
    BOOST_TEST(all[i].first == i + 1);
    BOOST_TEST(test::same_event(all[i].second, make_event(static_cast<int>(i))));
  }
  BOOST_TEST(log->committed_end() == 56u);
  BOOST_TEST(log->stats().fsyncs >= 1u);
}

BOOST_AUTO_TEST_CASE(many_threads_group_commit) {
  temp_dir d;
  auto log = open_log(options_for(d));
  constexpr int threads = 4, appends = 300;
  std::vector<std::thread> ts;
  std::mutex mu;
  std::vector<std::uint64_t> firsts;
  std::atomic<int> errors{0};
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (int a = 0; a < appends; ++a) {
        auto r = append_wait(*log, {make_event(t * 10000 + a), make_event(t * 10000 + a)});
        if (r.refused || r.done.err) {
          ++errors;
          continue;
        }
        std::lock_guard l(mu);
        firsts.push_back(r.done.first_seq);
      }
    });
  for (auto& t : ts) t.join();
  BOOST_TEST(errors == 0);
  std::sort(firsts.begin(), firsts.end());
  BOOST_REQUIRE(firsts.size() == static_cast<std::size_t>(threads * appends));
  for (std::size_t i = 0; i < firsts.size(); ++i) BOOST_TEST(firsts[i] == 1 + 2 * i);  // gap-free, 2 per append
  const auto all = read_all(*log, 1);
  BOOST_TEST(all.size() == static_cast<std::size_t>(threads * appends * 2));
  const auto st = log->stats();
  BOOST_TEST_MESSAGE("appends " << threads * appends << " in " << st.batches << " batches, " << st.fsyncs << " fsyncs");
  BOOST_TEST(st.fsyncs <= st.batches + 1);
}

BOOST_AUTO_TEST_CASE(reopen_resumes_sequence_and_data) {
  temp_dir d;
  {
    auto log = open_log(options_for(d));
    for (int i = 0; i < 10; ++i) BOOST_REQUIRE(!append_wait(*log, {make_event(i)}).done.err);
  }
  auto log = open_log(options_for(d));
  const auto& rep = log->recovery();
  BOOST_TEST(rep.clean(), rep.summary());
  BOOST_TEST(rep.records == 10u);
  BOOST_TEST(rep.next_seq == 11u);
  BOOST_TEST(rep.checkpoint == 1u);
  auto r = append_wait(*log, {make_event(10), make_event(11)});
  BOOST_TEST(r.done.first_seq == 11u);
  const auto all = read_all(*log, log->checkpoint_seq());
  BOOST_REQUIRE(all.size() == 12u);
  for (std::size_t i = 0; i < 12; ++i) BOOST_TEST(test::same_event(all[i].second, make_event(static_cast<int>(i))));
}

BOOST_AUTO_TEST_CASE(torn_tail_at_every_byte_offset_of_the_last_record) {
  temp_dir src;
  {
    auto log = open_log(options_for(src, fsync_policy::never));
    for (int i = 0; i < 3; ++i) BOOST_REQUIRE(!append_wait(*log, {make_event(i)}).done.err);
  }
  const auto segs = segment_files(src);
  BOOST_REQUIRE(segs.size() == 1u);  // the empty segment opened by the writer is removed at the next open
  const std::string full = read_bytes(segs[0]);
  // Offset where the third record starts.
  const scan_result two = scan_records(std::string_view(full).substr(segment_header_bytes), 0, nullptr, 2);
  const std::size_t last_at = segment_header_bytes + two.valid_bytes;
  BOOST_REQUIRE(last_at < full.size());
  for (std::size_t cut = last_at + 1; cut < full.size(); ++cut) {
    temp_dir d;
    const fs::path seg = d.path / segs[0].filename();
    write_bytes(seg, full.substr(0, cut));
    auto log = open_log(options_for(d, fsync_policy::never));
    const auto& rep = log->recovery();
    BOOST_REQUIRE_MESSAGE(rep.repairs.size() == 1u, "cut " << cut);
    BOOST_TEST(rep.repairs[0].offset == last_at);
    BOOST_TEST(rep.repairs[0].bytes_dropped == cut - last_at);
    BOOST_TEST(rep.repairs[0].reason == "incomplete record (torn write)");
    BOOST_TEST(rep.repairs[0].truncated);
    BOOST_TEST(rep.bytes_dropped() == cut - last_at);
    BOOST_TEST(fs::file_size(seg) == last_at);                                               // cut on disk
    BOOST_TEST(read_bytes(rep.repairs[0].saved_to) == full.substr(last_at, cut - last_at));  // kept for inspection
    BOOST_TEST(rep.next_seq == 3u);
    BOOST_TEST(rep.summary().find("dropped") != std::string::npos);
    const auto all = read_all(*log, 1);
    BOOST_REQUIRE(all.size() == 2u);
    BOOST_TEST(test::same_event(all[1].second, make_event(1)));
    auto r = append_wait(*log, {make_event(99)});  // the log goes on after the cut
    BOOST_TEST(r.done.first_seq == 3u);
    BOOST_TEST(read_all(*log, 1).size() == 3u);
  }
}

BOOST_AUTO_TEST_CASE(crc_corruption_in_the_middle_is_cut_and_reported) {
  temp_dir d;
  {
    auto log = open_log(options_for(d));
    for (int i = 0; i < 5; ++i) BOOST_REQUIRE(!append_wait(*log, {make_event(i)}).done.err);
  }
  const auto segs = segment_files(d);
  BOOST_REQUIRE(segs.size() == 1u);
  std::string bytes = read_bytes(segs[0]);
  const std::size_t third =
      segment_header_bytes +
      scan_records(std::string_view(bytes).substr(segment_header_bytes), 0, nullptr, 2).valid_bytes;
  bytes[third + record_header_bytes + 5] ^= 0x01;  // one bit of the third record's payload
  write_bytes(segs[0], bytes);
  auto log = open_log(options_for(d));
  const auto& rep = log->recovery();
  BOOST_REQUIRE(rep.repairs.size() == 1u);
  BOOST_TEST(rep.repairs[0].reason == "CRC mismatch");
  BOOST_TEST(rep.repairs[0].offset == third);
  BOOST_TEST(rep.repairs[0].bytes_dropped == bytes.size() - third);
  BOOST_TEST(rep.records == 2u);
  BOOST_TEST(read_all(*log, 1).size() == 2u);
  // Sequences stay above everything seen; nothing is reused.
  BOOST_TEST(append_wait(*log, {make_event(5)}).done.first_seq == 3u);
}

BOOST_AUTO_TEST_CASE(damaged_segment_headers) {
  temp_dir d;
  {
    auto log = open_log(options_for(d));
    BOOST_REQUIRE(!append_wait(*log, {make_event(0)}).done.err);
  }
  // A crash while creating the next segment: a few bytes of header.
  write_bytes(d.path / segment_file_name(7), "IOMT");
  auto log = open_log(options_for(d));
  const auto& rep = log->recovery();
  BOOST_REQUIRE(rep.repairs.size() == 1u);
  BOOST_TEST(rep.repairs[0].bytes_dropped == 4u);
  BOOST_TEST(!fs::exists(d.path / segment_file_name(7)));
  BOOST_TEST(read_all(*log, 1).size() == 1u);
}

BOOST_AUTO_TEST_CASE(checkpoint_deletes_consumed_segments) {
  temp_dir d;
  auto o = options_for(d, fsync_policy::never);
  o.segment_bytes = 1024;
  {
    auto log = open_log(o);
    for (int i = 0; i < 100; ++i) BOOST_REQUIRE(!append_wait(*log, {make_event(i)}).done.err);
    const std::size_t before = segment_files(d).size();
    BOOST_TEST(before > 5u);
    const auto disk0 = log->stats().disk_bytes;
    BOOST_TEST(!log->checkpoint(50));
    BOOST_TEST(log->checkpoint_seq() == 50u);
    BOOST_TEST(*decode_checkpoint(read_bytes(d.path / "checkpoint")) == 50u);
    BOOST_TEST(!fs::exists(d.path / "checkpoint.tmp"));
    const auto segs = segment_files(d);
    BOOST_TEST(segs.size() < before);
    BOOST_TEST(log->stats().disk_bytes < disk0);
    // Every remaining segment still holds a record >= 50 (or is the active one).
    const auto all = read_all(*log, 50);
    BOOST_TEST(all.size() == 51u);
    BOOST_TEST(all.front().first == 50u);
    // Going back is ignored; beyond the committed end is clamped.
    BOOST_TEST(!log->checkpoint(10));
    BOOST_TEST(log->checkpoint_seq() == 50u);
    BOOST_TEST(!log->checkpoint(1000));
    BOOST_TEST(log->checkpoint_seq() == 101u);
    BOOST_TEST(segment_files(d).size() <= 2u);
  }
  auto log = open_log(o);
  BOOST_TEST(log->recovery().checkpoint == 101u);
  BOOST_TEST(log->recovery().next_seq == 101u);
  BOOST_TEST(read_all(*log, log->checkpoint_seq()).empty());
}

BOOST_AUTO_TEST_CASE(restart_resumes_from_the_checkpoint) {
  temp_dir d;
  {
    auto log = open_log(options_for(d));
    for (int i = 0; i < 20; ++i) BOOST_REQUIRE(!append_wait(*log, {make_event(i)}).done.err);
    BOOST_TEST(!log->checkpoint(13));
  }
  auto log = open_log(options_for(d));
  BOOST_TEST(log->checkpoint_seq() == 13u);
  const auto all = read_all(*log, log->checkpoint_seq());
  BOOST_REQUIRE(all.size() == 8u);
  BOOST_TEST(test::same_event(all.front().second, make_event(12)));
}

BOOST_AUTO_TEST_CASE(damaged_checkpoint_file_resumes_from_the_oldest_record) {
  temp_dir d;
  {
    auto log = open_log(options_for(d));
    for (int i = 0; i < 4; ++i) BOOST_REQUIRE(!append_wait(*log, {make_event(i)}).done.err);
    BOOST_TEST(!log->checkpoint(3));
  }
  write_bytes(d.path / "checkpoint", "garbage");
  auto log = open_log(options_for(d));
  BOOST_TEST(log->recovery().warnings.size() == 1u);
  BOOST_TEST(log->checkpoint_seq() == 1u);
  BOOST_TEST(read_all(*log, 1).size() == 4u);
}

BOOST_AUTO_TEST_CASE(size_bound_refuses_then_recovers_after_checkpoint) {
  temp_dir d;
  auto o = options_for(d, fsync_policy::never);
  o.max_bytes = 16 * 1024;
  o.segment_bytes = 64 * 1024;  // clamped to max_bytes / 4
  auto log = open_log(o);
  BOOST_TEST(log->segment_bytes() == 4096u);
  int accepted = 0;
  status refused;
  for (int i = 0; i < 10000 && !refused; ++i) {
    auto r = append_wait(*log, {make_event(i, 200)});
    refused = r.refused;
    if (!refused) ++accepted;
  }
  BOOST_REQUIRE(refused);
  BOOST_TEST(static_cast<int>(refused->code) == static_cast<int>(errc::full));
  BOOST_TEST(refused->message.find("full") != std::string::npos);
  BOOST_TEST(log->stats().disk_bytes <= o.max_bytes);
  BOOST_TEST(log->stats().refused_full >= 1u);
  // The consumer finishes everything: whole segments go, appends are accepted again.
  BOOST_TEST(!log->checkpoint(log->committed_end()));
  BOOST_TEST(log->stats().disk_bytes <= 4096u + 1024u);
  BOOST_TEST(!append_wait(*log, {make_event(1, 200)}).refused);
  BOOST_TEST(accepted > 10);
}

BOOST_AUTO_TEST_CASE(too_large_is_refused_for_good) {
  temp_dir d;
  auto o = options_for(d);
  o.max_bytes = 64 * 1024;
  auto log = open_log(o);
  auto r = append_wait(*log, {make_event(0, 40 * 1024)});
  BOOST_REQUIRE(r.refused);
  BOOST_TEST(static_cast<int>(r.refused->code) == static_cast<int>(errc::too_large));
}

BOOST_AUTO_TEST_CASE(large_records_cross_the_read_window) {
  temp_dir d;
  auto log = open_log(options_for(d));
  BOOST_REQUIRE(!append_wait(*log, {make_event(0), make_event(1, 3 << 20), make_event(2)}).done.err);
  const auto all = read_all(*log, 1);
  BOOST_REQUIRE(all.size() == 3u);
  BOOST_TEST(all[1].second.body.size() == std::size_t{3} << 20);
  BOOST_TEST(test::same_event(all[2].second, make_event(2)));
}

BOOST_AUTO_TEST_CASE(fsync_policies) {
  for (auto p : {fsync_policy::always, fsync_policy::interval, fsync_policy::never}) {
    temp_dir d;
    auto o = options_for(d, p);
    o.fsync_interval = std::chrono::hours(1);  // `interval`: none due while the test runs
    auto log = open_log(o);
    for (int i = 0; i < 20; ++i) BOOST_REQUIRE(!append_wait(*log, {make_event(i)}).done.err);
    const auto st = log->stats();
    if (p == fsync_policy::always) BOOST_TEST(st.fsyncs >= 20u);
    if (p == fsync_policy::interval) BOOST_TEST(st.fsyncs < 20u);
    if (p == fsync_policy::never) BOOST_TEST(st.fsyncs == 0u);
    BOOST_TEST(read_all(*log, 1).size() == 20u);
    log->close();  // writes what is dirty out
    if (p == fsync_policy::interval) BOOST_TEST(log->stats().fsyncs >= 1u);
  }
  fsync_policy p{};
  BOOST_TEST(parse_fsync_policy("interval", p));
  BOOST_TEST(static_cast<int>(p) == static_cast<int>(fsync_policy::interval));
  BOOST_TEST(!parse_fsync_policy("sometimes", p));
}

// ---- errors -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(missing_directory_without_create) {
  temp_dir d;
  log_options o = options_for(d);
  o.dir = (d.path / "nope").string();
  o.create_dir = false;
  auto l = segment_log::open(o);
  BOOST_REQUIRE(!l);
  BOOST_TEST(l.error().message.find(o.dir) != std::string::npos);
  BOOST_TEST(l.error().message.find("No such file or directory") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(directory_path_is_a_file) {
  temp_dir d;
  write_bytes(d.path / "file", "x");
  log_options o = options_for(d);
  o.dir = (d.path / "file").string();
  auto l = segment_log::open(o);
  BOOST_REQUIRE(!l);
  BOOST_TEST(l.error().message.find("Not a directory") != std::string::npos, l.error().message);
}

BOOST_AUTO_TEST_CASE(one_process_per_directory) {
  temp_dir d;
  auto log = open_log(options_for(d));
  auto second = segment_log::open(options_for(d));
  BOOST_REQUIRE(!second);
  BOOST_TEST(second.error().message.find("in use") != std::string::npos, second.error().message);
}

// A clock the test moves by hand (tests/manual_clock.hpp): the retry_after_error window without sleeping.
using iomt::test::manual_clock;

BOOST_AUTO_TEST_CASE(read_only_directory_injected) {
  temp_dir d;
  test::faults f;
  f.set(io_op::create, EROFS);
  manual_clock clock;
  auto o = options_for(d);
  o.faults = &f;
  o.retry_after_error = std::chrono::milliseconds(30);
  o.now = clock.fn();
  auto log = open_log(o);  // opens (reading works) ...
  BOOST_REQUIRE(log->write_error());
  BOOST_TEST(log->write_error()->message.find("Read-only file system") != std::string::npos);
  BOOST_TEST(log->write_error()->message.find(d.str()) != std::string::npos);
  BOOST_TEST(!log->recovery().warnings.empty());
  // ... every append is refused at once with the error, never a false success.
  auto r = append_wait(*log, {make_event(0)});
  BOOST_REQUIRE(r.refused);
  BOOST_TEST(r.refused->message.find("Read-only file system") != std::string::npos);
  // After retry_after_error one batch probes the disk again: it fails in the writer.
  clock.ms += 40;
  r = append_wait(*log, {make_event(0)});
  BOOST_REQUIRE(!r.refused);
  BOOST_REQUIRE(r.done.err);
  BOOST_TEST(r.done.err->message.find("cannot create") != std::string::npos);
  // Writable again: the next probe succeeds and appends flow.
  f.clear();
  clock.ms += 40;
  r = append_wait(*log, {make_event(1)});
  BOOST_REQUIRE(!r.refused);
  BOOST_TEST(!r.done.err);
  BOOST_TEST(!log->write_error());
  BOOST_TEST(read_all(*log, 1).size() == 1u);
}

BOOST_AUTO_TEST_CASE(read_only_directory_real) {
  temp_dir d;
  fs::permissions(d.path, fs::perms::owner_read | fs::perms::owner_exec);
  {
    std::ofstream probe(d.path / "probe");
    if (probe) {
      BOOST_TEST(fs::exists(d.path / "probe"));
      BOOST_TEST_MESSAGE("running as root: file modes do not stop writes here; the injected test covers it");
      return;
    }
  }
  auto log = open_log(options_for(d));
  BOOST_REQUIRE(log->write_error());
  BOOST_TEST(log->write_error()->message.find("Permission denied") != std::string::npos);
  auto r = append_wait(*log, {make_event(0)});
  BOOST_TEST(r.refused.has_value());
}

BOOST_AUTO_TEST_CASE(disk_full_fails_the_batch_and_leaves_no_partial_record) {
  temp_dir d;
  test::faults f;
  manual_clock clock;
  auto o = options_for(d);
  o.faults = &f;
  o.retry_after_error = std::chrono::milliseconds(30);
  o.now = clock.fn();
  {
    auto log = open_log(o);
    BOOST_REQUIRE(!append_wait(*log, {make_event(0)}).done.err);
    f.set(io_op::write, ENOSPC, 1);
    auto r = append_wait(*log, {make_event(1), make_event(2)});
    BOOST_REQUIRE(!r.refused);
    BOOST_REQUIRE(r.done.err);
    BOOST_TEST(r.done.err->message.find("No space left on device") != std::string::npos);
    BOOST_TEST(r.done.err->message.find(".seg") != std::string::npos);
    // Refused at once while the error is fresh ...
    auto again = append_wait(*log, {make_event(1)});
    BOOST_REQUIRE(again.refused);
    BOOST_TEST(again.refused->message.find("No space left on device") != std::string::npos);
    // ... then the disk is probed again; the failed sequences are reused (no gap).
    clock.ms += 40;
    auto ok = append_wait(*log, {make_event(1)});
    BOOST_REQUIRE(!ok.refused);
    BOOST_TEST(!ok.done.err);
    BOOST_TEST(ok.done.first_seq == 2u);
    BOOST_TEST(log->stats().write_errors == 1u);
  }
  auto log = open_log(options_for(d));
  BOOST_TEST(log->recovery().clean(), log->recovery().summary());
  BOOST_TEST(read_all(*log, 1).size() == 2u);
}

BOOST_AUTO_TEST_CASE(failed_fsync_refuses_all_writes_until_reopened) {
  temp_dir d;
  test::faults f;
  auto o = options_for(d);
  o.faults = &f;
  auto log = open_log(o);
  f.set(io_op::sync, EIO, 1);
  auto r = append_wait(*log, {make_event(0)});
  BOOST_REQUIRE(!r.refused);
  BOOST_REQUIRE(r.done.err);  // never acknowledged as durable
  BOOST_TEST(static_cast<int>(r.done.err->code) == static_cast<int>(errc::failed));
  BOOST_TEST(r.done.err->message.find("Input/output error") != std::string::npos);
  auto later = append_wait(*log, {make_event(1)});
  BOOST_REQUIRE(later.refused);
  BOOST_TEST(static_cast<int>(later.refused->code) == static_cast<int>(errc::failed));
}

BOOST_AUTO_TEST_CASE(checkpoint_write_errors_are_reported) {
  temp_dir d;
  test::faults f;
  auto o = options_for(d);
  o.faults = &f;
  auto log = open_log(o);
  BOOST_REQUIRE(!append_wait(*log, {make_event(0), make_event(1)}).done.err);
  f.set(io_op::rename, ENOSPC, 1);
  auto e = log->checkpoint(2);
  BOOST_REQUIRE(e);
  BOOST_TEST(e->message.find("checkpoint") != std::string::npos);
  BOOST_TEST(log->checkpoint_seq() == 1u);  // unchanged
  BOOST_TEST(!log->checkpoint(2));
  BOOST_TEST(log->checkpoint_seq() == 2u);
}

BOOST_AUTO_TEST_CASE(appends_after_close_are_refused) {
  temp_dir d;
  auto log = open_log(options_for(d));
  log->close();
  auto r = append_wait(*log, {make_event(0)});
  BOOST_REQUIRE(r.refused);
  BOOST_TEST(static_cast<int>(r.refused->code) == static_cast<int>(errc::closed));
}
