// iomtflow-loadgen: the load generator of bench/e2e (HTTP/1.1 keep-alive connections, Beast on
// Asio C++20 coroutines, one thread).
//
//   iomtflow-loadgen send    --url http://127.0.0.1:8081 [--hub devicedata]
//                            [--key-name NAME --key-env VAR]      SAS auth (key in $VAR); none without
//                            [--workload quantity|vitals] [--devices 100] [--prefix bench] [--first-seq 0]
//                            [--batch 0]                          0: one message per request (Event Hubs
//                                                                 single send); N: batch send of N events
//   iomtflow-loadgen ceiling --url http://127.0.0.1:8080/fhir --template OBSERVATION.json [--search]
//                            PUT {base}/Observation/<id> of Observations shaped like the template;
//                            --search first GETs Observation?identifier=... as iomtflow's create path does
//   iomtflow-loadgen print   [--workload ..] [--devices ..] [--prefix ..] [--first-seq 0] [--messages 1]
//                            prints the messages `send` would send, one per line, and exits
//   common: [--connections 64] [--rate 0] (messages/s, 0 = as fast as answers come)
//           [--duration 10] (s, 0 = no limit) [--messages 0] (0 = no limit)
//           [--timeout 60] (s per request) [--retry-after-max 1] (s) [--label NAME] [--quiet]
//
// Rate: a token bucket (GCRA) in messages/s with a burst of 100 ms worth of tokens; a batch
// request takes `batch` tokens. A 503 answer is retried on the same connection after its
// Retry-After (capped by --retry-after-max), until the run's time is up.
// Output: a progress line per second on stderr, then one summary line on stdout:
//   loadgen: label=.. mode=.. elapsed_s=.. requests=.. ok=.. status_503=.. errors=.. other=..
//            messages=.. msgs_per_s=.. ok_per_s=.. lat_p50_ms=.. lat_p90_ms=.. lat_p99_ms=.. lat_max_ms=.. cpu_s=..
//            next_seq=..
// (ok = 201 for send, 2xx for ceiling; messages = messages in ok answers; msgs_per_s / ok_per_s =
// those answered within --duration divided by it (later answers are the drain), or over the whole
// run without --duration; latency = request written -> answer read, ok answers only; elapsed =
// first request -> last answer; next_seq = the first sequence number a following run can use
// without repeating a message).
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
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <random>
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
  bool search = false;
  std::size_t connections = 64;
  double rate = 0;
  double duration = 10;
  std::uint64_t messages = 0;
  double timeout = 60;
  double retry_after_max = 1;
  std::string label;
  bool quiet = false;
};

void usage() {
  std::cerr << "usage: iomtflow-loadgen send --url http://HOST:PORT [--hub H] [--key-name N --key-env VAR]\n"
               "                            [--workload quantity|vitals] [--devices N] [--prefix P] [--first-seq N] "
               "[--batch N]\n"
               "       iomtflow-loadgen ceiling --url http://HOST:PORT/fhir --template OBSERVATION.json [--search]\n"
               "       iomtflow-loadgen print [--workload quantity|vitals] [--devices N] [--prefix P] [--first-seq N] "
               "[--messages N]\n"
               "       common: [--connections N] [--rate MSGS_PER_S] [--duration S] [--messages N] [--timeout S]\n"
               "               [--retry-after-max S] [--label NAME] [--quiet]\n";
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
    per_request_ = o_.mode == "send" && o_.batch > 0 ? o_.batch : 1;
    next_seq_ = o_.first_seq;
  }

  void start(std::function<void()> on_done) {
    on_done_ = std::move(on_done);
    start_ = clock_type::now();
    if (o_.duration > 0)
      deadline_ = start_ + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o_.duration));
    tat_ = start_;
    running_ = o_.connections;
    for (std::size_t i = 0; i < o_.connections; ++i)
      asio::co_spawn(ioc_, connection(), [this](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            std::cerr << "[" << o_.label << "] connection failed: " << ex.what() << '\n';
          }
        }
        if (--running_ == 0) {
          progress_timer_.cancel();
          if (on_done_) on_done_();
        }
      });
    asio::co_spawn(ioc_, progress(), asio::detached);
  }

  void stop_now() { deadline_ = clock_type::now(); }

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
    char line[1024];
    std::snprintf(
        line, sizeof line,
        "loadgen: label=%s mode=%s elapsed_s=%.3f requests=%llu ok=%llu status_503=%llu errors=%llu other=%llu "
        "messages=%llu msgs_per_s=%.1f ok_per_s=%.1f lat_p50_ms=%.2f lat_p90_ms=%.2f lat_p99_ms=%.2f "
        "lat_max_ms=%.2f cpu_s=%.2f next_seq=%llu",
        o_.label.c_str(), o_.mode.c_str(), elapsed, ull(total_.requests), ull(total_.ok), ull(total_.s503),
        ull(errors_), ull(other_), ull(total_.messages), msgs / span, oks / span, latency_.quantile_ms(0.5),
        latency_.quantile_ms(0.9), latency_.quantile_ms(0.99), latency_.quantile_ms(1.0), cpu, ull(next_seq_));
    std::cout << line << std::endl;
    for (const auto& [status, n] : other_statuses_)
      std::cerr << "[" << o_.label << "] status " << status << ": " << n << " answers\n";
  }

