export {
  BATCH_BUCKETS,
  createKronosMetrics,
  DURATION_BUCKETS,
  type JobOutcome,
  type KronosMetrics,
  type KronosMetricsOptions,
  type RunOutcome,
} from "./kronos.ts";
export {
  Counter,
  DEFAULT_BUCKETS,
  formatValue,
  Gauge,
  type GaugeOptions,
  Histogram,
  type HistogramOptions,
  type HistogramSnapshot,
  type LabelValues,
  type MetricOptions,
  MetricsRegistry,
  PROMETHEUS_CONTENT_TYPE,
  type RegistryOptions,
} from "./registry.ts";
