// Evaluation: the reports `whet eval --json-out` left in run folders, side by
// side. Each task gets one table whose rows are every model of every chosen
// report (base, few-shot, adapters, heads), each metric with its bootstrap
// interval, a chart of the first metric's intervals, the paired tests, and for
// each report the forgetting verdict against the base.
import { api } from './api.js';
import { PALETTE } from './charts.js';
import { h, clear, table, num, section } from './ui.js';

function withInterval(metric) {
  if (metric === undefined) return '—';
  if (typeof metric !== 'object') return num(metric);
  return h('span', {}, num(metric.value), ' ', h('span', { class: 'interval' }, `[${num(metric.low)}, ${num(metric.high)}]`));
}

// Rows of one task across reports: {label, metrics, beats} for models, then trivial baselines.
function taskRows(entries) {
  const rows = [];
  for (const { label, task } of entries) {
    for (const r of task.results) rows.push({ label: `${label} · ${r.model}`, metrics: r.metrics, beats: r.beats_trivial_baselines });
    for (const b of task.baselines || []) rows.push({ label: `${label} · ${b.name} (trivial)`, metrics: b.metrics, baseline: true });
  }
  return rows;
}

// A floating-bar chart of one metric's intervals with the point value marked.
function intervalChart(metric, rows) {
  const canvas = h('canvas');
  const figure = h('figure', { class: 'chart' }, h('figcaption', {}, `${metric} with its interval`), h('div', { class: 'chart-box' }, canvas));
  const shown = rows.filter((r) => r.metrics[metric] && typeof r.metrics[metric] === 'object');
  const chart = new window.Chart(canvas, {
    type: 'bar',
    data: {
      labels: shown.map((r) => r.label),
      datasets: [
        { type: 'bar', label: 'interval', data: shown.map((r) => [r.metrics[metric].low, r.metrics[metric].high]),
          backgroundColor: shown.map((r, i) => (r.baseline ? '#bbbbbb' : PALETTE[i % PALETTE.length]) + '88') },
        { type: 'scatter', label: metric, data: shown.map((r, i) => ({ x: r.metrics[metric].value, y: i })), backgroundColor: '#1d2630', pointRadius: 4 },
      ],
    },
    options: { indexAxis: 'y', animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } },
      scales: { y: { type: 'category' } } },
  });
  return { figure, chart };
}

function forgettingVerdict(label, report) {
  const general = report.tasks.filter((t) => t.role === 'forgetting');
  if (!general.length) return h('li', {}, `${label}: no forgetting check in this report (whet eval --forgetting)`);
  const regressions = (report.forgetting && report.forgetting.regressions) || [];
  const limits = report.forgetting ? `perplexity rise above ${num(100 * report.forgetting.perplexity_rise)}%, accuracy drop above ${num(100 * report.forgetting.accuracy_drop)} points` : '';
  if (!regressions.length) return h('li', { class: 'verdict-pass' }, `${label}: no model forgot beyond the thresholds (${limits})`);
  return h('li', { class: 'flag' }, `${label}: forgetting flagged (${limits}): `,
    regressions.map((r) => `${r.model} on ${r.task} ${r.metric} ${num(r.baseline)} → ${num(r.value)}`).join('; '));
}

function comparisonsTable(entries) {
  const rows = [];
  for (const { label, task } of entries)
    for (const c of task.comparisons || [])
      rows.push([label, c.model, c.baseline, c.metric, num(c.value), num(c.baseline_value), num(c.p_value), c.p_value < 0.05 ? 'significant' : '']);
  return rows.length ? table(['report', 'model', 'against', 'metric', 'value', 'against value', 'p (paired bootstrap)', ''], rows) : null;
}

function renderReports(box, chosen, charts) {
  charts.splice(0).forEach((c) => c.destroy());
  const tasks = new Map();  // task path → [{label, task}]
  for (const entry of chosen)
    for (const task of entry.report.tasks) {
      if (!tasks.has(task.path)) tasks.set(task.path, []);
      tasks.get(task.path).push({ label: entry.label, task });
    }
  const parts = [];
  for (const [path, entries] of tasks) {
    const rows = taskRows(entries);
    const metrics = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))];
    const hasBaselines = rows.some((r) => r.baseline);
    const body = rows.map((r) => [r.label, ...metrics.map((m) => withInterval(r.metrics[m])),
      ...(hasBaselines ? [r.baseline ? '' : r.beats === false ? h('span', { class: 'flag' }, 'NO') : 'yes'] : [])]);
    const columns = ['model', ...metrics, ...(hasBaselines ? ['beats trivial baselines'] : [])];
    const interval = metrics.length ? intervalChart(metrics[0], rows) : null;
    if (interval) charts.push(interval.chart);
    parts.push(section(`${path} (${entries[0].task.kind}, ${entries[0].task.items} items, ${entries[0].task.role})`,
      table(columns, body, { class: 'eval-task' }), interval ? h('div', { class: 'charts' }, interval.figure) : null, comparisonsTable(entries)));
  }
  clear(box, section('Forgetting', h('ul', { id: 'forgetting' }, chosen.map((e) => forgettingVerdict(e.label, e.report)))), parts);
}

export async function render(view) {
  const all = (await api('/v1/evaluations')).data;
  const unreadable = all.filter((r) => r.error);
  const reports = all.filter((r) => r.report);
  if (unreadable.length) view.append(section('Reports that could not be read', table(['run', 'report', 'error'], unreadable.map((r) => [r.run_name || r.run_id, r.path, r.error]))));
  if (!reports.length) {
    view.append(section('Evaluation', h('p', { class: 'note' },
      'No evaluation reports yet: `whet eval ... --json-out RUN_FOLDER/eval.json` writes one where the dashboard finds it.')));
    return undefined;
  }
  const box = h('div', { id: 'eval-reports' });
  const charts = [];
  const picks = reports.map((r, i) => ({ entry: { label: r.run_name || r.run_id, report: r.report }, box: h('input', { type: 'checkbox', class: 'pick-report', checked: i < 2 }) }));
  const update = () => renderReports(box, picks.filter((p) => p.box.checked).map((p) => p.entry), charts);
  picks.forEach((p) => p.box.addEventListener('change', update));
  view.append(section('Evaluation reports', table(['', 'run', 'report', 'command'],
    reports.map((r, i) => [picks[i].box, h('a', { href: `#/runs/${encodeURIComponent(r.run_id)}` }, r.run_name || r.run_id), r.path, h('code', {}, r.report.command || '')]))), box);
  update();
  return () => charts.forEach((c) => c.destroy());
}
