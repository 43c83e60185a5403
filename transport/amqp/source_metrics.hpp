// The AMQP sources' counters as Prometheus families, read at scrape time (STYLE habit 6: every
// error path has a counter with bounded labels; issue 16: no hand-formatted exposition text):
//
//   iomtflow_amqp_received_total{source}            complete deliveries read
//   iomtflow_amqp_submitted_total{source}           events the pipeline accepted
//   iomtflow_amqp_busy_total{source}                submissions refused (back-pressure; retried)
//   iomtflow_amqp_settled_total{source,outcome}     accepted | released | modified | rejected
//   iomtflow_amqp_decode_errors_total{source}       messages that are not AMQP messages (rejected)
//   iomtflow_amqp_unsettled{source}                 deliveries in hand (gauge)
//   iomtflow_amqp_connected{source}                 connections up with every link attached (gauge)
//   iomtflow_amqp_connection_attempts_total{source}
//   iomtflow_amqp_connection_failures_total{source,kind}  kind = errc name (authentication_failed, ...)
//
// Event Hubs sources also (source_stats::partitions; docs/amqp.md "Consumer lag"):
//   iomtflow_eventhubs_partition_owned{source,partition}       1 per partition this replica reads (gauge)
//   iomtflow_eventhubs_partition_lag_events{source,partition}  last enqueued sequence number - last
//                                                              completed one, >= 0 (gauge; once known)
//   iomtflow_eventhubs_lag_query_failures_total{source}        partition READs failed / unanswered
// and with dynamic ownership (docs/scaling.md), where partition_owned has a 0 sample for every
// partition of the hub another processor reads:
//   iomtflow_eventhubs_ownership_total{source,action}           claim | renew | steal | release | lost | conflict
//   iomtflow_eventhubs_ownership_failures_total{source}         storage errors listing / writing records
//   iomtflow_eventhubs_processors{source}                       active processors in the last round (gauge)
//
// `source` is "amqp" (queue source) or "eventhubs".
#pragma once

#include "transport/amqp/source.hpp"

#include <prometheus/metric_family.h>

#include <string_view>
#include <utility>
#include <vector>

namespace iomt::transport::amqp {

std::vector<prometheus::MetricFamily> source_families(
    const std::vector<std::pair<std::string_view, source_stats>>& sources);

// The metric label of an error kind ("authentication_failed", ...).
const char* kind_label(errc e) noexcept;

}  // namespace iomt::transport::amqp
