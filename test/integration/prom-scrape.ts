/** Reading the exporter's text with a real parser (parse-prometheus-text-format: prom2json's shape), never a regex. */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/** One parsed scrape. */
export class Scrape {
  readonly families: ReturnType<typeof parsePrometheusTextFormat>;
  constructor(readonly text: string) {
    this.families = parsePrometheusTextFormat(text);
  }

  /** The family named `name`. */
  family(name: string) {
    return this.families.find((f) => f.name === name);
  }

  /** The value of the one sample of `name` whose labels include `labels`; undefined when there is none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const matches = (this.family(name)?.metrics ?? []).filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
    if (matches.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${matches.length} samples match`);
    const v = matches[0]?.value ?? matches[0]?.count;
    return v === undefined ? undefined : Number(v);
  }

  /** Every family's name (a histogram's `_bucket`, `_sum` and `_count` series included). */
  seriesNames(): Set<string> {
    const out = new Set<string>();
    for (const f of this.families) {
      out.add(f.name);
      if (f.type === 'HISTOGRAM') for (const s of ['_bucket', '_sum', '_count']) out.add(`${f.name}${s}`);
    }
    return out;
  }
}
