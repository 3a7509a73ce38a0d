import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentApi, ControllerApi, NodeApi, anyone, clientPolicy, nobody, onlyRole, type RequestKind } from '../../src/management/index.js';
import { AuthTable } from '../../src/management/auth-file.js';
import { originAllowed } from '../../src/protocol/origin.js';
import { encodeEvent, type PeerInfo } from '../../src/protocol/index.js';
import { EventDispatcher, type InvalidEvent } from '../../src/management/dispatch.js';

const peer = (principal?: string): PeerInfo => ({ id: 'p', direction: 'inbound', remoteAddress: '127.0.0.1', remotePort: 1, subscriptions: [], ...(principal ? { principal } : {}) });
const requests = (api: object): RequestKind[] => Object.values(api).filter((s): s is RequestKind => 'requestName' in s);

describe('authorisation by role', () => {
  test('every request of every API says whether it reads or writes', () => {
    for (const spec of [...requests(ControllerApi), ...requests(AgentApi), ...requests(NodeApi)]) assert.ok(spec.access === 'read' || spec.access === 'write', spec.kind);
    assert.deepEqual(requests(ControllerApi).filter((s) => s.access === 'read').map((s) => s.kind).sort(), ['df', 'get_configuration', 'get_configuration_by_id', 'get_deployments', 'get_id_value', 'get_instances', 'get_nodes', 'get_session_role']);
  });

  test('operators ask anything, viewers only what reads, others nothing', () => {
    for (const spec of requests(ControllerApi)) {
      assert.equal(clientPolicy(spec, peer('operator')), undefined);
      assert.equal(clientPolicy(spec, peer('viewer')) === undefined, spec.access === 'read', spec.kind);
      assert.match(clientPolicy(spec, peer('agent:a')) ?? '', /not authorised/);
      assert.match(clientPolicy(spec, peer()) ?? '', /this session has no role/);
    }
    assert.equal(onlyRole('controller')(AgentApi.deploy, peer('controller')), undefined);
    assert.match(onlyRole('controller')(AgentApi.deploy, peer('operator')) ?? '', /deploy_request is accepted from the controller only; this session has role operator/);
    assert.match(nobody(AgentApi.deploy, peer('controller')) ?? '', /not served here/);
    assert.equal(anyone(AgentApi.deploy, peer()), undefined);
  });

  test('a refused request is answered under its id when the id is within the limit, never echoing a longer one', () => {
    const problems: InvalidEvent[] = [];
    const d = new EventDispatcher([ControllerApi], (p) => problems.push(p), clientPolicy, { maxReqidLength: 64 })
      .serve(ControllerApi.deploy, () => assert.fail('a viewer\'s deploy is not served'));
    const ask = (reqid: string): void => d.handle({ topic: 'zeek/management/controller', from: peer('viewer'), value: encodeEvent(ControllerApi.deploy.request.make(reqid)) });
    ask('short-id');
    ask('x'.repeat(10_000));
    assert.deepEqual(problems.map((p) => [p.denied, p.request?.reqid]), [[true, 'short-id'], [true, undefined]]);
    assert.match(problems[1]!.error, /needs the operator role/);
  });
});

describe('the auth file', () => {
  test('roles by token and by certificate name; a certificate not listed is an operator\'s', () => {
    const t = AuthTable.parse('# comment\noperator token:0123456789abcdef0\n\nviewer token:fedcba9876543210f  # grafana\nviewer cert:grafana\n', 'f');
    assert.ok(t.ok);
    assert.equal(t.value.roleOfToken('0123456789abcdef0'), 'operator');
    assert.equal(t.value.roleOfToken('fedcba9876543210f'), 'viewer');
    assert.equal(t.value.roleOfToken('0123456789abcdef1'), undefined);
    assert.equal(t.value.roleOfCertificate('grafana'), 'viewer');
    assert.equal(t.value.roleOfCertificate('alice'), 'operator');
  });

  test('bad lines name the line and the problem', () => {
    const bad = (text: string): string => { const r = AuthTable.parse(text, 'auth'); assert.equal(r.ok, false); return r.ok ? '' : r.error; };
    assert.equal(bad('operator token:short'), 'auth:1: a token has 16 or more characters and no spaces');
    assert.equal(bad('\nroot token:0123456789abcdef0'), 'auth:2: unknown role "root"; roles are operator, viewer');
    assert.equal(bad('operator 0123456789abcdef0'), 'auth:1: expected "<role> token:<secret>" or "<role> cert:<common name>"');
  });
});

describe('Origin', () => {
  test('same-origin on an address or localhost, or the allow-list; any other site is refused', () => {
    assert.equal(originAllowed('http://127.0.0.1:2149', '127.0.0.1:2149', []), true, 'zeek-client');
    assert.equal(originAllowed('http://[::1]:2149', '[::1]:2149', []), true);
    assert.equal(originAllowed('http://localhost:2149', 'localhost:2149', []), true);
    assert.equal(originAllowed('http://evil.example', '127.0.0.1:2149', []), false);
    assert.equal(originAllowed('http://evil.example:2149', 'evil.example:2149', []), false, 'a re-bound DNS name');
    assert.equal(originAllowed('https://ui.example', '127.0.0.1:2149', ['https://ui.example']), true);
    assert.equal(originAllowed('null', '127.0.0.1:2149', []), false);
  });
});
