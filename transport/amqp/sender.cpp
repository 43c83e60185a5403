#include "transport/amqp/sender.hpp"

#include "transport/amqp/engine.hpp"
#include "transport/amqp/source.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <proton/codec.h>
#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/delivery.h>
#include <proton/disposition.h>
#include <proton/event.h>
#include <proton/link.h>
#include <proton/message.h>
#include <proton/session.h>
#include <proton/terminus.h>

#include <array>

namespace iomt::transport::amqp {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

std::string encode_message(const outgoing_message& m) {
  pn_message_t* msg = pn_message();
  pn_message_set_durable(msg, m.durable);
  pn_data_put_binary(pn_message_body(msg), pn_bytes(m.body.size(), m.body.data()));
  auto put_map = [](pn_data_t* d, const std::vector<std::pair<std::string, std::string>>& kv, bool symbol_keys) {
    pn_data_put_map(d);
    pn_data_enter(d);
    for (const auto& [k, v] : kv) {
      if (symbol_keys)
        pn_data_put_symbol(d, pn_bytes(k.size(), k.data()));
      else
        pn_data_put_string(d, pn_bytes(k.size(), k.data()));
      pn_data_put_string(d, pn_bytes(v.size(), v.data()));
    }
    pn_data_exit(d);
  };
  if (!m.properties.empty()) put_map(pn_message_properties(msg), m.properties, false);
  if (!m.annotations.empty()) put_map(pn_message_annotations(msg), m.annotations, true);
  if (!m.message_id.empty()) pn_data_put_string(pn_message_id(msg), pn_bytes(m.message_id.size(), m.message_id.data()));
  if (!m.content_type.empty()) pn_message_set_content_type(msg, m.content_type.c_str());
  std::string out(256 + m.body.size() + 64 * (m.properties.size() + m.annotations.size()), '\0');
  for (;;) {
    std::size_t size = out.size();
    const int rc = pn_message_encode(msg, out.data(), &size);
    if (rc == 0) {
      out.resize(size);
      break;
    }
    out.resize(out.size() * 2);
  }
  pn_message_free(msg);
  return out;
}

struct blocking_sender::impl {
  asio::io_context io;
  std::shared_ptr<ssl::context> ctx;
  std::unique_ptr<ssl::stream<tcp::socket>> tls;
  std::unique_ptr<tcp::socket> plain;
  std::unique_ptr<engine> eng;
  pn_session_t* session = nullptr;
  pn_link_t* link = nullptr;
  std::array<char, 64 * 1024> rbuf{};
  std::chrono::milliseconds timeout{30000};
  std::uint32_t window = 1000;
  error failure;
  std::uint64_t tag = 0;
  std::size_t outstanding = 0;
  bool attached = false;

  tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }

  // Runs the io_context until `done` or the timeout; cancels the socket on timeout.
  bool run_until(const bool& done) {
    io.restart();
    io.run_for(timeout);
    if (done) return true;
    boost::system::error_code ignored;
    socket().cancel(ignored);
    io.restart();
    io.run();
    return false;
  }

  error write_all() {
    for (;;) {
      const std::string_view out = eng->output();
      if (out.empty()) return {};
      std::string copy(out);
      eng->output_done(out.size());
      boost::system::error_code ec;
      if (tls)
        asio::write(*tls, asio::buffer(copy), ec);
      else
        asio::write(*plain, asio::buffer(copy), ec);
      if (ec) {
        eng->write_close();
        return {errc::connection_lost, "write: " + ec.message()};
      }
    }
  }

  error read_once() {
    bool done = false;
    boost::system::error_code rec;
    std::size_t n = 0;
    auto h = [&](boost::system::error_code ec, std::size_t got) {
      done = true;
      rec = ec;
      n = got;
    };
    if (tls)
      tls->async_read_some(asio::buffer(rbuf), h);
    else
      plain->async_read_some(asio::buffer(rbuf), h);
    if (!run_until(done)) return {errc::timeout, "no answer from the broker"};
    if (n) eng->feed(std::string_view(rbuf.data(), n));
    if (rec) eng->read_close();
    return {};
  }

  void handle(pn_event_t* e) {
    switch (pn_event_type(e)) {
      case PN_LINK_REMOTE_OPEN:
        if (pn_event_link(e) == link) attached = pn_terminus_get_type(pn_link_remote_target(link)) != PN_UNSPECIFIED;
        break;
      case PN_DELIVERY: {
        pn_delivery_t* d = pn_event_delivery(e);
        if (!pn_delivery_updated(d) || !pn_delivery_settled(d)) break;
        const std::uint64_t state = pn_delivery_remote_state(d);
        if (state != PN_ACCEPTED && !failure) {
          std::string why = condition_text(pn_disposition_condition(pn_delivery_remote(d)));
          failure = {errc::link_error, std::string("message not accepted (") + pn_disposition_type_name(state) + ")" +
                                           (why.empty() ? "" : ": " + why)};
        }
        pn_delivery_settle(d);
        --outstanding;
        break;
      }
      case PN_LINK_REMOTE_CLOSE:
      case PN_LINK_REMOTE_DETACH:
        if (!failure) failure = {errc::link_error, condition_text(pn_link_remote_condition(pn_event_link(e)))};
        pn_link_close(pn_event_link(e));
        break;
      case PN_SESSION_REMOTE_CLOSE:
        if (!failure) failure = {errc::link_error, condition_text(pn_session_remote_condition(pn_event_session(e)))};
        pn_session_close(pn_event_session(e));
        break;
      case PN_CONNECTION_REMOTE_CLOSE:
        if (!failure)
          failure = {errc::closed_by_peer, condition_text(pn_connection_remote_condition(pn_event_connection(e)))};
        pn_connection_close(pn_event_connection(e));
        break;
      default:
        break;
    }
  }

