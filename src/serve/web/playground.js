// Playground: one message answered by two models side by side (a base and an
// adapter, say), both streamed; thumbs up or down on each answer, and "A is
// better" / "B is better" once both have answered the same conversation,
// posted to /v1/feedback, which `whet feedback export` turns into training data.
import { api, readEvents } from './api.js';
import { h, clear, errorBox, section } from './ui.js';

const SIDES = ['A', 'B'];

// Streams one chat completion into `onText`; resolves with the completion's id.
async function streamAnswer(model, messages, settings, onText, signal) {
  const response = await api('/v1/chat/completions', {
    method: 'POST', raw: true, signal,
    json: { model, messages, stream: true, temperature: settings.temperature, max_tokens: settings.maxTokens },
  });
  let id = null;
  let text = '';
  await readEvents(response, (event) => {
    if (event.data === '[DONE]') return;
    const chunk = JSON.parse(event.data);
    if (chunk.error) throw new Error(chunk.error.message);
    id = chunk.id;
    const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
    if (delta && delta.content) {
      text += delta.content;
      onText(text);
    }
  });
  return { id, text };
}

function feedbackButtons(completionId) {
  const note = h('span', { class: 'note' });
  const post = async (body, label) => {
    try {
      await api('/v1/feedback', { method: 'POST', json: body });
      note.textContent = label;
    } catch (error) {
      note.replaceChildren(errorBox(error));
    }
  };
  const wanted = h('textarea', { rows: '2', placeholder: 'The answer you wanted (optional)', class: 'wanted' });
  const form = h('div', { class: 'down-form', hidden: true }, wanted,
    h('button', {
      class: 'send-down',
      onclick: () => {
        const body = { completion_id: completionId, rating: 'down' };
        if (wanted.value.trim()) body.preferred_output = wanted.value.trim();
        form.hidden = true;
        post(body, 'thumbs down recorded');
      },
    }, 'Send'));
  return h('div', { class: 'feedback' },
    h('button', { class: 'thumbs-up', title: 'Thumbs up: a good answer', onclick: () => post({ completion_id: completionId, rating: 'up' }, 'thumbs up recorded') }, '▲ good'),
    h('button', { class: 'thumbs-down', title: 'Thumbs down: a bad answer', onclick: () => { form.hidden = false; } }, '▼ bad'),
    note, form);
}

export async function render(view) {
  const models = (await api('/v1/models')).data.map((m) => m.id);
  const state = { histories: { A: [], B: [] }, controller: null };
  const selects = {};
  const panes = {};
  for (const [i, side] of SIDES.entries()) {
    selects[side] = h('select', { id: `model-${side}` }, models.map((m) => h('option', { value: m }, m)));
    selects[side].value = models[Math.min(i, models.length - 1)];
    panes[side] = h('div', { class: 'transcript', id: `transcript-${side}` });
  }
  const temperature = h('input', { id: 'temperature', type: 'number', min: '0', max: '2', step: '0.1', value: '0.7' });
  const maxTokens = h('input', { id: 'max-tokens', type: 'number', min: '1', max: '4096', value: '128' });
  const message = h('textarea', { id: 'message', rows: '3', placeholder: 'Message both models' });
  const send = h('button', { id: 'send', type: 'submit' }, 'Send');
  const verdict = h('div', { class: 'verdict', id: 'verdict' });

  const turn = async (event) => {
    event.preventDefault();
    const text = message.value.trim();
    if (!text) return;
    message.value = '';
    send.disabled = true;
    clear(verdict);
    state.controller = new AbortController();
    const settings = { temperature: Number(temperature.value), maxTokens: Number(maxTokens.value) };
    const sent = {};
    const answers = await Promise.all(SIDES.map(async (side) => {
      const history = state.histories[side];
      history.push({ role: 'user', content: text });
      sent[side] = JSON.stringify(history);
      panes[side].append(h('div', { class: 'user' }, text));
      const body = h('div', { class: 'text', dataset: { chunks: '0' } });
      const box = h('div', { class: 'assistant streaming' }, body);
      panes[side].append(box);
      try {
        const answer = await streamAnswer(selects[side].value, history.slice(), settings, (t) => {
          body.textContent = t;
          body.dataset.chunks = String(Number(body.dataset.chunks) + 1);
        }, state.controller.signal);
        history.push({ role: 'assistant', content: answer.text });
        box.classList.remove('streaming');
        box.dataset.completionId = answer.id;
        box.append(feedbackButtons(answer.id));
        return answer;
      } catch (error) {
        box.classList.remove('streaming');
        box.append(errorBox(error));
        history.pop();
        return null;
      }
    }));
    send.disabled = false;
    // A comparison needs both answers to one conversation: true on the first turn, and after as long as the two agree.
    if (answers.every(Boolean) && sent.A === sent.B) {
      const ids = answers.map((a) => a.id);
      const note = h('span', { class: 'note' });
      const prefer = (index) => async () => {
        try {
          await api('/v1/feedback', { method: 'POST', json: { completion_ids: ids, preferred: index } });
          clear(verdict, h('span', { class: 'note' }, `${SIDES[index]} preferred: recorded`));
        } catch (error) {
          note.replaceChildren(errorBox(error));
        }
      };
      clear(verdict, h('button', { id: 'prefer-A', onclick: prefer(0) }, 'A is better'),
        h('button', { id: 'prefer-B', onclick: prefer(1) }, 'B is better'), note);
    }
  };

  const reset = () => {
    state.histories = { A: [], B: [] };
    SIDES.forEach((side) => clear(panes[side]));
    clear(verdict);
  };

  view.append(section('Playground',
    h('form', { class: 'settings', onsubmit: (e) => e.preventDefault() },
      h('label', {}, 'temperature ', temperature), h('label', {}, 'max tokens ', maxTokens),
      h('button', { type: 'button', onclick: reset }, 'New conversation')),
    h('div', { class: 'sides' }, SIDES.map((side) =>
      h('div', { class: 'side' }, h('label', {}, `${side}: `, selects[side]), panes[side]))),
    verdict,
    h('form', { class: 'compose', onsubmit: turn }, message, send)));
  return () => state.controller && state.controller.abort();
}
