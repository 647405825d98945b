// Monitoring: per served model its traffic, drift against the served
// version's training prompts and feedback, with the alert flags the server
// raises (GET /v1/monitoring, docs/serve.md "Monitoring and drift"); and what
// its Prometheus metrics say (GET /metrics: requests and latency per
// endpoint, tokens per model, queue, jobs, feedback), with a request-rate
// curve kept while the page is open.
import { api } from './api.js';
import { LineChart } from './charts.js';
import { parsePrometheus, sumBy } from './prometheus.js';
import { h, clear, table, num, errorBox, section } from './ui.js';

const REFRESH_MS = 5000;

function mean(samples, name, label) {
  const sums = sumBy(samples, `${name}_sum`, label);
  const counts = sumBy(samples, `${name}_count`, label);
  const out = {};
  for (const [key, count] of Object.entries(counts)) if (count > 0) out[key] = sums[key] / count;
  return out;
}

function trafficTables(samples) {
  const requests = samples.filter((s) => s.name === 'whet_http_requests_total' && s.labels.endpoint !== 'dashboard' && s.labels.endpoint !== 'dashboard_static');
  const byEndpoint = {};
  for (const s of requests) {
    const row = (byEndpoint[s.labels.endpoint] = byEndpoint[s.labels.endpoint] || { total: 0, errors: 0 });
    row.total += s.value;
    if (Number(s.labels.status) >= 400) row.errors += s.value;
  }
  const latency = mean(samples, 'whet_http_request_duration_seconds', 'endpoint');
  const generated = sumBy(samples, 'whet_generated_tokens_total', 'model');
  const prompt = sumBy(samples, 'whet_prompt_tokens_total', 'model');
  const models = [...new Set([...Object.keys(generated), ...Object.keys(prompt)])].sort();
  const gauges = ['whet_queue_depth', 'whet_active_sequences', 'whet_generation_tokens_per_second'].flatMap((name) =>
    samples.filter((s) => s.name === name).map((s) => [name.replace('whet_', ''), s.labels.base || '', num(s.value)]));
  const ttft = mean(samples, 'whet_time_to_first_token_seconds', null)[''];
  return [
    section('Requests by endpoint', table(['endpoint', 'requests', 'errors (4xx/5xx)', 'mean duration (s)'],
      Object.entries(byEndpoint).sort().map(([e, r]) => [e, num(r.total), num(r.errors), num(latency[e])]), { id: 'traffic' })),
    section('Tokens by model', table(['model', 'prompt tokens', 'generated tokens'],
      models.map((m) => [m, num(prompt[m] || 0), num(generated[m] || 0)]), { id: 'tokens' }),
    h('p', { class: 'note' }, `mean time to first token: ${ttft === undefined ? '—' : `${num(ttft)} s`}`)),
    section('Engine', table(['gauge', 'base', 'value'], gauges)),
    section('Jobs and feedback', table(['', ''], [
      ...Object.entries(sumBy(samples, 'whet_fine_tuning_jobs', 'state')).map(([k, v]) => [`jobs ${k}`, num(v)]),
      ...Object.entries(sumBy(samples, 'whet_feedback_total', 'kind')).map(([k, v]) => [`feedback ${k}`, num(v)])])),
  ];
}

function driftCell(value, limit) {
  if (value === null || value === undefined) return '—';
  return value > limit ? h('span', { class: 'flag' }, `${num(value)} > ${num(limit)}`) : num(value);
}

// One row per served model: traffic, drift numbers against their thresholds, the alert and its reasons, feedback.
function modelsTable(monitoring) {
  const t = monitoring.thresholds || {};
  const rows = monitoring.models.map((m) => {
    const d = m.drift;
    const f = m.feedback || {};
    const alert = d ? (d.alert ? h('span', { class: 'badge alert' }, 'alert') : d.judged ? h('span', { class: 'badge passed' }, 'ok') : 'too few prompts') : '';
    return [m.model, m.base || '', num(m.requests), num(m.errors), num(m.prompt_tokens), num(m.completion_tokens),
      m.latency_p50 === null ? '—' : `${num(m.latency_p50)} / ${num(m.latency_p95)}`,
      d ? driftCell(d.psi_prompt_length, t.psi_prompt_length) : m.drift_unavailable || '',
      d ? driftCell(d.js_tokens, t.js_tokens) : '', d ? driftCell(d.surprising_share, t.surprising_share) : '',
      alert, d && d.reasons ? d.reasons.join('; ') : '',
      f.completions ? `${num(f.rate)} (${num(f.up)} up, ${num(f.down)} down)` : ''];
  });
  return table(['model', 'base', 'requests', 'errors', 'prompt tokens', 'completion tokens', 'latency p50 / p95 (s)',
    'PSI prompt length', 'JS tokens', 'surprising share', 'drift', 'reasons', 'feedback rate'], rows, { id: 'monitoring-models' });
}

export async function render(view) {
  const rate = new LineChart('requests per second (while this page is open)');
  rate.chart.options.scales.x.title.text = 'seconds';
  const box = h('div');
  const models = h('div');
  view.append(section('Served models', models), h('div', { class: 'charts' }, rate.element), box);
  const points = [];
  let previous = null;
  const started = Date.now();
  const refresh = async () => {
    try {
      const [monitoring, text] = await Promise.all([api('/v1/monitoring'), api('/metrics')]);
      clear(models, modelsTable(monitoring), h('p', { class: 'note' }, `drift over the newest ${monitoring.thresholds.window} prompts, judged from ${monitoring.thresholds.min_window}`));
      const samples = parsePrometheus(text);
      const total = Object.values(sumBy(samples, 'whet_http_requests_total', null)).reduce((a, b) => a + b, 0);
      const now = (Date.now() - started) / 1000;
      if (previous) points.push({ x: now, y: (total - previous.total) / (now - previous.time) });
      previous = { total, time: now };
      rate.setSeries([{ label: 'requests/s', points }]);
      clear(box, trafficTables(samples));
    } catch (error) {
      clear(box, errorBox(error));
    }
  };
  await refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  return () => { clearInterval(timer); rate.destroy(); };
}