  template <class Pred>
  error pump_until(Pred pred) {
    for (;;) {
      while (pn_event_t* e = eng->next_event()) handle(e);
      if (auto w = write_all()) return w;
      if (eng->has_event()) continue;
      if (failure) return failure;
      if (pred()) return {};
      if (eng->finished()) {
        error f = eng->failure();
        return f ? f : error{errc::connection_lost, "the connection ended"};
      }
      if (auto r = read_once()) return r;
    }
  }
};

blocking_sender::blocking_sender(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
blocking_sender::~blocking_sender() { close(); }

boost::system::result<std::unique_ptr<blocking_sender>, error> blocking_sender::connect(const sender_options& o) {
  auto url = parse_broker_url(o.url);
  if (!url) return url.error();
  auto p = std::make_unique<impl>();
  p->timeout = o.timeout;
  p->window = std::max<std::uint32_t>(1, o.window);
  tls_options tls = o.tls;
  tls.enabled = url->tls;
  try {
    if (url->tls) p->ctx = make_tls_context(tls);
  } catch (const std::exception& e) {
    return error{errc::bad_configuration, e.what()};
  }
  tcp::resolver resolver(p->io);
  boost::system::error_code ec;
  auto endpoints = resolver.resolve(url->host, url->port, ec);
  if (ec) return error{errc::resolve_failed, url->host + ": " + ec.message()};
  if (url->tls) {
    p->tls = std::make_unique<ssl::stream<tcp::socket>>(p->io, *p->ctx);
  } else {
    p->plain = std::make_unique<tcp::socket>(p->io);
  }
  {
    bool done = false;
    boost::system::error_code cec;
    asio::async_connect(p->socket(), endpoints, [&](boost::system::error_code e, const tcp::endpoint&) {
      done = true;
      cec = e;
    });
    if (!p->run_until(done)) return error{errc::timeout, "TCP connect to " + url->host + ":" + url->port};
    if (cec) return error{errc::connect_failed, url->host + ":" + url->port + ": " + cec.message()};
  }
  if (p->tls) {
    const std::string name = tls.server_name.empty() ? url->host : tls.server_name;
    boost::system::error_code not_ip;
    asio::ip::make_address(name, not_ip);
    if (not_ip)  // SNI carries host names only
      SSL_ctrl(p->tls->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(name.c_str()));
    if (tls.verify) p->tls->set_verify_callback(ssl::host_name_verification(name));
    bool done = false;
    boost::system::error_code hec;
    p->tls->async_handshake(ssl::stream_base::client, [&](boost::system::error_code e) {
      done = true;
      hec = e;
    });
    if (!p->run_until(done)) return error{errc::timeout, "TLS handshake"};
    if (hec) return error{errc::tls_handshake_failed, hec.message()};
  }
  engine_options eo;
  eo.container_id = "iomtflow-sender";
  eo.hostname = tls.server_name.empty() ? url->host : tls.server_name;
  eo.user = !o.user.empty() ? o.user : url->user;
  eo.password = !o.user.empty() ? o.password : url->password;
  eo.encrypted = url->tls;
  eo.allow_cleartext_plain = o.allow_cleartext_plain;
  p->eng = std::make_unique<engine>(eo);
  pn_connection_open(p->eng->connection());
  p->session = pn_session(p->eng->connection());
  pn_session_open(p->session);
  p->link = pn_sender(p->session, "iomtflow-sender");
  pn_terminus_set_address(pn_link_target(p->link), o.address.c_str());
  if (o.durable) pn_terminus_set_durability(pn_link_target(p->link), PN_DELIVERIES);
  pn_link_set_snd_settle_mode(p->link, PN_SND_UNSETTLED);
  pn_link_open(p->link);
  auto* raw = p.get();
  if (auto e = raw->pump_until([raw] { return raw->attached || raw->failure; })) return e;
  if (!raw->attached) return error{errc::link_error, o.address + ": the broker refused the link"};
  return std::unique_ptr<blocking_sender>(new blocking_sender(std::move(p)));
}

boost::system::result<void, error> blocking_sender::send(std::span<const std::string> encoded) {
  impl& p = *impl_;
  std::size_t next = 0;
  for (;;) {
    while (next < encoded.size() && p.outstanding < p.window && pn_link_credit(p.link) > 0) {
      const std::string tag = std::to_string(++p.tag);
      pn_delivery(p.link, pn_dtag(tag.data(), tag.size()));
      pn_link_send(p.link, encoded[next].data(), encoded[next].size());
      pn_link_advance(p.link);
      ++p.outstanding;
      ++next;
    }
    if (next == encoded.size() && p.outstanding == 0) return {};
    // Wait for a settlement, or for credit when there is more to send.
    const std::size_t before = p.outstanding;
    auto e = p.pump_until([&] {
      return p.outstanding < before ||
             (next < encoded.size() && pn_link_credit(p.link) > 0 && p.outstanding < p.window);
    });
    if (e) return e;
  }
}

void blocking_sender::close() {
  if (!impl_ || !impl_->eng) return;
  impl& p = *impl_;
  pn_link_close(p.link);
  pn_session_close(p.session);
  pn_connection_close(p.eng->connection());
  p.timeout = std::chrono::milliseconds(2000);
  (void)p.pump_until([&] { return p.eng->finished() || p.eng->write_closed(); });
  boost::system::error_code ignored;
  p.socket().close(ignored);
  p.eng.reset();
}

}  // namespace iomt::transport::amqp
