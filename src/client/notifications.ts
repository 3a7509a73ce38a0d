/**
 * One readable line per notification the controller forwards to clients
 * (agents' node state changes, errors and output lines, cluster readiness,
 * instances connecting and going away),
 * for `monitor` and the deploy progress display.
 */
import type { ZeekEvent } from '../protocol/event.js';
import { portToString } from '../protocol/values.js';
import { AgentApi, ControllerApi } from '../management/api.js';
import type { Node, State } from '../management/types.js';
import { valueToJson } from './results.js';
import { printable } from '../management/printable.js';

export type Notification =
  | { kind: 'change'; instance: string; node: Node; from: State; to: State }
  | { kind: 'error'; instance: string; message: string; node: string }
  | { kind: 'log'; instance: string; message: string; node: string }
  | { kind: 'cluster-ready'; configId: string }
  | { kind: 'agents-ready'; instances: string[] }
  | { kind: 'instance'; instance: string; connected: boolean; address: string }
  | { kind: 'other'; event: ZeekEvent };

export function decodeNotification(event: ZeekEvent): Notification {
  try {
    switch (event.name) {
      case AgentApi.notifyChange.name: {
        const [instance, node, from, to] = AgentApi.notifyChange.decode(event);
        return { kind: 'change', instance, node, from, to };
      }
      case AgentApi.notifyError.name: {
        const [instance, message, node] = AgentApi.notifyError.decode(event);
        return { kind: 'error', instance, message, node };
      }
      case AgentApi.notifyLog.name: {
        const [instance, message, node] = AgentApi.notifyLog.decode(event);
        return { kind: 'log', instance, message, node };
      }
      case ControllerApi.notifyClusterReady.name:
        return { kind: 'cluster-ready', configId: ControllerApi.notifyClusterReady.decode(event)[0] };
      case ControllerApi.notifyInstanceState.name: {
        const [instance, connected, address] = ControllerApi.notifyInstanceState.decode(event);
        return { kind: 'instance', instance, connected, address };
      }
      case ControllerApi.notifyAgentsReady.name:
        return { kind: 'agents-ready', instances: ControllerApi.notifyAgentsReady.decode(event)[0] };
      default:
        return { kind: 'other', event };
    }
  } catch {
    return { kind: 'other', event };
  }
}

/** One line for a notification, printable (what agents and nodes said is theirs: control characters are escaped). */
export function formatNotification(event: ZeekEvent): string {
  return printable(describeNotification(event));
}

function describeNotification(event: ZeekEvent): string {
  const n = decodeNotification(event);
  switch (n.kind) {
    case 'change': {
      const port = n.node.port ? ` port ${portToString(n.node.port)}` : '';
      return `${n.instance}: node ${n.node.name} (${n.node.role.toLowerCase()}${port}) ${n.from} -> ${n.to}`;
    }
    case 'error': return `${n.instance}: error${n.node ? ` on node ${n.node}` : ''}: ${n.message}`;
    case 'log': return `${n.instance}${n.node ? `/${n.node}` : ''}: ${n.message}`;
    case 'cluster-ready': return `cluster ready: every node of configuration ${n.configId} is RUNNING`;
    case 'instance': return n.connected ? `instance ${n.instance} connected (${n.address})` : `instance ${n.instance} disconnected (was ${n.address})`;
    case 'agents-ready': return `agents ready: ${n.instances.join(', ') || '(none)'}`;
    default: {
      const args = n.event.args.map((a) => JSON.stringify(valueToJson(a), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
      return `received "${n.event.name}(${args.join(', ')})"`;
    }
  }
}
