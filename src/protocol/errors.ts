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

/** Short rendering of an arbitrary JSON value for error messages. */
export function preview(raw: unknown): string {
  let text: string;
  try {
    text = typeof raw === 'bigint' ? raw.toString() : JSON.stringify(raw) ?? String(raw);
  } catch {
    text = String(raw);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
