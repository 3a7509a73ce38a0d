/**
 * Reading a management log back (`diag`): the recent lines about one node,
 * from the end of `<state dir>/management.log`.
 */
import { readTail } from './file-tail.js';

/**
 * Lines of a management log (JSON lines) about `node`, the last `max` of
 * those in the file's last `scanBytes`: a field whose value is the name (or
 * a list holding it), or the name as a word of the message.
 */
export function logLinesAbout(path: string, node: string, max = 1000, scanBytes = 8 * 1024 * 1024): string[] {
  const quoted = JSON.stringify(node);
  const word = new RegExp(`(^|[^\\w.-])${node.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\w.-])`);
  const about = readTail(path, scanBytes).split('\n').filter((line) => {
    if (!line.includes(node)) return false;
    if (line.includes(quoted)) return true;
    try {
      const msg = (JSON.parse(line) as { msg?: unknown }).msg;
      return typeof msg === 'string' && word.test(msg);
    } catch {
      return false;
    }
  });
  return about.slice(-max);
}

/** The management log lines about a node, as the text of a file. */
export function logText(path: string, node: string): string {
  const lines = logLinesAbout(path, node);
  return lines.length === 0 ? `(no lines about ${node} in ${path})\n` : `${lines.join('\n')}\n`;
}
