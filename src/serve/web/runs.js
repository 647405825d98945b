// Runs: every training run the server knows (run folders under its data folder
// and fine-tuning jobs), and one run's curves, which survive a reload (the
// history comes from the store) and keep growing while it trains (server-sent
// events from /v1/runs/ID/events, resumed after the last event id).
import { api, subscribe } from './api.js';
import { LineChart, smoothingControl } from './charts.js';
import { h, clear, table, num, when, badge, errorBox, section } from './ui.js';

// Hyperparameters worth a column in the list; the rest are on a run's own page.
const KEY_PARAMS = ['method', 'learning_rate', 'num_epochs', 'max_steps', 'micro_batch_size', 'gradient_accumulation_steps',
  'lora_r', 'lora_alpha', 'sequence_len'];
const REFRESH_MS = 4000;

export function metricsText(metrics) {
  return Object.entries(metrics || {}).filter(([, v]) => typeof v === 'number').map(([k, v]) => `${k} ${num(v)}`).join(', ');
}

// The metric the run is judged by (its config's metric_for_best_model), the other best values on hover.
function bestText(run) {
  const b = run.best_metric;
  const all = metricsText(run.best);
  if (!b || b.value === null) return h('span', { title: all }, all);
  return h('span', { class: 'best-metric', title: all }, `${b.name} ${num(b.value)} ${b.greater_is_better ? '↑' : '↓'}`);
}

function keyParams(run) {
  const params = run.params || {};
  return KEY_PARAMS.filter((k) => k in params && k !== 'method').map((k) => `${k}=${num(params[k])}`).join(' ');
}

// The run list with a checkbox per run for Compare.
export function runsTable(runs, selected) {
  return table(['', 'run', 'status', 'source', 'method', 'model', 'data', 'key hyperparameters', 'best', 'steps', 'updated'],
    runs.map((r) => [
      h('input', { type: 'checkbox', class: 'pick', value: r.id, checked: selected.has(r.id), onchange: (e) => { if (e.target.checked) selected.add(r.id); else selected.delete(r.id); } }),
      h('a', { href: `#/runs/${encodeURIComponent(r.id)}` }, r.name || r.id), badge(r.status), r.source, r.method, h('span', { title: r.model || '' }, String(r.model || '').split('/').slice(-2).join('/')), dataNames(r),
      keyParams(r), bestText(r), r.steps ?? '', when(r.updated_at)]), { id: 'runs' });
}

async function renderList(view) {
  const selected = new Set();
  const box = h('div');
  const compare = h('button', { id: 'compare-selected', onclick: () => { location.hash = `#/compare?ids=${[...selected].join(',')}`; } }, 'Compare selected');
  view.append(section('Runs', h('div', { class: 'toolbar' }, compare), box));
  const refresh = async () => {
    try {
      const runs = (await api('/v1/runs')).data;
      clear(box, runs.length ? runsTable(runs, selected) : h('p', { class: 'note' }, 'No runs yet: train with `whet train` into the data folder, or start a job.'));
    } catch (error) {
      clear(box, errorBox(error));
    }
  };
  await refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  return () => clearInterval(timer);
}

// What metrics.jsonl logs beside the metrics: where and when a step was, not how it went.
const NOT_CURVES = new Set(['epoch', 'elapsed_s', 'step', 'total_steps']);
export function isCurve(name) {
  return !NOT_CURVES.has(name);
}

// Which chart a metric belongs on: the losses together, the learning rate, the rest one each.
export function chartOf(name) {
  if (name === 'lr' || name === 'learning_rate') return 'learning rate';
  if (name.includes('loss')) return 'loss';
  return name;
}

// The metric rows of a run, fetched as history, then kept in order by seq as live rows arrive.
export async function metricHistory(id) {
  const rows = [];
  for (;;) {
    const after = rows.length ? rows[rows.length - 1].seq : 0;
    const page = await api(`/v1/runs/${encodeURIComponent(id)}/metrics?after=${after}&limit=10000`);
    rows.push(...page.data);
    if (!page.has_more || !page.data.length) return rows;
  }
}

