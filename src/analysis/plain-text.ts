// Text for a terminal or a spreadsheet, from names chosen by strangers: a file name can carry
// escape sequences that hide or rewrite what a terminal shows, newlines that forge whole lines, and
// leading characters that a spreadsheet runs as a formula.

/** C0 and C1 controls, DEL, and the bidirectional overrides and isolates that reorder what follows. */
// eslint-disable-next-line no-control-regex -- control characters are what this matches
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every control and direction-changing character written as \uXXXX, nothing else changed. */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A file name as a result line shows it: as it is when plain, otherwise in double quotes with
 * controls escaped, so it cannot be mistaken for the line's own ": P(bona fide) = ..." or span lines.
 */
export function displayName(name: string): string {
  UNSAFE.lastIndex = 0;
  const odd = UNSAFE.test(name) || /: |"|^\s|\s$/.test(name);
  UNSAFE.lastIndex = 0;
  return odd ? `"${escapeControls(name.replace(/\\/g, '\\\\').replace(/"/g, '\\"'))}"` : name;
}

/** A CSV cell a spreadsheet will not run: text starting with = + - @, a tab or a CR gets a leading apostrophe, whatever follows. */
export function guardCell(v: string | number): string | number {
  return typeof v === 'string' && /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
}
