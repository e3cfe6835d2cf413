import type { Clip } from './hooks/useClips';

/** The end of a clip's row in a list: why it could not be read, if so, and its Remove button. */
export function ClipRowEnd({ clip, onRemove, removeLabel }: { clip: Clip; onRemove: () => void; removeLabel: string }) {
  return (
    <>
      {clip.status === 'error' && (
        <span className="error inline" role="alert" data-testid="error">
          {clip.name}: {clip.error}
        </span>
      )}
      <button type="button" className="remove" onClick={onRemove} aria-label={removeLabel}>
        Remove
      </button>
    </>
  );
}