private:
  static unsigned long long ull(std::uint64_t v) { return static_cast<unsigned long long>(v); }

  bool time_up() const { return deadline_ && clock_type::now() >= *deadline_; }

  // The next request's first sequence number and when it may be sent; nullopt when done.
  std::optional<std::pair<std::uint64_t, clock_type::time_point>> claim() {
    if (time_up()) return std::nullopt;
    if (o_.messages && issued_ >= o_.messages) return std::nullopt;
    const std::uint64_t seq = next_seq_;
    next_seq_ += per_request_;
    issued_ += per_request_;
    if (o_.rate <= 0) return std::pair{seq, clock_type::time_point{}};
    // GCRA: theoretical arrival time advances by the request's cost; a burst of 100 ms is allowed.
    const auto now = clock_type::now();
    const auto cost = std::chrono::duration_cast<clock_type::duration>(
        std::chrono::duration<double>(static_cast<double>(per_request_) / o_.rate));
    const auto burst = std::chrono::milliseconds(100);
    if (tat_ < now - burst) tat_ = now - burst;
    const auto at = tat_;
    tat_ += cost;
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
    scratch_.clear();
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

  asio::awaitable<void> connection() {
    auto ex = co_await asio::this_coro::executor;
    beast::tcp_stream stream(ex);
    beast::flat_buffer buffer;
    asio::steady_timer timer(ex);
    bool open = false;
    const auto timeout = std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o_.timeout));
    observation_template::rendered obs;

    auto exchange = [&](http::request<http::string_body>& req, unsigned& status,
                        std::string* retry_after) -> asio::awaitable<bool> {
      if (!open) {
        stream.expires_after(std::chrono::seconds(10));
        auto [ec] = co_await stream.async_connect(ep_, asio::as_tuple(asio::use_awaitable));
        if (ec) {
          note_error("connect", ec);
          stream.close();
          timer.expires_after(std::chrono::milliseconds(100));
          co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
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
      if (status >= 400 && status != 503 && reported_bodies_ < 3) {
        ++reported_bodies_;
        std::cerr << "[" << o_.label << "] " << req.method_string() << ' ' << req.target() << " -> " << status << ": "
                  << res.body().substr(0, 400) << '\n';
      }
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
    if (o_.mode == "send") {
      req.method(http::verb::post);
      req.target(t_.base_path + "/" + o_.hub + "/messages");
      req.set(http::field::content_type, o_.batch ? "application/vnd.microsoft.servicebus.json" : "application/json");
      if (!auth_.empty()) req.set(http::field::authorization, auth_);
    } else {
      req.method(http::verb::put);
      req.set(http::field::accept, "application/fhir+json");
      req.set(http::field::content_type, "application/fhir+json");
    }

    while (auto slot = claim()) {
      auto [seq, at] = *slot;
      if (at > clock_type::now()) {
        timer.expires_at(at);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (time_up()) break;
      }
      if (o_.mode == "send") {
        build_send(seq, req);
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
        if (o_.mode == "ceiling" && o_.search) {
          // iomtflow's create path: look the identifier up first (a miss), then PUT.
          search.target(t_.base_path + "/" +
                        iomt::fhir::identifier_query("Observation", tpl_->identifier_system(), obs.identifier_value));
          ++now_.requests;
          if (!co_await exchange(search, status, nullptr)) break;  // counted as an error
          if (status != 200) {
            count_other(status);
            break;
          }
        }
        ++now_.requests;
        const bool answered = co_await exchange(req, status, &retry_after);
        const auto t1 = clock_type::now();
        if (!answered) break;  // counted as an error; the message is dropped
        last_answer_ = t1;
        if (status == 503) {
          ++now_.s503;
          double wait = 1;
          if (!retry_after.empty() && !parse_number(std::string_view(retry_after), wait)) wait = 1;
          wait = std::min(wait, o_.retry_after_max);
          timer.expires_after(std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(wait)));
          co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
          if (time_up()) break;
          continue;  // the same request again
        }
        const bool ok = o_.mode == "send" ? status == 201 : status / 100 == 2;
        if (ok) {
          ++now_.ok;
          now_.messages += per_request_;
          if (!time_up()) {
            ++window_ok_;
            window_messages_ += per_request_;
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
    }
    if (open) {
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
    ++errors_;
    if (reported_errors_ < 5) {
      ++reported_errors_;
      std::cerr << "[" << o_.label << "] " << what << " error: " << ec.message() << '\n';
    }
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
  std::uint64_t errors_ = 0, other_ = 0;
  std::uint64_t window_ok_ = 0, window_messages_ = 0;  // answered within --duration
  std::map<unsigned, std::uint64_t> other_statuses_;
  int reported_bodies_ = 0, reported_errors_ = 0;
  latency_recorder latency_, second_;
  asio::steady_timer progress_timer_{ioc_};
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
  boost::system::error_code ec;
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(t->address, t->port, ec);
  if (ec || results.empty()) {
    std::cerr << "error: cannot resolve " << t->address << ": " << ec.message() << '\n';
    return 2;
  }
  runner r(ioc, *o, *t, results.begin()->endpoint(), std::move(tpl));
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& e, int) {
    if (!e) r.stop_now();
  });
  // run() returns when every connection is done (the signal set is cancelled then).
  r.start([&] { signals.cancel(); });
  ioc.run();
  r.print_summary();
  return 0;
}
