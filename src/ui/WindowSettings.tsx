import { useState } from 'react';
import { DEFAULT_WINDOWS, type WindowOptions, windowOptionProblems } from '../analysis/windows';

const FIELDS: { key: keyof WindowOptions; label: string; help: string }[] = [
  { key: 'limitSeconds', label: 'Window files longer than (s)', help: 'shorter files get one whole-file score only' },
  { key: 'windowSeconds', label: 'Window length (s)', help: '' },
  { key: 'hopSeconds', label: 'Hop between windows (s)', help: 'at most the window length' },
  {
    key: 'singlePassMaxSeconds',
    label: 'Whole-file pass up to (s)',
    help: '0: never; longer files report the window mean',
  },
];

/** The long-file window settings, checked before they are applied (defaults DEFAULT_WINDOWS). */
export function WindowSettings({ value, onApply }: { value: WindowOptions; onApply: (o: WindowOptions) => void }) {
  const [draft, setDraft] = useState<Record<keyof WindowOptions, string>>(() => toDraft(value));
  const [problems, setProblems] = useState<string[]>([]);
  const apply = (o: WindowOptions) => {
    const p = windowOptionProblems(o);
    setProblems(p);
    if (!p.length) onApply(o);
  };
  return (
    <details className="window-settings" data-testid="window-settings">
      <summary>Long files: window settings</summary>
      <form
        className="window-form"
        onSubmit={(e) => {
          e.preventDefault();
          apply(
            Object.fromEntries(
              FIELDS.map((f) => [f.key, draft[f.key].trim() === '' ? NaN : Number(draft[f.key])]),
            ) as unknown as WindowOptions,
          );
        }}
      >
        {FIELDS.map((f) => (
          <label key={f.key}>
            {f.label}
            <input
              type="number"
              step="any"
              min={0}
              value={draft[f.key]}
              name={f.key}
              onChange={(e) => setDraft((d) => ({ ...d, [f.key]: e.target.value }))}
            />
            {f.help && <span className="muted small">{f.help}</span>}
          </label>
        ))}
        <div className="row">
          <button type="submit">Apply and rescore long files</button>
          <button
            type="button"
            onClick={() => {
              setDraft(toDraft(DEFAULT_WINDOWS));
              apply(DEFAULT_WINDOWS);
            }}
          >
            Defaults
          </button>
        </div>
        {problems.length > 0 && (
          <p className="error" role="alert" data-testid="error">
            Window settings not applied: {problems.join('; ')}.
          </p>
        )}
      </form>
    </details>
  );
}

function toDraft(o: WindowOptions): Record<keyof WindowOptions, string> {
  return {
    limitSeconds: String(o.limitSeconds),
    windowSeconds: String(o.windowSeconds),
    hopSeconds: String(o.hopSeconds),
    singlePassMaxSeconds: String(o.singlePassMaxSeconds),
  };
}
