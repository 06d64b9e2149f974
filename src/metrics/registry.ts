/**
 * Prometheus counters, gauges and histograms with no dependency, rendered in the text exposition
 * format 0.0.4. Recording is a Map lookup keyed by the joined label values, so it stays cheap on
 * the hot path (~20k job outcomes a second); the text is built only when Prometheus scrapes.
 */

/** Content-Type of `render()`'s output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Prometheus' default buckets (seconds), for histograms that give none. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A value for every label of a metric: `{ type: "email", outcome: "completed" }`. */
export type LabelValues<N extends string> = { readonly [K in N]: string };

/** `inc(value?)` without labels, `inc(labels, value?)` with them. */
type Args<V> = keyof V extends never ? [value?: number] : [labels: V, value?: number];
type ObserveArgs<V> = keyof V extends never ? [value: number] : [labels: V, value: number];
type LabelArgs<V> = keyof V extends never ? [] : [labels: V];

export interface MetricOptions<N extends string> {
  /** `[a-zA-Z_:][a-zA-Z0-9_:]*`; counters by convention end in `_total`, durations in `_seconds`. */
  name: string;
  help: string;
  labels?: readonly N[];
}

export interface GaugeOptions<N extends string> extends MetricOptions<N> {
  /**
   * Runs at every scrape, before rendering. A gauge without labels may return its value; one with
   * labels sets its series on the gauge it is given. If it throws, the gauge shows no samples.
   * @example collect: () => jobs.countDue(db)
   */
  collect?: (gauge: Gauge<LabelValues<N>>) => number | undefined | Promise<number | undefined>;
}

export interface HistogramOptions<N extends string> extends MetricOptions<N> {
  /** Upper bounds, increasing; `+Inf` is added. Defaults to `DEFAULT_BUCKETS`. */
  buckets?: readonly number[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SEPARATOR = "\u0000"; // cannot collide unless a label value itself holds NUL

const escapeHelp = (text: string) => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const escapeLabel = (text: string) => text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** A sample value as Prometheus reads it: `+Inf`, `-Inf`, `NaN` or the shortest decimal. */
export function formatValue(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value); // String(NaN) is "NaN", as Prometheus spells it
}

/** What every series keeps: its label pairs rendered once, when it is first seen. */
interface Series {
  /** `a="x",b="y"` (no braces), or "" without labels. */
  readonly pairs: string;
}

/** What the three kinds share: name, help, label names and the Map of series. */
abstract class Metric<S extends Series> {
  abstract readonly type: "counter" | "gauge" | "histogram";
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  protected readonly series = new Map<string, S>();

  constructor(options: MetricOptions<string>, reserved: readonly string[] = []) {
    if (!METRIC_NAME.test(options.name)) throw new Error(`metric name ${JSON.stringify(options.name)} is not valid`);
    const labels = options.labels ?? [];
    for (const label of labels) {
      if (!LABEL_NAME.test(label) || label.startsWith("__") || reserved.includes(label)) {
        throw new Error(`metric ${options.name}: label name ${JSON.stringify(label)} is not allowed`);
      }
    }
    if (new Set(labels).size !== labels.length) throw new Error(`metric ${options.name} repeats a label name`);
    this.name = options.name;
    this.help = options.help;
    this.labelNames = labels;
  }

  /** Drops every series (a metric without labels starts again from zero). */
  reset(): void {
    this.series.clear();
    if (this.labelNames.length === 0) this.at(undefined);
  }

  /** The Map key of a set of label values: the values joined, in label-name order. */
  protected keyOf(labels: object | undefined): string {
    const names = this.labelNames;
    if (names.length === 0) return "";
    const values = labels as Record<string, string>;
    let key = values[names[0] as string] as string;
    for (let i = 1; i < names.length; i++) key += SEPARATOR + values[names[i] as string];
    return key;
  }

  /** The series for these label values, made on first use. */
  protected at(labels: object | undefined): S {
    const key = this.keyOf(labels);
    let found = this.series.get(key);
    if (!found) {
      found = this.create(this.pairs(labels as Record<string, unknown> | undefined));
      this.series.set(key, found);
    }
    return found;
  }

  /** The series for these label values, if it exists (reading must not create a series). */
  protected peek(labels: object | undefined): S | undefined {
    return this.series.get(this.keyOf(labels));
  }

  private pairs(values: Record<string, unknown> | undefined): string {
    return this.labelNames
      .map((name) => {
        const value = values?.[name];
        if (typeof value !== "string") throw new TypeError(`metric ${this.name}: label ${name} must be a string`);
        return `${name}="${escapeLabel(value)}"`;
      })
      .join(",");
  }

  protected abstract create(pairs: string): S;
  protected abstract sample(series: S, out: string[]): void;

  /** Called by the registry before `write`; throws if the metric cannot be read now. */
  async collect(): Promise<void> {}

