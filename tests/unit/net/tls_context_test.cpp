// net/tls_context.hpp: one meaning of ca_file / tls_verify for every client. A loopback TLS
// server with a self-signed certificate for localhost plays the peer.
#define BOOST_TEST_MODULE net
#include "net/tls_context.hpp"
#include "net/tls_server.hpp"
#include "tls_test_support.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace iomt;

namespace {

using test::make_self_signed;
using test::pem_pair;
using test::temp_file;

// A certificate for localhost and 127.0.0.1 with subject CN `common_name`.
pem_pair self_signed_localhost(const std::string& common_name = "localhost") {
  return make_self_signed("DNS:localhost,IP:127.0.0.1", common_name);
}

struct outcome {
  boost::system::error_code ec;
  std::string refusal;
};

// One client handshake with `name` against a loopback server presenting `pem`.
outcome handshake(const pem_pair& pem, const net::tls_options& options, const std::string& name) {
  asio::io_context io;
  const auto server_ctx = test::server_tls(pem);
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  auto client_ctx = net::make_client_context(options);
  BOOST_TEST_REQUIRE(client_ctx.has_value());

  outcome out;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        ssl::stream<tcp::socket> s(co_await acceptor.async_accept(asio::use_awaitable), *server_ctx);
        co_await s.async_handshake(ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        ssl::stream<tcp::socket> s(io, **client_ctx);
        co_await s.next_layer().async_connect(acceptor.local_endpoint(), asio::use_awaitable);
        net::prepare_client_stream(s, name, options.verify, out.refusal);
        std::tie(out.ec) = co_await s.async_handshake(ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_client_context_is_tls12_or_later_and_verifies_by_default) {
  auto ctx = net::make_client_context({});
  BOOST_TEST_REQUIRE(ctx.has_value());
  BOOST_TEST(SSL_CTX_get_min_proto_version((*ctx)->native_handle()) == TLS1_2_VERSION);
  BOOST_TEST(SSL_CTX_get_verify_mode((*ctx)->native_handle()) == SSL_VERIFY_PEER);
  auto off = net::make_client_context({false, ""});
  BOOST_TEST_REQUIRE(off.has_value());
  BOOST_TEST(SSL_CTX_get_verify_mode((*off)->native_handle()) == SSL_VERIFY_NONE);
}

BOOST_AUTO_TEST_CASE(an_unreadable_ca_file_is_an_error_unless_verification_is_off) {
  const net::tls_options bad{true, "/nonexistent/ca.pem"};
  auto ctx = net::make_client_context(bad);
  BOOST_TEST_REQUIRE(ctx.has_error());
  BOOST_TEST((ctx.error().failed == net::tls_setup_error::step::ca_file));
  BOOST_TEST(net::describe(ctx.error(), bad).find("cannot load the CA file '/nonexistent/ca.pem': ") == 0u,
             net::describe(ctx.error(), bad));
  BOOST_TEST(net::make_client_context({false, "/nonexistent/ca.pem"}).has_value());  // not read
  BOOST_TEST(net::trust_anchors_text({}) == "system trust store");
  BOOST_TEST(net::trust_anchors_text(bad) == "system trust store and CA file /nonexistent/ca.pem");
}

BOOST_AUTO_TEST_CASE(the_ca_file_is_trusted_by_name_and_by_address) {
  const pem_pair pem = self_signed_localhost();
  const temp_file ca(pem.cert);
  auto by_name = handshake(pem, {true, ca.path}, "localhost");
  BOOST_TEST(!by_name.ec, by_name.ec.message() << " " << by_name.refusal);
  BOOST_TEST(by_name.refusal.empty());
  auto by_ip = handshake(pem, {true, ca.path}, "127.0.0.1");
  BOOST_TEST(!by_ip.ec, by_ip.ec.message() << " " << by_ip.refusal);
}

BOOST_AUTO_TEST_CASE(the_ca_file_adds_to_the_system_store_it_does_not_replace_it) {
  // OpenSSL's system store is SSL_CERT_FILE when set: make one that trusts `system_peer`.
  const pem_pair system_peer = self_signed_localhost("system-anchor"), private_peer = self_signed_localhost();
  const temp_file system_store(system_peer.cert), ca(private_peer.cert);
  const char* saved = std::getenv("SSL_CERT_FILE");
  const std::string restore = saved ? saved : "";
  ::setenv("SSL_CERT_FILE", system_store.path.c_str(), 1);
  const auto system_only = handshake(system_peer, {}, "localhost");
  const auto system_with_ca = handshake(system_peer, {true, ca.path}, "localhost");
  const auto private_with_ca = handshake(private_peer, {true, ca.path}, "localhost");
  const auto private_without_ca = handshake(private_peer, {}, "localhost");
  if (saved)
    ::setenv("SSL_CERT_FILE", restore.c_str(), 1);
  else
    ::unsetenv("SSL_CERT_FILE");
  BOOST_TEST(!system_only.ec, system_only.refusal);
  BOOST_TEST(!system_with_ca.ec, system_with_ca.refusal);  // "replace" would refuse this one
  BOOST_TEST(!private_with_ca.ec, private_with_ca.refusal);
  BOOST_TEST(private_without_ca.ec);
}

BOOST_AUTO_TEST_CASE(refusals_say_why) {
  const pem_pair pem = self_signed_localhost();
  auto untrusted = handshake(pem, {}, "localhost");
  BOOST_TEST(untrusted.ec);
  BOOST_TEST(net::is_certificate_refusal(untrusted.ec, untrusted.refusal));
  BOOST_TEST(untrusted.refusal.find("self-signed certificate") == 0u, untrusted.refusal);
  BOOST_TEST(untrusted.refusal.find("(certificate subject /CN=localhost)") != std::string::npos, untrusted.refusal);

  const temp_file ca(pem.cert);
  auto wrong_name = handshake(pem, {true, ca.path}, "broker.example.org");
  BOOST_TEST(wrong_name.ec);
  BOOST_TEST(net::is_certificate_refusal(wrong_name.ec, wrong_name.refusal));
  BOOST_TEST(wrong_name.refusal.find("the certificate does not match the host name 'broker.example.org'") == 0u,
             wrong_name.refusal);
}

BOOST_AUTO_TEST_CASE(verification_off_accepts_anything) {
  const pem_pair pem = self_signed_localhost();
  auto r = handshake(pem, {false, ""}, "broker.example.org");
  BOOST_TEST(!r.ec, r.ec.message());
  BOOST_TEST(r.refusal.empty());
}

// ---- net/tls_server.hpp: the listener's context and its reload (issue 15) ----------------------

BOOST_AUTO_TEST_CASE(a_server_context_names_the_file_at_fault) {
  const pem_pair pem = self_signed_localhost();
  temp_file cert(pem.cert), key(pem.key);
  net::tls_server_options o{cert.path, key.path, "", "1.2"};
  auto ok = net::make_server_context(o);
  BOOST_TEST_REQUIRE(ok.has_value());
  BOOST_TEST(SSL_CTX_get_min_proto_version((*ok)->native_handle()) == TLS1_2_VERSION);

  o.cert_file = "/nonexistent/tls.crt";
  auto missing = net::make_server_context(o);
  BOOST_TEST_REQUIRE(!missing);
  BOOST_TEST(missing.error().find("'/nonexistent/tls.crt'") != std::string::npos, missing.error());

  const pem_pair other = self_signed_localhost("other");
  temp_file other_key(other.key);
  o = {cert.path, other_key.path, "", "1.2"};
  auto mismatch = net::make_server_context(o);
  BOOST_TEST_REQUIRE(!mismatch);
  BOOST_TEST_MESSAGE(mismatch.error());

  o = {cert.path, key.path, "", "1.1"};
  BOOST_TEST(!net::make_server_context(o));
}

BOOST_AUTO_TEST_CASE(the_server_context_reloads_when_its_files_change) {
  const pem_pair first = self_signed_localhost("first");
  temp_file cert(first.cert), key(first.key);
  std::vector<std::string> events;
  auto r = net::reloading_server_context::create(
      {cert.path, key.path, "", "1.2"},
      [&](int level, const std::string& m, const std::string&) { events.push_back(std::to_string(level) + " " + m); },
      std::chrono::hours(1));
  BOOST_TEST_REQUIRE(r.has_value());
  auto ctx = (*r)->current();
  BOOST_TEST(!(*r)->check_now());  // nothing changed
  BOOST_TEST((*r)->current() == ctx);

  // A renewal (both files rewritten) is loaded; contexts handed out before stay valid.
  const pem_pair second = self_signed_localhost("second");
  std::ofstream(key.path) << second.key;
  std::ofstream(cert.path) << second.cert;
  BOOST_TEST((*r)->check_now());
  BOOST_TEST((*r)->current() != ctx);
  BOOST_TEST((*r)->reloads() == 1u);

  // A key that does not belong to the certificate keeps the previous context, reported once.
  auto good = (*r)->current();
  std::ofstream(key.path) << first.key;
  BOOST_TEST(!(*r)->check_now());
  BOOST_TEST(!(*r)->check_now());
  BOOST_TEST((*r)->current() == good);
  BOOST_REQUIRE_EQUAL(events.size(), 2u);
  BOOST_TEST(events[0] == "0 TLS certificate reloaded");
  BOOST_TEST(events[1].rfind("2 TLS certificate reload failed", 0) == 0u);
}
