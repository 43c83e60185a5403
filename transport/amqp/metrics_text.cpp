#include "transport/amqp/metrics_text.hpp"

#include <algorithm>
#include <optional>

namespace iomt::transport::amqp {

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

namespace {

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, std::string_view name, std::string_view source, std::uint64_t v,
            std::string_view extra = {}) {
  out += name;
  out += "{source=\"";
  out += source;
  out += '"';
  out += extra;
  out += "} ";
  out += std::to_string(v);
  out += '\n';
}

// A label value in the exposition format: backslash, quote and newline escaped.
void label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// Event Hubs sources: owned partitions and their consumer lag (docs/amqp.md "Consumer lag").
void partition_families(std::string& out, const std::vector<std::pair<std::string_view, source_stats>>& sources) {
  auto is_eventhubs = [](const std::pair<std::string_view, source_stats>& s) {
    return s.first == "eventhubs" || !s.second.partitions.empty();
  };
  if (std::none_of(sources.begin(), sources.end(), is_eventhubs)) return;
  auto per_partition = [&](std::string_view name, auto value) {
    for (const auto& src : sources)
      for (const auto& p : src.second.partitions) {
        const auto v = value(p);
        if (!v) continue;
        out += name;
        out += "{source=\"";
        label_value(out, src.first);
        out += "\",partition=\"";
        label_value(out, p.id);
        out += "\"} ";
        out += std::to_string(*v);
        out += '\n';
      }
  };
  family(out, "iomtflow_eventhubs_partition_owned", "gauge", "Event Hubs partitions this replica reads (1 each).");
  per_partition("iomtflow_eventhubs_partition_owned",
                [](const partition_stats&) { return std::optional<std::uint64_t>(1); });
  family(out, "iomtflow_eventhubs_partition_lag_events", "gauge",
         "Events in an owned Event Hubs partition not yet completed: last enqueued sequence number minus the last "
         "completed one.");
  per_partition("iomtflow_eventhubs_partition_lag_events", [](const partition_stats& p) {
    return p.lag_known ? std::optional<std::uint64_t>(p.lag) : std::nullopt;
  });
  family(out, "iomtflow_eventhubs_lag_query_failures_total", "counter",
         "Event Hubs partition READs (for the lag) that failed or got no answer.");
  for (const auto& src : sources)
    if (is_eventhubs(src))
      sample(out, "iomtflow_eventhubs_lag_query_failures_total", src.first, src.second.lag_query_failures);
}

}  // namespace

std::string metrics_text(const std::vector<std::pair<std::string_view, source_stats>>& sources) {
  std::string out;
  if (sources.empty()) return out;
  struct counter {
    const char* name;
    const char* type;
    const char* help;
    std::uint64_t source_stats::*field;
  };
  static constexpr counter simple[] = {
      {"iomtflow_amqp_received_total", "counter", "AMQP deliveries read completely.", &source_stats::received},
      {"iomtflow_amqp_submitted_total", "counter", "Events the pipeline accepted from AMQP.", &source_stats::submitted},
      {"iomtflow_amqp_busy_total", "counter", "Submissions refused by the pipeline (back-pressure, retried).",
       &source_stats::busy},
      {"iomtflow_amqp_decode_errors_total", "counter", "Deliveries that were not AMQP messages (rejected).",
       &source_stats::decode_errors},
      {"iomtflow_amqp_unsettled", "gauge", "AMQP deliveries received and not yet settled.", &source_stats::unsettled},
      {"iomtflow_amqp_connection_attempts_total", "counter", "AMQP connection attempts.", &source_stats::attempts},
  };
  for (const auto& c : simple) {
    family(out, c.name, c.type, c.help);
    for (const auto& [name, s] : sources) sample(out, c.name, name, s.*c.field);
  }
  family(out, "iomtflow_amqp_settled_total", "counter", "AMQP deliveries settled, by outcome.");
  for (const auto& [name, s] : sources) {
    sample(out, "iomtflow_amqp_settled_total", name, s.accepted, ",outcome=\"accepted\"");
    sample(out, "iomtflow_amqp_settled_total", name, s.released, ",outcome=\"released\"");
    sample(out, "iomtflow_amqp_settled_total", name, s.modified, ",outcome=\"modified\"");
    sample(out, "iomtflow_amqp_settled_total", name, s.rejected, ",outcome=\"rejected\"");
  }
  family(out, "iomtflow_amqp_connected", "gauge", "AMQP connections up with every link attached.");
  for (const auto& [name, s] : sources) sample(out, "iomtflow_amqp_connected", name, s.connected);
  family(out, "iomtflow_amqp_connection_failures_total", "counter", "Failed AMQP connection attempts, by kind.");
  for (const auto& [name, s] : sources)
    for (int k = 1; k <= static_cast<int>(errc::bad_configuration); ++k)
      sample(out, "iomtflow_amqp_connection_failures_total", name, s.failures_by_kind[k],
             std::string(",kind=\"") + kind_label(static_cast<errc>(k)) + "\"");
  partition_families(out, sources);
  return out;
}

}  // namespace iomt::transport::amqp