  /** Appends this metric's HELP, TYPE and sample lines. */
  write(out: string[], withSamples = true): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
    if (!withSamples) return;
    for (const series of this.series.values()) this.sample(series, out);
  }

  /** Splits `(labels, value)` or `(value)` according to whether the metric has labels. */
  // V appears only in parameters, so a metric can be declared with narrower label values
  // (`outcome: JobOutcome`) than the registry inferred from the names (`outcome: string`).
  protected split(args: unknown[], fallback: number): [object | undefined, number] {
    if (this.labelNames.length === 0) return [undefined, (args[0] as number | undefined) ?? fallback];
    return [args[0] as object, (args[1] as number | undefined) ?? fallback];
  }
}

interface ValueSeries extends Series {
  value: number;
}

function sampleValue(name: string, series: ValueSeries, out: string[]): void {
  const labels = series.pairs ? `{${series.pairs}}` : "";
  out.push(`${name}${labels} ${formatValue(series.value)}`);
}

/**
 * A count that only goes up.
 * @example
 * const sent = registry.counter({ name: "mails_sent_total", help: "Mails sent", labels: ["provider"] });
 * sent.inc({ provider: "ses" });
 */
export class Counter<V extends object = LabelValues<never>> extends Metric<ValueSeries> {
  readonly type = "counter";

  constructor(options: MetricOptions<string>) {
    super(options);
    this.reset();
  }

  /** Adds `value` (default 1, never negative). */
  inc(...args: Args<V>): void {
    const [labels, value] = this.split(args, 1);
    if (!(value >= 0)) throw new RangeError(`counter ${this.name} cannot go up by ${value}`);
    this.at(labels).value += value;
  }

  /** A handle bound to one set of label values, for hot paths that skip the lookup. */
  labels(...args: LabelArgs<V>): { inc(value?: number): void } {
    const series = this.at(args[0]);
    const name = this.name;
    return {
      inc(value = 1) {
        if (!(value >= 0)) throw new RangeError(`counter ${name} cannot go up by ${value}`);
        series.value += value;
      },
    };
  }

  /** The current count (0 for label values never seen), for tests. */
  get(...args: LabelArgs<V>): number {
    return this.peek(args[0])?.value ?? 0;
  }

  protected create(pairs: string): ValueSeries {
    return { pairs, value: 0 };
  }

  protected sample(series: ValueSeries, out: string[]): void {
    sampleValue(this.name, series, out);
  }
}

/**
 * A value that goes up and down, set directly or read at scrape time by `collect`.
 * @example
 * registry.gauge({ name: "queue_depth", help: "Jobs due", collect: () => jobs.countDue(db) });
 */
export class Gauge<V extends object = LabelValues<never>> extends Metric<ValueSeries> {
  readonly type = "gauge";
  readonly #collect: GaugeOptions<string>["collect"];

  constructor(options: GaugeOptions<string>) {
    super(options);
    this.#collect = options.collect;
    this.reset();
  }

  set(...args: Args<V>): void {
    const [labels, value] = this.split(args, 0);
    this.at(labels).value = value;
  }

  inc(...args: Args<V>): void {
    const [labels, value] = this.split(args, 1);
    this.at(labels).value += value;
  }

  dec(...args: Args<V>): void {
    const [labels, value] = this.split(args, 1);
    this.at(labels).value -= value;
  }

  /** The current value (0 for label values never seen), for tests. */
  get(...args: LabelArgs<V>): number {
    return this.peek(args[0])?.value ?? 0;
  }

  override async collect(): Promise<void> {
    if (!this.#collect) return;
    const value = await this.#collect(this as unknown as Gauge<LabelValues<string>>);
    if (typeof value === "number") {
      if (this.labelNames.length > 0) throw new Error(`gauge ${this.name} has labels: collect must set its series`);
      this.at(undefined).value = value;
    }
  }

  protected create(pairs: string): ValueSeries {
    return { pairs, value: 0 };
  }

  protected sample(series: ValueSeries, out: string[]): void {
    sampleValue(this.name, series, out);
  }
}

interface HistogramSeries extends Series {
  /** Observations per bucket, not cumulative; the last is `+Inf`. */
  readonly counts: number[];
  sum: number;
  count: number;
}

/** A histogram's state for one set of label values: cumulative bucket counts, sum, count. */
export interface HistogramSnapshot {
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

/**
 * Observations counted into buckets, with their sum and count.
 * @example
 * const latency = registry.histogram({ name: "rpc_duration_seconds", help: "RPC time", labels: ["method"] });
 * const stop = latency.startTimer({ method: "StartRun" }); await handle(); stop();
 */
export class Histogram<V extends object = LabelValues<never>> extends Metric<HistogramSeries> {
  readonly type = "histogram";
  readonly buckets: readonly number[];
  readonly #les: readonly string[];

