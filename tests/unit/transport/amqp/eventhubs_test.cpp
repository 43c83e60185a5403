// Event Hubs pieces (transport/amqp/eventhubs/): connection strings, partition ownership, start
// selectors, the checkpoint file, and the whole handler (CBS put-token, $management discovery,
// partition receivers with offset filters, token refresh, checkpoints) against the in-memory broker
// playing the Event Hubs nodes.
#define BOOST_TEST_MODULE transport_amqp_eventhubs
#include <boost/test/unit_test.hpp>

#include "transport/amqp/eventhubs/connection_string.hpp"
#include "transport/amqp/eventhubs/eventhubs_handler.hpp"
#include "transport/amqp/source_metrics.hpp"

#include <prometheus/text_serializer.h>
#include "transport/http/sas.hpp"
#include "unit/transport/amqp/fake_broker.hpp"

#include <filesystem>
#include <fstream>
#include <ostream>

namespace iomt::transport::amqp {
std::ostream& operator<<(std::ostream& os, errc e) { return os << to_string(e); }
}  // namespace iomt::transport::amqp

using namespace iomt::transport;
using namespace iomt::transport::amqp;
using namespace iomt::transport::amqp::eventhubs;
using iomt::test::amqp::fake_broker;
using iomt::test::amqp::message_builder;

namespace {

// The families as /metrics shows them (prometheus-cpp's serializer).
std::string metrics_text(const std::vector<std::pair<std::string_view, iomt::transport::amqp::source_stats>>& sources) {
  return prometheus::TextSerializer().Serialize(iomt::transport::amqp::source_families(sources));
}

std::string_view view(pn_bytes_t b) { return {b.start ? b.start : "", b.size}; }

// The Event Hubs nodes on top of the fake broker: $cbs and $management answer requests,
// partition receivers' filters are recorded.
struct eventhubs_nodes {
  std::vector<std::string> partitions{"0", "1", "2", "3"};
  int cbs_status = 200;
  std::vector<std::string> tokens;               // put-token bodies
  std::vector<std::string> token_names;          // put-token "name"
  std::map<std::string, std::string> selectors;  // address -> selector
  std::map<std::string, std::int64_t> epochs;
  std::map<std::string, pn_link_t*> reply_links;  // node -> server sender link
  // READ com.microsoft:partition: last enqueued sequence number per partition (absent: -1, empty).
  std::map<std::string, std::int64_t> last_enqueued;
  std::int64_t begin_sequence_number = 0;
  int partition_status = 200;
  bool answer_partitions = true;             // false: swallow the READ (no answer)
  std::vector<std::string> partition_reads;  // partition ids asked for, in order
  std::vector<std::string> partition_tokens;
  pn_message_t* msg = pn_message();
  ~eventhubs_nodes() { pn_message_free(msg); }

  static std::string prop(pn_message_t* m, const std::string& key) {
    pn_data_t* p = pn_message_properties(m);
    pn_data_rewind(p);
    if (!pn_data_next(p) || !pn_data_enter(p)) return {};
    std::string out;
    while (pn_data_next(p)) {
      std::string k(view(pn_data_get_string(p)));
      pn_data_next(p);
      if (k == key && pn_data_type(p) == PN_STRING) out = view(pn_data_get_string(p));
    }
    pn_data_exit(p);
    return out;
  }

  void reply(const std::string& node, std::uint64_t id, int status, const std::vector<std::string>* ids) {
    pn_message_t* r = pn_message();
    pn_data_put_ulong(pn_message_correlation_id(r), id);
    pn_data_t* p = pn_message_properties(r);
    pn_data_put_map(p);
    pn_data_enter(p);
    pn_data_put_string(p, pn_bytes(11, "status-code"));
    pn_data_put_int(p, status);
    pn_data_put_string(p, pn_bytes(18, "status-description"));
    const std::string desc = status == 200 ? "OK" : "InvalidSignature: The token has an invalid signature.";
    pn_data_put_string(p, pn_bytes(desc.size(), desc.data()));
    pn_data_exit(p);
    if (ids) {
      pn_data_t* b = pn_message_body(r);
      pn_data_put_map(b);
      pn_data_enter(b);
      pn_data_put_string(b, pn_bytes(13, "partition_ids"));
      pn_data_put_array(b, false, PN_STRING);
      pn_data_enter(b);
      for (const auto& i : *ids) pn_data_put_string(b, pn_bytes(i.size(), i.data()));
      pn_data_exit(b);
      pn_data_put_string(b, pn_bytes(15, "partition_count"));
      pn_data_put_int(b, static_cast<int>(ids->size()));
      pn_data_exit(b);
    }
    std::string buf(4096, '\0');
    std::size_t size = buf.size();
    pn_message_encode(r, buf.data(), &size);
    pn_message_free(r);
    pn_link_t* l = reply_links[node];
    BOOST_REQUIRE(l);
    pn_delivery_t* d = pn_delivery(l, pn_dtag("r", 1));
    pn_link_send(l, buf.data(), size);
    pn_link_advance(l);
    pn_delivery_settle(d);
  }

