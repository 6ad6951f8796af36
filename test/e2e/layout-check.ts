/**
 * Layout checks run in the page: every visible element lies inside the viewport (or inside the visible part
 * of the scroll area that holds it), no text runs out of the panel that holds it, and no two of the boxes a
 * user reads or presses overlap. Also: no word is broken across lines, and no text names a command-line
 * option, and every text reads at WCAG AA contrast against the solid background behind it (light and dark).
 */
import type { Page } from 'playwright-core';

export const WINDOW_SIZES = [
  { width: 1280, height: 800 },
  { width: 1000, height: 720 },
  { width: 720, height: 540 },
] as const;

export interface LayoutProblems {
  outside: string[];
  overlaps: string[];
  brokenWords: string[];
  cliFlags: string[];
  /** Text below WCAG AA contrast against the background it sits on (4.5:1, or 3:1 for large text). */
  lowContrast: string[];
}

/** Boxes that must not overlap each other (a box may contain another: only disjoint pairs are compared). */
const BOXES = [
  'button',
  'input',
  'h1',
  'h2',
  'h3',
  'p',
  'li',
  'dt',
  'dd',
  '[role="progressbar"]',
  '[role="status"]',
  '[role="slider"]',
  '.step-icon',
  '.verdict-icon',
  '.map-scale',
  '.truncate-box',
].join(',');

