// Reads Prometheus' text format (what GET /metrics serves) into samples:
// [{name, labels: {k: v}, value}]. Comments (# HELP, # TYPE) are skipped.
export function parsePrometheus(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    if (match[3]) {
      for (const m of match[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]] = m[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1], labels, value: Number(match[4]) });
  }
  return samples;
}

// Sums a metric's samples grouped by one label: {labelValue: total}.
export function sumBy(samples, name, label) {
  const out = {};
  for (const s of samples) {
    if (s.name !== name) continue;
    const key = label ? s.labels[label] ?? '' : '';
    out[key] = (out[key] || 0) + s.value;
  }
  return out;
}
