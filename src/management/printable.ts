/**
 * Text from elsewhere (a file an operator named, a node's output, a peer's
 * error message) made safe to show on a terminal: control characters (an
 * escape sequence can clear the screen or retitle the window; a NUL or a
 * newline breaks a line) and bidirectional overrides are shown escaped, and
 * what is echoed back is quoted and shortened.
 */

// C0 controls but tab, DEL, C1 controls, and the bidirectional embedding, override and isolate marks.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const escape = (ch: string): string => {
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** `text` with every control character written as an escape (`\x1b`, `\n`). */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escape);
}

/** `text` printable, in double quotes, shortened to `max` characters with the length it had: `"ELF…" (4312 characters)`. */
export function quoted(text: string, max = 60): string {
  if (text.length <= max) return `"${printable(text)}"`;
  return `"${printable(text.slice(0, max))}…" (${text.length} characters)`;
}
