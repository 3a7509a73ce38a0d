/**
 * Python's `shlex.split()` (POSIX mode), which zeek-client uses for a node's
 * `scripts` and `env` values: whitespace separates words, single quotes are
 * literal, double quotes allow backslash escapes, a backslash outside quotes
 * escapes the next character.
 */
export type SplitResult = { ok: true; words: string[] } | { ok: false; error: string };

export function shlexSplit(text: string): SplitResult {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word = (word ?? '') + c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') { quote = undefined; continue; }
      if (c === '\\' && i + 1 < text.length && '\\"$`\n'.includes(text[i + 1]!)) {
        i += 1;
        word = (word ?? '') + text[i];
        continue;
      }
      word = (word ?? '') + c;
      continue;
    }
    if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
      continue;
    }
    word ??= '';
    if (c === "'" || c === '"') { quote = c; continue; }
    if (c === '\\') {
      if (i + 1 >= text.length) return { ok: false, error: 'no escaped character after a trailing backslash' };
      i += 1;
      word += text[i];
      continue;
    }
    word += c;
  }
  if (quote) return { ok: false, error: `no closing quotation (${quote})` };
  if (word !== undefined) words.push(word);
  return { ok: true, words };
}

/** Quotes a word the way zeek-client renders it: in double quotes when it has whitespace. */
export function quoteIfSpaced(word: string): string {
  return /\s/.test(word) ? `"${word.replace(/(["\\$`])/g, '\\$1')}"` : word;
}
