// iomtflow-loadgen: the load generator of bench/e2e (HTTP/1.1 keep-alive connections, Beast on
// Asio C++20 coroutines, one thread).
//
//   iomtflow-loadgen send    --url http://127.0.0.1:8081 [--hub devicedata]
//                            [--key-name NAME --key-env VAR]      SAS auth (key in $VAR); none without
//                            [--workload quantity|vitals] [--devices 100] [--prefix bench] [--first-seq 0]
//                            [--batch 0]                          0: one message per request (Event Hubs
//                                                                 single send); N: batch send of N events
//   iomtflow-loadgen ceiling --url http://127.0.0.1:8080/fhir --template OBSERVATION.json
//                            [--bundle 0] [--search]
//                            PUT {base}/Observation/<id> of Observations shaped like the template;
//                            --bundle N: POST {base}/ batch Bundles of N such PUTs (as iomtflow's
//                            fhir.bundles writes); --search first GETs Observation?identifier=... as
//                            iomtflow's create path does (with --bundle N: a batch Bundle of the N
//                            searches, then the batch Bundle of the N PUTs, as iomtflow sends them)
//   iomtflow-loadgen print   [--workload ..] [--devices ..] [--prefix ..] [--first-seq 0] [--messages 1]
//                            prints the messages `send` would send, one per line, and exits
//   common: [--connections 64] [--rate 0] (messages/s, 0 = as fast as answers come)
//           [--duration 10] (s, 0 = no limit) [--messages 0] (0 = no limit)
//           [--drain-timeout 30] (s: answers awaited after --duration; then the run is cut off)
//           [--max-time 600] (s: hard limit of a run without --duration)
//           [--timeout 60] (s per request) [--retry-after-max 1] (s) [--label NAME] [--quiet]
//
// Rate: a token bucket (GCRA) in messages/s with a burst of 100 ms worth of tokens; a batch
// request takes `batch` tokens; nothing is scheduled past --duration. A 503 answer is retried on
// the same connection after its Retry-After (capped by --retry-after-max), until the run's time
// is up. SIGTERM / SIGINT stop the run at once: every connection and timer is cancelled, the
// summary is printed, and the exit status is 128 + the signal. A run that still waits for answers
// --drain-timeout s after --duration (or --max-time s after its start) is cut off the same way
// (exit status 3). Every run therefore ends within duration + drain timeout.
// Output: a progress line per second on stderr, then one summary line on stdout:
//   loadgen: label=.. mode=.. elapsed_s=.. requests=.. ok=.. status_503=.. errors=.. other=..
//            messages=.. msgs_per_s=.. ok_per_s=.. lat_p50_ms=.. lat_p90_ms=.. lat_p99_ms=.. lat_max_ms=.. cpu_s=..
//            next_seq=.. entry_errors=.. unanswered=.. cut_off=0|1 interrupted=0|1 sent_per_s=.. late_ok_per_s=..
// (ok = 201 for send, 2xx for ceiling; messages = messages in ok answers (ceiling: Observations
// written, i.e. the 2xx entries of a batch Bundle); msgs_per_s / ok_per_s = those answered within
// --duration divided by it (later answers are the drain), or over the whole run without
// --duration; latency = request written -> answer read, ok answers only; elapsed = first request
// -> last answer; next_seq = the first sequence number a following run can use without repeating
// a message; entry_errors = batch entries not 2xx; unanswered = requests in flight when the run
// was cut off or interrupted; sent_per_s = messages sent within --duration divided by it;
// late_ok_per_s = messages answered ok in the second half of --duration divided by its length:
// for a paced run whose latency is below half the duration it equals the pace unless the server
// falls behind).
#include "bench/e2e/latency.hpp"
#include "bench/e2e/workload.hpp"
#include "fhir/search.hpp"
#include "transport/http/sas.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>

#include <sys/resource.h>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using namespace iomt::bench;

// ---- options ------------------------------------------------------------------------------------

struct options {
  std::string mode;  // send | ceiling
  std::string url;
  std::string hub = "devicedata";
  std::string key_name;
  std::string key;
  workload load;
  std::uint64_t first_seq = 0;
  std::size_t batch = 0;
  std::string template_file;
  std::size_t bundle = 0;  // ceiling: entries per batch Bundle (0: one PUT per request)
  bool search = false;
  std::size_t connections = 64;
  double rate = 0;
  double duration = 10;
  std::uint64_t messages = 0;
  double timeout = 60;
  double retry_after_max = 1;
  double drain_timeout = 30;
  double max_time = 600;
  std::string label;
  bool quiet = false;
};

