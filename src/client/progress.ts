/**
 * Deploy progress on a terminal's stderr: as the controller forwards the
 * agents' node state changes, one line per change says which nodes are
 * RUNNING and which are still pending. stdout keeps only the JSON result.
 */
import type { State } from '../management/types.js';
import type { ControllerConnection } from './connection.js';
import { decodeNotification } from './notifications.js';

export class DeployProgress {
  private readonly states = new Map<string, State>();
  private readonly stop: () => void;

  constructor(conn: ControllerConnection, nodes: readonly string[], private readonly write: (line: string) => void) {
    for (const n of nodes) this.states.set(n, 'PENDING');
    this.write(`deploying ${nodes.length} node${nodes.length === 1 ? '' : 's'}: ${nodes.join(', ') || '(none)'}\n`);
    this.stop = conn.onEvent((event) => {
      const n = decodeNotification(event);
      if (n.kind === 'change') {
        this.states.set(n.node.name, n.to);
        this.write(`  ${n.node.name} ${n.to}  ${this.summary()}\n`);
      } else if (n.kind === 'error') {
        this.write(`  ${n.node || n.instance}: ${n.message}\n`);
      } else if (n.kind === 'cluster-ready') {
        this.write(`  cluster ready (${n.configId})\n`);
      }
    });
  }

  summary(): string {
    const running = [...this.states].filter(([, s]) => s === 'RUNNING').map(([n]) => n);
    const pending = [...this.states].filter(([, s]) => s !== 'RUNNING').map(([n, s]) => (s === 'PENDING' ? n : `${n} (${s})`));
    return `[${running.length}/${this.states.size} running${pending.length ? `; pending: ${pending.join(', ')}` : ''}]`;
  }

  close(): void {
    this.stop();
  }
}
