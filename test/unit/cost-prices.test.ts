/** The price table (planning/cost/prices.ts): sources and date, the override file, metric tiers. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRICE_KEYS, PRICE_TABLE, PriceFileError, applyPriceFile, applyPriceText, metricsMonthlyUsd } from '../../src/planning/cost/prices.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/prices');

describe('price table', () => {
  it('gives every price a source page, and the table a region and a date', () => {
    // Assess
    expect(PRICE_TABLE.region).toBe('us-east-1');
    expect(PRICE_TABLE.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const key of PRICE_KEYS) {
      expect(PRICE_TABLE.prices[key].source, key).toMatch(/^https:\/\/aws\.amazon\.com\//);
      expect(PRICE_TABLE.prices[key].usd, key).toBeGreaterThan(0);
    }
    expect(PRICE_TABLE.metricTiersSource).toMatch(/^https:\/\/aws\.amazon\.com\/cloudwatch\//);
  });

  it('holds the published list prices: a canary run $0.0012, a custom metric $0.30, 1,000 PutMetricData for $0.01', () => {
    expect(PRICE_TABLE.prices.syntheticsCanaryRun.usd).toBe(0.0012);
    expect(PRICE_TABLE.metricTiers[0]).toEqual({ upTo: 10_000, usd: 0.3 });
    expect(PRICE_TABLE.prices.cloudWatchApiRequest.usd * 1000).toBeCloseTo(0.01, 10);
  });
});

describe('metricsMonthlyUsd', () => {
  it.each([
    [0, 0],
    [1, 0.3],
    [10_000, 3000],
    // 10,000 at $0.30, 240,000 at $0.10, 10,000 at $0.05
    [260_000, 3000 + 24_000 + 500],
    [2_000_000, 3000 + 24_000 + 37_500 + 20_000],
  ])('%d metrics cost $%d a month', (count, usd) => {
    expect(metricsMonthlyUsd(count, PRICE_TABLE.metricTiers)).toBeCloseTo(usd, 6);
  });
});

describe('prices file', () => {
  it('overrides what it names, keeps the rest, and names itself as their source', () => {
    // Prepare
    const path = join(FIXTURES, 'eu-west-1.json');
    // Act
    const table = applyPriceText(PRICE_TABLE, readFileSync(path, 'utf8'), path);
    // Assess
    expect(table).toMatchObject({ region: 'eu-west-1', date: '2026-01-15', source: "a test's own figures", metricTiersSource: path });
    expect(table.prices.cloudWatchDashboard).toEqual({ usd: 3.5, unit: 'dashboard-month', source: path });
    expect(table.prices.dynamoWriteUnit.usd).toBe(0.000000705);
    expect(table.prices.kmsKey).toEqual(PRICE_TABLE.prices.kmsKey);
    expect(metricsMonthlyUsd(10_001, table.metricTiers)).toBeCloseTo(3300.11, 6);
  });

  it('an empty file changes nothing but the source line', () => {
    // Act
    const table = applyPriceFile(PRICE_TABLE, {}, 'empty.json');
    // Assess
    expect(table.prices).toEqual(PRICE_TABLE.prices);
    expect(table.source).toBe(`${PRICE_TABLE.source}, overridden by empty.json`);
  });

  it('refuses a bad file with every problem named by its path', () => {
    // Prepare
    const path = join(FIXTURES, 'invalid.json');
    // Act
    let error: unknown;
    try {
      applyPriceText(PRICE_TABLE, readFileSync(path, 'utf8'), path);
    } catch (err) {
      error = err;
    }
    // Assess
    expect(error).toBeInstanceOf(PriceFileError);
    expect((error as PriceFileError).issues).toEqual([
      'date: expected a date as YYYY-MM-DD',
      'prices.kmsKey: expected a non-negative number of US dollars',
      'prices: unknown key "lambdaGbSecond"',
      'metricTiers[0].upTo: required on every tier but the last',
      'metricTiers[1].upTo: the last tier takes every remaining metric: leave "upTo" out',
    ]);
    expect((error as PriceFileError).message).toMatch(/invalid\.json: invalid prices\n {2}date: /);
  });

  it('refuses malformed JSON and tiers that do not grow', () => {
    // Act / Assess
    expect(() => applyPriceText(PRICE_TABLE, '{"prices": ', 'bad.json')).toThrow(/bad\.json: invalid prices\n {2}\(root\): malformed JSON/);
    expect(() => applyPriceFile(PRICE_TABLE, { metricTiers: [{ upTo: 10, usd: 1 }, { upTo: 5, usd: 1 }, { usd: 1 }] }, 'f.json')).toThrow(
      /metricTiers\[1\]\.upTo: must be more than the previous tier's 10/,
    );
  });
});
