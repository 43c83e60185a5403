// Shared pieces of the AMQP integration suites: the broker to use (AMQP_* from scripts/test, or
// one started here with scripts/peers/start-amqp-broker.sh), a pipeline stand-in whose
// completions fire later on another thread, a sender, and polling helpers.
#pragma once

#include "test_support.hpp"
#include "transport/amqp/sender.hpp"
#include "transport/amqp/source.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace iomt::test::amqp {

namespace ta = iomt::transport::amqp;
using namespace std::chrono_literals;

struct broker_env {
  std::string url, ca, user, password, dir;
  bool own = false;
};

inline std::string env_or(const char* name, const std::string& fallback = {}) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

inline std::string scripts_dir() { return (source_dir() / "scripts/peers").string(); }

inline std::filesystem::path scratch_dir() {
  const char* b = std::getenv("IOMT_BINARY_DIR");
  std::filesystem::path p = std::filesystem::path(b && *b ? b : ".") / "amqp-it";
  std::filesystem::create_directories(p);
  return p;
}

// Reads DIR/env.sh ("export K=V K2=V2" lines).
inline std::map<std::string, std::string> read_env_sh(const std::string& dir) {
  std::map<std::string, std::string> out;
  std::ifstream in(dir + "/env.sh");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("export ", 0) != 0) continue;
    std::istringstream words(line.substr(7));
    std::string w;
    while (words >> w) {
      auto eq = w.find('=');
      if (eq != std::string::npos) out[w.substr(0, eq)] = w.substr(eq + 1);
    }
  }
  return out;
}

// Starts (or reuses) a broker of our own on `port`, with its data in the build tree.
inline broker_env start_own_broker(int port) {
  broker_env b;
  b.dir = (scratch_dir() / ("broker-" + std::to_string(port))).string();
  const std::string cmd = scripts_dir() + "/start-amqp-broker.sh --port " + std::to_string(port) + " --dir " + b.dir +
                          " --queues amqp-it-default >" + b.dir + ".start.log 2>&1";
  std::filesystem::create_directories(b.dir);
  if (std::system(cmd.c_str()) != 0)
    throw std::runtime_error("could not start the AMQP broker: see " + b.dir + ".start.log");
  auto env = read_env_sh(b.dir);
  b.url = env["AMQP_URL"];
  b.ca = env["AMQP_CA"];
  b.user = env["AMQP_USER"];
  b.password = env["AMQP_PASS"];
  b.own = true;
  return b;
}

inline void stop_broker(const broker_env& b) {
  const std::string cmd = scripts_dir() + "/stop-services.sh " + b.dir + " >" + b.dir + ".stop.log 2>&1";
  (void)std::system(cmd.c_str());
}

// The broker of scripts/test (AMQP_URL ...) or our own on port 5697.
inline const broker_env& shared_broker() {
  static broker_env b = [] {
    if (!env_or("AMQP_URL").empty()) {
      broker_env e;
      e.url = env_or("AMQP_URL");
      e.ca = env_or("AMQP_CA");
      e.user = env_or("AMQP_USER", "iomt");
      e.password = env_or("AMQP_PASS", "iomt-secret");
      return e;
    }
    std::cerr << "AMQP_URL is not set: starting a broker on port 5697\n";
    return start_own_broker(5697);
  }();
  return b;
}

// Stops the brokers this process started, at exit.
struct own_broker_cleanup {
  ~own_broker_cleanup() {
    if (!env_or("AMQP_URL").empty()) return;
    broker_env b;
    b.dir = (scratch_dir() / "broker-5697").string();
    if (std::filesystem::exists(b.dir + "/broker.pid")) stop_broker(b);
  }
};

inline ta::source_options source_for(const broker_env& b, std::vector<std::string> queues) {
  ta::source_options o;
  o.url = b.url;
  o.user = b.user;
  o.password = b.password;
  o.tls.ca_file = b.ca;
  o.tls.server_name = "localhost";
  for (auto& q : queues) o.addresses.push_back("/amq/queue/" + q);
  o.reconnect_initial = 50ms;
  o.reconnect_max = 1000ms;
  o.connect_timeout = 10s;
  o.drain_timeout = 10s;
  return o;
}

