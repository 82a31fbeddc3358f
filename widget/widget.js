// Palisade chat widget. Embed with:
//   <script src="https://your-palisade/widget.js" data-palisade-widget="pk_live_..." async></script>
// No framework, no globals besides `PalisadeWidget`; styles live in a shadow
// root so the page's CSS and ours never meet.
(() => {
  const script =
    document.currentScript || document.querySelector('script[data-palisade-widget]');
  if (!script) return;
  const key = script.getAttribute('data-palisade-widget');
  if (!key) return;
  const base = new URL(script.src, location.href).origin;
  const api = `${base}/api/v1/widget/${encodeURIComponent(key)}`;
  const storageKey = `palisade-widget:${key}`;

  const host = document.createElement('div');
  host.setAttribute('data-palisade-widget-host', '');
  const root = host.attachShadow({ mode: 'open' });

  const state = { session: null, busy: false, config: null };
  try {
    state.session = JSON.parse(sessionStorage.getItem(storageKey) || 'null');
  } catch {
    state.session = null;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === 'text') node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  function styles(theme) {
    const side = theme.position === 'bottom-left' ? 'left' : 'right';
    return `
      :host { all: initial; }
      * { box-sizing: border-box; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
      .bubble { position: fixed; bottom: 20px; ${side}: 20px; width: 56px; height: 56px; border-radius: 50%;
        border: none; cursor: pointer; background: ${theme.primaryColor}; color: #fff; display: grid; place-items: center;
        box-shadow: 0 6px 20px rgba(0,0,0,.2); z-index: 2147483646; }
      .bubble:focus-visible { outline: 3px solid ${theme.textColor}; outline-offset: 2px; }
      .panel { position: fixed; bottom: 88px; ${side}: 20px; width: min(370px, calc(100vw - 40px));
        height: min(540px, calc(100vh - 120px)); display: none; flex-direction: column; overflow: hidden;
        background: ${theme.backgroundColor}; color: ${theme.textColor}; border-radius: 14px;
        box-shadow: 0 12px 40px rgba(0,0,0,.25); z-index: 2147483647; }
      .panel.open { display: flex; }
      header { padding: 14px 16px; background: ${theme.primaryColor}; color: #fff; font-weight: 600; display: flex;
        justify-content: space-between; align-items: center; }
      header button { background: none; border: none; color: #fff; font-size: 20px; cursor: pointer; }
      .log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 8px; }
      .msg { max-width: 85%; padding: 8px 12px; border-radius: 12px; line-height: 1.4; white-space: pre-wrap;
        word-wrap: break-word; font-size: 14px; }
      .msg.user { align-self: flex-end; background: ${theme.primaryColor}; color: #fff; }
      .msg.assistant { align-self: flex-start; background: rgba(127,127,127,.12); }
      .msg.error { align-self: center; background: #fdecea; color: #8a1c12; }
      .sources { margin-top: 6px; font-size: 12px; opacity: .8; }
      form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid rgba(127,127,127,.2); }
      input { flex: 1; padding: 9px 12px; border-radius: 8px; border: 1px solid rgba(127,127,127,.4);
        font-size: 14px; background: transparent; color: inherit; }
      form button { padding: 0 14px; border: none; border-radius: 8px; background: ${theme.primaryColor}; color: #fff;
        cursor: pointer; font-size: 14px; }
      form button:disabled { opacity: .5; cursor: default; }
    `;
  }

  function render(config) {
    const theme = config.theme;
    const log = el('div', { class: 'log', role: 'log', 'aria-live': 'polite' });
    const input = el('input', { type: 'text', name: 'message', 'aria-label': 'Your message', placeholder: 'Ask a question…', maxlength: '4000' });
    const send = el('button', { type: 'submit', text: 'Send' });
    const form = el('form', {}, input, send);
    const close = el('button', { type: 'button', 'aria-label': 'Close chat', text: '×' });
    const panel = el(
      'div',
      { class: 'panel', role: 'dialog', 'aria-label': config.name },
      el('header', {}, el('span', { text: config.agentName || config.name }), close),
      log,
      form,
    );
    const bubble = el('button', { class: 'bubble', type: 'button', 'aria-label': `Open chat: ${config.name}`, 'aria-expanded': 'false' });
    // A static icon (no emoji: not every system has a font for it).
    bubble.innerHTML =
      '<svg width="26" height="26" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z"/></svg>';
    root.append(el('style', { text: styles(theme) }), panel, bubble);

    function add(role, text) {
      const node = el('div', { class: `msg ${role}`, text });
      log.append(node);
      log.scrollTop = log.scrollHeight;
      return node;
    }
    if (config.greeting) add('assistant', config.greeting);

    function toggle(open) {
      panel.classList.toggle('open', open);
      bubble.setAttribute('aria-expanded', String(open));
      if (open) input.focus();
    }
    bubble.addEventListener('click', () => toggle(!panel.classList.contains('open')));
    close.addEventListener('click', () => {
      toggle(false);
      bubble.focus();
    });
    panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') close.click();
    });

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text || state.busy) return;
      state.busy = true;
      send.disabled = true;
      input.value = '';
      add('user', text);
      const answer = add('assistant', '…');
      try {
        await ask(text, answer);
      } catch (error) {
        answer.remove();
        add('error', error.message || 'Something went wrong. Please try again.');
      } finally {
        state.busy = false;
        send.disabled = false;
        input.focus();
      }
    });
  }

  async function startSession() {
    const res = await fetch(`${api}/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    if (!res.ok) throw new Error(await errorMessage(res));
    const body = await res.json();
    state.session = { id: body.sessionId, token: body.visitorToken };
    sessionStorage.setItem(storageKey, JSON.stringify(state.session));
  }

  async function errorMessage(res) {
    try {
      return (await res.json()).error.message;
    } catch {
      return `The chat is unavailable (${res.status}).`;
    }
  }

  async function ask(text, answer, retried) {
    if (!state.session) await startSession();
    const res = await fetch(`${api}/sessions/${state.session.id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ visitorToken: state.session.token, content: text }),
    });
    if (res.status === 404 && !retried) {
      // The conversation is gone (closed tab storage from another widget key, or deleted): start afresh.
      state.session = null;
      sessionStorage.removeItem(storageKey);
      return ask(text, answer, true);
    }
    if (!res.ok || !res.body) throw new Error(await errorMessage(res));
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let content = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        const event = /^event: (.*)$/m.exec(frame)?.[1];
        const data = JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] || 'null');
        if (event === 'delta') {
          content += data.text;
          answer.textContent = content;
        } else if (event === 'done') {
          answer.textContent = data.answer.content;
          if (data.answer.citations.length > 0) {
            const titles = [...new Set(data.answer.citations.map((c) => c.documentTitle))];
            answer.append(el('div', { class: 'sources', text: `Sources: ${titles.join(', ')}` }));
          }
        } else if (event === 'error') {
          throw new Error(data.error.message);
        }
      }
    }
  }

  fetch(`${api}/config`)
    .then(async (res) => {
      if (!res.ok) throw new Error(await errorMessage(res));
      return res.json();
    })
    .then((config) => {
      state.config = config;
      render(config);
      document.body.append(host);
      window.PalisadeWidget = { ready: true, open: () => root.querySelector('.bubble').click() };
    })
    .catch((error) => {
      window.PalisadeWidget = { ready: false, error: error.message };
      console.warn('Palisade widget:', error.message);
    });
})();
