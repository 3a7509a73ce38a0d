/**
 * What a name or value from a configuration may look like where it ends up
 * in a file name, a topic, a command line or generated Zeek code. The
 * controller checks these when a configuration is staged (a bad one never
 * reaches an agent); the agent checks them again before it lays out a node.
 */

/** Longest node or instance name (it is a directory name and part of topics). */
export const NAME_MAX = 128;
/** Longest configuration id (it is logged, stored and written into generated files as a comment). */
export const CONFIG_ID_MAX = 256;

/** A name an agent lays out as a directory and a topic: letters, digits, '_', '.', ':', '-', not starting with '.', '-' or ':'. */
export const USABLE_NAME = new RegExp(`^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,${NAME_MAX - 1}}$`);

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// eslint-disable-next-line no-control-regex
export const CONTROL = /[\u0000-\u001f\u007f]/;

/** A `scripts` entry zeek would take for an option (`-e`) or a `NAME=VALUE` redef: zeek has no end-of-options marker. */
export function isOptionLike(script: string): boolean {
  return script.startsWith('-') || script.includes('=');
}

/** An interface name libpcap could be given: not empty, no whitespace or control characters. */
export function isUsableInterface(name: string): boolean {
  return name !== '' && !CONTROL.test(name) && !/\s/.test(name);
}

/** Why a `scripts` entry cannot be passed to a node, or undefined. */
export function scriptProblem(script: string): string | undefined {
  if (script === '' || CONTROL.test(script)) return 'is empty or holds control characters';
  if (isOptionLike(script)) return "would be read by zeek as an option or a redef (no leading '-', no '=')";
  return undefined;
}

/** Why a configuration id cannot be used, or undefined. */
export function configIdProblem(id: string): string | undefined {
  if (id.length > CONFIG_ID_MAX) return `is ${id.length} characters long, more than ${CONFIG_ID_MAX}`;
  if (CONTROL.test(id)) return 'holds control characters';
  return undefined;
}
