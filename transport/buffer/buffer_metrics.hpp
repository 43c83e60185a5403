// The durable buffer's counters as Prometheus families, read at scrape time (issue 16):
//   iomtflow_buffer_bytes / _max_bytes (gauges), _lag_events (gauge), _appended_events_total,
//   _fsyncs_total, _refused_total, _write_errors_total, _redelivered_events_total (counters),
//   _recovered_bytes_dropped (gauge). Names and meaning: docs/metrics.md.
#pragma once

#include "transport/buffer/durable_source.hpp"
#include "transport/buffer/segment_log.hpp"

#include <prometheus/metric_family.h>

#include <vector>

namespace iomt::transport::buffer {

std::vector<prometheus::MetricFamily> buffer_families(const segment_log& log, const durable_source& source);

}  // namespace iomt::transport::buffer
