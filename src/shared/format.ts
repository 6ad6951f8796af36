/**
 * Plain-words formatting of sizes, speeds and durations, shared by the CLI, main's messages and the
 * renderer. Sizes use SI units (1 GB = 10^9 bytes), as drive vendors print them on the label.
 */

const SI_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'] as const;
const PLACEHOLDER = '—';

/** Splits a byte count into a value below 1000 and its SI unit, rounded to `decimals` places. */
function scaleSi(bytes: number, decimals: number): { text: string; unit: string } {
  let value = Math.abs(bytes);
  let index = 0;
  while (value >= 1000 && index < SI_UNITS.length - 1) {
    value /= 1000;
    index += 1;
  }
  let text = index === 0 ? String(Math.round(value)) : value.toFixed(decimals);
  // 999.96 MB rounds to "1000.0": move to the next unit instead.
  if (index > 0 && Number(text) >= 1000 && index < SI_UNITS.length - 1) {
    index += 1;
    text = (value / 1000).toFixed(decimals);
  } else if (index === 0 && Number(text) >= 1000) {
    index = 1;
    text = (value / 1000).toFixed(decimals);
  }
  const sign = bytes < 0 ? '-' : '';
  return { text: sign + text, unit: SI_UNITS[index] ?? 'B' };
}

/**
 * Human size in SI units with one decimal, trailing ".0" dropped: 512 → "512 B", 7_818_182_656 → "7.8 GB",
 * 16e9 → "16 GB". Null or non-finite → "—".
 */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return PLACEHOLDER;
  const { text, unit } = scaleSi(bytes, 1);
  return `${text.replace(/\.0$/, '')} ${unit}`;
}

/** Exact byte count with thousands separators, locale-independent: 7818182656 → "7,818,182,656 bytes". */
export function formatBytesExact(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return PLACEHOLDER;
  const whole = Math.trunc(bytes);
  const digits = String(Math.abs(whole));
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const sign = whole < 0 ? '-' : '';
  return `${sign}${grouped} ${Math.abs(whole) === 1 ? 'byte' : 'bytes'}`;
}

/** Transfer speed, always one decimal so the width stays steady while it updates: "45.2 MB/s". */
export function formatSpeed(bytesPerSecond: number | null | undefined): string {
  if (bytesPerSecond === null || bytesPerSecond === undefined || !Number.isFinite(bytesPerSecond) || bytesPerSecond < 0) {
    return PLACEHOLDER;
  }
  const { text, unit } = scaleSi(bytesPerSecond, 1);
  return `${text} ${unit}/s`;
}

/** Joins the two most significant parts of a whole number of seconds: "1 h 5 min", "1 min 20 s", "45 s". */
function twoParts(totalSeconds: number): string {
  const days = Math.floor(totalSeconds / 86_400);
  const hours = Math.floor((totalSeconds % 86_400) / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  const parts: [number, string][] = [
    [days, 'd'],
    [hours, 'h'],
    [minutes, 'min'],
    [seconds, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first === -1) return '0 s';
  const shown = parts.slice(first, first + 2).filter(([n], i) => i === 0 || n > 0);
  return shown.map(([n, unit]) => `${n} ${unit}`).join(' ');
}

/**
 * Time left, rounded up to the second so it never says "0 s" while work remains: 80 → "1 min 20 s".
 * Null, negative or non-finite (speed still unknown) → "—".
 */
export function formatEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return PLACEHOLDER;
  return twoParts(Math.ceil(seconds));
}

/**
 * Elapsed time from milliseconds (report timings): below 10 s with one decimal ("2.4 s"), then whole units
 * ("1 min 20 s", "1 h 2 min"). Null, negative or non-finite → "—".
 */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return PLACEHOLDER;
  if (Math.round(ms) < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 10) {
    const text = seconds.toFixed(1);
    if (text !== '10.0') return `${text} s`;
  }
  return twoParts(Math.round(seconds));
}
