/**
 * The value of a metric in a Prometheus text exposition: the sum over every series of `name`
 * whose labels include `labels` (all of them, when none are given); undefined when no series
 * matches. For tests that read `GET /metrics` after known traffic.
 */
export function metricValue(
  exposition: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  let sum: number | undefined;
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const seriesLabels = parseLabels(match[2] ?? '');
    if (Object.entries(labels).every(([key, value]) => seriesLabels[key] === value)) {
      sum = (sum ?? 0) + Number(match[3]);
    }
  }
  return sum;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, character: string) =>
      character === 'n' ? '\n' : character,
    );
  }
  return labels;
}
