// The Event Hubs blob checkpoint store against Azurite (the Azure Storage emulator, npm azurite
// pinned in scripts/peers/azurite), started here with scripts/peers/start-azurite.sh (in memory,
// 127.0.0.1, one instance over HTTP and one over HTTPS with a test CA) and stopped at exit: store
// and read back, the Azure SDK's blob layout, container creation, conditional-write conflicts
// between two replicas, a wrong key, certificate checks, a SAS, timeouts; then the Event Hubs source
// (against scripts/peers/eh-emulator) resuming from blob checkpoints.
#define BOOST_TEST_MODULE amqp_blob_checkpoint_integration
#include <boost/test/unit_test.hpp>

#include "integration/amqp/amqp_support.hpp"
#include "transport/amqp/eventhubs/blob_client.hpp"
#include "transport/amqp/eventhubs/eventhubs_source.hpp"
#include "transport/amqp/eventhubs/open_checkpoint_store.hpp"
#include "transport/http/sas.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

using namespace iomt::test::amqp;
using namespace std::chrono_literals;
namespace ta = iomt::transport::amqp;
namespace eh = iomt::transport::amqp::eventhubs;
namespace blob = iomt::transport::amqp::eventhubs::blob;

namespace {

constexpr int http_port = 10091, https_port = 10092, eh_port = 5689;

struct azurite {
  std::string dir, connection_string, ca;
  explicit azurite(int port, bool tls) {
    dir = (scratch_dir() / ("azurite-" + std::to_string(port))).string();
    std::filesystem::create_directories(dir);
    const std::string cmd = scripts_dir() + "/start-azurite.sh --port " + std::to_string(port) + " --dir " + dir +
                            (tls ? " --tls" : "") + " >" + dir + ".start.log 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("could not start azurite: see " + dir + ".start.log");
    std::ifstream in(dir + "/env.sh");
    std::string line;
    while (std::getline(in, line)) {
      const std::string k = "AZURITE_CONNECTION_STRING='";
      if (auto p = line.find(k); p != std::string::npos)
        connection_string = line.substr(p + k.size(), line.find('\'', p + k.size()) - p - k.size());
    }
    ca = read_env_sh(dir)["AZURITE_CA"];
  }
  ~azurite() {
    broker_env b;
    b.dir = dir;
    stop_broker(b);  // stop-services.sh DIR: only the recorded PID
  }
};

azurite& plain() {
  static azurite a(http_port, false);
  return a;
}
azurite& secure() {
  static azurite a(https_port, true);
  return a;
}

eh::blob_store_options options(const std::string& container, const azurite& a = plain()) {
  eh::blob_store_options o;
  o.connection_string = a.connection_string;
  o.container = container;
  o.http.ca_file = a.ca;
  o.http.connect_timeout = 3s;
  o.http.request_timeout = 5s;
  return o;
}

// A unique container per test case (Azurite keeps state for the whole run).
std::string container(const std::string& name) { return name + "-" + std::to_string(::getpid()); }

std::unique_ptr<eh::blob_checkpoint_store> open(const eh::blob_store_options& o, const std::string& ns = "ns.example",
                                                const std::string& hub = "devicedata") {
  auto [s, err] = eh::blob_checkpoint_store::open(o, ns, hub, "$Default");
  BOOST_REQUIRE_MESSAGE(s, "open: " << err.message());
  return std::move(s);
}

// HEAD of a blob with our own client: its metadata as the Azure SDK would read it.
blob::response head(const eh::blob_store_options& o, const std::string& container_name, const std::string& name) {
  std::string c = container_name;
  auto acct = blob::parse_storage_location(o.connection_string, c);
  BOOST_REQUIRE(acct);
  auto cl = blob::client::make(*acct, o.http);
  BOOST_REQUIRE(cl);
  blob::blob_request r;
  r.method = "HEAD";
  r.path = acct->base_path + "/" + container_name + "/" + blob::encode_path(name);
  auto res = (*cl)->send(r);
  BOOST_REQUIRE_MESSAGE(res.has_value(), (res ? "" : res.error().message()));
  return *res;
}

}  // namespace