void usage() {
  std::cerr << "usage: iomtflow-loadgen send --url http://HOST:PORT [--hub H] [--key-name N --key-env VAR]\n"
               "                            [--workload quantity|vitals] [--devices N] [--prefix P] [--first-seq N] "
               "[--batch N]\n"
               "       iomtflow-loadgen ceiling --url http://HOST:PORT/fhir --template OBSERVATION.json [--bundle N | "
               "--search]\n"
               "       iomtflow-loadgen print [--workload quantity|vitals] [--devices N] [--prefix P] [--first-seq N] "
               "[--messages N]\n"
               "       common: [--connections N] [--rate MSGS_PER_S] [--duration S] [--messages N] [--timeout S]\n"
               "               [--retry-after-max S] [--drain-timeout S] [--max-time S]\n"
               "               [--label NAME] [--quiet]\n";
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
  if constexpr (std::is_floating_point_v<T>) {
    try {
      std::size_t used = 0;
      out = static_cast<T>(std::stod(std::string(text), &used));
      return used == text.size();
    } catch (const std::exception&) {
      return false;
    }
  } else {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
  }
}

std::optional<options> parse_args(int argc, char** argv) {
  if (argc < 2) return std::nullopt;
  options o;
  o.mode = argv[1];
  if (o.mode != "send" && o.mode != "ceiling" && o.mode != "print") return std::nullopt;
  o.connections = o.mode == "ceiling" ? 16 : 64;
  for (int i = 2; i < argc; ++i) {
    const std::string_view name = argv[i];
    auto value = [&]() -> std::optional<std::string_view> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string_view(argv[++i]);
    };
    bool ok = true;
    if (name == "--search") {
      o.search = true;
    } else if (name == "--quiet") {
      o.quiet = true;
    } else {
      auto v = value();
      if (!v) {
        std::cerr << "error: " << name << " needs a value\n";
        return std::nullopt;
      }
      if (name == "--url")
        o.url = *v;
      else if (name == "--hub")
        o.hub = *v;
      else if (name == "--key-name")
        o.key_name = *v;
      else if (name == "--key-env") {
        const char* k = std::getenv(std::string(*v).c_str());
        if (!k) {
          std::cerr << "error: --key-env: environment variable " << *v << " is not set\n";
          return std::nullopt;
        }
        o.key = k;
      } else if (name == "--workload") {
        auto w = parse_workload(*v);
        ok = w.has_value();
        if (w) o.load.kind = *w;
      } else if (name == "--devices")
        ok = parse_number(*v, o.load.devices) && o.load.devices > 0;
      else if (name == "--prefix")
        o.load.prefix = *v;
      else if (name == "--first-seq")
        ok = parse_number(*v, o.first_seq);
      else if (name == "--batch")
        ok = parse_number(*v, o.batch);
      else if (name == "--template")
        o.template_file = *v;
      else if (name == "--bundle")
        ok = parse_number(*v, o.bundle);
      else if (name == "--connections")
        ok = parse_number(*v, o.connections) && o.connections > 0;
      else if (name == "--rate")
        ok = parse_number(*v, o.rate) && o.rate >= 0;
      else if (name == "--duration")
        ok = parse_number(*v, o.duration) && o.duration >= 0;
      else if (name == "--messages")
        ok = parse_number(*v, o.messages);
      else if (name == "--timeout")
        ok = parse_number(*v, o.timeout) && o.timeout > 0;
      else if (name == "--retry-after-max")
        ok = parse_number(*v, o.retry_after_max) && o.retry_after_max >= 0;
      else if (name == "--drain-timeout")
        ok = parse_number(*v, o.drain_timeout) && o.drain_timeout >= 0;
      else if (name == "--max-time")
        ok = parse_number(*v, o.max_time) && o.max_time > 0;
      else if (name == "--label")
        o.label = *v;
      else {
        std::cerr << "error: unknown option " << name << '\n';
        return std::nullopt;
      }
    }
    if (!ok) {
      std::cerr << "error: bad value for " << name << '\n';
      return std::nullopt;
    }
  }
  if (o.mode == "print") return o;
  if (o.url.empty() || (o.mode == "ceiling" && o.template_file.empty())) return std::nullopt;
  if (o.duration == 0 && o.messages == 0) {
    std::cerr << "error: give --duration or --messages\n";
    return std::nullopt;
  }
  if (o.bundle > 0 && o.mode != "ceiling") {
    std::cerr << "error: --bundle is for `ceiling`\n";
    return std::nullopt;
  }
  if (o.label.empty()) o.label = o.mode;
  return o;
}

