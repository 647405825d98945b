// Loops: what `whet watch` decided (docs/loop.md). Per loop, its open cycle
// and phase, then every cycle newest first: promoted or rejected, why, the
// versions before and after, and the evidence (the held-out comparison with its
// paired p-value, the forgetting gate, the counterfactual gap). Read from
// /v1/loops, refreshed while the page is open, since a loop runs in its own process.
import { api } from './api.js';
import { h, clear, table, num, when, errorBox, section, badge } from './ui.js';

function versionText(v) {
  return v === null || v === undefined ? 'base' : String(v);
}

function comparisonCells(evaluation) {
  if (!evaluation) return ['', '', ''];
  const c = evaluation.comparison;
  return [`${c.metric} ${num(c.champion)} → ${num(c.challenger)}`, num(c.improvement), num(c.p_value)];
}

function checksText(evaluation) {
  if (!evaluation) return '';
  const f = evaluation.forgetting;
  const forgetting = !f.judged ? 'forgetting: not judged' : f.passed ? 'forgetting: passed' : 'forgetting: FAILED';
  const b = evaluation.bias;
  const bias = !b ? 'bias: off' : `bias: gap ${num(b.champion)} → ${num(b.challenger)}${b.failed ? ' FAILED' : ''}`;
  return `${forgetting}; ${bias}`;
}

function cycleRow(c) {
  const d = c.decision;
  const evaluation = d ? d.evaluation : c.evaluation;
  const outcome = d ? badge(d.decision) : badge(c.phase);
  return [String(c.cycle), d ? when(d.decided_at) : '', outcome,
    d ? `${versionText(d.champion_before)} → ${versionText(d.champion_after)}` : '',
    d ? h('a', { href: '#/registry' }, String(d.version)) : '',
    ...comparisonCells(evaluation), checksText(evaluation),
    d ? h('span', { class: 'reason' }, d.reason) : '',
    evaluation ? h('details', {}, h('summary', {}, 'evidence'), h('pre', {}, JSON.stringify(evaluation, null, 2))) : ''];
}

function loopSection(loop) {
  const inputs = (loop.inputs || []).reduce((sum, i) => sum + i.records, 0);
  const alias = (loop.last_decision && loop.last_decision.alias) || 'champion';
  return h('section', { class: 'loop', dataset: { loop: loop.name } },
    h('h2', {}, loop.name, ' ', h('span', { class: 'note' },
      `cycle ${loop.cycle}, ${loop.phase}; ${(loop.inputs || []).length} input file(s), ${inputs} records; champion models:/${loop.name}@${alias}`)),
    table(['cycle', 'decided', 'decision', 'champion', 'version', 'held-out metric', 'improvement', 'p', 'checks', 'reason', ''],
      (loop.cycles || []).map(cycleRow), { class: 'cycles' }));
}

export async function render(view) {
  const box = h('div', { id: 'loops' });
  view.append(box);
  const refresh = async () => {
    try {
      const loops = (await api('/v1/loops')).data;
      const details = await Promise.all(loops.map((l) => api(`/v1/loops/${encodeURIComponent(l.name)}`)));
      clear(box, details.length ? details.map(loopSection)
        : section('Loops', h('p', { class: 'note' }, 'No loops yet: start one with whet watch LOOP.yaml --data-dir (this server\'s data folder).')));
    } catch (error) {
      clear(box, errorBox(error));
    }
  };
  await refresh();
  const timer = setInterval(refresh, 5000);
  return () => clearInterval(timer);
}
