// Palisade chat widget. Embed with:
//   <script src="https://your-palisade/widget.js" data-palisade-widget="pk_live_..." async></script>
// Optional attributes: data-palisade-open (start with the chat open), data-palisade-lang="de" (the
// widget's own texts; default: the page's language, then the browser's), data-palisade-config (the
// widget's public config as JSON, for a page on Palisade's own origin, where browsers send no Origin
// with the config GET: the dashboard's preview, src/web/widget-preview.ts).
// No framework, no globals besides `PalisadeWidget`; styles live in a shadow root so the page's CSS and
// ours never meet.
(() => {
  const script = document.currentScript || document.querySelector('script[data-palisade-widget]');
  if (!script) return;
  const key = script.getAttribute('data-palisade-widget');
  if (!key) return;
  const base = new URL(script.src, location.href).origin;
  const api = `${base}/api/v1/widget/${encodeURIComponent(key)}`;
  const storageKey = `palisade-widget:${key}`;

  const TEXTS = {
    en: {
      open: 'Open chat: {name}',
      close: 'Close chat',
      message: 'Your message',
      placeholder: 'Ask a question…',
      send: 'Send',
      sources: 'Sources',
      thinking: 'The assistant is typing',
      failed: 'Something went wrong. Please try again.',
      unavailable: 'The chat is unavailable ({status}).',
    },
    de: {
      open: 'Chat öffnen: {name}',
      close: 'Chat schließen',
      message: 'Ihre Nachricht',
      placeholder: 'Stellen Sie eine Frage…',
      send: 'Senden',
      sources: 'Quellen',
      thinking: 'Der Assistent schreibt',
      failed: 'Etwas ist schiefgegangen. Bitte versuchen Sie es noch einmal.',
      unavailable: 'Der Chat ist nicht verfügbar ({status}).',
    },
  };
  const wanted = [script.getAttribute('data-palisade-lang'), document.documentElement.lang, ...(navigator.languages || [])];
  const lang = wanted.map((l) => (l || '').slice(0, 2).toLowerCase()).find((l) => l in TEXTS) || 'en';
  const text = (name, vars) => TEXTS[lang][name].replace(/\{(\w+)\}/g, (_, v) => String(vars?.[v] ?? ''));

  const host = document.createElement('div');
  host.setAttribute('data-palisade-widget-host', '');
  const root = host.attachShadow({ mode: 'open' });

  const state = { session: null, busy: false };
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

  const SVG_NS = 'http://www.w3.org/2000/svg';
  /** A stroked 24×24 icon from path data (built as DOM, not markup). */
  function icon(d, size) {
    const svg = document.createElementNS(SVG_NS, 'svg');
    for (const [name, value] of Object.entries({
      width: size,
      height: size,
      viewBox: '0 0 24 24',
      fill: 'none',
      stroke: 'currentColor',
      'stroke-width': '2',
      'stroke-linecap': 'round',
      'stroke-linejoin': 'round',
      'aria-hidden': 'true',
      focusable: 'false',
    })) {
      svg.setAttribute(name, String(value));
    }
    for (const part of d.split('|')) {
      const path = document.createElementNS(SVG_NS, 'path');
      path.setAttribute('d', part);
      svg.append(path);
    }
    return svg;
  }
  const CHAT = 'M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z';
  const DOWN = 'M6 9l6 6 6-6';
  const CROSS = 'M18 6 6 18|M6 6l12 12';
  const SEND = 'M22 2 11 13|M22 2l-7 20-4-9-9-4z';

  /** Black or white, whichever reads better on a #rrggbb background (WCAG relative luminance). */
  function onColour(hex) {
    const channel = (i) => {
      const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    return luminance > 0.4 ? '#111111' : '#ffffff';
  }

  /** Theme values come from the server's validated settings (#rrggbb, two positions); anything else falls back. */
  function colour(value, fallback) {
    return /^#[0-9a-fA-F]{6}$/.test(value || '') ? value : fallback;
  }

  function styles(theme) {
    const side = theme.position === 'bottom-left' ? 'left' : 'right';
    const primary = colour(theme.primaryColor, '#2f6feb');
    const ink = colour(theme.textColor, '#1f2328');
    const paper = colour(theme.backgroundColor, '#ffffff');
    const onPrimary = onColour(primary);
    return `
      :host { all: initial; }
      * { box-sizing: border-box; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
      button { font: inherit; }
      .bubble { position: fixed; bottom: 20px; ${side}: 20px; width: 58px; height: 58px; border-radius: 50%;
        border: none; cursor: pointer; background: ${primary}; color: ${onPrimary}; display: grid; place-items: center;
        box-shadow: 0 8px 24px rgba(0,0,0,.22), 0 2px 6px rgba(0,0,0,.12); z-index: 2147483646;
        transition: transform .18s ease, box-shadow .18s ease; }
      .bubble:hover { transform: translateY(-2px) scale(1.03); box-shadow: 0 12px 28px rgba(0,0,0,.26); }
      .bubble:focus-visible, button:focus-visible, input:focus-visible { outline: 3px solid ${primary}; outline-offset: 2px; }
      .bubble:focus-visible { outline-color: ${ink}; }
      .panel { position: fixed; bottom: 92px; ${side}: 20px; width: min(380px, calc(100vw - 40px));
        height: min(560px, calc(100vh - 120px)); display: flex; flex-direction: column; overflow: hidden;
        background: ${paper}; color: ${ink}; border-radius: 16px; border: 1px solid rgba(127,127,127,.18);
        box-shadow: 0 16px 48px rgba(0,0,0,.24); z-index: 2147483647;
        opacity: 0; transform: translateY(12px) scale(.98); transform-origin: bottom ${side};
        visibility: hidden; transition: opacity .18s ease, transform .18s ease, visibility 0s linear .18s; }
      .panel.open { opacity: 1; transform: none; visibility: visible; transition: opacity .18s ease, transform .18s ease; }
      header { padding: 14px 14px 14px 16px; background: ${primary}; color: ${onPrimary}; display: flex; gap: 12px;
        align-items: center; }
      .avatar { width: 36px; height: 36px; border-radius: 50%; flex: none; display: grid; place-items: center;
        background: rgba(255,255,255,.22); font-weight: 700; overflow: hidden; }
      .avatar img { width: 100%; height: 100%; object-fit: cover; }
      .titles { flex: 1; min-width: 0; line-height: 1.25; }
      .title { font-weight: 650; font-size: 15px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
      .subtitle { font-size: 12px; opacity: .85; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
      header button { background: transparent; border: none; color: inherit; cursor: pointer; width: 34px; height: 34px;
        border-radius: 8px; display: grid; place-items: center; }
      header button:hover { background: rgba(255,255,255,.18); }
      .log { flex: 1; overflow-y: auto; padding: 16px 14px; display: flex; flex-direction: column; gap: 10px;
        scroll-behavior: smooth; }
      .msg { max-width: 86%; padding: 9px 13px; border-radius: 16px; line-height: 1.45; white-space: pre-wrap;
        overflow-wrap: anywhere; font-size: 14px; animation: rise .18s ease; }
      .msg.user { align-self: flex-end; background: ${primary}; color: ${onPrimary}; border-bottom-right-radius: 4px; }
      .msg.assistant { align-self: flex-start; background: rgba(127,127,127,.12); border-bottom-left-radius: 4px; }
      .msg.error { align-self: center; background: #fdecea; color: #8a1c12; font-size: 13px; }
      .sources { margin-top: 8px; padding-top: 6px; border-top: 1px solid rgba(127,127,127,.25); font-size: 12px;
        opacity: .85; white-space: normal; }
      .sources ol { margin: 4px 0 0; padding-left: 18px; }
      .typing { display: inline-flex; gap: 4px; padding: 4px 0; }
      .typing span { width: 7px; height: 7px; border-radius: 50%; background: currentColor; opacity: .35;
        animation: blink 1.2s infinite ease-in-out; }
      .typing span:nth-child(2) { animation-delay: .2s; }
      .typing span:nth-child(3) { animation-delay: .4s; }
      form { display: flex; gap: 8px; padding: 10px 12px 12px; border-top: 1px solid rgba(127,127,127,.18); }
      input { flex: 1; min-width: 0; padding: 10px 14px; border-radius: 999px; border: 1px solid rgba(127,127,127,.4);
        font-size: 14px; background: transparent; color: inherit; }
      form button { width: 40px; height: 40px; flex: none; border: none; border-radius: 50%; background: ${primary};
        color: ${onPrimary}; cursor: pointer; display: grid; place-items: center; }
      form button:disabled { opacity: .45; cursor: default; }
      .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
      @keyframes rise { from { opacity: 0; transform: translateY(4px); } to { opacity: 1; transform: none; } }
      @keyframes blink { 0%, 80%, 100% { opacity: .25; } 40% { opacity: .9; } }
      @media (max-width: 420px) {
        .panel { inset: 0; width: 100vw; height: 100%; bottom: 0; border-radius: 0; border: none; }
        .panel.open ~ .bubble { display: none; }
      }
      @media (prefers-reduced-motion: reduce) {
        .panel, .panel.open, .bubble, .msg, .typing span { transition: none; animation: none; }
        .log { scroll-behavior: auto; }
      }
    `;
  }

  function avatar(config) {
    const box = el('span', { class: 'avatar', 'aria-hidden': 'true' });
    const name = config.agentName || config.name || '?';
    if (config.avatarUrl && /^https:\/\//.test(config.avatarUrl)) {
      const img = el('img', { src: config.avatarUrl, alt: '' });
      img.addEventListener('error', () => img.replaceWith(name.slice(0, 1).toUpperCase()));
      box.append(img);
    } else {
      box.textContent = name.slice(0, 1).toUpperCase();
    }
    return box;
  }

  function render(config) {
    const title = config.agentName || config.name;
    const log = el('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': title });
    const input = el('input', {
      type: 'text',
      name: 'message',
      'aria-label': text('message'),
      placeholder: text('placeholder'),
      maxlength: '4000',
      autocomplete: 'off',
    });
    const send = el('button', { type: 'submit', 'aria-label': text('send'), title: text('send') }, icon(SEND, 18));
    const form = el('form', {}, input, send);
    const close = el('button', { type: 'button', 'aria-label': text('close'), title: text('close') }, icon(CROSS, 20));
    const titles = el('span', { class: 'titles' }, el('div', { class: 'title', text: title }));
    if (config.agentName && config.name && config.name !== config.agentName) {
      titles.append(el('div', { class: 'subtitle', text: config.name }));
    }
    const panel = el(
      'div',
      { class: 'panel', role: 'dialog', 'aria-label': config.name, 'aria-hidden': 'true' },
      el('header', {}, avatar(config), titles, close),
      log,
      form,
    );
    const bubble = el('button', {
      class: 'bubble',
      type: 'button',
      'aria-label': text('open', { name: config.name }),
      'aria-expanded': 'false',
    });
    const bubbleIcon = (open) => bubble.replaceChildren(icon(open ? DOWN : CHAT, 26));
    bubbleIcon(false);
    root.append(el('style', { text: styles(config.theme || {}) }), panel, bubble);

    function add(role, content) {
      const node = el('div', { class: `msg ${role}` });
      if (content !== undefined) node.textContent = content;
      log.append(node);
      log.scrollTop = log.scrollHeight;
      return node;
    }
    if (config.greeting) add('assistant', config.greeting);

    function isOpen() {
      return panel.classList.contains('open');
    }
    function toggle(open, focus = true) {
      panel.classList.toggle('open', open);
      panel.setAttribute('aria-hidden', String(!open));
      bubble.setAttribute('aria-expanded', String(open));
      bubbleIcon(open);
      if (open && focus) input.focus();
    }
    bubble.addEventListener('click', () => toggle(!isOpen()));
    close.addEventListener('click', () => {
      toggle(false);
      bubble.focus();
    });
    panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') close.click();
    });

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const question = input.value.trim();
      if (!question || state.busy) return;
      state.busy = true;
      send.disabled = true;
      input.value = '';
      add('user', question);
      const answer = add('assistant');
      const typing = el('span', { class: 'typing', role: 'status' }, el('span'), el('span'), el('span'));
      typing.append(el('span', { class: 'visually-hidden', text: text('thinking') }));
      answer.append(typing);
      try {
        await ask(question, answer);
      } catch (error) {
        answer.remove();
        add('error', error.message || text('failed')).setAttribute('role', 'alert');
      } finally {
        state.busy = false;
        send.disabled = false;
        input.focus();
      }
    });

    return { open: (focus = true) => toggle(true, focus), close: () => toggle(false) };
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
      return text('unavailable', { status: res.status });
    }
  }

  function showSources(answer, citations) {
    const titles = [...new Set(citations.map((c) => c.documentTitle))];
    if (titles.length === 0) return;
    const list = el('ol');
    for (const title of titles) list.append(el('li', { text: title }));
    answer.append(el('div', { class: 'sources' }, el('span', { text: `${text('sources')}:` }), list));
  }

  async function ask(question, answer, retried) {
    if (!state.session) await startSession();
    const res = await fetch(`${api}/sessions/${state.session.id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ visitorToken: state.session.token, content: question }),
    });
    if (res.status === 404 && !retried) {
      // The conversation is gone (deleted, or storage left over from an older key): start afresh.
      state.session = null;
      sessionStorage.removeItem(storageKey);
      return ask(question, answer, true);
    }
    if (!res.ok || !res.body) throw new Error(await errorMessage(res));
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    const log = answer.parentNode;
    let buffer = '';
    let content = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n/g, '\n');
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        const event = /^event: ?(.*)$/m.exec(frame)?.[1];
        const data = JSON.parse(/^data: ?(.*)$/m.exec(frame)?.[1] || 'null');
        if (event === 'delta') {
          content += data.text;
          answer.textContent = content;
        } else if (event === 'done') {
          answer.textContent = data.answer.content;
          showSources(answer, data.answer.citations || []);
        } else if (event === 'error') {
          throw new Error(data.error.message);
        }
        if (log) log.scrollTop = log.scrollHeight;
      }
    }
  }

  function loadConfig() {
    const embedded = script.getAttribute('data-palisade-config');
    if (embedded) return Promise.resolve().then(() => JSON.parse(embedded));
    return fetch(`${api}/config`).then(async (res) => {
      if (!res.ok) throw new Error(await errorMessage(res));
      return res.json();
    });
  }

  loadConfig()
    .then((config) => {
      const controls = render(config);
      document.body.append(host);
      // Opened for the page, not by the visitor: focus stays where it is (the page may be in a frame).
      if (script.hasAttribute('data-palisade-open')) controls.open(false);
      window.PalisadeWidget = { ready: true, open: controls.open, close: controls.close };
    })
    .catch((error) => {
      window.PalisadeWidget = { ready: false, error: error.message };
      console.warn('Palisade widget:', error.message);
    });
})();