  void reply_partition(std::uint64_t id, const std::string& partition) {
    pn_message_t* r = pn_message();
    pn_data_put_ulong(pn_message_correlation_id(r), id);
    pn_data_t* p = pn_message_properties(r);
    pn_data_put_map(p);
    pn_data_enter(p);
    pn_data_put_string(p, pn_bytes(11, "status-code"));
    pn_data_put_int(p, partition_status);
    pn_data_put_string(p, pn_bytes(18, "status-description"));
    const std::string desc = partition_status == 200 ? "OK" : "InternalServerError: try again later.";
    pn_data_put_string(p, pn_bytes(desc.size(), desc.data()));
    pn_data_exit(p);
    if (partition_status == 200) {  // the fields Event Hubs answers with
      const auto it = last_enqueued.find(partition);
      const std::int64_t last = it == last_enqueued.end() ? -1 : it->second;
      pn_data_t* b = pn_message_body(r);
      pn_data_put_map(b);
      pn_data_enter(b);
      auto key = [&](std::string_view k) { pn_data_put_string(b, pn_bytes(k.size(), k.data())); };
      key("name");
      pn_data_put_string(b, pn_bytes(10, "devicedata"));
      key("partition");
      pn_data_put_string(b, pn_bytes(partition.size(), partition.data()));
      key("begin_sequence_number");
      pn_data_put_long(b, begin_sequence_number);
      key("last_enqueued_sequence_number");
      pn_data_put_long(b, last);
      key("last_enqueued_offset");
      const std::string offset = std::to_string(last * 100);
      pn_data_put_string(b, pn_bytes(offset.size(), offset.data()));
      key("last_enqueued_time_utc");
      pn_data_put_timestamp(b, 1714557600000 + last);
      key("is_partition_empty");
      pn_data_put_bool(b, last < begin_sequence_number);
      pn_data_exit(b);
    }
    std::string buf(4096, '\0');
    std::size_t size = buf.size();
    pn_message_encode(r, buf.data(), &size);
    pn_message_free(r);
    pn_link_t* l = reply_links["$management"];
    BOOST_REQUIRE(l);
    pn_delivery_t* d = pn_delivery(l, pn_dtag("p", 1));
    pn_link_send(l, buf.data(), size);
    pn_link_advance(l);
    pn_delivery_settle(d);
  }

