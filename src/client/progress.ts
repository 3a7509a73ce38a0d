/**
 * Deploy progress on a terminal's stderr: as the controller forwards the
 * agents' node state changes, one line per change of a node of the
 * configuration being deployed says which are RUNNING, which failed and
 * which are still pending (a failed node's reason and last stderr line
 * follow with the result). stdout keeps only the JSON result.
 */
import type { State } from '../management/types.js';
import type { ControllerConnection } from './connection.js';
import { printable } from '../management/printable.js';
import { decodeNotification } from './notifications.js';

export class DeployProgress {
  private readonly states = new Map<string, State>();
  private readonly stop: () => void;

  constructor(conn: ControllerConnection, nodes: readonly string[], private readonly write: (line: string) => void) {
    for (const n of nodes) this.states.set(n, 'PENDING');
    this.write(`deploying ${nodes.length} node${nodes.length === 1 ? '' : 's'}: ${nodes.join(', ') || '(none: the cluster stops)'}\n`);
    this.stop = conn.onEvent((event) => {
      const n = decodeNotification(event);
      if (n.kind === 'change') {
        const name = printable(n.node.name);
        // A node of the previous configuration going away is not one of this deployment's.
        if (!this.states.has(n.node.name)) {
          this.write(`  ${name} ${n.to} (not in this configuration)\n`);
          return;
        }
        this.states.set(n.node.name, n.to);
        this.write(`  ${name} ${n.to}  ${this.summary()}\n`);
      } else if (n.kind === 'error') {
        this.write(`  ${printable(n.node || n.instance)}: ${printable(n.message)}\n`);
      } else if (n.kind === 'cluster-ready') {
        this.write(`  cluster ready (${printable(n.configId)})\n`);
      }
    });
  }

  /**
   * `[2/4 running; failed: w2 (FAILED); pending: w1]`: a node that failed or
   * crashed is not pending; one STOPPED is (its previous process stopping
   * before the new one starts).
   */
  summary(): string {
    const all = [...this.states];
    const running = all.filter(([, s]) => s === 'RUNNING');
    const failed = all.filter(([, s]) => s === 'FAILED' || s === 'CRASHED').map(([n, s]) => `${n} (${s})`);
    const pending = all.filter(([, s]) => s !== 'RUNNING' && s !== 'FAILED' && s !== 'CRASHED').map(([n]) => n);
    const parts = [`${running.length}/${this.states.size} running`];
    if (failed.length) parts.push(`failed: ${failed.join(', ')}`);
    if (pending.length) parts.push(`pending: ${pending.join(', ')}`);
    return printable(`[${parts.join('; ')}]`);
  }

  close(): void {
    this.stop();
  }
}