  constructor(options: HistogramOptions<string>) {
    super(options, ["le"]);
    const buckets = [...(options.buckets ?? DEFAULT_BUCKETS)];
    if (buckets.at(-1) === Number.POSITIVE_INFINITY) buckets.pop();
    if (buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= (buckets[i - 1] as number)))) {
      throw new Error(`histogram ${options.name}: buckets must be finite and increasing`);
    }
    this.buckets = buckets;
    this.#les = [...buckets.map(formatValue), "+Inf"];
    this.reset();
  }

  /** Records one observation (seconds, for durations). */
  observe(...args: ObserveArgs<V>): void {
    const [labels, value] = this.split(args, Number.NaN);
    this.#record(this.at(labels), value);
  }

  /** Starts a clock; calling the result observes the seconds since and returns them. */
  startTimer(...args: LabelArgs<V>): () => number {
    const series = this.at(args[0]);
    const start = performance.now();
    return () => {
      const seconds = (performance.now() - start) / 1000;
      this.#record(series, seconds);
      return seconds;
    };
  }

  /** A handle bound to one set of label values, for hot paths that skip the lookup. */
  labels(...args: LabelArgs<V>): { observe(value: number): void } {
    const series = this.at(args[0]);
    return { observe: (value) => this.#record(series, value) };
  }

  /** Cumulative bucket counts, sum and count, for tests. */
  get(...args: LabelArgs<V>): HistogramSnapshot {
    const series = this.peek(args[0]);
    let running = 0;
    const buckets = [...this.buckets, Number.POSITIVE_INFINITY].map((le, i) => {
      running += series?.counts[i] ?? 0;
      return { le, count: running };
    });
    return { buckets, sum: series?.sum ?? 0, count: series?.count ?? 0 };
  }

  #record(series: HistogramSeries, value: number): void {
    if (Number.isNaN(value)) throw new RangeError(`histogram ${this.name} cannot observe NaN`);
    const bounds = this.buckets;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    (series.counts[i] as number)++;
    series.sum += value;
    series.count++;
  }

  protected create(pairs: string): HistogramSeries {
    return { pairs, counts: new Array(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }

  protected sample(series: HistogramSeries, out: string[]): void {
    const prefix = series.pairs ? `${series.pairs},` : "";
    const labels = series.pairs ? `{${series.pairs}}` : "";
    let running = 0;
    for (const [i, le] of this.#les.entries()) {
      running += series.counts[i] as number;
      out.push(`${this.name}_bucket{${prefix}le="${le}"} ${running}`);
    }
    out.push(`${this.name}_sum${labels} ${formatValue(series.sum)}`, `${this.name}_count${labels} ${series.count}`);
  }
}

type AnyMetric = Counter<object> | Gauge<object> | Histogram<object>;

export interface RegistryOptions {
  /** Hears a gauge's `collect` failing; the scrape goes on without that gauge's samples. */
  onCollectError?: (error: unknown, metric: string) => void;
}

/**
 * Holds metrics and renders them for Prometheus.
 * @example
 * const registry = new MetricsRegistry();
 * const jobs = registry.counter({ name: "jobs_total", help: "Jobs", labels: ["type", "outcome"] });
 * jobs.inc({ type: "email", outcome: "completed" });
 * new Response(await registry.render(), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE } });
 */
export class MetricsRegistry {
  readonly #metrics = new Map<string, AnyMetric>();
  readonly #onCollectError: RegistryOptions["onCollectError"];

  constructor(options: RegistryOptions = {}) {
    this.#onCollectError = options.onCollectError;
  }

  counter<const N extends string = never>(options: MetricOptions<N>): Counter<LabelValues<N>> {
    return this.#add(new Counter<LabelValues<N>>(options));
  }

  gauge<const N extends string = never>(options: GaugeOptions<N>): Gauge<LabelValues<N>> {
    return this.#add(new Gauge<LabelValues<N>>(options as GaugeOptions<string>));
  }

  histogram<const N extends string = never>(options: HistogramOptions<N>): Histogram<LabelValues<N>> {
    return this.#add(new Histogram<LabelValues<N>>(options));
  }

  /** Every metric in the text exposition format 0.0.4, after running the gauges' `collect`. */
  async render(): Promise<string> {
    const metrics = [...this.#metrics.values()];
    const collected = await Promise.all(
      metrics.map(async (metric) => {
        try {
          await metric.collect();
          return true;
        } catch (error) {
          this.#onCollectError?.(error, metric.name);
          return false;
        }
      }),
    );
    const out: string[] = [];
    for (const [i, metric] of metrics.entries()) metric.write(out, collected[i]);
    return out.length === 0 ? "" : `${out.join("\n")}\n`;
  }

  #add<M extends AnyMetric>(metric: M): M {
    if (this.#metrics.has(metric.name)) throw new Error(`metric ${metric.name} is already registered`);
    this.#metrics.set(metric.name, metric);
    return metric;
  }
}