BOOST_AUTO_TEST_CASE(stores_and_reads_back_in_the_azure_sdk_layout) {
  const auto o = options(container("roundtrip"));
  {
    auto s = open(o, "NS.Example", "DeviceData");
    BOOST_TEST(!s->get("0"));
    s->update("0", {8192, 42});
    s->update("3", {100, 7});
    s->update("3", {50, 6});  // never backwards
    BOOST_TEST(!s->flush(), "flush");
    s->update("0", {9000, 43});
    BOOST_TEST(!s->flush());  // If-Match with the ETag of the first write
    BOOST_TEST(!s->flush());  // nothing dirty: no request
  }
  auto s = open(o, "NS.Example", "DeviceData");  // a new store object reads them back
  auto c0 = s->get("0");
  BOOST_REQUIRE(c0);
  BOOST_TEST(c0->offset == 9000);
  BOOST_TEST(c0->sequence_number == 43);
  auto c3 = s->get("3");
  BOOST_REQUIRE(c3);
  BOOST_TEST(c3->offset == 100);
  BOOST_TEST(c3->sequence_number == 7);
  BOOST_TEST(!s->get("1"));
  // Another hub's checkpoints in the same container are not mixed in.
  BOOST_TEST(!open(o, "NS.Example", "otherhub")->get("0"));
  // The SDK's blob name and metadata.
  BOOST_TEST(s->blob_name("0") == "ns.example/devicedata/$default/checkpoint/0");
  const auto h = head(o, o.container, "ns.example/devicedata/$default/checkpoint/0");
  BOOST_TEST(h.status == 200u);
  BOOST_TEST(h.offset == "9000");
  BOOST_TEST(h.sequence_number == "43");
  // Keep-alive reuse across many writes.
  for (int i = 0; i < 50; ++i) {
    s->update("1", {1000 + i, 100 + i});
    BOOST_TEST_REQUIRE(!s->flush());
  }
  BOOST_TEST(!open(o, "other.example")->get("1").has_value());  // a different namespace
  BOOST_TEST(open(o)->get("1").has_value());                    // names are lower-cased, as the SDK does
  BOOST_TEST(open(o, "NS.Example", "DeviceData")->get("1")->sequence_number == 149);
}

BOOST_AUTO_TEST_CASE(creates_the_container_when_missing) {
  const auto o = options(container("fresh"));
  auto a = open(o);  // 404 on the listing, then PUT ?restype=container (201)
  auto b = open(o);  // exists now
  a->update("0", {1, 1});
  BOOST_TEST(!a->flush());
  BOOST_TEST(!b->get("0").has_value());  // b listed before a wrote
  BOOST_TEST(open(o)->get("0")->offset == 1);
}

BOOST_AUTO_TEST_CASE(two_replicas_fighting_over_a_partition_are_detected) {
  const auto o = options(container("conflict"));
  // Both start without a blob: the first writer wins (If-None-Match: *), the second gets 409.
  auto a = open(o), b = open(o);
  a->update("0", {10, 1});
  BOOST_TEST(!a->flush());
  b->update("0", {20, 2});
  auto err = b->flush();
  BOOST_TEST(bool(err));
  BOOST_TEST(err.message().find("checkpoint blob 'ns.example/devicedata/$default/checkpoint/0' in container '" +
                                o.container + "'") != std::string::npos,
             err.message());
  BOOST_TEST(err.message().find("HTTP 409 BlobAlreadyExists") != std::string::npos, err.message());
  BOOST_TEST(err.message().find("ownership lost") != std::string::npos, err.message());
  BOOST_TEST((b->lost_partitions() == std::vector<std::string>{"0"}));
  // It keeps saying so and never overwrites a's progress.
  b->update("0", {30, 3});
  BOOST_TEST(bool(b->flush()));
  BOOST_TEST(open(o)->get("0")->sequence_number == 1);

  // Both have read the blob (same ETag); a writes, then c's If-Match fails with 412.
  auto c = open(o);
  a->update("0", {40, 4});
  BOOST_TEST(!a->flush());
  c->update("0", {50, 5});
  err = c->flush();
  BOOST_TEST(err.message().find("HTTP 412 ConditionNotMet") != std::string::npos, err.message());
  BOOST_TEST(err.message().find("ownership lost") != std::string::npos, err.message());
  // Other partitions of the loser still work.
  c->update("1", {7, 7});
  err = c->flush();  // reports partition 0 again, writes partition 1
  BOOST_TEST(bool(err));
  BOOST_TEST(open(o)->get("1")->offset == 7);
  BOOST_TEST(open(o)->get("0")->sequence_number == 4);
}

