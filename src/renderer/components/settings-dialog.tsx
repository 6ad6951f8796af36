/**
 * Settings: one control for every setting, saved at once. Retries outside 0–MAX_RETRIES are refused with
 * the reason next to the field (nothing is saved), never silently clamped.
 */
import { useEffect, useId, useState, type ReactNode } from 'react';
import type { Settings, ThemeSetting } from '../../shared/api';
import { MAX_RETRIES } from '../../shared/retry-limit';
import { useApp } from '../store/store-context';
import { ModalDialog } from './modal-dialog';

function Toggle({ label, hint, checked, onChange }: { label: string; hint: string; checked: boolean; onChange(checked: boolean): void }) {
  const hintId = useId();
  return (
    <div className="setting">
      <label className="setting-label">
        <input type="checkbox" checked={checked} aria-describedby={hintId} onChange={(event) => onChange(event.target.checked)} /> {label}
      </label>
      <p id={hintId} className="setting-hint">
        {hint}
      </p>
    </div>
  );
}

function RetriesField({ value, disabled, onSave }: { value: number; disabled: boolean; onSave(retries: number): Promise<boolean> }) {
  const [text, setText] = useState(String(value));
  const error = useApp((s) => s.settingsError);
  // Settings that arrive after the dialog opened (main's answer still on its way) replace what is shown.
  useEffect(() => setText((shown) => (Number(shown) === value ? shown : String(value))), [value]);
  const errorId = useId();
  const hintId = useId();
  const save = (raw: string): void => {
    setText(raw);
    if (raw.trim() === '') return;
    void onSave(Number(raw));
  };
  return (
    <div className="setting">
      <label className="setting-label">
        Retries{' '}
        <input
          type="number"
          min={0}
          max={MAX_RETRIES}
          step={1}
          value={text}
          disabled={disabled}
          aria-invalid={error !== null}
          aria-describedby={error !== null ? `${errorId} ${hintId}` : hintId}
          onChange={(event) => save(event.target.value)}
        />
      </label>
      <p id={hintId} className="setting-hint">
        How often a block that does not read back right is rewritten before the card is called faulty (0 to {MAX_RETRIES}).
      </p>
      {error !== null && (
        <p id={errorId} className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

const GIB = 1024 ** 3;
/** The largest cache main accepts (api-validation: 1 TiB). */
const MAX_CACHE_GIB = 1024;

/** The cache limit typed in GiB, as bytes; or why it is refused. */
export function cacheLimitFromText(raw: string): { bytes: number } | { problem: string } {
  const value = Number(raw.trim().replace(',', '.'));
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > MAX_CACHE_GIB) {
    return { problem: `The download cache takes 0 to ${MAX_CACHE_GIB} GiB (0 keeps no downloads).` };
  }
  return { bytes: Math.round(value * GIB) };
}

/** The download cache for images opened from a link: its size limit in GiB, 0 turning it off. */
function CacheLimitField({ value, onSave }: { value: number; onSave(bytes: number): Promise<boolean> }) {
  const shownGib = (bytes: number): string => String(Math.round((bytes / GIB) * 100) / 100);
  const [text, setText] = useState(shownGib(value));
  const [problem, setProblem] = useState<string | null>(null);
  // Settings that arrive after the dialog opened replace what is shown (not a value being typed).
  useEffect(() => {
    setText((shown) => {
      const typed = cacheLimitFromText(shown);
      return 'bytes' in typed && typed.bytes === value ? shown : shownGib(value);
    });
  }, [value]);
  const errorId = useId();
  const hintId = useId();
  const save = (raw: string): void => {
    setText(raw);
    const parsed = cacheLimitFromText(raw);
    if ('problem' in parsed) {
      setProblem(parsed.problem);
      return;
    }
    setProblem(null);
    void onSave(parsed.bytes);
  };
  return (
    <div className="setting">
      <label className="setting-label">
        Download cache{' '}
        <input
          type="number"
          min={0}
          max={MAX_CACHE_GIB}
          step={1}
          value={text}
          aria-label="Download cache (GiB)"
          aria-invalid={problem !== null}
          aria-describedby={problem !== null ? `${errorId} ${hintId}` : hintId}
          onChange={(event) => save(event.target.value)}
        />{' '}
        GiB
      </label>
      <p id={hintId} className="setting-hint">
        Images opened from a link are kept for the next flash, up to this size (the least recently used go first), and checked again before each
        reuse. 0 keeps none.
      </p>
      {problem !== null && (
        <p id={errorId} className="error" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}

const THEMES: { value: ThemeSetting; label: string }[] = [
  { value: 'system', label: 'Like the system' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];

function Group({ title, children }: { title: string; children: ReactNode }) {
  return (
    <fieldset className="setting-group">
      <legend>{title}</legend>
      {children}
    </fieldset>
  );
}

export function SettingsDialog() {
  const settings = useApp((s) => s.settings);
  const update = useApp((s) => s.updateSettings);
  const openPanel = useApp((s) => s.openPanel);
  const set = (patch: Partial<Settings>): void => void update(patch);
  return (
    <ModalDialog title="Settings" onClose={() => openPanel(null)} className="settings">
      <div className="dialog-scroll">
        <Group title="Checking">
          <Toggle
            label="Read back and verify"
            hint="Reads every written block back from the card itself after a flush and compares it. Off: faster, but nothing proves the card holds the image."
            checked={settings.readback}
            onChange={(readback) => set({ readback })}
          />
          <RetriesField value={settings.retries} disabled={!settings.readback} onSave={(retries) => update({ retries })} />
          <Toggle
            label="Check capacity"
            hint="Before writing, checks that the card really holds what it claims (fake cards lose data past their real size)."
            checked={settings.probe}
            onChange={(probe) => set({ probe })}
          />
        </Group>
        <Group title="Writing">
          <Toggle
            label="Only write what differs"
            hint="Reads each part of the card first and writes only the blocks that differ: quicker on a card flashed with this image before."
            checked={settings.skipIdentical}
            onChange={(skipIdentical) => set({ skipIdentical })}
          />
          <Toggle label="Eject when verified" hint="Ejects the card once it is verified, so it can be pulled out at once." checked={settings.eject} onChange={(eject) => set({ eject })} />
          <Toggle label="Notify when done" hint="A desktop notification when a flash ends." checked={settings.notifications} onChange={(notifications) => set({ notifications })} />
        </Group>
        <Group title="Downloads">
          <CacheLimitField value={settings.cacheLimitBytes} onSave={(cacheLimitBytes) => update({ cacheLimitBytes })} />
        </Group>
        <Group title="Look">
          <div className="setting theme-choice" role="radiogroup" aria-label="Theme">
            {THEMES.map((theme) => (
              <label key={theme.value} className="setting-label">
                <input type="radio" name="theme" value={theme.value} checked={settings.theme === theme.value} onChange={() => set({ theme: theme.value })} /> {theme.label}
              </label>
            ))}
          </div>
        </Group>
      </div>
      <div className="dialog-buttons">
        <button type="button" className="primary" onClick={() => openPanel(null)}>
          Done
        </button>
      </div>
    </ModalDialog>
  );
}