// Sends `n` messages {"seq":i} with message-id "<prefix>-i" to the queue (declared durable on first use).
inline void send(const broker_env& b, const std::string& queue, std::size_t n, const std::string& prefix,
                 std::size_t first = 0) {
  ta::sender_options so;
  so.url = b.url;
  so.user = b.user;
  so.password = b.password;
  so.tls.ca_file = b.ca;
  so.tls.server_name = "localhost";
  so.address = "/queue/" + queue;
  auto s = ta::blocking_sender::connect(so);
  BOOST_REQUIRE_MESSAGE(s, "sender connect: " << (s ? "" : s.error().message()));
  std::vector<std::string> msgs;
  msgs.reserve(n);
  for (std::size_t i = first; i < first + n; ++i) {
    ta::outgoing_message m;
    m.body = R"({"seq":)" + std::to_string(i) + R"(,"deviceId":"dev-)" + std::to_string(i % 10) + R"("})";
    m.message_id = prefix + "-" + std::to_string(i);
    m.properties = {{"iothub-creation-time-utc", "2024-05-01T10:00:00Z"}};
    m.annotations = {{"iothub-connection-device-id", "dev-" + std::to_string(i % 10)}};
    msgs.push_back(ta::encode_message(m));
  }
  auto r = (*s)->send(msgs);
  BOOST_REQUIRE_MESSAGE(r, "send: " << (r ? "" : r.error().message()));
  (*s)->close();
}