BOOST_AUTO_TEST_CASE(wrong_key_is_a_clear_403) {
  auto o = options(container("badkey"));
  o.connection_string = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" +
                        iomt::transport::http::base64_encode("not-the-key") +
                        ";BlobEndpoint=http://127.0.0.1:" + std::to_string(http_port) + "/devstoreaccount1";
  (void)plain();
  auto [s, err] = eh::blob_checkpoint_store::open(o, "ns", "hub", "$Default");
  BOOST_TEST(!s);
  BOOST_TEST((err.code == ta::errc::authentication_failed));
  BOOST_TEST(err.message().find("authentication failed: listing 'ns/hub/$default/checkpoint/' in container '" +
                                o.container + "' at http://127.0.0.1:10091/devstoreaccount1: HTTP 403") == 0,
             err.message());
  BOOST_TEST(err.message().find("check the account key") != std::string::npos, err.message());
}

BOOST_AUTO_TEST_CASE(https_with_certificate_verification) {
  auto o = options(container("tls"), secure());
  BOOST_TEST(o.connection_string.find("BlobEndpoint=https://127.0.0.1:10092/") != std::string::npos);
  auto s = open(o);
  s->update("2", {5, 5});
  BOOST_TEST(!s->flush());
  BOOST_TEST(open(o)->get("2")->offset == 5);
  // Without the test CA: the system trust store does not know it.
  o.http.ca_file.clear();
  auto [bad, err] = eh::blob_checkpoint_store::open(o, "ns", "hub", "$Default");
  BOOST_TEST(!bad);
  BOOST_TEST((err.code == ta::errc::certificate_verify_failed), err.message());
  BOOST_TEST(err.message().find("https://127.0.0.1:10092/devstoreaccount1") != std::string::npos, err.message());
}

BOOST_AUTO_TEST_CASE(account_sas_instead_of_a_key) {
  (void)plain();
  // An account SAS (version 2020-12-06+ string-to-sign), made here with the development key.
  const std::string sv = "2021-12-02", ss = "b", srt = "sco", sp = "rwlc", se = "2099-01-01T00:00:00Z",
                    spr = "http,https";
  const std::string sts =
      "devstoreaccount1\n" + sp + "\n" + ss + "\n" + srt + "\n\n" + se + "\n\n" + spr + "\n" + sv + "\n\n";
  namespace h = iomt::transport::http;
  const std::string sig = h::base64_encode(h::hmac_sha256(*h::base64_decode(blob::dev_key), sts));
  const std::string sas = "sv=" + sv + "&ss=" + ss + "&srt=" + srt + "&sp=" + sp + "&se=" + h::url_encode(se) +
                          "&spr=" + h::url_encode(spr) + "&sig=" + h::url_encode(sig);
  auto o = options(container("sas"));
  o.connection_string =
      "http://127.0.0.1:" + std::to_string(http_port) + "/devstoreaccount1/" + o.container + "?" + sas;
  auto s = open(o);
  s->update("0", {77, 7});
  BOOST_TEST(!s->flush());
  BOOST_TEST(open(o)->get("0")->offset == 77);
  // A SAS with a wrong signature: 403.
  o.connection_string = "http://127.0.0.1:" + std::to_string(http_port) + "/devstoreaccount1/" + o.container + "?" +
                        sas.substr(0, sas.find("&sig=")) + "&sig=AAAA";
  auto [bad, err] = eh::blob_checkpoint_store::open(o, "ns", "hub", "$Default");
  BOOST_TEST(!bad);
  BOOST_TEST((err.code == ta::errc::authentication_failed), err.message());
}

