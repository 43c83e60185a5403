#include "transport/metrics/collector.hpp"

namespace iomt::transport::metrics {

using prometheus::MetricFamily;
using prometheus::MetricType;

std::vector<MetricFamily> scrape_collector::Collect() const {
  std::vector<MetricFamily> out;
  if (build_) build_(out);
  return out;
}

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void add_sample(MetricFamily& f, double value, std::vector<prometheus::ClientMetric::Label> labels) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

}  // namespace iomt::transport::metrics