// ---- the run ------------------------------------------------------------------------------------

struct target {
  std::string host;  // Host header
  std::string address;
  std::string port;
  std::string base_path;  // without trailing '/'
};

std::optional<target> parse_url(std::string_view url) {
  auto u = boost::urls::parse_uri(url);
  if (!u || u->scheme() != "http" || u->host().empty()) return std::nullopt;
  target t;
  t.address = u->host();
  t.port = u->has_port() ? std::string(u->port()) : "80";
  t.host = u->has_port() ? t.address + ":" + t.port : t.address;
  t.base_path = u->path();
  while (!t.base_path.empty() && t.base_path.back() == '/') t.base_path.pop_back();
  return t;
}

struct window {
  std::uint64_t requests = 0, ok = 0, s503 = 0, messages = 0;
};

class runner {
public:
  runner(asio::io_context& ioc, const options& o, target t, tcp::endpoint ep, std::optional<observation_template> tpl)
      : ioc_(ioc), o_(o), t_(std::move(t)), ep_(ep), tpl_(std::move(tpl)) {
    nonce_ = std::random_device{}();
    nonce_ = (nonce_ << 32) ^ static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    if (o_.mode == "send" && !o_.key_name.empty())
      auth_ = iomt::transport::http::make_sas_token(
          "http://" + t_.host + "/" + o_.hub, o_.key_name, o_.key,
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                  .count() +
              3600);
    if (o_.mode == "send" && o_.batch > 0) per_request_ = o_.batch;
    if (o_.mode == "ceiling" && o_.bundle > 0) per_request_ = o_.bundle;
    next_seq_ = o_.first_seq;
  }

  void start(std::function<void()> on_done) {
    on_done_ = std::move(on_done);
    start_ = clock_type::now();
    if (o_.duration > 0) deadline_ = start_ + to_duration(o_.duration);
    const auto hard =
        o_.duration > 0 ? deadline_.value() + to_duration(o_.drain_timeout) : start_ + to_duration(o_.max_time);
    tat_ = start_;
    running_ = o_.connections;
    for (std::size_t i = 0; i < o_.connections; ++i)
      asio::co_spawn(ioc_, connection(), [this](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            std::cerr << "[" << o_.label << "] connection failed: " << ex.what() << '\n';
            ++errors_;
          }
        }
        if (--running_ == 0) finish();
      });
    asio::co_spawn(ioc_, progress(), asio::detached);
    asio::co_spawn(ioc_, watchdog(hard), asio::detached);
  }

  // Ends the run now (a signal, or the hard time limit): nothing new is sent, every request in
  // flight is abandoned (counted as unanswered), every connection and timer is cancelled.
  void stop(std::string_view why, int signal) {
    if (stopped_ || running_ == 0) return;
    stopped_ = true;
    signal_ = signal;
    unanswered_ = inflight_;
    const auto now = clock_type::now();
    if (!deadline_ || *deadline_ > now) deadline_ = now;
    std::cerr << "[" << o_.label << "] stopped: " << why << "; " << inflight_ << " requests unanswered\n";
    for (connection_io* c : connections_) {
      c->timer.cancel();
      c->stream.close();
    }
  }

  // 0, 3 when cut off by the time limit, 128 + signal when interrupted.
  int exit_status() const { return signal_ ? 128 + signal_ : stopped_ ? 3 : 0; }

  void print_summary() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    const double elapsed =
        std::chrono::duration<double>((last_answer_ > start_ ? last_answer_ : clock_type::now()) - start_).count();
    // Rates: over the --duration window when there is one (answers after it are the drain), else
    // over the whole run.
    const bool windowed = o_.duration > 0 && elapsed >= o_.duration;
    const double span = windowed ? o_.duration : (elapsed > 0 ? elapsed : 1);
    const double msgs = static_cast<double>(windowed ? window_messages_ : total_.messages);
    const double oks = static_cast<double>(windowed ? window_ok_ : total_.ok);
    const double sent = static_cast<double>(issued_) / (o_.duration > 0 ? o_.duration : span);
    const double late = o_.duration > 0 ? static_cast<double>(late_messages_) / (o_.duration / 2) : 0.0;
    char line[1200];
    std::snprintf(
        line, sizeof line,
        "loadgen: label=%s mode=%s elapsed_s=%.3f requests=%llu ok=%llu status_503=%llu errors=%llu other=%llu "
        "messages=%llu msgs_per_s=%.1f ok_per_s=%.1f lat_p50_ms=%.2f lat_p90_ms=%.2f lat_p99_ms=%.2f "
        "lat_max_ms=%.2f cpu_s=%.2f next_seq=%llu entry_errors=%llu unanswered=%llu cut_off=%d interrupted=%d "
        "sent_per_s=%.1f late_ok_per_s=%.1f",
        o_.label.c_str(), o_.mode.c_str(), elapsed, ull(total_.requests), ull(total_.ok), ull(total_.s503),
        ull(errors_), ull(other_), ull(total_.messages), msgs / span, oks / span, latency_.quantile_ms(0.5),
        latency_.quantile_ms(0.9), latency_.quantile_ms(0.99), latency_.quantile_ms(1.0), cpu, ull(next_seq_),
        ull(entry_errors_), ull(unanswered_), stopped_ && !signal_ ? 1 : 0, signal_ ? 1 : 0, sent, late);
    std::cout << line << std::endl;
    for (const auto& [status, n] : other_statuses_)
      std::cerr << "[" << o_.label << "] status " << status << ": " << n << " answers\n";
  }