// The pipeline stand-in: accepts every submission and completes it `delay` later on its own
// thread (like the real pipeline's window flush); records each event's message-id.
class async_sink final : public transport::event_sink {
public:
  explicit async_sink(std::chrono::milliseconds delay = 20ms) : delay_(delay), thread_([this] { loop(); }) {}
  ~async_sink() override {
    {
      std::lock_guard l(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  std::function<transport::submit_status()> answer;  // default: accepted

  transport::submit_status submit(std::vector<transport::event>&& events, transport::completion done) override {
    if (answer) {
      auto st = answer();
      if (st != transport::submit_status::accepted) return st;
    }
    std::lock_guard l(mu_);
    for (const auto& e : events) {
      ids_.push_back(message_id(e.system_properties));
      if (last_.body.empty()) last_ = e;
    }
    submitted_ += events.size();
    queue_.push_back({std::chrono::steady_clock::now() + delay_, std::move(done), events.size()});
    cv_.notify_all();
    return transport::submit_status::accepted;
  }
  std::size_t submitted() {
    std::lock_guard l(mu_);
    return submitted_;
  }
  std::size_t completed() {
    std::lock_guard l(mu_);
    return completed_;
  }
  std::set<std::string> unique_ids() {
    std::lock_guard l(mu_);
    return {ids_.begin(), ids_.end()};
  }
  std::size_t total_ids() {
    std::lock_guard l(mu_);
    return ids_.size();
  }
  transport::event first_event() {
    std::lock_guard l(mu_);
    return last_;
  }

  static std::string message_id(const std::string& sys) {
    const std::string key = R"("message-id":")";
    auto p = sys.find(key);
    if (p == std::string::npos) return {};
    p += key.size();
    return sys.substr(p, sys.find('"', p) - p);
  }

private:
  struct item {
    std::chrono::steady_clock::time_point due;
    transport::completion done;
    std::size_t n;
  };
  void loop() {
    std::unique_lock l(mu_);
    for (;;) {
      if (done_ && queue_.empty()) return;
      if (queue_.empty()) {
        cv_.wait(l);
        continue;
      }
      if (queue_.front().due > std::chrono::steady_clock::now() && !done_) {
        cv_.wait_until(l, queue_.front().due);
        continue;
      }
      item it = std::move(queue_.front());
      queue_.pop_front();
      completed_ += it.n;
      l.unlock();
      transport::outcome o;
      o.events = it.n;
      it.done(o);
      l.lock();
    }
  }

  std::chrono::milliseconds delay_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<item> queue_;
  std::vector<std::string> ids_;
  transport::event last_;
  std::size_t submitted_ = 0, completed_ = 0;
  bool done_ = false;
  std::thread thread_;
};

// Polls `pred` every 20 ms until it holds or `limit` passes.
inline bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

// Receives and accepts whatever is in the queues for a moment; returns how many.
inline std::size_t drain(const broker_env& b, std::vector<std::string> queues,
                         std::chrono::milliseconds quiet = 1500ms) {
  async_sink sink(0ms);
  ta::source src(source_for(b, std::move(queues)), sink);
  src.start();
  wait_for([&] { return src.ready(); }, 10s);
  std::size_t last = ~std::size_t{0};
  while (last != sink.submitted()) {
    last = sink.submitted();
    std::this_thread::sleep_for(quiet);
  }
  src.stop();
  return sink.submitted();
}

// Collects log lines of a source.
struct log_lines {
  std::mutex mu;
  std::vector<std::string> lines;
  ta::log_hook hook() {
    return [this](int, const std::string& m, const std::string& d) {
      std::lock_guard l(mu);
      lines.push_back(d.empty() ? m : m + " (" + d + ")");
    };
  }
  bool contains(const std::string& s) {
    std::lock_guard l(mu);
    for (const auto& x : lines)
      if (x.find(s) != std::string::npos) return true;
    return false;
  }
  std::string all() {
    std::lock_guard l(mu);
    std::string out;
    for (const auto& x : lines) out += x + "\n";
    return out;
  }
};

// The project's Event Hubs emulator (scripts/peers/eh-emulator), started once per test program on
// `port` (TLS; `plain_port` > 0 adds the plain port the Azure SDK uses) and stopped at exit.
struct eh_emulator {
  int port = 0;
  std::string dir, connection_string, plain_connection_string, ca, key_name, key;
  eh_emulator(int tls_port, int plain_port) : port(tls_port) {
    dir = (scratch_dir() / ("eh-emulator-" + std::to_string(port))).string();
    std::filesystem::create_directories(dir);
    std::string cmd = scripts_dir() + "/eh-emulator/start.sh --port " + std::to_string(port);
    if (plain_port > 0) cmd += " --plain-port " + std::to_string(plain_port);
    cmd += " --dir " + dir + " >" + dir + ".start.log 2>&1";
    if (std::system(cmd.c_str()) != 0)
      throw std::runtime_error("could not start the Event Hubs emulator: see " + dir + ".start.log");
    // env.sh quotes the connection strings: read them by hand.
    std::ifstream in(dir + "/env.sh");
    std::string line;
    while (std::getline(in, line)) {
      auto value = [&](const std::string& k) -> std::string {
        auto p = line.find(k + "='");
        if (p == std::string::npos) return {};
        p += k.size() + 2;
        return line.substr(p, line.find('\'', p) - p);
      };
      if (auto v = value("EH_CONNECTION_STRING"); !v.empty()) connection_string = v;
      if (auto v = value("EH_PLAIN_CONNECTION_STRING"); !v.empty()) plain_connection_string = v;
    }
    auto env = read_env_sh(dir);
    ca = env["EH_CA"];
    key_name = env["EH_KEY_NAME"];
    key = env["EH_KEY"];
  }
  ~eh_emulator() {
    broker_env b;
    b.dir = dir;
    stop_broker(b);
  }

  // Sends `n` events {"run":RUN,"i":i} (message-id RUN-i) to the hub (round robin over
  // partitions) or to `address` such as "devicedata/Partitions/2", with SASL PLAIN.
  void send_events(const std::string& run, int first, int n, const std::string& address = "devicedata") const {
    ta::sender_options so;
    so.url = "amqps://localhost:" + std::to_string(port);
    so.user = key_name;
    so.password = key;
    so.tls.ca_file = ca;
    so.address = address;
    so.durable = false;
    auto s = ta::blocking_sender::connect(so);
    BOOST_REQUIRE_MESSAGE(s, "sender: " << (s ? "" : s.error().message()));
    std::vector<std::string> msgs;
    for (int i = first; i < first + n; ++i) {
      ta::outgoing_message m;
      m.body = R"({"run":")" + run + R"(","i":)" + std::to_string(i) + "}";
      m.message_id = run + "-" + std::to_string(i);
      m.durable = false;
      msgs.push_back(ta::encode_message(m));
    }
    auto r = (*s)->send(msgs);
    BOOST_REQUIRE_MESSAGE(r, "send: " << (r ? "" : r.error().message()));
  }
};

// Events of one run (message-ids RUN-i) seen by a sink.
inline std::size_t count_run(async_sink& sink, const std::string& run) {
  std::size_t n = 0;
  for (const auto& id : sink.unique_ids())
    if (id.rfind(run + "-", 0) == 0) ++n;
  return n;
}

}  // namespace iomt::test::amqp
