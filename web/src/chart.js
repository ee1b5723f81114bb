// A bar chart as SVG (no library): one bar per label, its value in a <title> for hover and
// screen readers, and the figure described by its caption.
const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** bars: [{label, value}]; returns a <figure>. Bars of value 0 are drawn as nothing (no rect). */
export function barChart(bars, caption, unit = '') {
  const W = 640, H = 220, pad = { l: 56, r: 8, t: 8, b: 40 };
  const max = Math.max(1, ...bars.map((b) => b.value));
  const step = (W - pad.l - pad.r) / Math.max(1, bars.length);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': caption, class: 'chart' });
  for (const f of [0, 0.5, 1]) {
    const y = pad.t + (H - pad.t - pad.b) * (1 - f);
    root.append(svg('line', { x1: pad.l, x2: W - pad.r, y1: y, y2: y, class: 'grid' }));
    root.append(svg('text', { x: pad.l - 6, y: y + 4, 'text-anchor': 'end', class: 'axis' }, Math.round(max * f).toLocaleString()));
  }
  bars.forEach((b, i) => {
    if (i % Math.ceil(bars.length / 16) === 0)
      root.append(svg('text', { x: pad.l + i * step + step / 2, y: H - pad.b + 14, 'text-anchor': 'middle', class: 'axis' }, b.label));
    if (!b.value) return;
    const hgt = ((H - pad.t - pad.b) * b.value) / max;
    const x = pad.l + i * step + step * 0.15;
    const rect = svg('rect', { x, y: H - pad.b - hgt, width: Math.max(1, step * 0.7), height: Math.max(0, hgt), class: 'bar' });
    rect.append(svg('title', {}, `${b.label}: ${b.value.toLocaleString()}${unit}`));
    root.append(rect);
  });
  const fig = document.createElement('figure');
  fig.append(root);
  const cap = document.createElement('figcaption');
  cap.textContent = caption;
  fig.append(cap);
  return fig;
}
