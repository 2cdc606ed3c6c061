import {
  degradation,
  median,
  NumberList,
  percentile,
  PerSecondRecorder,
  rssGrowth,
  summarizeLatencies,
  type SecondSample,
} from '../src/stats';

function steadySeries(
  seconds: number,
  requests: (second: number) => number,
  rss?: (second: number) => number,
): SecondSample[] {
  return Array.from({ length: seconds }, (_, index) => ({
    second: index + 1,
    requests: requests(index + 1),
    failed: 0,
    p50Ms: 1,
    p99Ms: 2,
    ...(rss ? { rssBytes: rss(index + 1) } : {}),
  }));
}

describe('percentile', () => {
  it('uses the nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(percentile(sorted, 0.5)).toBe(50);
    expect(percentile(sorted, 0.99)).toBe(99);
    expect(percentile(sorted, 1)).toBe(100);
    expect(percentile([7], 0.99)).toBe(7);
  });

  it('is NaN for no values', () => {
    expect(percentile([], 0.5)).toBeNaN();
  });
});

describe('summarizeLatencies', () => {
  it('sorts before taking percentiles and keeps sub-millisecond precision', () => {
    const summary = summarizeLatencies([0.25, 3, 0.5, 1.75]);
    expect(summary).toEqual({ count: 4, meanMs: 1.375, p50Ms: 0.5, p90Ms: 3, p99Ms: 3, maxMs: 3 });
  });

  it('reports an empty run as a count of zero', () => {
    expect(summarizeLatencies([]).count).toBe(0);
  });
});

describe('NumberList', () => {
  it('grows past its first block without losing values', () => {
    const list = new NumberList();
    for (let value = 0; value < 5000; value++) list.push(value);
    expect(list.length).toBe(5000);
    expect(list.toArray()[4999]).toBe(4999);
    expect(list.toArray()[1024]).toBe(1024);
  });
});

describe('PerSecondRecorder', () => {
  it('buckets answers by the second they arrived in, keeping failures apart', () => {
    const recorder = new PerSecondRecorder();
    recorder.record(10, 1, true);
    recorder.record(990, 3, true);
    recorder.record(1500, 2, true);
    recorder.record(1600, 9, false);
    recorder.recordGauges(1002, { rssBytes: 1000, serviceCores: 0.5, otherCores: 0.1 });
    recorder.recordGauges(1998, { rssBytes: 2000 });
    const samples = recorder.samples(2);
    expect(samples).toEqual([
      {
        second: 1,
        requests: 2,
        failed: 0,
        p50Ms: 1,
        p99Ms: 3,
        rssBytes: 1000,
        serviceCores: 0.5,
        otherCores: 0.1,
      },
      { second: 2, requests: 1, failed: 1, p50Ms: 2, p99Ms: 2, rssBytes: 2000 },
    ]);
  });

  it('reports a second without answers as zero requests', () => {
    const recorder = new PerSecondRecorder();
    recorder.record(2500, 1, true);
    expect(recorder.samples(3).map((sample) => sample.requests)).toEqual([0, 0, 1]);
  });
});

describe('degradation', () => {
  it('compares the average of the last ten seconds with the first ten', () => {
    const series = steadySeries(60, (second) => (second <= 10 ? 1000 : second > 50 ? 900 : 950));
    expect(degradation(series)).toEqual({
      windowSeconds: 10,
      firstWindowRps: 1000,
      lastWindowRps: 900,
      ratio: 0.9,
    });
  });

  it('reports how much CPU other processes took in each window', () => {
    const series = steadySeries(20, () => 100).map((sample) => ({
      ...sample,
      otherCores: sample.second <= 10 ? 0.2 : 1.4,
    }));
    const trend = degradation(series);
    expect(trend?.firstWindowOtherCores).toBeCloseTo(0.2);
    expect(trend?.lastWindowOtherCores).toBeCloseTo(1.4);
  });

  it('needs at least two windows of samples', () => {
    expect(degradation(steadySeries(19, () => 1))).toBeUndefined();
  });
});

describe('rssGrowth', () => {
  it('measures growth from the warm footprint to the end, by medians', () => {
    // A one-second garbage-collection peak at second 8 does not move the warm median.
    const series = steadySeries(
      60,
      () => 1,
      (second) => (second === 8 ? 500 : second <= 10 ? 100 : 100 + (second - 10)),
    );
    const growth = rssGrowth(series);
    expect(growth?.afterWarmupBytes).toBe(100);
    expect(growth?.endBytes).toBe(148);
    expect(growth?.growth).toBeCloseTo(0.48);
  });

  it('is undefined without memory samples', () => {
    expect(rssGrowth(steadySeries(60, () => 1))).toBeUndefined();
  });
});

describe('median', () => {
  it('takes the middle value', () => {
    expect(median([5, 1, 3])).toBe(3);
  });
});
