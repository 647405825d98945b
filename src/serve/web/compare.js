// Compare: runs picked on the Runs page (or here) overlaid, one chart per
// metric with a curve per run, and the tables of what differs: the config keys
// whose values are not all equal, and each metric's best and last per run.
import { api } from './api.js';
import { LineChart, PALETTE, smoothingControl } from './charts.js';
import { chartOf, isCurve, metricHistory, runsTable } from './runs.js';
import { h, clear, table, num, errorBox, section } from './ui.js';

async function renderPicker(view) {
  const runs = (await api('/v1/runs')).data;
  const selected = new Set();
  view.append(section('Compare runs',
    h('p', { class: 'note' }, 'Pick two or more runs.'),
    runsTable(runs, selected),
    h('button', { id: 'compare-selected', onclick: () => { location.hash = `#/compare?ids=${[...selected].join(',')}`; } }, 'Compare')));
}

function cell(value) {
  if (value === undefined) return '—';
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : num(value);
}

export async function render(view, { query }) {
  const ids = (query.get('ids') || '').split(',').filter(Boolean);
  if (ids.length < 2) return renderPicker(view);
  const comparison = await api(`/v1/runs/compare?ids=${ids.map(encodeURIComponent).join(',')}`);
  const runs = comparison.runs;
  const label = (id) => { const r = runs.find((x) => x.id === id); return r ? r.name || r.id : id; };
  const chartBox = h('div', { class: 'charts', id: 'compare-charts' });
  const charts = [];
  view.append(section(`Compare ${runs.length} runs`,
    h('div', { class: 'toolbar' }, smoothingControl(() => charts.forEach((c) => c.redraw()))), chartBox));

  // One chart per metric name, a curve per run in the run's colour.
  const histories = await Promise.all(runs.map((r) => metricHistory(r.id).catch((e) => { view.append(errorBox(e)); return []; })));
  const byMetric = new Map();
  histories.forEach((rows, i) => {
    for (const row of rows.slice().sort((a, b) => a.seq - b.seq)) {
      if (typeof row.value !== 'number' || !isCurve(row.name)) continue;
      if (!byMetric.has(row.name)) byMetric.set(row.name, new Map());
      const perRun = byMetric.get(row.name);
      if (!perRun.has(i)) perRun.set(i, []);
      perRun.get(i).push({ x: row.step, y: row.value });
    }
  });
  const names = [...byMetric.keys()].sort((a, b) => chartOf(a).localeCompare(chartOf(b)) || a.localeCompare(b));
  for (const name of names) {
    const chart = new LineChart(name);
    chart.element.dataset.chart = name;
    chart.setSeries([...byMetric.get(name)].map(([i, points]) => ({ label: label(runs[i].id), points, color: PALETTE[i % PALETTE.length] })));
    charts.push(chart);
    chartBox.append(chart.element);
  }

  const columns = ['', ...runs.map((r) => r.name || r.id)];
  const params = Object.entries(comparison.differing_params || {}).map(([key, values]) => [key, ...runs.map((r) => cell(values[r.id]))]);
  const metrics = Object.entries(comparison.metrics || {}).map(([name, perRun]) =>
    [name, ...runs.map((r) => (perRun[r.id] ? `best ${num(perRun[r.id].best)} · last ${num(perRun[r.id].last)}` : '—'))]);
  view.append(
    section('Config keys that differ', params.length ? table(columns, params, { id: 'differing-params' }) : h('p', { class: 'note' }, 'The runs share every config key.')),
    section('Metrics', table(columns, metrics, { id: 'compare-metrics' })));
  return () => charts.forEach((c) => c.destroy());
}
