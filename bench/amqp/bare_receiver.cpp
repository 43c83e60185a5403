#include "bench/amqp/bare_receiver.hpp"

#include "transport/amqp/engine.hpp"
#include "transport/amqp/source.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <proton/connection.h>
#include <proton/delivery.h>
#include <proton/event.h>
#include <proton/link.h>
#include <proton/session.h>
#include <proton/terminus.h>

#include <algorithm>
#include <array>
#include <chrono>

namespace iomt::bench {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace ta = iomt::transport::amqp;
using tcp = asio::ip::tcp;

boost::system::result<drain_result, std::string> bare_drain(const bare_receiver_options& o) {
  auto url = ta::parse_broker_url(o.url);
  if (!url) return url.error().message();
  asio::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  if (!o.ca.empty()) ctx.load_verify_file(o.ca);
  ctx.set_verify_mode(url->tls ? ssl::verify_peer : ssl::verify_none);
  ssl::stream<tcp::socket> stream(io, ctx);
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  asio::connect(stream.next_layer(), resolver.resolve(url->host, url->port), ec);
  if (ec) return "connect: " + ec.message();
  stream.next_layer().set_option(tcp::no_delay(true));
  if (url->tls) {
    stream.set_verify_callback(ssl::host_name_verification("localhost"));
    stream.handshake(ssl::stream_base::client, ec);
    if (ec) return "TLS: " + ec.message();
  }
  ta::engine_options eo;
  eo.container_id = "bare-receiver";
  eo.hostname = "localhost";
  eo.user = o.user;
  eo.password = o.password;
  eo.encrypted = url->tls;
  ta::engine eng(eo);
  pn_connection_open(eng.connection());
  pn_session_t* ssn = pn_session(eng.connection());
  pn_session_open(ssn);
  pn_link_t* link = pn_receiver(ssn, "bare-receiver");
  pn_terminus_set_address(pn_link_source(link), o.address.c_str());
  pn_link_set_snd_settle_mode(link, PN_SND_UNSETTLED);
  pn_link_set_rcv_settle_mode(link, PN_RCV_FIRST);
  pn_link_open(link);
  pn_link_flow(link, static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(o.credit), o.count)));

  drain_result r;
  std::chrono::steady_clock::time_point first{}, last{};
  std::array<char, 64 * 1024> buf{};
  std::string error;
  auto write_all = [&] {
    for (;;) {
      auto out = eng.output();
      if (out.empty()) return;
      std::string copy(out);
      eng.output_done(out.size());
      if (url->tls)
        asio::write(stream, asio::buffer(copy), ec);
      else
        asio::write(stream.next_layer(), asio::buffer(copy), ec);
      if (ec) {
        eng.write_close();
        return;
      }
    }
  };
  // After the last delivery: its accept dispositions are flushed and the detach follows only
  // `settle_wait` later. Detaching at once made RabbitMQ 3.10 requeue about the last 100 accepted
  // deliveries (their dispositions arrived with the detach), so the count overstated the drain.
  bool closing = false, close_sent = false;
  const auto settle_wait = std::chrono::milliseconds(300);
  std::chrono::steady_clock::time_point close_at{};
  auto close_all = [&] {
    close_sent = true;
    pn_link_close(link);
    pn_session_close(ssn);
    pn_connection_close(eng.connection());
  };
  while (!eng.finished()) {
    while (pn_event_t* e = eng.next_event()) {
      switch (pn_event_type(e)) {
        case PN_DELIVERY: {
          pn_delivery_t* d = pn_event_delivery(e);
          if (!pn_delivery_readable(d) || pn_delivery_partial(d)) break;
          const std::size_t n = pn_delivery_pending(d);
          std::array<char, 4096> tmp{};
          for (std::size_t got = 0; got < n;) {
            const ssize_t k = pn_link_recv(link, tmp.data(), std::min(tmp.size(), n - got));
            if (k <= 0) break;
            got += static_cast<std::size_t>(k);
          }
          pn_link_advance(link);
          if (closing) {
            pn_delivery_update(d, PN_RELEASED);
          } else {
            pn_delivery_update(d, PN_ACCEPTED);
            last = std::chrono::steady_clock::now();
            if (r.received++ == 0) first = last;
          }
          pn_delivery_settle(d);
          if (!closing && r.received >= o.count) {
            closing = true;
            close_at = std::chrono::steady_clock::now() + settle_wait;
          } else if (!closing && pn_link_credit(link) < o.credit / 2) {
            // Never ask for more than `count` in total (extra deliveries would go back to the queue).
            const auto left =
                static_cast<long long>(o.count) - static_cast<long long>(r.received) - pn_link_credit(link);
            const auto want = std::min<long long>(o.credit - pn_link_credit(link), left);
            if (want > 0) pn_link_flow(link, static_cast<int>(want));
          }
          break;
        }
        case PN_LINK_REMOTE_CLOSE:
        case PN_SESSION_REMOTE_CLOSE:
        case PN_CONNECTION_REMOTE_CLOSE:
          if (!closing) error = "closed by the broker";
          closing = close_sent = true;
          pn_connection_close(eng.connection());
          break;
        default:
          break;
      }
    }
    if (closing && !close_sent && std::chrono::steady_clock::now() >= close_at) close_all();
    write_all();
    if (eng.has_event()) continue;
    if (eng.finished()) break;
    // Read with a 3 s limit (the queue may hold fewer than `count`), or until the detach is due.
    bool done = false;
    std::size_t n = 0;
    boost::system::error_code rec;
    auto h = [&](boost::system::error_code e2, std::size_t k) {
      done = true;
      rec = e2;
      n = k;
    };
    if (url->tls)
      stream.async_read_some(asio::buffer(buf), h);
    else
      stream.next_layer().async_read_some(asio::buffer(buf), h);
    io.restart();
    const auto now = std::chrono::steady_clock::now();
    const bool detach_due = closing && !close_sent;
    io.run_for(detach_due ? std::max(std::chrono::steady_clock::duration::zero(), close_at - now)
                          : std::chrono::steady_clock::duration(std::chrono::seconds(3)));
    if (!done) {
      stream.next_layer().cancel(ec);
      io.restart();
      io.run();
      if (detach_due) continue;  // close_all() at the top of the loop
      if (!closing) {
        closing = close_sent = true;  // idle: stop here
        pn_connection_close(eng.connection());
        continue;
      }
      break;
    }
    if (n) eng.feed(std::string_view(buf.data(), n));
    if (rec) eng.read_close();
  }
  stream.next_layer().close(ec);
  if (!error.empty() && r.received == 0) return error;
  r.seconds = std::chrono::duration<double>(last - first).count();
  if (r.seconds <= 0) r.seconds = 1e-9;
  return r;
}

}  // namespace iomt::bench
