/**
 * WCAG 2.x contrast of every visible piece of text on a page, computed in the browser (hand-written,
 * no axe): the text's colour (SVG text: its fill) against its effective background, the
 * background-colours of the element and its ancestors composited over white, alpha included.
 * Normal text needs 4.5:1, large text (24px, or 18.66px bold) 3:1. Background images and opacity
 * are not looked at (the console uses neither behind text).
 *
 * A string, for page.evaluate: the tests' tsconfig has no DOM types. Returns the failures.
 */
export const CONTRAST_FAILURES = `(() => {
  const parse = (c) => {
    const m = /rgba?\\(([\\d.]+)[, ]+([\\d.]+)[, ]+([\\d.]+)(?:[,/ ]+([\\d.]+%?))?\\)/.exec(c);
    if (!m) return null;
    const a = m[4] === undefined ? 1 : m[4].endsWith('%') ? parseFloat(m[4]) / 100 : parseFloat(m[4]);
    return [+m[1], +m[2], +m[3], a];
  };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const raw = getComputedStyle(e).backgroundColor;
      const c = parse(raw);
      if (!c && raw !== 'transparent') unparsed.push(e.tagName.toLowerCase() + ' background ' + raw);
      if (c && c[3] > 0) layers.push(c);
    }
    return layers.reverse().reduce((under, top) => over(top, under), [255, 255, 255, 1]);
  };
  const visible = (el) => {
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || s.display === 'none' || el.closest('[aria-hidden=true], .sr-only')) return false;
    const r = el.getBoundingClientRect();
    return r.width > 1 && r.height > 1 && r.right > 0 && r.bottom > 0;
  };
  // A colour this cannot read (oklch(), color-mix() …) is a failure, not a text silently passed over.
  const unparsed = [];
  const texts = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) if (n.textContent.trim() && n.parentElement) texts.add(n.parentElement);
  for (const el of document.querySelectorAll('input:not([type=checkbox]):not([type=radio]), select, textarea')) texts.add(el);
  const failures = [];
  let checked = 0;
  for (const el of texts) {
    if (!visible(el) || el.closest('script, style, noscript, title')) continue;
    const s = getComputedStyle(el);
    const svg = el instanceof SVGElement;
    const fg = parse(svg ? s.fill : s.color);
    if (!fg) { unparsed.push(el.tagName.toLowerCase() + ' colour ' + (svg ? s.fill : s.color)); continue; }
    const bg = background(svg ? el.ownerSVGElement : el);
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    const got = ratio(over(fg, bg), bg);
    checked++;
    if (got < (large ? 3 : 4.5)) failures.push(el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') + ' "' + (el.value || el.textContent).trim().slice(0, 30) + '" ' + got.toFixed(2) + ':1');
  }
  for (const u of new Set(unparsed)) failures.push('unparsed ' + u);
  return { checked, failures };
})()`;

/** The WCAG contrast ratio of two opaque CSS colours as getComputedStyle gives them (`rgb(r, g, b)`). */
export function contrastRatio(a: string, b: string): number {
  const lum = (css: string) => {
    const m = /rgba?\((\d+)[, ]+(\d+)[, ]+(\d+)/.exec(css);
    if (!m) throw new Error(`not an rgb() colour: ${css}`);
    const [r, g, b] = [m[1], m[2], m[3]].map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}