  bool handle(pn_event_t* e) {
    switch (pn_event_type(e)) {
      case PN_LINK_REMOTE_OPEN: {
        pn_link_t* l = pn_event_link(e);
        const char* src = pn_terminus_get_address(pn_link_remote_source(l));
        const char* tgt = pn_terminus_get_address(pn_link_remote_target(l));
        const std::string node = pn_link_is_sender(l) ? (src ? src : "") : (tgt ? tgt : "");
        if (node == "$cbs" || node == "$management") {
          pn_terminus_copy(pn_link_source(l), pn_link_remote_source(l));
          pn_terminus_copy(pn_link_target(l), pn_link_remote_target(l));
          pn_link_open(l);
          if (pn_link_is_sender(l))
            reply_links[node] = l;
          else
            pn_link_flow(l, 10);
          return true;
        }
        if (pn_link_is_sender(l) && src) {  // a partition receiver: record its filter and epoch
          pn_data_t* f = pn_terminus_filter(pn_link_remote_source(l));
          pn_data_rewind(f);
          if (pn_data_next(f) && pn_data_enter(f)) {
            while (pn_data_next(f)) {
              pn_data_next(f);  // the described value
              if (pn_data_type(f) == PN_DESCRIBED && pn_data_enter(f)) {
                pn_data_next(f);
                pn_data_next(f);
                selectors[src] = view(pn_data_get_string(f));
                pn_data_exit(f);
              }
            }
          }
          pn_data_t* props = pn_link_remote_properties(l);  // null without an epoch
          if (props) pn_data_rewind(props);
          if (props && pn_data_next(props) && pn_data_enter(props)) {
            while (pn_data_next(props)) {
              std::string k(view(pn_data_get_symbol(props)));
              pn_data_next(props);
              if (k == "com.microsoft:epoch") epochs[src] = pn_data_get_long(props);
            }
          }
        }
        return false;
      }
      case PN_DELIVERY: {
        pn_delivery_t* d = pn_event_delivery(e);
        pn_link_t* l = pn_delivery_link(d);
        if (pn_link_is_sender(l)) return false;
        const char* tgt = pn_terminus_get_address(pn_link_remote_target(l));
        const std::string node = tgt ? tgt : "";
        if (node != "$cbs" && node != "$management") return false;
        if (!pn_delivery_readable(d) || pn_delivery_partial(d)) return true;
        std::string buf(pn_delivery_pending(d), '\0');
        pn_link_recv(l, buf.data(), buf.size());
        pn_link_advance(l);
        pn_delivery_settle(d);
        pn_link_flow(l, 1);
        pn_message_clear(msg);
        BOOST_REQUIRE_EQUAL(pn_message_decode(msg, buf.data(), buf.size()), 0);
        pn_data_t* id = pn_message_id(msg);
        pn_data_rewind(id);
        pn_data_next(id);
        const std::uint64_t mid = pn_data_get_ulong(id);
        if (node == "$cbs") {
          BOOST_TEST(prop(msg, "operation") == "put-token");
          BOOST_TEST(prop(msg, "type") == "servicebus.windows.net:sastoken");
          token_names.push_back(prop(msg, "name"));
          pn_data_t* b = pn_message_body(msg);
          pn_data_rewind(b);
          pn_data_next(b);
          tokens.emplace_back(view(pn_data_get_string(b)));
          reply(node, mid, cbs_status, nullptr);
        } else if (prop(msg, "type") == "com.microsoft:partition") {
          BOOST_TEST(prop(msg, "operation") == "READ");
          BOOST_TEST(prop(msg, "name") == "devicedata");
          partition_reads.push_back(prop(msg, "partition"));
          partition_tokens.push_back(prop(msg, "security_token"));
          if (answer_partitions) reply_partition(mid, prop(msg, "partition"));
        } else {
          BOOST_TEST(prop(msg, "operation") == "READ");
          BOOST_TEST(prop(msg, "type") == "com.microsoft:eventhub");
          BOOST_TEST(prop(msg, "name") == "devicedata");
          BOOST_TEST(prop(msg, "security_token").rfind("SharedAccessSignature ", 0) == 0);
          reply(node, mid, 200, &partitions);
        }
        return true;
      }
      default:
        return false;
    }
  }
};

class null_sink final : public event_sink {
public:
  std::vector<completion> pending;
  std::size_t events = 0;
  submit_status submit(std::vector<event>&& evs, completion done) override {
    events += evs.size();
    pending.push_back(std::move(done));
    return submit_status::accepted;
  }
  void complete_all() {
    for (auto& d : pending) {
      outcome o;
      if (d) d(o);
    }
    pending.clear();
  }
};

const char* conn_string =
    "Endpoint=sb://iomt-ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=c2VjcmV0a2V5;"
    "EntityPath=devicedata";

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    path = std::filesystem::temp_directory_path() / ("iomt-eh-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

void add_events(fake_broker& b, const std::string& partition, int first, int count) {
  for (int i = first; i < first + count; ++i) {
    message_builder m;
    m.body = R"({"i":)" + std::to_string(i) + "}";
    m.sequence_number = i;
    m.offset = std::to_string(i * 100);
    m.enqueued_ms = 1714557600000 + i;
    b.queues["devicedata/ConsumerGroups/$Default/Partitions/" + partition].push_back(m.encode());
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(connection_strings) {
  auto cs = parse_connection_string(conn_string);
  BOOST_REQUIRE(cs);
  BOOST_TEST(cs->host == "iomt-ns.servicebus.windows.net");
  BOOST_TEST(cs->port == "5671");
  BOOST_TEST(cs->tls);
  BOOST_TEST(cs->key_name == "listen");
  BOOST_TEST(cs->key == "c2VjcmV0a2V5");
  BOOST_TEST(cs->entity_path == "devicedata");

  auto emu = parse_connection_string(
      "endpoint=sb://localhost:5680;sharedaccesskeyname=k;sharedaccesskey=v=;UseDevelopmentEmulator=true;");
  BOOST_REQUIRE(emu);
  BOOST_TEST(emu->host == "localhost");
  BOOST_TEST(emu->port == "5680");
  BOOST_TEST(!emu->tls);
  BOOST_TEST(emu->key == "v=");

  auto sas =
      parse_connection_string("Endpoint=sb://a.b/;SharedAccessSignature=SharedAccessSignature sr=x&sig=y&se=1&skn=k");
  BOOST_REQUIRE(sas);
  BOOST_TEST(sas->shared_access_signature == "SharedAccessSignature sr=x&sig=y&se=1&skn=k");

  BOOST_TEST(!parse_connection_string("SharedAccessKeyName=a;SharedAccessKey=b"));
  BOOST_TEST(!parse_connection_string("Endpoint=sb://a/;SharedAccessKey=b"));
  BOOST_TEST(!parse_connection_string("Endpoint=sb://a:x/;SharedAccessKeyName=a;SharedAccessKey=b"));
  BOOST_TEST(!parse_connection_string("garbage"));
  auto e = parse_connection_string("Endpoint=sb://a/;SharedAccessKeyName=a");
  BOOST_REQUIRE(!e);
  BOOST_TEST(e.error().message() == "bad configuration: Event Hubs connection string: SharedAccessKey is missing");
}

BOOST_AUTO_TEST_CASE(static_partition_ownership) {
  const std::vector<std::string> all{"0", "1", "2", "3", "4"};
  BOOST_TEST(owned_partitions(all, {}) == all);
  BOOST_TEST((owned_partitions(all, {{}, 1, 2, 0, 1}) == std::vector<std::string>{"1", "3"}));
  BOOST_TEST((owned_partitions(all, {{}, 0, 2, 0, 1}) == std::vector<std::string>{"0", "2", "4"}));
  BOOST_TEST((owned_partitions(all, {{"4", "1", "9"}, 0, 1, 0, 1}) == std::vector<std::string>{"1", "4"}));
  // Spread over two connections.
  BOOST_TEST((owned_partitions(all, {{}, 0, 1, 1, 2}) == std::vector<std::string>{"1", "3"}));
}

BOOST_AUTO_TEST_CASE(dynamic_ownership_discovery_connection) {
  // Dynamic ownership: a discovery-only connection owns nothing, reports the partition ids, and is
  // ready without receivers; a partition's own connection reads exactly that partition.
  const std::vector<std::string> all{"0", "1", "2"};
  ownership discover;
  discover.discover_only = true;
  BOOST_TEST(owned_partitions(all, discover).empty());
  ownership one;
  one.partitions = {"2"};
  BOOST_TEST((owned_partitions(all, one) == std::vector<std::string>{"2"}));

  temp_dir dir;
  auto [store, err] = file_checkpoint_store::open(dir.path.string() + "/cp.json", "iomt-ns.servicebus.windows.net",
                                                  "devicedata", "$Default");
  BOOST_REQUIRE(store);
  handler_options ho;
  ho.account = *parse_connection_string(conn_string);
  ho.owner = discover;
  std::vector<std::string> discovered;
  ho.on_discovered = [&](const std::vector<std::string>& ids) { discovered = ids; };
  null_sink sink;
  consumer c(consumer_options{}, sink);
  eventhubs_handler h(ho, c, *store, {}, [] { return std::int64_t{1714557600}; });
  eventhubs_nodes nodes;
  fake_broker broker;
  broker.extra = [&](pn_event_t* ev) { return nodes.handle(ev); };
  engine e(engine_options{});
  h.on_open(e);
  iomt::test::amqp::run(e, c, broker, [&](pn_event_t* ev) { h.on_event(ev); });
  BOOST_TEST(!h.failure(), h.failure().message());
  BOOST_TEST((discovered == std::vector<std::string>{"0", "1", "2", "3"}));
  BOOST_TEST(h.owned().empty());
  BOOST_TEST(c.link_count() == 0u);
  BOOST_TEST(h.ready());
  h.on_closed();
  c.end();
}

BOOST_AUTO_TEST_CASE(dynamic_ownership_metrics) {
  // Every partition of the hub has an owned sample (0 for the ones another processor reads), and
  // each ownership action its counter.
  iomt::transport::amqp::source_stats st;
  st.dynamic_ownership = true;
  st.hub_partitions = {"0", "1", "2"};
  st.partitions.push_back({});
  st.partitions.back().id = "1";
  st.ownership_claims = 2;
  st.ownership_renewals = 40;
  st.ownership_steals = 1;
  st.ownership_releases = 3;
  st.ownership_lost = 1;
  st.ownership_conflicts = 4;
  st.ownership_failures = 5;
  st.processors = 3;
  const std::string text = metrics_text({{"eventhubs", st}});
  for (const char* line : {"iomtflow_eventhubs_partition_owned{source=\"eventhubs\",partition=\"0\"} 0",
                           "iomtflow_eventhubs_partition_owned{source=\"eventhubs\",partition=\"1\"} 1",
                           "iomtflow_eventhubs_partition_owned{source=\"eventhubs\",partition=\"2\"} 0",
                           "iomtflow_eventhubs_ownership_total{source=\"eventhubs\",action=\"claim\"} 2",
                           "iomtflow_eventhubs_ownership_total{source=\"eventhubs\",action=\"renew\"} 40",
                           "iomtflow_eventhubs_ownership_total{source=\"eventhubs\",action=\"steal\"} 1",
                           "iomtflow_eventhubs_ownership_total{source=\"eventhubs\",action=\"release\"} 3",
                           "iomtflow_eventhubs_ownership_total{source=\"eventhubs\",action=\"lost\"} 1",
                           "iomtflow_eventhubs_ownership_total{source=\"eventhubs\",action=\"conflict\"} 4",
                           "iomtflow_eventhubs_ownership_failures_total{source=\"eventhubs\"} 5",
                           "iomtflow_eventhubs_processors{source=\"eventhubs\"} 3"})
    BOOST_TEST(text.find(line) != std::string::npos, line);
  // Static ownership: no ownership families.
  st.dynamic_ownership = false;
  BOOST_TEST(metrics_text({{"eventhubs", st}}).find("iomtflow_eventhubs_ownership_total") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(start_selectors) {
  BOOST_TEST(start_selector(std::nullopt, "earliest") == "amqp.annotation.x-opt-offset > '-1'");
  BOOST_TEST(start_selector(std::nullopt, "latest") == "amqp.annotation.x-opt-offset > '@latest'");
  BOOST_TEST(start_selector(std::nullopt, "2024-05-01T10:00:00Z") ==
             "amqp.annotation.x-opt-enqueued-time > '1714557600000'");
  BOOST_TEST(start_selector(checkpoint{8192, 42}, "latest") == "amqp.annotation.x-opt-offset > '8192'");
  BOOST_TEST(start_selector(checkpoint{-1, 42}, "latest") == "amqp.annotation.x-opt-sequence-number > 42");
}

BOOST_AUTO_TEST_CASE(checkpoint_file_round_trip) {
  temp_dir dir;
  const std::string path = checkpoint_file(dir.path.string(), "ns.example", "hub", "$Default");
  BOOST_TEST(path.find("ns.example_hub_$Default.json") != std::string::npos);
  {
    auto [store, err] = file_checkpoint_store::open(path, "ns.example", "hub", "$Default");
    BOOST_REQUIRE(store);
    BOOST_TEST(!store->get("0"));
    store->update("0", {1200, 12});
    store->update("0", {1100, 11});  // never backwards
    store->update("3", {5, 1});
    BOOST_TEST(!store->flush());
  }
  auto [store, err] = file_checkpoint_store::open(path, "ns.example", "hub", "$Default");
  BOOST_REQUIRE(store);
  BOOST_TEST(store->get("0")->offset == 1200);
  BOOST_TEST(store->get("0")->sequence_number == 12);
  BOOST_TEST(store->get("3")->offset == 5);
  // Another hub's file is refused rather than silently reused.
  auto [other, oerr] = file_checkpoint_store::open(path, "ns.example", "otherhub", "$Default");
  BOOST_TEST(!other);
  BOOST_TEST(oerr.message().find("belongs to event hub 'hub'") != std::string::npos);
  // A damaged file is an error, not a crash.
  std::ofstream(path) << "{not json";
  auto [bad, berr] = file_checkpoint_store::open(path, "ns.example", "hub", "$Default");
  BOOST_TEST(!bad);
  BOOST_TEST(berr.code == errc::bad_configuration);
}

BOOST_AUTO_TEST_CASE(authorizes_discovers_receives_and_checkpoints) {
  temp_dir dir;
  const std::string path =
      checkpoint_file(dir.path.string(), "iomt-ns.servicebus.windows.net", "devicedata", "$Default");
  auto [store, err] = file_checkpoint_store::open(path, "iomt-ns.servicebus.windows.net", "devicedata", "$Default");
  BOOST_REQUIRE(store);

  handler_options ho;
  ho.account = *parse_connection_string(conn_string);
  ho.owner = {{}, 1, 2, 0, 1};  // replica 1 of 2: partitions 1 and 3
  ho.epoch = 7;
  ho.token_lifetime = std::chrono::seconds(3600);
  null_sink sink;
  consumer c(consumer_options{}, sink);
  std::int64_t unix_now = 1714557600;
  eventhubs_handler h(ho, c, *store, {}, [&] { return unix_now; });

  eventhubs_nodes nodes;
  auto run_once = [&](fake_broker& b, engine& e) {
    b.extra = [&](pn_event_t* ev) { return nodes.handle(ev); };
    iomt::test::amqp::run(e, c, b, [&](pn_event_t* ev) { h.on_event(ev); });
  };
  {
    fake_broker broker;
    add_events(broker, "1", 0, 3);
    add_events(broker, "3", 0, 2);
    add_events(broker, "0", 0, 5);  // not ours
    engine e(engine_options{});
    h.on_open(e);
    run_once(broker, e);
    BOOST_TEST(!h.failure(), h.failure().message());
    BOOST_TEST(h.ready());
    BOOST_TEST((h.partitions() == std::vector<std::string>{"0", "1", "2", "3"}));
    BOOST_TEST((h.owned() == std::vector<std::string>{"1", "3"}));
    BOOST_REQUIRE(nodes.tokens.size() == 1u);
    BOOST_TEST(nodes.token_names[0] == "sb://iomt-ns.servicebus.windows.net/devicedata");
    // The token verifies with the key, for the hub's resource, until now + lifetime.
    http::sas_verifier v({{{"listen", "c2VjcmV0a2V5"}}, {}});
    auto t = v.verify(nodes.tokens[0], "devicedata/ConsumerGroups/$Default/Partitions/1", unix_now);
    BOOST_TEST(static_cast<bool>(t));
    if (t) BOOST_TEST(t->expiry == unix_now + 3600);
    BOOST_TEST(nodes.selectors["devicedata/ConsumerGroups/$Default/Partitions/1"] ==
               "amqp.annotation.x-opt-offset > '-1'");
    BOOST_TEST(nodes.epochs["devicedata/ConsumerGroups/$Default/Partitions/3"] == 7);
    BOOST_TEST(sink.events == 5u);

    // Completion -> progress -> checkpoint file.
    sink.complete_all();
    c.drain_completions();
    run_once(broker, e);
    h.flush_checkpoints();
    BOOST_TEST(store->get("1")->offset == 200);
    BOOST_TEST(store->get("3")->sequence_number == 1);

    // Token refresh at 80% of the lifetime.
    unix_now += 2900;
    h.on_timer(std::chrono::steady_clock::now() + std::chrono::minutes(49));
    run_once(broker, e);
    BOOST_TEST(nodes.tokens.size() == 2u);
    BOOST_TEST(h.tokens_issued() == 2u);
    BOOST_TEST(!h.failure());

    h.on_closed();
    c.end();
  }
  // A new connection resumes after the checkpoints.
  {
    fake_broker broker;
    add_events(broker, "1", 3, 2);
    engine e(engine_options{});
    h.on_open(e);
    run_once(broker, e);
    BOOST_TEST(h.ready());
    BOOST_TEST(nodes.selectors["devicedata/ConsumerGroups/$Default/Partitions/1"] ==
               "amqp.annotation.x-opt-offset > '200'");
    BOOST_TEST(nodes.selectors["devicedata/ConsumerGroups/$Default/Partitions/3"] ==
               "amqp.annotation.x-opt-offset > '100'");
    h.on_closed();
    c.end();
  }
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  BOOST_TEST(text.find(R"("1":{"offset":"200","sequence_number":2})") != std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(refused_token_is_a_clear_error) {
  temp_dir dir;
  auto [store, err] = file_checkpoint_store::open((dir.path / "c.json").string(), "n", "devicedata", "$Default");
  handler_options ho;
  ho.account = *parse_connection_string(conn_string);
  null_sink sink;
  consumer c(consumer_options{}, sink);
  eventhubs_handler h(ho, c, *store, {});
  eventhubs_nodes nodes;
  nodes.cbs_status = 401;
  fake_broker broker;
  broker.extra = [&](pn_event_t* ev) { return nodes.handle(ev); };
  engine e(engine_options{});
  h.on_open(e);
  iomt::test::amqp::run(e, c, broker, [&](pn_event_t* ev) { h.on_event(ev); });
  BOOST_TEST(h.failure().code == errc::cbs_error);
  BOOST_TEST(h.failure().message() ==
             "CBS authorization failed: put-token for sb://iomt-ns.servicebus.windows.net/devicedata answered 401: "
             "InvalidSignature: The token has an invalid signature.");
  BOOST_TEST(!h.ready());
  BOOST_TEST(e.finished());
}

BOOST_AUTO_TEST_CASE(lag_base_and_events) {
  // A completed event (or checkpoint) is the base; events before begin are gone (retention).
  BOOST_TEST(lag_base(41, true, 0, -1) == 41);
  BOOST_TEST(lag_base(41, false, 100, -1) == 99);
  // Nothing completed: from the earliest, everything retained is owed; from latest/a time, the
  // first answer's last enqueued sequence number.
  BOOST_TEST(lag_base(-1, true, 10, -1) == 9);
  BOOST_TEST(lag_base(-1, false, 10, 57) == 57);
  BOOST_TEST(lag_events(60, 57) == 3u);
  BOOST_TEST(lag_events(-1, -1) == 0u);  // empty partition
  BOOST_TEST(lag_events(50, 57) == 0u);  // completed past a stale answer: never negative
}

namespace {

// Records each event's partition and i (bodies {"p":"N","i":I}) and completes on demand.
class lag_sink final : public event_sink {
public:
  struct item {
    std::string partition;
    int i;
    completion done;
  };
  std::vector<item> items;
  submit_status submit(std::vector<event>&& evs, completion done) override {
    BOOST_REQUIRE_EQUAL(evs.size(), 1u);  // max_batch_events = 1
    const auto& b = evs[0].body;
    const auto p = b.find(R"("p":")") + 5;
    const auto ip = b.find(R"("i":)") + 4;
    items.push_back({b.substr(p, b.find('"', p) - p), std::stoi(b.substr(ip)), std::move(done)});
    return submit_status::accepted;
  }
  // Completes the events of `partition` with i < `below` (all partitions when empty).
  void complete(const std::string& partition, int below) {
    for (auto& it : items)
      if ((partition.empty() || it.partition == partition) && it.i < below && it.done) {
        outcome o;
        o.events = 1;
        auto d = std::move(it.done);
        it.done = nullptr;
        d(o);
      }
  }
};

void add_lag_events(fake_broker& b, eventhubs_nodes& nodes, const std::string& partition, int first, int count) {
  for (int i = first; i < first + count; ++i) {
    message_builder m;
    m.body = R"({"p":")" + partition + R"(","i":)" + std::to_string(i) + "}";
    m.sequence_number = i;
    m.offset = std::to_string(i * 100);
    b.queues["devicedata/ConsumerGroups/$Default/Partitions/" + partition].push_back(m.encode());
  }
  nodes.last_enqueued[partition] = first + count - 1;
}

}  // namespace

BOOST_AUTO_TEST_CASE(partition_lag_from_management_reads) {
  temp_dir dir;
  auto [store, err] = file_checkpoint_store::open((dir.path / "lag.json").string(), "n", "devicedata", "$Default");
  BOOST_REQUIRE(store);
  handler_options ho;
  ho.account = *parse_connection_string(conn_string);
  ho.owner = {{}, 1, 2, 0, 1};  // partitions 1 and 3
  ho.lag_interval = std::chrono::seconds(30);
  ho.request_timeout = std::chrono::seconds(10);
  consumer_options co;
  co.max_batch_events = 1;
  lag_sink sink;
  consumer c(co, sink);
  std::vector<std::string> logs;
  eventhubs_handler h(ho, c, *store, [&](int, const std::string& m, const std::string&) { logs.push_back(m); });
  eventhubs_nodes nodes;
  fake_broker broker;
  broker.extra = [&](pn_event_t* ev) { return nodes.handle(ev); };
  engine e(engine_options{});
  auto run = [&] { iomt::test::amqp::run(e, c, broker, [&](pn_event_t* ev) { h.on_event(ev); }); };
  auto snapshot = [&] {
    std::vector<partition_stats> out;
    h.partition_snapshot(out);
    return out;
  };
  add_lag_events(broker, nodes, "1", 0, 5);  // sequence numbers 0..4
  add_lag_events(broker, nodes, "3", 0, 2);  // 0..1
  h.on_open(e);
  run();
  BOOST_REQUIRE(h.ready());
  BOOST_TEST(sink.items.size() == 7u);
  // Owned before any READ: the lag is not known yet (no sample).
  auto ps = snapshot();
  BOOST_REQUIRE_EQUAL(ps.size(), 2u);
  BOOST_TEST(ps[0].id == "1");
  BOOST_TEST(ps[1].id == "3");
  BOOST_TEST(!ps[0].lag_known);
  BOOST_TEST(nodes.partition_reads.empty());

  // First round right after the receivers attached: one READ per owned partition, with the token.
  const auto t0 = std::chrono::steady_clock::now();
  h.on_timer(t0);
  run();
  BOOST_TEST((nodes.partition_reads == std::vector<std::string>{"1", "3"}));
  BOOST_TEST(nodes.partition_tokens[0].rfind("SharedAccessSignature ", 0) == 0);
  ps = snapshot();
  BOOST_TEST(ps[0].lag_known);
  BOOST_TEST(ps[0].last_enqueued_sequence_number == 4);
  BOOST_TEST(ps[0].last_enqueued_time_ms == 1714557600004);
  BOOST_TEST(ps[0].lag == 5u);  // nothing completed, start earliest: all of 0..4
  BOOST_TEST(ps[1].lag == 2u);

  // Received is not completed: completing 0..2 of partition 1 moves its lag at once.
  sink.complete("1", 3);
  c.drain_completions();
  run();
  ps = snapshot();
  BOOST_TEST(ps[0].completed_sequence_number == 2);
  BOOST_TEST(ps[0].lag == 2u);
  BOOST_TEST(ps[1].lag == 2u);
  h.on_timer(t0 + std::chrono::seconds(1));  // not due again yet
  run();
  BOOST_TEST(nodes.partition_reads.size() == 2u);

  // The metric text.
  source_stats st;
  h.partition_snapshot(st.partitions);
  const std::string text = metrics_text({{"eventhubs", st}});
  BOOST_TEST(text.find("# TYPE iomtflow_eventhubs_partition_lag_events gauge\n") != std::string::npos, text);
  BOOST_TEST(text.find("# HELP iomtflow_eventhubs_partition_owned ") != std::string::npos, text);
  BOOST_TEST(text.find("iomtflow_eventhubs_partition_lag_events{source=\"eventhubs\",partition=\"1\"} 2\n") !=
                 std::string::npos,
             text);
  BOOST_TEST(text.find("iomtflow_eventhubs_partition_lag_events{source=\"eventhubs\",partition=\"3\"} 2\n") !=
                 std::string::npos,
             text);
  BOOST_TEST(
      text.find("iomtflow_eventhubs_partition_owned{source=\"eventhubs\",partition=\"3\"} 1\n") != std::string::npos,
      text);
  BOOST_TEST(text.find("partition=\"0\"") == std::string::npos, text);  // not ours
  BOOST_TEST(text.find("iomtflow_eventhubs_lag_query_failures_total{source=\"eventhubs\"} 0\n") != std::string::npos,
             text);
  // A queue source alone has no Event Hubs families.
  BOOST_TEST(metrics_text({{"amqp", source_stats{}}}).find("iomtflow_eventhubs_") == std::string::npos);

  // Everything completed: 0.
  sink.complete("", 1000);
  c.drain_completions();
  run();
  ps = snapshot();
  BOOST_TEST(ps[0].lag == 0u);
  BOOST_TEST(ps[1].lag == 0u);

  // New events: the next round sees them.
  add_lag_events(broker, nodes, "1", 5, 3);  // 5..7
  h.on_timer(t0 + std::chrono::seconds(31));
  run();
  BOOST_TEST(nodes.partition_reads.size() == 4u);
  BOOST_TEST(snapshot()[0].lag == 3u);

  // A failed READ is a value: counted, logged once per round, the last figure kept, consumption
  // and the connection untouched.
  nodes.partition_status = 500;
  h.on_timer(t0 + std::chrono::seconds(62));
  run();
  BOOST_TEST(h.lag_query_failures() == 2u);
  BOOST_TEST(snapshot()[0].lag == 3u);
  auto lag_logs = [&] {
    return std::count_if(logs.begin(), logs.end(),
                         [](const std::string& m) { return m.find("lag query") != std::string::npos; });
  };
  BOOST_TEST(lag_logs() == 1);
  BOOST_TEST(
      logs.back().find("READ partition '1' of 'devicedata' answered 500: InternalServerError") != std::string::npos,
      logs.back());
  BOOST_TEST(!h.failure());
  BOOST_TEST(h.ready());

  // No answer at all: after the request timeout the READs expire (counted), the connection stays.
  nodes.partition_status = 200;
  nodes.answer_partitions = false;
  h.on_timer(t0 + std::chrono::seconds(93));
  run();
  BOOST_TEST(nodes.partition_reads.size() == 8u);
  h.on_timer(t0 + std::chrono::seconds(104));
  run();
  BOOST_TEST(h.lag_query_failures() == 4u);
  BOOST_TEST(lag_logs() == 2);
  BOOST_TEST(logs.back().find("no answer within the request timeout") != std::string::npos, logs.back());
  BOOST_TEST(!h.failure(), h.failure().message());
  BOOST_TEST(!e.finished());
  BOOST_TEST(snapshot()[0].lag == 3u);
  // Still consuming: completing the rest brings the lag to 0.
  sink.complete("", 1000);
  c.drain_completions();
  run();
  BOOST_TEST(snapshot()[0].lag == 0u);
  BOOST_TEST(snapshot()[0].completed_sequence_number == 7);
  h.on_closed();
  c.end();
}

BOOST_AUTO_TEST_CASE(partition_lag_from_latest_counts_from_the_first_answer) {
  temp_dir dir;
  auto [store, err] = file_checkpoint_store::open((dir.path / "lag2.json").string(), "n", "devicedata", "$Default");
  BOOST_REQUIRE(store);
  store->update("2", {1000, 10});  // a checkpoint: the base for partition 2
  handler_options ho;
  ho.account = *parse_connection_string(conn_string);
  ho.owner = {{"0", "2"}, 0, 1, 0, 1};
  ho.start_position = "latest";
  consumer_options co;
  co.max_batch_events = 1;
  lag_sink sink;
  consumer c(co, sink);
  eventhubs_handler h(ho, c, *store, {});
  eventhubs_nodes nodes;
  nodes.last_enqueued = {{"0", 40}, {"2", 25}};
  fake_broker broker;
  broker.extra = [&](pn_event_t* ev) { return nodes.handle(ev); };
  engine e(engine_options{});
  auto run = [&] { iomt::test::amqp::run(e, c, broker, [&](pn_event_t* ev) { h.on_event(ev); }); };
  h.on_open(e);
  run();
  BOOST_REQUIRE(h.ready());
  h.on_timer(std::chrono::steady_clock::now());
  run();
  std::vector<partition_stats> ps;
  h.partition_snapshot(ps);
  BOOST_REQUIRE_EQUAL(ps.size(), 2u);
  BOOST_TEST(ps[0].lag == 0u);   // latest: 0..40 came before the start
  BOOST_TEST(ps[1].lag == 15u);  // 25 - checkpoint 10
  BOOST_TEST(ps[1].completed_sequence_number == 10);
  h.on_closed();
  c.end();
}

BOOST_AUTO_TEST_CASE(partition_lag_off) {
  temp_dir dir;
  auto [store, err] = file_checkpoint_store::open((dir.path / "lag3.json").string(), "n", "devicedata", "$Default");
  handler_options ho;
  ho.account = *parse_connection_string(conn_string);
  ho.lag_interval = std::chrono::milliseconds(0);
  null_sink sink;
  consumer c(consumer_options{}, sink);
  eventhubs_handler h(ho, c, *store, {});
  eventhubs_nodes nodes;
  fake_broker broker;
  broker.extra = [&](pn_event_t* ev) { return nodes.handle(ev); };
  engine e(engine_options{});
  h.on_open(e);
  iomt::test::amqp::run(e, c, broker, [&](pn_event_t* ev) { h.on_event(ev); });
  h.on_timer(std::chrono::steady_clock::now() + std::chrono::hours(1));
  iomt::test::amqp::run(e, c, broker, [&](pn_event_t* ev) { h.on_event(ev); });
  BOOST_TEST(nodes.partition_reads.empty());
  std::vector<partition_stats> ps;
  h.partition_snapshot(ps);
  BOOST_TEST(ps.size() == 4u);  // still owned (the owned gauge), lag unknown
  BOOST_TEST(!ps[0].lag_known);
  h.on_closed();
  c.end();
}