private:
  // The socket and timer of one connection, reachable from stop().
  struct connection_io {
    explicit connection_io(const asio::any_io_executor& ex) : stream(ex), timer(ex) {}
    beast::tcp_stream stream;
    asio::steady_timer timer;
  };

  static unsigned long long ull(std::uint64_t v) { return static_cast<unsigned long long>(v); }
  static clock_type::duration to_duration(double seconds) {
    return std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
  }

  bool time_up() const { return stopped_ || (deadline_ && clock_type::now() >= *deadline_); }

  void finish() {
    progress_timer_.cancel();
    hard_timer_.cancel();
    if (on_done_) on_done_();
  }

  // The next request's first sequence number and when it may be sent; nullopt when done. Nothing
  // is scheduled at or past the end of the run.
  std::optional<std::pair<std::uint64_t, clock_type::time_point>> claim() {
    if (time_up()) return std::nullopt;
    if (o_.messages && issued_ >= o_.messages) return std::nullopt;
    clock_type::time_point at{};
    if (o_.rate > 0) {
      // GCRA: theoretical arrival time advances by the request's cost; a burst of 100 ms is allowed.
      const auto now = clock_type::now();
      const auto burst = std::chrono::milliseconds(100);
      if (tat_ < now - burst) tat_ = now - burst;
      at = tat_;
      if (deadline_ && at >= *deadline_) return std::nullopt;
      tat_ += to_duration(static_cast<double>(per_request_) / o_.rate);
    }
    const std::uint64_t seq = next_seq_;
    next_seq_ += per_request_;
    issued_ += per_request_;
    return std::pair{seq, at};
  }

  std::int64_t unix_ns() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  void build_send(std::uint64_t seq, http::request<http::string_body>& req) {
    std::string& body = req.body();
    body.clear();
    if (o_.batch == 0) {
      o_.load.append_message(seq, unix_ns(), body);
      return;
    }
    body += '[';
    for (std::size_t i = 0; i < o_.batch; ++i) {
      if (i) body += ',';
      scratch_.clear();
      o_.load.append_message(seq + i, unix_ns(), scratch_);
      body += "{\"Body\":\"";
      append_json_escaped(scratch_, body);
      body += "\"}";
    }
    body += ']';
  }

  // Messages an ok answer stands for: the request's messages, or the 2xx entries of a batch Bundle.
  std::uint64_t answered_messages(const http::request<http::string_body>& req, const std::string& answer) {
    if (!(o_.mode == "ceiling" && o_.bundle > 0)) return per_request_;
    auto a = read_batch_answer(answer);
    if (!a || a->entries != o_.bundle) {
      entry_errors_ += o_.bundle;
      report_body(req, 200, a ? "a batch-response Bundle with " + std::to_string(a->entries) + " entries" : answer);
      return 0;
    }
    entry_errors_ += a->entries - a->ok;
    if (a->ok < a->entries) report_body(req, 200, "entry failed: " + a->first_failure);
    return a->ok;
  }

  void report_body(const http::request<http::string_body>& req, unsigned status, std::string_view body) {
    if (reported_bodies_ >= 3) return;
    ++reported_bodies_;
    std::cerr << "[" << o_.label << "] " << req.method_string() << ' ' << req.target() << " -> " << status << ": "
              << body.substr(0, 400) << '\n';
  }

  asio::awaitable<void> connection() {
    auto ex = co_await asio::this_coro::executor;
    connection_io io(ex);
    connections_.insert(&io);
    struct unregister {
      std::set<connection_io*>& set;
      connection_io* io;
      ~unregister() { set.erase(io); }
    } guard{connections_, &io};
    beast::tcp_stream& stream = io.stream;
    asio::steady_timer& timer = io.timer;
    beast::flat_buffer buffer;
    bool open = false;
    const auto timeout = to_duration(o_.timeout);
    observation_template::rendered obs;

    auto exchange = [&](http::request<http::string_body>& req, unsigned& status, std::string* retry_after,
                        std::string* answer) -> asio::awaitable<bool> {
      if (!open) {
        stream.expires_after(std::chrono::seconds(10));
        auto [ec] = co_await stream.async_connect(ep_, asio::as_tuple(asio::use_awaitable));
        if (ec) {
          note_error("connect", ec);
          stream.close();
          if (!stopped_) {
            timer.expires_after(std::chrono::milliseconds(100));
            co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
          }
          co_return false;
        }
        stream.socket().set_option(tcp::no_delay(true));
        open = true;
      }
      stream.expires_after(timeout);
      auto [wec, wn] = co_await http::async_write(stream, req, asio::as_tuple(asio::use_awaitable));
      (void)wn;
      if (wec) {
        note_error("write", wec);
        stream.close();
        open = false;
        co_return false;
      }
      http::response_parser<http::string_body> parser;
      parser.body_limit(64 * 1024 * 1024);
      auto [rec, rn] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
      (void)rn;
      if (rec) {
        note_error("read", rec);
        stream.close();
        open = false;
        co_return false;
      }
      auto& res = parser.get();
      status = res.result_int();
      if (retry_after) *retry_after = std::string(res[http::field::retry_after]);
      if (!res.keep_alive()) {
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.close();
        open = false;
      }
      if (status >= 400 && status != 503) report_body(req, status, res.body());
      if (answer) *answer = std::move(res.body());
      co_return true;
    };

    http::request<http::string_body> req;
    req.version(11);
    req.set(http::field::host, t_.host);
    req.set(http::field::user_agent, "iomtflow-loadgen");
    http::request<http::string_body> search;
    search.version(11);
    search.method(http::verb::get);
    search.set(http::field::host, t_.host);
    search.set(http::field::user_agent, "iomtflow-loadgen");
    search.set(http::field::accept, "application/fhir+json");
    http::request<http::string_body> search_batch;
    search_batch.version(11);
    search_batch.method(http::verb::post);
    search_batch.target(t_.base_path + "/");
    search_batch.set(http::field::host, t_.host);
    search_batch.set(http::field::user_agent, "iomtflow-loadgen");
    search_batch.set(http::field::accept, "application/fhir+json");
    search_batch.set(http::field::content_type, "application/fhir+json");
    if (o_.mode == "send") {
      req.method(http::verb::post);
      req.target(t_.base_path + "/" + o_.hub + "/messages");
      req.set(http::field::content_type, o_.batch ? "application/vnd.microsoft.servicebus.json" : "application/json");
      if (!auth_.empty()) req.set(http::field::authorization, auth_);
    } else {
      // iomtflow posts its batch Bundles to "{base}/" (fhir/client.cpp target_of).
      req.method(o_.bundle > 0 ? http::verb::post : http::verb::put);
      if (o_.bundle > 0) req.target(t_.base_path + "/");
      req.set(http::field::accept, "application/fhir+json");
      req.set(http::field::content_type, "application/fhir+json");
    }
    std::string answer;

    while (auto slot = claim()) {
      auto [seq, at] = *slot;
      if (at > clock_type::now()) {
        timer.expires_at(at);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (time_up()) break;
      }
      if (o_.mode == "send") {
        build_send(seq, req);
      } else if (o_.bundle > 0) {
        req.body().clear();
        tpl_->append_batch(seq, o_.bundle, nonce_, obs, req.body());
      } else {
        tpl_->render(seq, nonce_, obs);
        req.target(t_.base_path + "/Observation/" + obs.id);
        req.body() = obs.body;
      }
      req.prepare_payload();
      ++inflight_;
      for (;;) {
        const auto t0 = clock_type::now();
        unsigned status = 0;
        std::string retry_after;
        if (o_.mode == "ceiling" && o_.search && o_.bundle > 0) {
          // iomtflow's create path in batches: a Bundle of the identifier searches (misses), then
          // the Bundle of the PUTs. A search Bundle that fails counts as an error of the request.
          search_batch.body().clear();
          tpl_->append_search_batch(seq, o_.bundle, nonce_, obs, search_batch.body());
          search_batch.prepare_payload();
          ++now_.requests;
          if (!co_await exchange(search_batch, status, nullptr, &answer)) break;
          if (status != 200) {
            count_other(status);
            break;
          }
          const auto a = read_batch_answer(answer);
          if (!a || a->entries != o_.bundle || a->ok != a->entries) {
            entry_errors_ += o_.bundle;
            report_body(search_batch, 200, a ? "search batch: entry failed: " + a->first_failure : answer);
            break;
          }
        } else if (o_.mode == "ceiling" && o_.search) {
          // iomtflow's create path: look the identifier up first (a miss), then PUT.
          search.target(t_.base_path + "/" +
                        iomt::fhir::identifier_query("Observation", tpl_->identifier_system(), obs.identifier_value));
          ++now_.requests;
          if (!co_await exchange(search, status, nullptr, nullptr)) break;  // counted as an error
          if (status != 200) {
            count_other(status);
            break;
          }
        }
        ++now_.requests;
        const bool answered = co_await exchange(req, status, &retry_after, &answer);
        const auto t1 = clock_type::now();
        if (!answered) break;  // counted as an error (or unanswered when stopped); the message is dropped
        last_answer_ = t1;
        if (status == 503) {
          ++now_.s503;
          double wait = 1;
          if (!retry_after.empty() && !parse_number(std::string_view(retry_after), wait)) wait = 1;
          wait = std::min(wait, o_.retry_after_max);
          timer.expires_after(to_duration(wait));
          co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
          if (time_up()) break;
          continue;  // the same request again
        }
        const bool ok = o_.mode == "send" ? status == 201 : status / 100 == 2;
        if (ok) {
          const std::uint64_t messages = answered_messages(req, answer);
          ++now_.ok;
          now_.messages += messages;
          if (!time_up()) {
            ++window_ok_;
            window_messages_ += messages;
            if (deadline_ && t1 >= start_ + (*deadline_ - start_) / 2) late_messages_ += messages;
          }
          const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count();
          latency_.add(static_cast<std::uint64_t>(us));
          second_.add(static_cast<std::uint64_t>(us));
        } else {
          count_other(status);
        }
        break;
      }
      --inflight_;
      if (stopped_) break;
    }
    if (open && !stopped_) {
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream.close();
    }
  }

  void count_other(unsigned status) {
    ++other_;
    ++other_statuses_[status];
  }

  void note_error(const char* what, const beast::error_code& ec) {
    if (stopped_) return;  // abandoned by stop(): counted as unanswered
    ++errors_;
    if (reported_errors_ < 5) {
      ++reported_errors_;
      std::cerr << "[" << o_.label << "] " << what << " error: " << ec.message() << '\n';
    }
  }

  asio::awaitable<void> watchdog(clock_type::time_point hard) {
    hard_timer_.expires_at(hard);
    auto [ec] = co_await hard_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!ec && running_ > 0)
      stop(o_.duration > 0 ? "answers still awaited --drain-timeout s after --duration" : "--max-time reached", 0);
  }

  asio::awaitable<void> progress() {
    std::uint64_t tick = 0;
    while (running_ > 0) {
      progress_timer_.expires_at(start_ + std::chrono::seconds(++tick));
      co_await progress_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      if (running_ == 0) break;
      total_.requests += now_.requests;
      total_.ok += now_.ok;
      total_.s503 += now_.s503;
      total_.messages += now_.messages;
      if (!o_.quiet) {
        char line[512];
        std::snprintf(
            line, sizeof line,
            "[%s] %3llus  req/s=%-6llu msg/s=%-7llu ok/s=%-6llu 503/s=%-5llu | ok=%llu 503=%llu err=%llu other=%llu "
            "inflight=%zu p50=%.1fms p99=%.1fms",
            o_.label.c_str(), ull(tick), ull(now_.requests), ull(now_.messages), ull(now_.ok), ull(now_.s503),
            ull(total_.ok), ull(total_.s503), ull(errors_), ull(other_), inflight_, second_.quantile_ms(0.5),
            second_.quantile_ms(0.99));
        std::cerr << line << std::endl;
      }
      now_ = {};
      second_ = {};
    }
    total_.requests += now_.requests;
    total_.ok += now_.ok;
    total_.s503 += now_.s503;
    total_.messages += now_.messages;
    now_ = {};
  }

  asio::io_context& ioc_;
  options o_;
  target t_;
  tcp::endpoint ep_;
  std::optional<observation_template> tpl_;
  std::string auth_;
  std::uint64_t nonce_ = 0;
  std::size_t per_request_ = 1;
  std::string scratch_;

  clock_type::time_point start_{}, last_answer_{}, tat_{};
  std::optional<clock_type::time_point> deadline_;
  std::uint64_t next_seq_ = 0, issued_ = 0;
  std::size_t running_ = 0, inflight_ = 0;
  window now_, total_;
  std::uint64_t errors_ = 0, other_ = 0, entry_errors_ = 0, unanswered_ = 0;
  std::uint64_t window_ok_ = 0, window_messages_ = 0;  // answered within --duration
  std::uint64_t late_messages_ = 0;                    // answered in its second half
  std::map<unsigned, std::uint64_t> other_statuses_;
  int reported_bodies_ = 0, reported_errors_ = 0;
  bool stopped_ = false;
  int signal_ = 0;
  latency_recorder latency_, second_;
  std::set<connection_io*> connections_;
  asio::steady_timer progress_timer_{ioc_}, hard_timer_{ioc_};
  std::function<void()> on_done_;
};

}  // namespace

