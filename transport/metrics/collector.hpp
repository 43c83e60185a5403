// Metrics read at scrape time from the components' own counters (issue 16: one metrics registry,
// no hand-formatted exposition text). The buffer, the dead-letter store, the retrying sinks and the
// AMQP / Event Hubs sources keep plain atomics on their hot paths; a scrape_collector (a
// prometheus-cpp Collectable) turns them into families when /metrics is read, and the service's
// registry serializes them with its own. Names and labels: docs/metrics.md.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace iomt::transport::metrics {

class scrape_collector final : public prometheus::Collectable {
public:
  using build_fn = std::function<void(std::vector<prometheus::MetricFamily>&)>;
  explicit scrape_collector(build_fn f) : build_(std::move(f)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

private:
  build_fn build_;
};

// A family (name, help, type) to add samples to, then to push into the collected vector.
prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type);
// One sample of a counter or gauge family.
void add_sample(prometheus::MetricFamily& f, double value, std::vector<prometheus::ClientMetric::Label> labels = {});

}  // namespace iomt::transport::metrics
