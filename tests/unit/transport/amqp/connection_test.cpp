// transport/amqp/connection.cpp: the attempt loop's completion handler. An exception out of the
// loop (a bug) is logged through the connection's log hook - not dropped - and stop() still
// completes. No broker: a loopback listener accepts the TCP connection, TLS is off.
#define BOOST_TEST_MODULE transport_amqp_connection
#include "transport/amqp/connection.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace ta = iomt::transport::amqp;

namespace {

class null_sink final : public iomt::transport::event_sink {
public:
  iomt::transport::submit_status submit(std::vector<iomt::transport::event>&&, iomt::transport::completion) override {
    return iomt::transport::submit_status::accepted;
  }
};

// Opens nothing: its on_open throws, as a bug in a handler would.
class throwing_handler final : public ta::connection_handler {
public:
  explicit throwing_handler(ta::consumer& c) : consumer_(c) {}
  ta::consumer& receiver() override { return consumer_; }
  void on_open(ta::engine&) override { throw std::logic_error("on_open exploded"); }

private:
  ta::consumer& consumer_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(an_exception_out_of_the_attempt_loop_is_logged_and_stop_completes) {
  asio::io_context io;
  asio::ip::tcp::acceptor listener(io, {asio::ip::make_address("127.0.0.1"), 0});
  null_sink sink;
  ta::consumer consumer({}, sink);
  throwing_handler handler(consumer);
  ta::connection_options o;
  o.host = "127.0.0.1";
  o.port = std::to_string(listener.local_endpoint().port());
  o.tls.enabled = false;
  o.name = "amqp-test";
  std::vector<std::string> errors;
  ta::log_hook log = [&](int level, const std::string& message, const std::string& detail) {
    if (level == 2) errors.push_back(message + " | " + detail);
  };
  ta::connection conn(asio::make_strand(io), o, handler, nullptr, log);
  conn.start();
  asio::steady_timer guard(io);
  guard.expires_after(std::chrono::seconds(10));
  guard.async_wait([&](boost::system::error_code) { io.stop(); });
  // Run until the loop has ended (the exception is logged), then stop: `done` must be called.
  bool stopped = false;
  asio::steady_timer poll(io);
  std::function<void()> check = [&] {
    if (!errors.empty()) {
      conn.stop([&] {
        stopped = true;
        guard.cancel();
        io.stop();
      });
      return;
    }
    poll.expires_after(std::chrono::milliseconds(5));
    poll.async_wait([&](boost::system::error_code ec) {
      if (!ec) check();
    });
  };
  check();
  io.run();
  BOOST_TEST_REQUIRE(errors.size() == 1u);
  BOOST_TEST(errors[0].find("amqp-test: the connection loop ended with an exception") == 0u, errors[0]);
  BOOST_TEST(errors[0].find("on_open exploded") != std::string::npos, errors[0]);
  BOOST_TEST(stopped);
  BOOST_TEST(!conn.stats().connected.load());
}
