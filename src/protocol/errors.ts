/** A value from the wire did not have the expected shape. `path` says where. */
export class DecodeError extends Error {
  constructor(readonly path: string, readonly detail: string) {
    super(path ? `${path}: ${detail}` : detail);
    this.name = 'DecodeError';
  }
}

/**
 * Decodes part `i` (an element, a field) of the value at `path`. The part's
 * own path, `path[i]` and `suffix` (e.g. `.key`), is put together only if
 * decoding fails: a large value allocates no path strings.
 */
export function decodePart<R, T>(decode: (raw: R, path: string) => T, raw: R, path: string, i: number, suffix = ''): T {
  try {
    return decode(raw, '');
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    throw new DecodeError(`${path}[${i}]${suffix}${err.path}`, err.detail);
  }
}

/** What can fail for a reason a person should read: a value, or that reason. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

/** Result of decoding untrusted input. */
export type Decoded<T> = Outcome<T>;

/** Runs a decoder that throws DecodeError and turns the throw into a value. */
export function attempt<T>(decode: () => T): Decoded<T> {
  try {
    return { ok: true, value: decode() };
  } catch (err) {
    if (err instanceof DecodeError) return { ok: false, error: err.message };
    if (err instanceof RangeError || err instanceof SyntaxError || err instanceof TypeError) {
      return { ok: false, error: err.message };
    }
    throw err;
  }
}

const PREVIEW_CHARS = 60;

/**
 * Short rendering of an arbitrary JSON value for error messages. It writes
 * at most PREVIEW_CHARS characters, so it neither copies a huge value nor
 * recurses deeper than that into a nested one (JSON.stringify and String
 * of a deeply nested array overflow the stack).
 */
export function preview(raw: unknown): string {
  const out = { text: '' };
  render(raw, out);
  return out.text.length > PREVIEW_CHARS ? `${out.text.slice(0, PREVIEW_CHARS - 3)}...` : out.text;
}

function render(raw: unknown, out: { text: string }): void {
  if (out.text.length > PREVIEW_CHARS) return;
  if (Array.isArray(raw)) {
    out.text += '[';
    for (let i = 0; i < raw.length && out.text.length <= PREVIEW_CHARS; i++) {
      if (i > 0) out.text += ',';
      render(raw[i], out);
    }
    out.text += ']';
  } else if (typeof raw === 'object' && raw !== null) {
    out.text += '{';
    let first = true;
    for (const key in raw) {
      if (out.text.length > PREVIEW_CHARS) break;
      out.text += `${first ? '' : ','}${JSON.stringify(key.slice(0, PREVIEW_CHARS))}:`;
      first = false;
      render((raw as Record<string, unknown>)[key], out);
    }
    out.text += '}';
  } else if (typeof raw === 'string') {
    out.text += JSON.stringify(raw.slice(0, PREVIEW_CHARS));
  } else if (typeof raw === 'bigint') {
    out.text += raw.toString();
  } else {
    out.text += String(JSON.stringify(raw) ?? raw);
  }
}
