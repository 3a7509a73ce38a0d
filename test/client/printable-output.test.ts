/**
 * What the client prints from others' text (configurations, agents' and
 * nodes' messages, tables of what agents report) never carries a control
 * character to the terminal: an escape sequence could clear the screen or
 * retitle the window.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentApi } from '../../src/management/index.js';
import type { Configuration } from '../../src/management/types.js';
import { describeDiff } from '../../src/client/config-diff.js';
import { formatNotification } from '../../src/client/notifications.js';
import { renderColumns, renderErrors } from '../../src/client/table.js';
import { renderDfTable } from '../../src/client/df.js';

const ESC = '\u001b';
const config = (id: string, env: Record<string, string>): Configuration => ({
  id, instances: [{ name: 'agent-a', host: '127.0.0.1' }], nodes: [{ name: 'manager', instance: 'agent-a', role: 'MANAGER', state: 'RUNNING', env }],
});

describe('printable output', () => {
  test('diff-config shows an env value with an escape sequence escaped', () => {
    const out = describeDiff(config('a', {}), config('b', { TITLE: `${ESC}]0;owned${ESC}\\${ESC}[2J` }));
    assert.ok(!out.includes(ESC), out);
    assert.match(out, /\\x1b\[2J/);
    assert.match(out, /^--- configuration a\n\+\+\+ configuration b\n~ \[manager\]\n/);
  });

  test('a node\'s output line in a notification is escaped', () => {
    const line = formatNotification(AgentApi.notifyLog.make('agent-a', `stderr: ${ESC}[2Jgone`, 'worker-1'));
    assert.equal(line, 'agent-a/worker-1: stderr: \\x1b[2Jgone');
  });

  test('tables (get-nodes, df, get-deployments) escape every cell and error, and stay aligned', () => {
    assert.equal(renderColumns([['A', 'B'], [`x${ESC}`, 'y'], ['long-cell', 'z']]), 'A          B\nx\\x1b      y\nlong-cell  z\n');
    assert.equal(renderErrors([{ source: 'agent-a', error: `bad${ESC}[2J` }]), 'error from agent-a: bad\\x1b[2J\n');
    const df = renderDfTable([{ instance: 'agent-a', name: 'state', path: `/srv/${ESC}[2J`, bytes: 1, files: 1, fsSize: 0, fsFree: 0 }], []);
    assert.ok(!df.includes(ESC), df);
  });
});