/** Runs in the page. */
function inspect(boxSelector: string): LayoutProblems {
  /** The panels text must stay inside: the steps, tiles, card rows, details, verdicts, the map, dialogs. */
  const PANELS = '.step,.tile,.card-row,.card-details,.verdict-big,.running-map,.dialog';
  const name = (el: Element): string => {
    const text = (el.getAttribute('aria-label') ?? el.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 60);
    const cls = el.getAttribute('class')?.split(' ')[0];
    return `<${el.tagName.toLowerCase()}${cls ? `.${cls}` : ''}> "${text}"`;
  };
  const visible = (el: Element): boolean => {
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none' || Number(style.opacity) === 0) return false;
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) return false;
    return !el.closest('.visually-hidden,[aria-hidden="true"]');
  };
  /** The part of the viewport where `el` can be seen: clipped by every scrolling or clipping ancestor (and by `el` itself with `self`). */
  const clipOf = (el: Element, self = false): DOMRect => {
    let clip = new DOMRect(0, 0, window.innerWidth, window.innerHeight);
    for (let p = self ? el : el.parentElement; p; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (style.overflowX !== 'visible' || style.overflowY !== 'visible') {
        const r = p.getBoundingClientRect();
        const left = Math.max(clip.left, r.left);
        const top = Math.max(clip.top, r.top);
        clip = new DOMRect(left, top, Math.max(0, Math.min(clip.right, r.right) - left), Math.max(0, Math.min(clip.bottom, r.bottom) - top));
      }
    }
    return clip;
  };
  const rgba = (css: string): number[] => {
    const m = /rgba?\(([^)]+)\)/.exec(css);
    if (!m?.[1]) return [0, 0, 0, 0];
    const parts = m[1].split(/[,\s/]+/).filter(Boolean).map(Number);
    return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0, parts[3] ?? 1];
  };
  const luminance = (c: number[]): number => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      const x = v / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (b ?? 0);
  };
  const contrast = (fg: number[], bg: number[]): number => {
    // A translucent text colour is blended over its background first.
    const a = fg[3] ?? 1;
    const mixed = [0, 1, 2].map((i) => (fg[i] ?? 0) * a + (bg[i] ?? 0) * (1 - a));
    const [hi, lo] = [luminance(mixed), luminance(bg)].sort((x, y) => y - x);
    return ((hi ?? 0) + 0.05) / ((lo ?? 0) + 0.05);
  };
  const problems: LayoutProblems = { outside: [], overlaps: [], brokenWords: [], cliFlags: [], lowContrast: [] };
  const all = [...document.body.querySelectorAll('*')].filter(visible);
  const vw = window.innerWidth;
  const vh = window.innerHeight;
  // Nothing outside the window; scroll areas themselves must fit too.
  for (const el of all) {
    if (el.closest('.backdrop') && !el.closest('.dialog')) continue;
    const r = el.getBoundingClientRect();
    const scrolled = [...(function* () {
      for (let p = el.parentElement; p; p = p.parentElement) yield p;
    })()].some((p) => ['auto', 'scroll'].includes(getComputedStyle(p).overflowY) || ['auto', 'scroll'].includes(getComputedStyle(p).overflowX));
    if (scrolled) continue;
    if (r.left < -0.5 || r.top < -0.5 || r.right > vw + 0.5 || r.bottom > vh + 0.5) problems.outside.push(`${name(el)} at ${Math.round(r.left)},${Math.round(r.top)}–${Math.round(r.right)},${Math.round(r.bottom)}`);
  }
  // No overlap between disjoint boxes, compared where they can be seen.
  const dialog = document.querySelector('.dialog');
  const boxes = [...document.body.querySelectorAll(boxSelector)].filter(visible).filter((el) => !dialog || dialog.contains(el));
  const seen = boxes.map((el) => {
    const r = el.getBoundingClientRect();
    const c = clipOf(el);
    const left = Math.max(r.left, c.left);
    const top = Math.max(r.top, c.top);
    return { el, left, top, right: Math.min(r.right, c.right), bottom: Math.min(r.bottom, c.bottom) };
  });
  for (let i = 0; i < seen.length; i += 1) {
    const a = seen[i];
    if (!a || a.right - a.left < 1 || a.bottom - a.top < 1) continue;
    for (let j = i + 1; j < seen.length; j += 1) {
      const b = seen[j];
      if (!b || b.right - b.left < 1 || b.bottom - b.top < 1) continue;
      if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 1 && h > 1) problems.overlaps.push(`${name(a.el)} × ${name(b.el)} (${Math.round(w)}×${Math.round(h)})`);
    }
  }
  // Words broken across lines: a text node whose word spans two line boxes. And text that runs out of the
  // panel holding it (an address too long for its step), where it can be seen (truncated text is clipped).
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || !visible(parent)) continue;
    const text = node.textContent ?? '';
    const panel = text.trim() === '' ? null : parent.closest(PANELS);
    if (panel) {
      const p = panel.getBoundingClientRect();
      // Text is clipped by its own element too (a truncated name's hidden part is not seen).
      const c = clipOf(parent, true);
      const whole = document.createRange();
      whole.selectNodeContents(node);
      const out = [...whole.getClientRects()].some((r) => {
        const left = Math.max(r.left, c.left);
        const right = Math.min(r.right, c.right);
        const top = Math.max(r.top, c.top);
        const bottom = Math.min(r.bottom, c.bottom);
        if (right - left < 1 || bottom - top < 1) return false;
        return left < p.left - 1 || right > p.right + 1 || top < p.top - 1 || bottom > p.bottom + 1;
      });
      if (out) problems.outside.push(`text of ${name(parent)} runs out of ${name(panel).slice(0, 40)}`);
    }
    for (const match of text.matchAll(/[A-Za-z0-9]{4,}/g)) {
      const range = document.createRange();
      range.setStart(node, match.index ?? 0);
      range.setEnd(node, (match.index ?? 0) + match[0].length);
      const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      if (lines.size > 1) problems.brokenWords.push(`"${match[0]}" in ${name(parent)}`);
    }
    if (/(^|\s|\()--[a-z][a-z-]+/.test(text)) problems.cliFlags.push(`${name(parent)}`);
    // Readable in both themes: the text's colour against the first solid background behind it. Disabled
    // controls are exempt (as in WCAG); text over a dialog's backdrop is judged by the dialog only.
    if (text.trim() !== '' && !parent.closest(':disabled,[aria-disabled="true"]') && !(dialog && !dialog.contains(parent))) {
      const style = getComputedStyle(parent);
      const fg = rgba(style.color);
      let bg: number[] | null = null;
      for (let p: Element | null = parent; p && !bg; p = p.parentElement) {
        const c = rgba(getComputedStyle(p).backgroundColor);
        if (c[3] !== undefined && c[3] >= 0.99) bg = c;
      }
      bg ??= rgba(getComputedStyle(document.body).backgroundColor);
      const ratio = contrast(fg, bg);
      const large = parseFloat(style.fontSize) >= 24 || (parseFloat(style.fontSize) >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) problems.lowContrast.push(`${name(parent)} ${ratio.toFixed(2)}:1 (${style.color} on rgb(${bg.slice(0, 3).join(', ')}))`);
    }
  }
  return problems;
}

/** Layout problems of the page as it is now. */
export function layoutProblems(page: Page): Promise<LayoutProblems> {
  return page.evaluate(inspect, BOXES);
}
