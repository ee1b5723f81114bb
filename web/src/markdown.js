// A small Markdown subset for model answers, parsed into plain data and rendered with
// textContent only: fenced code blocks, headings, lists, block quotes, paragraphs; inline code,
// **bold**, *italic* and [links](https://...). Raw HTML in the text stays text.

const FENCE = /^\s*(```|~~~)\s*([\w+#.-]*)\s*$/;

/** Block structure: [{type: 'code', lang, text} | {type: 'heading', level, text} | {type: 'list', ordered, items} | {type: 'quote', text} | {type: 'para', text}] */
export function parseBlocks(src) {
  const lines = String(src).replace(/\r\n?/g, '\n').split('\n');
  const blocks = [];
  let para = [];
  const flush = () => {
    if (para.length) blocks.push({ type: 'para', text: para.join('\n') });
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = line.match(FENCE);
    if (fence) {
      flush();
      const body = [];
      for (i++; i < lines.length && !lines[i].trim().startsWith(fence[1]); i++) body.push(lines[i]);
      blocks.push({ type: 'code', lang: fence[2] || '', text: body.join('\n') });  // unclosed: runs to the end (a stream mid-block)
      continue;
    }
    const heading = line.match(/^(#{1,6})\s+(.*)$/);
    if (heading) {
      flush();
      blocks.push({ type: 'heading', level: heading[1].length, text: heading[2] });
      continue;
    }
    const item = line.match(/^\s*([-*+]|\d+[.)])\s+(.*)$/);
    if (item) {
      flush();
      const ordered = /\d/.test(item[1]);
      const last = blocks[blocks.length - 1];
      if (last && last.type === 'list' && last.ordered === ordered) last.items.push(item[2]);
      else blocks.push({ type: 'list', ordered, items: [item[2]] });
      continue;
    }
    const quote = line.match(/^>\s?(.*)$/);
    if (quote) {
      flush();
      const last = blocks[blocks.length - 1];
      if (last && last.type === 'quote') last.text += '\n' + quote[1];
      else blocks.push({ type: 'quote', text: quote[1] });
      continue;
    }
    if (!line.trim()) flush();
    else para.push(line);
  }
  flush();
  return blocks;
}

const INLINE = /(`+)([\s\S]*?[^`])\1(?!`)|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\[([^\]]+)\]\(([^)\s]+)\)/g;

/** Inline spans: [{type: 'text'|'code'|'strong'|'em', text} | {type: 'link', text, href}] */
export function parseInline(text) {
  const out = [];
  let at = 0;
  for (const m of String(text).matchAll(INLINE)) {
    if (m.index > at) out.push({ type: 'text', text: text.slice(at, m.index) });
    if (m[1]) out.push({ type: 'code', text: m[2] });
    else if (m[3]) out.push({ type: 'strong', text: m[3] });
    else if (m[4]) out.push({ type: 'em', text: m[4] });
    else if (safeHref(m[6])) out.push({ type: 'link', text: m[5], href: m[6] });
    else out.push({ type: 'text', text: m[0] });  // javascript:, data: ... stay text
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push({ type: 'text', text: text.slice(at) });
  return out;
}

/** Only absolute http(s) links become links. */
export function safeHref(href) {
  try {
    const u = new URL(href);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

function inlineNodes(doc, text) {
  return parseInline(text).map((s) => {
    if (s.type === 'text') return doc.createTextNode(s.text);
    const el = doc.createElement(s.type === 'link' ? 'a' : s.type);
    el.textContent = s.text;
    if (s.type === 'link') {
      el.href = s.href;
      el.rel = 'noopener noreferrer nofollow';
      el.target = '_blank';
    }
    return el;
  });
}

/** A DocumentFragment for `src`, built from text nodes and fixed elements only. */
export function renderMarkdown(src, doc = document) {
  const frag = doc.createDocumentFragment();
  for (const b of parseBlocks(src)) {
    let el;
    if (b.type === 'code') {
      el = doc.createElement('pre');
      const code = doc.createElement('code');
      if (b.lang) code.dataset.lang = b.lang;
      code.textContent = b.text;
      el.append(code);
    } else if (b.type === 'heading') {
      el = doc.createElement(`h${Math.min(6, b.level + 2)}`);  // answers sit below the page's h1/h2
      el.append(...inlineNodes(doc, b.text));
    } else if (b.type === 'list') {
      el = doc.createElement(b.ordered ? 'ol' : 'ul');
      for (const item of b.items) {
        const li = doc.createElement('li');
        li.append(...inlineNodes(doc, item));
        el.append(li);
      }
    } else {
      el = doc.createElement(b.type === 'quote' ? 'blockquote' : 'p');
      const parts = b.text.split('\n');
      parts.forEach((p, i) => {
        if (i) el.append(doc.createElement('br'));
        el.append(...inlineNodes(doc, p));
      });
    }
    frag.append(el);
  }
  return frag;
}
