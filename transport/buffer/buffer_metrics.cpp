#include "transport/buffer/buffer_metrics.hpp"

#include "transport/metrics/collector.hpp"

namespace iomt::transport::buffer {

std::vector<prometheus::MetricFamily> buffer_families(const segment_log& log, const durable_source& source) {
  using prometheus::MetricType;
  const auto st = log.stats();
  const auto& ds = source.stats();
  std::vector<prometheus::MetricFamily> out;
  auto one = [&](const char* name, MetricType type, double value, const char* help) {
    auto f = metrics::family(name, help, type);
    metrics::add_sample(f, value);
    out.push_back(std::move(f));
  };
  one("iomtflow_buffer_bytes", MetricType::Gauge, static_cast<double>(st.disk_bytes),
      "Bytes of the durable buffer on disk");
  one("iomtflow_buffer_max_bytes", MetricType::Gauge, static_cast<double>(st.max_bytes),
      "Size bound of the durable buffer (buffer.max_bytes)");
  one("iomtflow_buffer_lag_events", MetricType::Gauge, static_cast<double>(source.lag()),
      "Events accepted into the buffer whose outcome is not final yet (consumer lag)");
  one("iomtflow_buffer_appended_events_total", MetricType::Counter, static_cast<double>(st.appended_records),
      "Events appended to the durable buffer");
  one("iomtflow_buffer_fsyncs_total", MetricType::Counter, static_cast<double>(st.fsyncs),
      "Group-commit fsyncs of the durable buffer");
  one("iomtflow_buffer_refused_total", MetricType::Counter,
      static_cast<double>(ds.refused_submits.load() + ds.failed_appends.load()),
      "Submissions the buffer refused (full or not writable: HTTP 503)");
  one("iomtflow_buffer_write_errors_total", MetricType::Counter, static_cast<double>(st.write_errors),
      "Failed writes or fsyncs of the durable buffer");
  one("iomtflow_buffer_redelivered_events_total", MetricType::Counter,
      static_cast<double>(ds.redelivered_events.load()), "Waiting events submitted again after a transient failure");
  one("iomtflow_buffer_recovered_bytes_dropped", MetricType::Gauge, static_cast<double>(log.recovery().bytes_dropped()),
      "Bytes cut from torn or corrupt segment tails at start-up");
  return out;
}

}  // namespace iomt::transport::buffer
