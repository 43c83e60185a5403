// The Event Hubs source against the project's Event Hubs-like endpoint
// (scripts/peers/eh-emulator, TLS, SASL ANONYMOUS + CBS put-token, $management discovery, offset
// filters), whose fidelity is checked first with the official Azure SDK (sdk-check.js): the SDK and
// iomtflow must see the same events with the same sequence numbers, offsets and properties.
#define BOOST_TEST_MODULE amqp_eventhubs_integration
#include <boost/test/unit_test.hpp>

#include "integration/amqp/amqp_support.hpp"
#include "transport/amqp/eventhubs/eventhubs_source.hpp"
#include "transport/amqp/source_metrics.hpp"

#include <prometheus/text_serializer.h>
#include "transport/amqp/value_json.hpp"

#include <boost/json.hpp>

using namespace iomt::test::amqp;
using namespace std::chrono_literals;
namespace ta = iomt::transport::amqp;
namespace eh = iomt::transport::amqp::eventhubs;
namespace tr = iomt::transport;

namespace {

// The families as /metrics shows them (prometheus-cpp's serializer).
std::string metrics_text(const std::vector<std::pair<std::string_view, iomt::transport::amqp::source_stats>>& sources) {
  return prometheus::TextSerializer().Serialize(iomt::transport::amqp::source_families(sources));
}

eh_emulator& the_emulator() {
  static eh_emulator e(5687, 5688);
  return e;
}

eh::eventhubs_source_options source_options(const std::string& checkpoints) {
  eh::eventhubs_source_options o;
  o.connection_string = the_emulator().connection_string;
  o.tls.ca_file = the_emulator().ca;
  o.checkpoint_dir = checkpoints;
  o.checkpoint_interval = 200ms;
  o.reconnect_initial = 50ms;
  o.reconnect_max = 1s;
  o.drain_timeout = 5s;
  return o;
}

std::string fresh_dir(const std::string& name) {
  auto p = scratch_dir() / name;
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

void send_events(const std::string& run, int first, int n, const std::string& address = "devicedata") {
  the_emulator().send_events(run, first, n, address);
}

// Records whole events (for the SDK comparison).
class recording_sink final : public tr::event_sink {
public:
  tr::submit_status submit(std::vector<tr::event>&& events, tr::completion done) override {
    {
      std::lock_guard l(mu);
      for (auto& e : events) seen.push_back(e);
    }
    tr::outcome o;
    o.events = events.size();
    done(o);
    return tr::submit_status::accepted;
  }
  std::mutex mu;
  std::vector<tr::event> seen;
};

// Completes other events at once and holds those of `run` until complete_below().
class holding_sink final : public tr::event_sink {
public:
  explicit holding_sink(std::string run) : run_(std::move(run)) {}
  tr::submit_status submit(std::vector<tr::event>&& events, tr::completion done) override {
    tr::outcome o;
    o.events = events.size();
    const bool ours = std::any_of(events.begin(), events.end(),
                                  [&](const tr::event& e) { return e.body.find(run_) != std::string::npos; });
    if (!ours) {
      done(o);
      return tr::submit_status::accepted;
    }
    const auto& b = events.front().body;  // max_batch_events = 1
    const int i = std::stoi(b.substr(b.find(R"("i":)") + 4));
    std::lock_guard l(mu_);
    held_.emplace_back(i, std::move(done));
    return tr::submit_status::accepted;
  }
  std::size_t held() {
    std::lock_guard l(mu_);
    return held_.size();
  }
  void complete_below(int k) {
    std::vector<tr::completion> now;
    {
      std::lock_guard l(mu_);
      for (auto& [i, d] : held_)
        if (i < k && d) now.push_back(std::move(d)), d = nullptr;
    }
    tr::outcome o;
    o.events = 1;
    for (auto& d : now) d(o);
  }

private:
  std::string run_;
  std::mutex mu_;
  std::vector<std::pair<int, tr::completion>> held_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(partition_lag_follows_the_completed_events) {
  // Partition 2 holds whatever earlier tests sent (completed at once here) and then our 20 events.
  const std::string run = "lag-" + std::to_string(::getpid());
  holding_sink sink(run);
  auto o = source_options(fresh_dir("eh-lag"));
  o.partitions = {"2"};
  o.lag_interval = 200ms;
  o.consumer.max_batch_events = 1;
  eh::eventhubs_source src(o, sink);
  src.start();
  BOOST_REQUIRE(wait_for([&] { return src.ready(); }, 10s));
  auto lag = [&]() -> std::optional<std::uint64_t> {
    const auto st = src.stats();
    if (st.partitions.size() != 1 || st.partitions[0].id != "2" || !st.partitions[0].lag_known) return std::nullopt;
    return st.partitions[0].lag;
  };
  BOOST_REQUIRE_MESSAGE(wait_for([&] { return lag() == std::optional<std::uint64_t>(0); }, 10s),
                        "lag before sending: " << (lag() ? std::to_string(*lag()) : "unknown"));
  send_events(run, 0, 20, "devicedata/Partitions/2");
  BOOST_REQUIRE(wait_for([&] { return sink.held() == 20; }, 10s));
  // Received, nothing completed: all 20 are owed.
  BOOST_TEST_MESSAGE("waiting for lag 20");
  BOOST_TEST(wait_for([&] { return lag() == std::optional<std::uint64_t>(20); }, 10s),
             "lag " << (lag() ? std::to_string(*lag()) : "unknown"));
  sink.complete_below(7);
  BOOST_TEST(wait_for([&] { return lag() == std::optional<std::uint64_t>(13); }, 10s),
             "lag " << (lag() ? std::to_string(*lag()) : "unknown"));
  const auto st = src.stats();
  const std::string text = metrics_text({{"eventhubs", st}});
  BOOST_TEST(text.find("iomtflow_eventhubs_partition_lag_events{source=\"eventhubs\",partition=\"2\"} 13\n") !=
                 std::string::npos,
             text);
  BOOST_TEST(
      text.find("iomtflow_eventhubs_partition_owned{source=\"eventhubs\",partition=\"2\"} 1\n") != std::string::npos,
      text);
  BOOST_TEST(st.partitions[0].last_enqueued_time_ms > 0);
  BOOST_TEST(st.lag_query_failures == 0u);
  sink.complete_below(20);
  BOOST_TEST(wait_for([&] { return lag() == std::optional<std::uint64_t>(0); }, 10s),
             "lag " << (lag() ? std::to_string(*lag()) : "unknown"));
  src.stop();
}

BOOST_AUTO_TEST_CASE(the_azure_sdk_and_iomtflow_see_the_same_events) {
  auto& e = the_emulator();
  const std::string out = (scratch_dir() / "sdk-check.json").string();
  // 1. The official SDK sends (to a partition, by key, round robin) and receives everything back.
  const std::string cmd = "cd " + scripts_dir() + "/eh-emulator && node sdk-check.js '" + e.plain_connection_string +
                          "' " + out + " 12 >" + out + ".log 2>&1";
  BOOST_REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "sdk-check.js failed: see " + out + ".log");
  const auto doc = boost::json::parse(iomt::test::read_file(out)).as_object();
  const std::string run = std::string(doc.at("runId").as_string());
  const auto& sdk_events = doc.at("events").as_array();
  BOOST_REQUIRE_EQUAL(sdk_events.size(), 12u);

  // 2. iomtflow reads the same hub over TLS with CBS.
  recording_sink sink;
  eh::eventhubs_source src(source_options(fresh_dir("eh-sdk-checkpoints")), sink);
  src.start();
  auto find = [&](std::int64_t seq, const std::string& offset, std::int64_t i) -> std::optional<tr::event> {
    std::lock_guard l(sink.mu);
    for (const auto& ev : sink.seen) {
      if (ev.body.find(run) == std::string::npos) continue;
      if (ev.body.find(R"("i":)" + std::to_string(i) + ",") == std::string::npos) continue;
      if (ev.system_properties.find(R"("x-opt-sequence-number":)" + std::to_string(seq) + ",") == std::string::npos)
        continue;
      if (ev.system_properties.find(R"("x-opt-offset":")" + offset + R"(")") == std::string::npos) continue;
      return ev;
    }
    return std::nullopt;
  };
  BOOST_REQUIRE(wait_for(
      [&] {
        std::lock_guard l(sink.mu);
        return std::count_if(sink.seen.begin(), sink.seen.end(),
                             [&](const tr::event& ev) { return ev.body.find(run) != std::string::npos; }) >= 12;
      },
      30s));
  BOOST_TEST((src.owned_partitions() == std::vector<std::string>{"0", "1", "2", "3"}));
  for (const auto& v : sdk_events) {
    const auto& s = v.as_object();
    const std::int64_t seq = s.at("sequenceNumber").to_number<std::int64_t>();
    const std::string offset(s.at("offset").as_string());
    const std::int64_t i = s.at("body").as_object().at("i").to_number<std::int64_t>();
    auto ev = find(seq, offset, i);
    BOOST_REQUIRE_MESSAGE(ev, "iomtflow did not see the SDK's event i=" << i << " seq=" << seq << " offset=" << offset);
    // Body: the SDK's JSON; Properties: its application properties with their types.
    BOOST_TEST(boost::json::parse(ev->body) == s.at("body"));
    BOOST_TEST(boost::json::parse(ev->properties) == s.at("properties"));
    // Enqueued time: the same instant.
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        (ev->enqueued_time.ticks - iomt::json::unix_epoch_ticks) * 100ns);
    const std::string sdk_time(s.at("enqueuedTimeUtc").as_string());
    BOOST_TEST(ta::format_timestamp(ms.count()).substr(0, 19) == sdk_time.substr(0, 19));
    if (s.contains("partitionKey") && s.at("partitionKey").is_string())
      BOOST_TEST(ev->partition_key == std::string(s.at("partitionKey").as_string()));
  }
  src.stop();
}

BOOST_AUTO_TEST_CASE(receives_everything_and_resumes_after_the_checkpoint) {
  const std::string run = "resume-" + std::to_string(::getpid());
  const std::string checkpoints = fresh_dir("eh-resume-checkpoints");
  send_events(run, 0, 40);
  {
    async_sink sink(20ms);
    eh::eventhubs_source src(source_options(checkpoints), sink);
    src.start();
    BOOST_REQUIRE(wait_for([&] { return count_run(sink, run) == 40; }, 30s));
    BOOST_REQUIRE(wait_for([&] { return sink.completed() == sink.total_ids(); }, 10s));
    BOOST_TEST(src.ready());
    src.stop();  // final checkpoint
  }
  BOOST_TEST(!std::filesystem::is_empty(checkpoints));
  send_events(run, 40, 10);
  async_sink sink(0ms);
  eh::eventhubs_source src(source_options(checkpoints), sink);
  src.start();
  BOOST_REQUIRE(wait_for([&] { return count_run(sink, run) == 10; }, 30s));
  std::this_thread::sleep_for(500ms);
  // Only what came after the checkpoint: none of the first 40, and nothing from earlier tests.
  for (const auto& id : sink.unique_ids()) BOOST_TEST(id.substr(id.rfind('-') + 1).size() >= 2, id);
  BOOST_TEST(sink.total_ids() == 10u);
  src.stop();
}

BOOST_AUTO_TEST_CASE(two_replicas_split_the_partitions) {
  const std::string run = "replicas-" + std::to_string(::getpid());
  send_events(run, 0, 40);
  async_sink a(0ms), b(0ms);
  auto oa = source_options(fresh_dir("eh-replica-0"));
  oa.replica_index = 0;
  oa.replica_count = 2;
  auto ob = source_options(fresh_dir("eh-replica-1"));
  ob.replica_index = 1;
  ob.replica_count = 2;
  eh::eventhubs_source sa(oa, a), sb(ob, b);
  sa.start();
  sb.start();
  BOOST_REQUIRE(wait_for([&] { return count_run(a, run) + count_run(b, run) == 40; }, 30s));
  BOOST_TEST((sa.owned_partitions() == std::vector<std::string>{"0", "2"}));
  BOOST_TEST((sb.owned_partitions() == std::vector<std::string>{"1", "3"}));
  BOOST_TEST(count_run(a, run) == 20u);  // round robin: 10 per partition
  BOOST_TEST(count_run(b, run) == 20u);
  sa.stop();
  sb.stop();
}

BOOST_AUTO_TEST_CASE(wrong_key_is_a_clear_cbs_error_and_retried) {
  async_sink sink;
  log_lines log;
  auto o = source_options(fresh_dir("eh-wrong-key"));
  o.connection_string = "Endpoint=sb://localhost:5687/;SharedAccessKeyName=" + the_emulator().key_name +
                        ";SharedAccessKey=bm90LXRoZS1rZXk=;EntityPath=devicedata";
  eh::eventhubs_source src(o, sink, log.hook());
  src.start();
  BOOST_REQUIRE(wait_for([&] { return src.stats().failures >= 2; }, 20s));
  src.stop();
  const auto err = src.stats().last_error;
  BOOST_TEST(
      err.find("CBS authorization failed: put-token for sb://localhost/devicedata answered 401: InvalidSignature") == 0,
      err);
  BOOST_TEST(log.contains("reconnecting in"), log.all());
}

BOOST_AUTO_TEST_CASE(unknown_event_hub_is_a_clear_management_error) {
  async_sink sink;
  auto o = source_options(fresh_dir("eh-unknown-hub"));
  o.eventhub = "no-such-hub";
  eh::eventhubs_source src(o, sink);
  src.start();
  BOOST_REQUIRE(wait_for([&] { return src.stats().failures >= 1; }, 20s));
  src.stop();
  const auto err = src.stats().last_error;
  BOOST_TEST(err.find("management request failed: READ eventhub 'no-such-hub' answered 404") == 0, err);
}