BOOST_AUTO_TEST_CASE(a_silent_server_times_out_instead_of_hanging) {
  // A listening socket nobody accepts on: TCP connects (backlog), no HTTP answer ever comes.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acc(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = acc.local_endpoint().port();
  eh::blob_store_options o;
  o.connection_string =
      "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + std::string(blob::dev_key) +
      ";BlobEndpoint=http://127.0.0.1:" + std::to_string(port) + "/devstoreaccount1";
  o.container = "silent";
  o.http.request_timeout = 800ms;
  const auto t0 = std::chrono::steady_clock::now();
  auto [s, err] = eh::blob_checkpoint_store::open(o, "ns", "hub", "$Default");
  const auto took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST(!s);
  BOOST_TEST((err.code == ta::errc::timeout), err.message());
  BOOST_TEST(err.message().find("no answer within 800 ms") != std::string::npos, err.message());
  BOOST_TEST(took < 5s);
}

// ---- the Event Hubs source resuming from blob checkpoints ---------------------------------------

namespace {

eh_emulator& the_emulator() {
  static eh_emulator e(eh_port, 0);
  return e;
}

void send_events(const std::string& run, int first, int n) { the_emulator().send_events(run, first, n); }

}  // namespace

BOOST_AUTO_TEST_CASE(eventhubs_source_resumes_from_blob_checkpoints) {
  const std::string run = "blob-" + std::to_string(::getpid());
  auto& e = the_emulator();
  eh::eventhubs_source_options so;
  so.connection_string = e.connection_string;
  so.tls.ca_file = e.ca;
  so.checkpoint_store_kind = eh::checkpoint_kind::blob;
  so.checkpoint_blob = options(container("eventhubs"));
  so.checkpoint_interval = 200ms;
  so.reconnect_initial = 50ms;
  so.reconnect_max = 1s;
  so.drain_timeout = 5s;
  // The emulator's log outlives a test run only in memory: start after whatever is there now by
  // draining once (earliest) before sending.
  {
    async_sink sink(0ms);
    eh::eventhubs_source src(so, sink);
    src.start();
    BOOST_REQUIRE(wait_for([&] { return src.ready(); }, 20s));
    std::this_thread::sleep_for(500ms);
    src.stop();
  }
  send_events(run, 0, 40);
  {
    async_sink sink(20ms);
    eh::eventhubs_source src(so, sink);
    src.start();
    BOOST_REQUIRE(wait_for([&] { return count_run(sink, run) == 40; }, 30s));
    BOOST_REQUIRE(wait_for([&] { return sink.completed() == sink.total_ids(); }, 10s));
    src.stop();  // final checkpoints, to the blobs
  }
  // The SDK layout: one blob per partition with offset and sequencenumber.
  auto reader = open(so.checkpoint_blob, "localhost", "devicedata");
  for (const char* p : {"0", "1", "2", "3"}) {
    auto c = reader->get(p);
    BOOST_TEST_REQUIRE(c.has_value(), "partition " << p);
    BOOST_TEST(c->sequence_number >= 9);
    const auto h = head(so.checkpoint_blob, so.checkpoint_blob.container,
                        std::string("localhost/devicedata/$default/checkpoint/") + p);
    BOOST_TEST(h.offset == std::to_string(c->offset));
  }
  send_events(run, 40, 10);
  async_sink sink(0ms);
  eh::eventhubs_source src(so, sink);
  src.start();
  BOOST_REQUIRE(wait_for([&] { return count_run(sink, run) == 10; }, 30s));
  std::this_thread::sleep_for(500ms);
  for (const auto& id : sink.unique_ids()) BOOST_TEST(id.substr(id.rfind('-') + 1).size() >= 2, id);
  BOOST_TEST(sink.total_ids() == 10u);
  src.stop();
}
