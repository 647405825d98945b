// Curves drawn with Chart.js (Debian's libjs-chart.js, loaded as window.Chart)
// and TensorBoard's smoothing: an exponential moving average debiased for its
// start, so the first points are not dragged towards zero.
import { h } from './ui.js';

const SMOOTHING_KEY = 'whet.smoothing';
export const PALETTE = ['#2f5d8a', '#c0392b', '#27ae60', '#8e44ad', '#d68910', '#17a589', '#7f8c8d', '#e84393'];

// The smoothed values of `values` with weight w in [0, 1): s_t = w·s_(t-1) + (1-w)·y_t
// from s_0 = 0, divided by 1 - w^t (the weight the average has gathered), as
// TensorBoard does. Non-finite values pass through and do not enter the average;
// a constant series is returned as it is.
export function emaSmooth(values, weight) {
  const finite = values.filter(Number.isFinite);
  if (weight <= 0 || finite.length === 0 || finite.every((v) => v === finite[0])) return values.slice();
  let average = 0;
  let count = 0;
  return values.map((v) => {
    if (!Number.isFinite(v)) return v;
    average = average * weight + (1 - weight) * v;
    count += 1;
    return average / (1 - Math.pow(weight, count));
  });
}

export function smoothing() {
  const stored = Number(localStorage.getItem(SMOOTHING_KEY));
  return Number.isFinite(stored) && stored >= 0 && stored < 1 && localStorage.getItem(SMOOTHING_KEY) !== null ? stored : 0.6;
}

// The smoothing slider; its value is remembered across pages and visits.
export function smoothingControl(onChange) {
  const value = h('output', {}, smoothing().toFixed(2));
  const slider = h('input', {
    type: 'range', min: '0', max: '0.99', step: '0.01', value: String(smoothing()), id: 'smoothing',
    oninput: () => {
      localStorage.setItem(SMOOTHING_KEY, slider.value);
      value.textContent = Number(slider.value).toFixed(2);
      onChange(Number(slider.value));
    },
  });
  return h('label', { class: 'smoothing' }, 'Smoothing ', slider, ' ', value);
}

// A line chart over steps. series: [{label, points: [{x, y}], color}]; each is
// drawn faint as measured and bold as smoothed (when smoothing is on).
export class LineChart {
  constructor(title, { logY = false } = {}) {
    this.canvas = h('canvas', { dataset: { points: '0' } });
    this.element = h('figure', { class: 'chart' }, h('figcaption', {}, title), h('div', { class: 'chart-box' }, this.canvas));
    this.series = [];
    this.pending = false;
    this.chart = new window.Chart(this.canvas, {
      type: 'line',
      data: { datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        elements: { point: { radius: 0 }, line: { borderWidth: 1.5 } },
        scales: {
          x: { type: 'linear', title: { display: true, text: 'step' } },
          y: { type: logY ? 'logarithmic' : 'linear' },
        },
        plugins: {
          // Thousands of steps draw as a few hundred points per curve, the shape kept (largest triangle three buckets).
          decimation: { enabled: true, algorithm: 'lttb', samples: 600 },
          legend: { labels: { filter: (item, data) => !data.datasets[item.datasetIndex].raw } },
          tooltip: { filter: (item) => !item.dataset.raw },
        },
      },
    });
  }

  setSeries(series) {
    this.series = series;
    this.redraw();
  }

  // Redraws at the next frame: a burst of live points costs one draw.
  redraw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const weight = smoothing();
    const datasets = [];
    let points = 0;
    this.series.forEach((s, i) => {
      const color = s.color || PALETTE[i % PALETTE.length];
      const ys = emaSmooth(s.points.map((p) => p.y), weight);
      points += s.points.length;
      if (weight > 0) {
        datasets.push({ label: `${s.label} (raw)`, raw: true, data: s.points, borderColor: `${color}40`, borderWidth: 1 });
      }
      datasets.push({ label: s.label, data: s.points.map((p, k) => ({ x: p.x, y: ys[k] })), borderColor: color, backgroundColor: color });
    });
    this.chart.data.datasets = datasets;
    this.chart.update('none');
    this.canvas.dataset.points = String(points);
  }

  destroy() {
    this.chart.destroy();
  }
}
