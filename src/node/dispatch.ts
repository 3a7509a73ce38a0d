/**
 * A node's answer to `node_dispatch_request`, with the failure texts of
 * Zeek's management node script.
 */
import type { Result } from '../management/types.js';
import { str } from '../protocol/values.js';
import { buildGlobals, type NodeContext } from './globals.js';

export function answerDispatch(ctx: NodeContext, reqid: string, action: readonly string[]): Result {
  const result: Result = { reqid, success: true, node: ctx.node };
  const [command, ...args] = action;
  if (command === undefined) return { ...result, success: false, error: 'no dispatch arguments provided' };
  if (command !== 'get_id_value') return { ...result, success: false, error: `dispatch ${command} unknown` };
  const id = args[0];
  if (id === undefined) return { ...result, success: false, error: 'get_id_value expects name of global identifier' };
  const globals = buildGlobals(ctx);
  if (!globals.has(id)) return { ...result, success: false, error: 'unknown id' };
  return { ...result, data: str(JSON.stringify(globals.get(id))) };
}