// A run's data files by name: the folders they sit in say little next to the file names.
export function dataNames(run) {
  return (Array.isArray(run.data) ? run.data : [run.data]).filter(Boolean).map((p) => String(p).split('/').pop()).join(', ');
}

// Charts that hold a run's rows by metric name, one chart per chartOf() group.
// Rows are added to their series as they come (a live run sends thousands);
// the charts are rebuilt at most once per frame.
export class RunCharts {
  constructor(container) {
    this.container = container;
    this.charts = new Map();  // group → LineChart
    this.series = new Map();  // metric name → points in seq order
    this.seen = new Set();    // seqs already added
    this.pending = false;
  }
  add(rows) {
    for (const row of rows) {
      if (this.seen.has(row.seq) || typeof row.value !== 'number' || !isCurve(row.name)) continue;
      this.seen.add(row.seq);
      if (!this.series.has(row.name)) this.series.set(row.name, []);
      this.series.get(row.name).push({ x: row.step, y: row.value, seq: row.seq });
    }
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }
  draw() {
    const groups = new Map();
    for (const [name, points] of this.series) {
      points.sort((a, b) => a.seq - b.seq);  // nearly sorted already: cheap
      const group = chartOf(name);
      if (!groups.has(group)) groups.set(group, []);
      groups.get(group).push({ label: name, points });
    }
    for (const [group, series] of groups) {
      if (!this.charts.has(group)) {
        const chart = new LineChart(group);
        chart.element.dataset.chart = group;
        this.charts.set(group, chart);
        this.container.append(chart.element);
      }
      this.charts.get(group).setSeries(series);
    }
  }
  redraw() { for (const chart of this.charts.values()) chart.redraw(); }
  destroy() { for (const chart of this.charts.values()) chart.destroy(); }
}

function runFacts(run) {
  const rows = [['status', h('span', { id: 'run-status' }, badge(run.status))], ['source', run.source], ['method', run.method],
    ['model', run.model], ['data', (Array.isArray(run.data) ? run.data : [run.data]).join(', ')], ['folder', run.dir], ['created', when(run.created_at)], ['updated', when(run.updated_at)],
    ['steps', run.steps ?? ''], ['best', metricsText(run.best)], ['last', metricsText(run.last)]];
  if (run.gate) rows.push(['forgetting gate', run.gate.passed === false ? 'FAILED' : 'passed']);
  return table(['', ''], rows, { class: 'facts' });
}

function runDetails(run) {
  const params = Object.entries(run.params || {}).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]);
  const lineage = Object.entries(run.lineage || {}).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]);
  const artefacts = (run.artefacts || []).map((a) => [a.kind, a.path, num(a.bytes)]);
  return h('div', { class: 'columns' },
    section('Hyperparameters', table(['key', 'value'], params, { id: 'run-params' })),
    h('div', {}, section('Lineage', table(['', ''], lineage)), section('Artefacts', table(['kind', 'path', 'bytes'], artefacts))));
}

async function renderRun(view, id) {
  const path = `/v1/runs/${encodeURIComponent(id)}`;
  const run = await api(path);
  const head = h('div', {}, h('h2', {}, 'Run ', run.name || run.id), runFacts(run));
  const chartBox = h('div', { class: 'charts', id: 'run-charts' });
  const charts = new RunCharts(chartBox);
  view.append(h('p', {}, h('a', { href: '#/runs' }, '← all runs')), head,
    h('div', { class: 'toolbar' }, smoothingControl(() => charts.redraw())), chartBox, runDetails(run));
  const history = await metricHistory(id);
  charts.add(history);
  const lastSeq = history.reduce((m, r) => Math.max(m, r.seq), 0);
  let stream = null;
  stream = subscribe(`${path}/events`, (event) => {
    if (event.event === 'metric') charts.add([JSON.parse(event.data)]);
    else if (event.event === 'run') {
      const fresh = JSON.parse(event.data);
      clear(head, h('h2', {}, 'Run ', fresh.name || fresh.id), runFacts(fresh));
    }
  }, { lastEventId: lastSeq, onEnd: (error) => { if (error) view.append(errorBox(error)); } });
  return () => { stream.close(); charts.destroy(); };
}

export async function render(view, { id }) {
  return id ? renderRun(view, id) : renderList(view);
}
