#include "transport/amqp/connection.hpp"

#include "net/tls_context.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <array>
#include <exception>
#include <random>
#include <stdexcept>

namespace iomt::transport::amqp {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

net::tls_options net_tls(const tls_options& tls) { return {tls.verify, tls.ca_file}; }

std::string seconds_text(milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

}  // namespace

std::shared_ptr<ssl::context> make_tls_context(const tls_options& tls) {
  auto ctx = net::make_client_context(net_tls(tls));
  if (!ctx) throw std::runtime_error(net::describe(ctx.error(), net_tls(tls)));
  return std::move(*ctx);
}

struct connection::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor e, connection_options o, connection_handler& h, std::shared_ptr<ssl::context> t,
       log_hook l)
      : ex(std::move(e)),
        opt(std::move(o)),
        handler(h),
        tls_ctx(std::move(t)),
        log(std::move(l)),
        tick_timer(ex),
        retry_timer(ex),
        done_signal(ex),
        backoff_timer(ex),
        drain_timer(ex),
        detach_timer(ex),
        rng(std::random_device{}()) {
    if (opt.name.empty()) opt.name = "amqp " + opt.host + ":" + opt.port;
  }

  asio::any_io_executor ex;
  connection_options opt;
  connection_handler& handler;
  std::shared_ptr<ssl::context> tls_ctx;
  log_hook log;
  connection_stats stats;
  mutable std::mutex err_mu;
  std::string last_error;

  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  std::unique_ptr<engine> eng;
  std::uint64_t gen = 0;
  asio::steady_timer tick_timer, retry_timer, done_signal, backoff_timer, drain_timer, detach_timer;
  std::array<char, 64 * 1024> rbuf{};
  std::string wbuf;
  std::string verify_error;
  steady_clock::time_point attempt_start;
  std::minstd_rand rng;
  bool running = false, reading = false, writing = false, wshut = false, finished = false, retry_armed = false;
  bool stopping = false, close_sent = false, drain_expired = false, was_open = false;
  std::vector<std::function<void()>> on_stopped;

  void say(int level, const std::string& m, const std::string& detail = {}) {
    if (log) log(level, opt.name + ": " + m, detail);
  }

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  // ---- the attempt loop ------------------------------------------------------------------------

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    milliseconds backoff = opt.reconnect_initial;
    while (!stopping) {
      stats.attempts.fetch_add(1, std::memory_order_relaxed);
      const auto t0 = steady_clock::now();
      error err = co_await attempt();
      if (stopping) break;
      if (!err) err = {errc::connection_lost, "the connection ended"};
      stats.failures.fetch_add(1, std::memory_order_relaxed);
      stats.failures_by_kind[static_cast<int>(err.code) & 15].fetch_add(1, std::memory_order_relaxed);
      {
        std::lock_guard l(err_mu);
        last_error = err.message();
      }
      if (was_open && steady_clock::now() - t0 > std::chrono::seconds(10)) backoff = opt.reconnect_initial;
      // +-20% jitter so replicas do not reconnect in lockstep.
      std::uniform_real_distribution<double> jitter(0.8, 1.2);
      const milliseconds delay(static_cast<long long>(static_cast<double>(backoff.count()) * jitter(rng)));
      say(err.code == errc::connection_lost || err.code == errc::closed_by_peer ? 1 : 2,
          "connection failed: " + err.message() + "; reconnecting in " + seconds_text(delay));
      backoff_timer.expires_after(delay);
      co_await backoff_timer.async_wait(asio::as_tuple(asio::use_awaitable));
      backoff = std::min(backoff * 2, opt.reconnect_max);
    }
    ended();
  }

  // The attempt loop is over (stopped, or ended by an exception): stop() callers are released.
  void ended() {
    stats.connected.store(false, std::memory_order_relaxed);
    running = false;
    handler.receiver().mailbox()->set_wake({});
    auto callbacks = std::move(on_stopped);
    for (auto& f : callbacks) f();
  }

  // An exception out of run() is a bug: say so through the log hook (it used to be dropped by
  // asio::detached), and end the connection as a stop would, so that stop() still completes.
  void on_run_exception(std::exception_ptr e) {
    if (!e) return;
    std::string what = "a non-standard exception";
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      what = x.what();
    } catch (...) {
    }
    say(2, "the connection loop ended with an exception (a bug); the connection stays closed", what);
    ended();
  }

  error classify_handshake(const boost::system::error_code& ec) {
    if (ec == beast::error::timeout)
      return {errc::timeout,
              "TLS handshake with " + where() + " took longer than " + seconds_text(opt.connect_timeout)};
    if (net::is_certificate_refusal(ec, verify_error))
      return {errc::certificate_verify_failed, where() + ": " + (verify_error.empty() ? ec.message() : verify_error) +
                                                   " (" + net::trust_anchors_text(net_tls(opt.tls)) + ")"};
    return {errc::tls_handshake_failed, where() + ": " + ec.message()};
  }

  std::string where() const { return opt.host + ":" + opt.port; }

  asio::awaitable<error> attempt() {
    attempt_start = steady_clock::now();
    was_open = false;
    tcp::resolver resolver(ex);
    auto [rec, endpoints] = co_await resolver.async_resolve(opt.host, opt.port, asio::as_tuple(asio::use_awaitable));
    if (rec) co_return error{errc::resolve_failed, opt.host + ": " + rec.message()};
    if (stopping) co_return error{};
    tls.reset();
    plain.reset();
    if (opt.tls.enabled)
      tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex, *tls_ctx);
    else
      plain = std::make_unique<beast::tcp_stream>(ex);
    lowest().expires_after(opt.connect_timeout);
    auto [cec, ep] = co_await lowest().async_connect(endpoints, asio::as_tuple(asio::use_awaitable));
    if (cec) {
      if (cec == beast::error::timeout) co_return error{errc::timeout, "TCP connect to " + where()};
      co_return error{errc::connect_failed, where() + ": " + cec.message()};
    }
    if (stopping) co_return error{};
    boost::system::error_code ignored;
    lowest().socket().set_option(tcp::no_delay(true), ignored);
    if (tls) {
      const std::string& name = opt.tls.server_name.empty() ? opt.host : opt.tls.server_name;
      net::prepare_client_stream(*tls, name, opt.tls.verify, verify_error);
      lowest().expires_after(opt.connect_timeout);
      auto [hec] = co_await tls->async_handshake(ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
      if (hec) co_return classify_handshake(hec);
    }
    lowest().expires_never();
    if (stopping) co_return error{};

    // ---- AMQP over the socket ----
    eng = std::make_unique<engine>(opt.amqp);
    ++gen;
    reading = writing = wshut = finished = retry_armed = close_sent = drain_expired = false;
    handler.on_open(*eng);
    done_signal.expires_at(steady_clock::time_point::max());
    process();
    do_read();
    schedule_tick();
    co_await done_signal.async_wait(asio::as_tuple(asio::use_awaitable));

    error e = handler.failure();
    const error engine_error = eng->failure();
    if (!e && engine_error.code == errc::authentication_failed) e = engine_error;
    if (!e) e = handler.receiver().failure();
    if (!e) e = engine_error;
    was_open = eng->opened();
    handler.on_closed();
    handler.receiver().end();
    stats.connected.store(false, std::memory_order_relaxed);
    tick_timer.cancel();
    retry_timer.cancel();
    detach_timer.cancel();
    lowest().close();
    // The SSL stream must outlive its pending operations: wait for them to come back aborted.
    while (reading || writing) {
      tick_timer.expires_after(milliseconds(1));
      co_await tick_timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    eng.reset();
    co_return e;
  }

  // ---- the pump (callbacks on the strand) -----------------------------------------------------

  void do_read() {
    if (!eng || reading || finished || eng->read_closed()) return;
    reading = true;
    auto h = asio::bind_executor(ex, [self = shared_from_this(), g = gen](boost::system::error_code ec, std::size_t n) {
      self->on_read(g, ec, n);
    });
    if (tls)
      tls->async_read_some(asio::buffer(rbuf), std::move(h));
    else
      plain->async_read_some(asio::buffer(rbuf), std::move(h));
  }

  void on_read(std::uint64_t g, boost::system::error_code ec, std::size_t n) {
    reading = false;
    if (g != gen || !eng || finished) return;
    if (n > 0) eng->feed(std::string_view(rbuf.data(), n));
    if (ec) {
      // RabbitMQ closes TLS without close_notify after the AMQP close: stream_truncated is EOF.
      if (ec == asio::error::eof || ec == ssl::error::stream_truncated || ec == asio::error::operation_aborted ||
          close_sent)
        eng->read_close();
      else
        eng->fail({errc::connection_lost, "read from " + where() + ": " + ec.message()});
    }
    process();
    if (!ec) do_read();
  }

  void do_write() {
    if (!eng || writing || finished) return;
    const std::string_view out = eng->output();
    if (out.empty()) return;
    // Proton's buffer is only valid until the next driver call: copy it out, consume it now.
    wbuf.assign(out);
    eng->output_done(out.size());
    writing = true;
    auto h = asio::bind_executor(
        ex, [self = shared_from_this(), g = gen](boost::system::error_code ec, std::size_t) { self->on_write(g, ec); });
    if (tls)
      asio::async_write(*tls, asio::buffer(wbuf), std::move(h));
    else
      asio::async_write(*plain, asio::buffer(wbuf), std::move(h));
  }

  void on_write(std::uint64_t g, boost::system::error_code ec) {
    writing = false;
    if (g != gen || !eng || finished) return;
    if (ec) {
      if (close_sent)
        eng->write_close();
      else
        eng->fail({errc::connection_lost, "write to " + where() + ": " + ec.message()});
    }
    process();
  }

  void process() {
    if (!eng || finished) return;
    consumer& c = handler.receiver();
    do {
      while (pn_event_t* e = eng->next_event())
        if (!c.on_event(e)) handler.on_event(e);
      c.flush();
      if (c.sink_closed() && !stopping) {
        // The pipeline is shutting down: finish what was submitted, then close for good.
        stopping = true;
        say(1, "the pipeline refused work (shutting down): closing the AMQP connection");
        arm_drain_timer();
      }
      if (stopping && !close_sent && (c.drained() || drain_expired)) {
        close_sent = true;
        if (!c.drained()) say(1, "drain timeout: closing with deliveries unsettled (the broker redelivers them)");
        c.close();
        // A broker that does not answer the detach within 3 s gets the connection close anyway.
        detach_timer.expires_after(std::chrono::seconds(3));
        detach_timer.async_wait(
            asio::bind_executor(ex, [self = shared_from_this(), g = gen](boost::system::error_code ec) {
              if (ec || g != self->gen || !self->eng) return;
              self->handler.receiver().finish_close();
              self->process();
            }));
      }
      do_write();
    } while (eng->has_event());

    if (auto ra = c.retry_after(); ra && !retry_armed) {
      retry_armed = true;
      retry_timer.expires_after(*ra);
      retry_timer.async_wait(
          asio::bind_executor(ex, [self = shared_from_this(), g = gen](boost::system::error_code ec) {
            self->retry_armed = false;
            if (ec || g != self->gen || !self->eng) return;
            self->handler.receiver().retry();
            self->process();
          }));
    }
    const bool open = eng->opened() && !eng->write_closed();
    if (open && !was_open) was_open = true;
    stats.connected.store(open && handler.ready(), std::memory_order_relaxed);
    if (!writing && eng->write_closed() && !wshut) {
      // Everything is on the wire: half-close so the peer sees EOF (RabbitMQ waits for the
      // client to hang up after a failed SASL outcome).
      wshut = true;
      boost::system::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    if (eng->finished()) {
      finished = true;
      boost::system::error_code ignored;
      lowest().socket().close(ignored);  // also cancels the pending read
      done_signal.cancel();
    }
  }

  void schedule_tick() {
    if (!eng || finished) return;
    const auto now = steady_clock::now();
    const auto now_ms = std::chrono::duration_cast<milliseconds>(now.time_since_epoch()).count();
    const std::int64_t next = eng->tick(now_ms);
    if (!eng->opened() && now - attempt_start > opt.connect_timeout)
      eng->fail({errc::timeout, "no AMQP open from " + where() + " within " + seconds_text(opt.connect_timeout)});
    handler.on_timer(now);
    process();
    if (finished) return;
    std::int64_t delay = next > 0 ? std::clamp<std::int64_t>(next - now_ms, 10, 1000) : 1000;
    tick_timer.expires_after(milliseconds(delay));
    tick_timer.async_wait(asio::bind_executor(ex, [self = shared_from_this(), g = gen](boost::system::error_code ec) {
      if (!ec && g == self->gen) self->schedule_tick();
    }));
  }

  void on_completions() {
    handler.receiver().drain_completions();
    process();
  }

  void begin_stop(std::function<void()> done) {
    if (!running) {
      if (done) done();
      return;
    }
    if (done) on_stopped.push_back(std::move(done));
    if (stopping) return;
    stopping = true;
    handler.receiver().stop_receiving();
    backoff_timer.cancel();
    if (!eng) {  // resolving, connecting or in the TLS handshake
      if (tls || plain) lowest().cancel();
      return;
    }
    arm_drain_timer();
    process();
  }

  void arm_drain_timer() {
    drain_timer.expires_after(opt.drain_timeout);
    drain_timer.async_wait(asio::bind_executor(ex, [self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      self->drain_expired = true;
      self->process();
    }));
  }
};

connection::connection(asio::any_io_executor ex, connection_options options, connection_handler& handler,
                       std::shared_ptr<ssl::context> tls, log_hook log)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(options), handler, std::move(tls), std::move(log))) {}

connection::~connection() {
  // The owner stops the connection (and waits for `done`) before destroying it; handlers still
  // queued only hold the impl.
  impl_->handler.receiver().mailbox()->set_wake({});
}

void connection::start() {
  asio::dispatch(impl_->ex, [self = impl_] {
    if (self->running || self->stopping) return;
    self->running = true;
    std::weak_ptr<impl> weak = self;
    self->handler.receiver().mailbox()->set_wake([weak, ex = self->ex] {
      asio::post(ex, [weak] {
        if (auto s = weak.lock()) s->on_completions();
      });
    });
    asio::co_spawn(self->ex, self->run(), [self](std::exception_ptr e) { self->on_run_exception(e); });
  });
}

void connection::stop(std::function<void()> done) {
  asio::dispatch(impl_->ex, [self = impl_, done = std::move(done)]() mutable { self->begin_stop(std::move(done)); });
}

const connection_stats& connection::stats() const { return impl_->stats; }

std::string connection::last_error() const {
  std::lock_guard l(impl_->err_mu);
  return impl_->last_error;
}

}  // namespace iomt::transport::amqp