int main(int argc, char** argv) {
  auto o = parse_args(argc, argv);
  if (!o) {
    usage();
    return 2;
  }
  if (o->mode == "print") {
    std::string text;
    for (std::uint64_t i = 0; i < std::max<std::uint64_t>(o->messages, 1); ++i) {
      text.clear();
      o->load.append_message(o->first_seq + i, 0, text);
      std::cout << text << '\n';
    }
    return 0;
  }
  auto t = parse_url(o->url);
  if (!t) {
    std::cerr << "error: --url: expected http://HOST:PORT[/path]\n";
    return 2;
  }
  std::optional<observation_template> tpl;
  if (o->mode == "ceiling") {
    std::ifstream in(o->template_file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string error;
    if (!in)
      error = "cannot read the file";
    else
      tpl = observation_template::parse(ss.str(), error);
    if (!tpl) {
      std::cerr << "error: --template " << o->template_file << ": " << error << '\n';
      return 2;
    }
  }
  asio::io_context ioc(1);
  // Installed before anything can block, so SIGTERM / SIGINT always end the run (bench/e2e/run
  // stops the load generator this way).
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  boost::system::error_code ec;
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(t->address, t->port, ec);
  if (ec || results.empty()) {
    std::cerr << "error: cannot resolve " << t->address << ": " << ec.message() << '\n';
    return 2;
  }
  runner r(ioc, *o, *t, results.begin()->endpoint(), std::move(tpl));
  signals.async_wait([&](const boost::system::error_code& e, int signal) {
    if (!e) r.stop(signal == SIGTERM ? "SIGTERM" : "SIGINT", signal);
  });
  // run() returns when every connection is done (the signal set is cancelled then).
  r.start([&] { signals.cancel(); });
  ioc.run();
  r.print_summary();
  return r.exit_status();
}
