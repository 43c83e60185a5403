#include "transport/amqp/source_metrics.hpp"

#include "transport/metrics/collector.hpp"

#include <algorithm>

namespace iomt::transport::amqp {

namespace {

using metrics::add_sample;
using metrics::family;
using prometheus::MetricFamily;
using prometheus::MetricType;

}  // namespace

const char* kind_label(errc e) noexcept {
  switch (e) {
    case errc::ok:
      return "ok";
    case errc::resolve_failed:
      return "resolve_failed";
    case errc::connect_failed:
      return "connect_failed";
    case errc::timeout:
      return "timeout";
    case errc::tls_handshake_failed:
      return "tls_handshake_failed";
    case errc::certificate_verify_failed:
      return "certificate_verify_failed";
    case errc::authentication_failed:
      return "authentication_failed";
    case errc::connection_lost:
      return "connection_lost";
    case errc::closed_by_peer:
      return "closed_by_peer";
    case errc::link_error:
      return "link_error";
    case errc::protocol_error:
      return "protocol_error";
    case errc::cbs_error:
      return "cbs_error";
    case errc::management_error:
      return "management_error";
    case errc::bad_configuration:
      return "bad_configuration";
  }
  return "unknown";
}

std::vector<MetricFamily> source_families(const std::vector<std::pair<std::string_view, source_stats>>& sources) {
  std::vector<MetricFamily> out;
  if (sources.empty()) return out;
  struct simple {
    const char* name;
    MetricType type;
    const char* help;
    std::uint64_t source_stats::*field;
  };
  static constexpr simple families[] = {
      {"iomtflow_amqp_received_total", MetricType::Counter, "AMQP deliveries read completely.",
       &source_stats::received},
      {"iomtflow_amqp_submitted_total", MetricType::Counter, "Events the pipeline accepted from AMQP.",
       &source_stats::submitted},
      {"iomtflow_amqp_busy_total", MetricType::Counter, "Submissions refused by the pipeline (back-pressure, retried).",
       &source_stats::busy},
      {"iomtflow_amqp_decode_errors_total", MetricType::Counter, "Deliveries that were not AMQP messages (rejected).",
       &source_stats::decode_errors},
      {"iomtflow_amqp_unsettled", MetricType::Gauge, "AMQP deliveries received and not yet settled.",
       &source_stats::unsettled},
      {"iomtflow_amqp_connection_attempts_total", MetricType::Counter, "AMQP connection attempts.",
       &source_stats::attempts},
  };
  auto source = [](std::string_view s) { return prometheus::ClientMetric::Label{"source", std::string(s)}; };
  for (const auto& c : families) {
    auto f = family(c.name, c.help, c.type);
    for (const auto& [name, s] : sources) add_sample(f, static_cast<double>(s.*c.field), {source(name)});
    out.push_back(std::move(f));
  }
  auto settled = family("iomtflow_amqp_settled_total", "AMQP deliveries settled, by outcome.", MetricType::Counter);
  for (const auto& [name, s] : sources) {
    for (auto [outcome, v] : {std::pair{"accepted", s.accepted}, std::pair{"released", s.released},
                              std::pair{"modified", s.modified}, std::pair{"rejected", s.rejected}})
      add_sample(settled, static_cast<double>(v), {source(name), {"outcome", outcome}});
  }
  out.push_back(std::move(settled));
  auto connected =
      family("iomtflow_amqp_connected", "AMQP connections up with every link attached.", MetricType::Gauge);
  for (const auto& [name, s] : sources) add_sample(connected, s.connected, {source(name)});
  out.push_back(std::move(connected));
  auto failures = family("iomtflow_amqp_connection_failures_total", "Failed AMQP connection attempts, by kind.",
                         MetricType::Counter);
  for (const auto& [name, s] : sources)
    for (int k = 1; k <= static_cast<int>(errc::bad_configuration); ++k)
      add_sample(failures, static_cast<double>(s.failures_by_kind[k]),
                 {source(name), {"kind", kind_label(static_cast<errc>(k))}});
  out.push_back(std::move(failures));

  // Event Hubs sources: owned partitions and their consumer lag (docs/amqp.md "Consumer lag").
  auto is_eventhubs = [](const auto& s) { return s.first == "eventhubs" || !s.second.partitions.empty(); };
  if (std::none_of(sources.begin(), sources.end(), is_eventhubs)) return out;
  auto owned = family("iomtflow_eventhubs_partition_owned", "Event Hubs partitions this replica reads (1 each).",
                      MetricType::Gauge);
  auto lag = family("iomtflow_eventhubs_partition_lag_events",
                    "Events in an owned Event Hubs partition not yet completed: last enqueued sequence number "
                    "minus the last completed one.",
                    MetricType::Gauge);
  auto lag_failures =
      family("iomtflow_eventhubs_lag_query_failures_total",
             "Event Hubs partition READs (for the lag) that failed or got no answer.", MetricType::Counter);
  auto ownership = family("iomtflow_eventhubs_ownership_total",
                          "Dynamic partition ownership: records claimed (free or expired), renewed, stolen from a "
                          "more loaded processor, released at shutdown, lost to another processor, and writes that "
                          "lost the race (conflict).",
                          MetricType::Counter);
  auto ownership_failures = family(
      "iomtflow_eventhubs_ownership_failures_total",
      "Dynamic partition ownership: storage errors listing or writing the ownership records.", MetricType::Counter);
  auto processors = family("iomtflow_eventhubs_processors",
                           "Dynamic partition ownership: active processors of the consumer group in the last "
                           "balancing round, this one included.",
                           MetricType::Gauge);
  bool any_dynamic = false;
  for (const auto& src : sources) {
    const auto& s = src.second;
    for (const auto& p : s.partitions) {
      add_sample(owned, 1, {source(src.first), {"partition", p.id}});
      if (p.lag_known) add_sample(lag, static_cast<double>(p.lag), {source(src.first), {"partition", p.id}});
    }
    if (is_eventhubs(src)) add_sample(lag_failures, static_cast<double>(s.lag_query_failures), {source(src.first)});
    if (!s.dynamic_ownership) continue;
    any_dynamic = true;
    // Dynamic: every partition of the hub has a sample, 0 for the ones another processor reads.
    for (const auto& id : s.hub_partitions)
      if (std::none_of(s.partitions.begin(), s.partitions.end(), [&](const partition_stats& p) { return p.id == id; }))
        add_sample(owned, 0, {source(src.first), {"partition", id}});
    const std::pair<const char*, std::uint64_t> actions[] = {
        {"claim", s.ownership_claims},     {"renew", s.ownership_renewals}, {"steal", s.ownership_steals},
        {"release", s.ownership_releases}, {"lost", s.ownership_lost},      {"conflict", s.ownership_conflicts}};
    for (const auto& [action, n] : actions)
      add_sample(ownership, static_cast<double>(n), {source(src.first), {"action", action}});
    add_sample(ownership_failures, static_cast<double>(s.ownership_failures), {source(src.first)});
    add_sample(processors, static_cast<double>(s.processors), {source(src.first)});
  }
  out.push_back(std::move(owned));
  out.push_back(std::move(lag));
  out.push_back(std::move(lag_failures));
  if (any_dynamic) {
    out.push_back(std::move(ownership));
    out.push_back(std::move(ownership_failures));
    out.push_back(std::move(processors));
  }
  return out;
}

}  // namespace iomt::transport::amqp
