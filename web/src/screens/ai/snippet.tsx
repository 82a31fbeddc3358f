import { useMemo } from 'react';

interface Part {
  id: number;
  text: string;
  marked: boolean;
}

/**
 * A search snippet is `ts_headline` over HTML-escaped text: safe HTML whose only markup is `<mark>`
 * (docs/knowledge-base.md). It is still not injected as HTML: DOMParser (which runs no scripts and loads
 * nothing) reads it, and only its text and the marks become React elements. Any other markup, should
 * the server ever send some, is shown as plain text.
 */
export function snippetParts(html: string): Part[] {
  const body = new DOMParser().parseFromString(`<!doctype html><body>${html}`, 'text/html').body;
  const parts: Part[] = [];
  const walk = (node: Node, marked: boolean) => {
    for (const child of Array.from(node.childNodes)) {
      if (child.nodeType === Node.TEXT_NODE) parts.push({ id: parts.length, text: child.textContent ?? '', marked });
      else walk(child, marked || child.nodeName === 'MARK');
    }
  };
  walk(body, false);
  return parts;
}

export function Snippet({ html }: { html: string }) {
  const parts = useMemo(() => snippetParts(html), [html]);
  return (
    <span className="snippet">
      {parts.map((part) => (part.marked ? <mark key={part.id}>{part.text}</mark> : <span key={part.id}>{part.text}</span>))}
    </span>
  );
}
