import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configurationToJson, parseClusterConfig, renderClusterConfig } from '../../src/client/cluster-config.js';
import type { Configuration } from '../../src/management/types.js';

const EXAMPLES = new URL('../../../examples/', import.meta.url);
const opts = { source: 'cluster.cfg', hostname: 'testbox', id: 'fixed-id' };

function parse(text: string): Configuration {
  const r = parseClusterConfig(text, opts);
  if (!r.ok) assert.fail(r.error);
  return r.config;
}

function parseError(text: string): string {
  const r = parseClusterConfig(text, opts);
  assert.equal(r.ok, false, 'expected a parse error');
  return (r as { error: string }).error;
}

// Zeek's doc/frameworks/management/mini-config.ini, verbatim.
const DOC_MINI = `[manager]
role = manager

[logger]
role = logger

[worker-01]
role = worker
interface = lo

[worker-02]
role = worker
interface = eth0
`;

describe('parsing the documented examples', () => {
  test('the mini configuration becomes instance-local nodes on agent-<hostname>', () => {
    const c = parse(DOC_MINI);
    assert.equal(c.id, 'fixed-id');
    assert.deepEqual(c.instances, [{ name: 'agent-testbox', host: '0.0.0.0' }]);
    assert.deepEqual(c.nodes.map((n) => [n.name, n.role, n.instance, n.interface ?? null]), [
      ['logger', 'LOGGER', 'agent-testbox', null],
      ['manager', 'MANAGER', 'agent-testbox', null],
      ['worker-01', 'WORKER', 'agent-testbox', 'lo'],
      ['worker-02', 'WORKER', 'agent-testbox', 'eth0'],
    ]);
    assert.ok(c.nodes.every((n) => n.state === 'RUNNING' && n.port === undefined && Object.keys(n.env).length === 0));
  });

  test('get-config renders the mini configuration exactly as zeek-client (mini-deployment-get-config-staged.console)', () => {
    assert.equal(renderClusterConfig(parse(DOC_MINI)), `[instances]
agent-testbox

[logger]
instance = agent-testbox
role = LOGGER

[manager]
instance = agent-testbox
role = MANAGER

[worker-01]
instance = agent-testbox
role = WORKER
interface = lo

[worker-02]
instance = agent-testbox
role = WORKER
interface = eth0

`);
  });

  test('--as-json has zeek-client\'s fields', () => {
    const json = configurationToJson(parse(DOC_MINI)) as { instances: unknown[]; nodes: Record<string, unknown>[] };
    assert.deepEqual(json.instances, [{ name: 'agent-testbox' }]);
    assert.deepEqual(json.nodes[3], {
      name: 'worker-02', instance: 'agent-testbox', role: 'WORKER', port: null, scripts: null, options: null,
      interface: 'eth0', cpu_affinity: null, env: {}, metrics_port: null,
    });
  });

  test('the full configuration with comments and an [instances] section', () => {
    const full = `# comment\n[instances]\n# A value-less entry\nagent-testbox\n\n[manager]\n\n# Nodes state their instance:\ninstance = agent-testbox\nrole = manager\n# port = 1234\n\n[proxy1]\ninstance = agent-testbox\nrole = proxy\n\n[worker1]\ninstance = agent-testbox\nrole = worker\ninterface = eth0\n`;
    const c = parse(full);
    assert.deepEqual(c.instances, [{ name: 'agent-testbox', host: '0.0.0.0' }]);
    assert.deepEqual(c.nodes.map((n) => n.name), ['manager', 'proxy1', 'worker1']);
  });

  for (const file of ['mini.ini', 'full.ini', 'two-hosts.ini']) {
    test(`examples/${file} parses and its rendering stages back to the same configuration`, () => {
      const c = parse(readFileSync(new URL(file, EXAMPLES), 'utf8'));
      assert.ok(c.nodes.length >= 4);
      assert.deepEqual(parse(renderClusterConfig(c)), c);
    });
  }
});

describe('every key', () => {
  const text = `[instances]
agent-a
agent-b = 10.0.0.2:2151
agent-c = [::1]:2152

[manager]
instance = agent-a
role = Supervisor::MANAGER
port = 2300
metrics_port = 9100
scripts = z.zeek "my dir/a.zeek" b.zeek
env = FOO=bar BAZ="with space" EQ=a=b PCT=50%%

[w1]
instance = agent-b
type = worker
interface = eth0
cpu_affinity = 3
`;

  test('parse to the Management::Configuration zeek-client sends', () => {
    const c = parse(text);
    assert.deepEqual(c.instances, [
      { name: 'agent-a', host: '0.0.0.0' },
      { name: 'agent-b', host: '10.0.0.2', listenPort: { number: 2151, protocol: 'tcp' } },
      { name: 'agent-c', host: '::1', listenPort: { number: 2152, protocol: 'tcp' } },
    ]);
    const m = c.nodes[0]!;
    assert.equal(m.role, 'MANAGER');
    assert.deepEqual(m.port, { number: 2300, protocol: 'tcp' });
    assert.deepEqual(m.metricsPort, { number: 9100, protocol: 'tcp' });
    assert.deepEqual(m.scripts, ['b.zeek', 'my dir/a.zeek', 'z.zeek']);
    assert.deepEqual(m.env, { FOO: 'bar', BAZ: 'with space', EQ: 'a=b', PCT: '50%' });
    const w = c.nodes[1]!;
    assert.equal(w.role, 'WORKER');
    assert.equal(w.cpuAffinity, 3);
    assert.equal(w.interface, 'eth0');
  });

  test('render quotes values with spaces and round-trips', () => {
    const c = parse(text);
    const ini = renderClusterConfig(c);
    assert.match(ini, /scripts = b\.zeek "my dir\/a\.zeek" z\.zeek/);
    assert.match(ini, /env = BAZ="with space" EQ=a=b FOO=bar PCT=50%%/);
    assert.match(ini, /agent-c = \[::1\]:2152/);
    assert.deepEqual(parse(ini), c);
  });

  test('a fresh id per parse unless given', () => {
    const a = parseClusterConfig(DOC_MINI, { source: 'x', hostname: 'h' });
    const b = parseClusterConfig(DOC_MINI, { source: 'x', hostname: 'h' });
    assert.ok(a.ok && b.ok && a.config.id !== b.config.id && /^[0-9a-f-]{36}$/.test(a.config.id));
  });

  test('unknown keys and a state are warnings, not errors: each with its line, and the key it was likely meant to be', () => {
    const r = parseClusterConfig('[m]\nrole = manager\nstate = STOPPED\ncolour = blue\nscirpts = a.zeek\n\n[w]\nrole = worker\ninterfce = eth0\nmetric_port = 9000\ncpu_afinity = 1\nenvv = A=1\n', opts);
    assert.ok(r.ok);
    assert.deepEqual(r.warnings, [
      'ignoring node "m" state "STOPPED" in configuration',
      'cluster.cfg:4: unknown key "colour" in [m], ignored',
      'cluster.cfg:5: unknown key "scirpts" in [m], ignored; did you mean "scripts"?',
      'cluster.cfg:9: unknown key "interfce" in [w], ignored; did you mean "interface"?',
      'cluster.cfg:10: unknown key "metric_port" in [w], ignored; did you mean "metrics_port"?',
      'cluster.cfg:11: unknown key "cpu_afinity" in [w], ignored; did you mean "cpu_affinity"?',
      'cluster.cfg:12: unknown key "envv" in [w], ignored; did you mean "env"?',
    ]);
    assert.match(parseError('[instnaces]\nagent-a\n'), /^cluster\.cfg:1: section \[instnaces\] is not \[instances\] and has no role: did you mean \[instances\]\?$/);
  });

  test('[DEFAULT] values reach every node, continuation lines join', () => {
    const c = parse('[DEFAULT]\ninstance = agent-x\n\n[m]\nrole = manager\nscripts = a.zeek\n  b.zeek\n');
    assert.equal(c.nodes[0]!.instance, 'agent-x');
    assert.deepEqual(c.instances, [{ name: 'agent-x', host: '0.0.0.0' }]);
    assert.deepEqual(c.nodes[0]!.scripts, ['a.zeek', 'b.zeek']);
  });
});

describe('errors name the file, the line and the problem', () => {
  const cases: [string, string, RegExp][] = [
    ['unknown role', '[m]\nrole = manager\n\n[w]\nrole = sniffer\n', /^cluster\.cfg:5: node "w": role "sniffer" is invalid; use one of logger, manager, proxy, worker$/],
    ['missing role', '[m]\ninterface = lo\n', /^cluster\.cfg:1: node "m" requires a role/],
    ['port not a number', '[m]\nrole = manager\nport = 80a\n', /^cluster\.cfg:3: node "m" port: "80a" is not an integer$/],
    ['port out of range', '[m]\nrole = manager\nport = 70000\n', /^cluster\.cfg:3: node "m" port 70000 outside valid range/],
    ['metrics port out of range', '[m]\nrole = manager\nmetrics_port = 0\n', /^cluster\.cfg:3: node "m" metrics port 0 outside valid range/],
    ['bad cpu_affinity', '[m]\nrole = manager\ncpu_affinity = two\n', /^cluster\.cfg:3: node "m" cpu_affinity: "two" is not an integer/],
    ['env without =', '[m]\nrole = manager\nenv = FOO=1 BAR\n', /^cluster\.cfg:3: node "m" env value "FOO=1 BAR" is invalid: "BAR" is not KEY=VALUE/],
    ['env with an open quote', '[m]\nrole = manager\nenv = FOO="a b\n', /^cluster\.cfg:3: node "m" env value .* no closing quotation/],
    ['duplicate section', '[m]\nrole = manager\n\n[m]\nrole = logger\n', /^cluster\.cfg:4: section \[m\] already defined on line 1$/],
    ['duplicate key', '[m]\nrole = manager\nrole = logger\n', /^cluster\.cfg:3: key "role" in section \[m\] already defined on line 2$/],
    ['key before any section', 'role = manager\n', /^cluster\.cfg:1: "role = manager" appears before any \[section\] header$/],
    ['node key without value', '[m]\nrole = manager\ninterface\n', /^cluster\.cfg:3: config item m\.interface needs a value$/],
    ['bad instance spec', '[instances]\nagent-a = 10.0.0.1\n\n[m]\ninstance = agent-a\nrole = manager\n', /^cluster\.cfg:2: invalid spec for instance "agent-a": "10\.0\.0\.1" should be <host>:<port>/],
    ['instance host not an address', '[instances]\nagent-a = sensor.example:2151\n\n[m]\ninstance = agent-a\nrole = manager\n', /^cluster\.cfg:2: instance "agent-a": "sensor\.example" is not an IP address/],
    ['instance port out of range', '[instances]\nagent-a = 10.0.0.1:99999\n\n[m]\ninstance = agent-a\nrole = manager\n', /^cluster\.cfg:2: instance "agent-a" port 99999 outside valid range/],
    ['mixed instance-free and instance nodes', '[m]\nrole = manager\n\n[w]\ninstance = agent-a\nrole = worker\n', /^cluster\.cfg:1: node "m" names no instance but node "w" \(line 4\) does: either all or no nodes must state instances$/],
    ['instances section with instance-free nodes', '[instances]\nagent-a\n\n[m]\nrole = manager\n', /^cluster\.cfg:1: omit the \[instances\] section/],
    ['lone percent sign', '[m]\nrole = manager\nenv = A=50%\n', /^cluster\.cfg:3: key "env" in section \[m\]: "%" must be followed by "%" or "\(name\)s"/],
    ['empty key', '[m]\n= manager\n', /^cluster\.cfg:2: "= manager" has no key/],
  ];
  for (const [name, text, re] of cases) {
    test(name, () => assert.match(parseError(text), re));
  }
});

describe('the [cluster] section (ours)', () => {
  test('sets the backend and the proxy ports, renders first after [instances], and stages back the same', () => {
    const c = parse(`${DOC_MINI}\n[cluster]\nbackend = Broker\n`);
    assert.deepEqual(c.cluster, { backend: 'broker' });
    assert.equal(c.nodes.length, 4, 'not a node');
    const z = parse(`[cluster]\nbackend = zeromq\nxpub_port = 5556\nxsub_port = 5555\n\n${DOC_MINI}`);
    assert.deepEqual(z.cluster, { backend: 'zeromq', xpubPort: { number: 5556, protocol: 'tcp' }, xsubPort: { number: 5555, protocol: 'tcp' } });
    const ini = renderClusterConfig(z);
    assert.match(ini, /^\[instances\]\nagent-testbox\n\n\[cluster\]\nbackend = zeromq\nxpub_port = 5556\nxsub_port = 5555\n\n\[logger\]/);
    assert.deepEqual(parse(ini), z);
    assert.deepEqual((configurationToJson(z) as { cluster: unknown }).cluster, { backend: 'zeromq', xpub_port: 5556, xsub_port: 5555, log_expire_days: null, scripts_bundle: null });
    assert.equal((configurationToJson(parse(DOC_MINI)) as { cluster?: unknown }).cluster, undefined, 'zeek-client\'s JSON when there are no settings');
  });

  test('a [cluster] section with a role is a node named cluster, as zeek-client reads it', () => {
    const c = parse('[cluster]\nrole = manager\n');
    assert.equal(c.cluster, undefined);
    assert.deepEqual(c.nodes.map((n) => [n.name, n.role]), [['cluster', 'MANAGER']]);
  });

  test('bad values name the line; unknown keys are warnings', () => {
    assert.match(parseError(`${DOC_MINI}\n[cluster]\nbackend = nats\n`), /^cluster\.cfg:16: cluster backend "nats" is invalid; use one of zeromq, broker$/);
    assert.match(parseError('[cluster]\nxpub_port = 70000\n'), /^cluster\.cfg:2: cluster xpub_port 70000 outside valid range \(1-65535\)$/);
    const r = parseClusterConfig('[cluster]\nbackned = broker\n', opts);
    assert.ok(r.ok);
    assert.deepEqual(r.warnings, ['cluster.cfg:2: unknown key "backned" in [cluster], ignored; did you mean "backend"?']);
    assert.match(parseError('[cluster]\nlog_expire_days = -1\n'), /^cluster\.cfg:2: cluster log_expire_days -1 outside valid range \(0-36500; 0 keeps logs\)$/);
    assert.match(parseError('[cluster]\nlog_expire_days = week\n'), /^cluster\.cfg:2: cluster log_expire_days: "week" is not an integer$/);
  });

  test('log_expire_days is a cluster setting that renders and stages back the same', () => {
    const c = parse(`[cluster]\nlog_expire_days = 7\n\n${DOC_MINI}`);
    assert.deepEqual(c.cluster, { logExpireDays: 7 });
    const ini = renderClusterConfig(c);
    assert.match(ini, /\[cluster\]\nlog_expire_days = 7\n/);
    assert.deepEqual(parse(ini), c);
    assert.equal((configurationToJson(c) as { cluster: { log_expire_days: number } }).cluster.log_expire_days, 7);
  });
});

const HASH = 'ab'.repeat(32);

describe('the [scripts] section (ours)', () => {
  test('dir is handed back for the client to pack, relative as written; it is not part of the configuration', () => {
    const r = parseClusterConfig(`[scripts]\ndir = site\n\n${DOC_MINI}`, opts);
    assert.ok(r.ok);
    assert.deepEqual(r.scripts, { dir: 'site', line: 2 });
    assert.equal(r.config.cluster, undefined);
    assert.equal(r.config.nodes.length, 4, '[scripts] is not a node');
  });

  test('bundle names a stored bundle; get-config renders it so that the output stages back the same', () => {
    const c = parse(`[scripts]\nbundle = ${HASH.toUpperCase()}\n\n${DOC_MINI}`);
    assert.deepEqual(c.cluster, { bundle: HASH });
    const ini = renderClusterConfig(c);
    assert.match(ini, new RegExp(`\\[scripts\\]\\nbundle = ${HASH}\\n`));
    assert.deepEqual(parse(ini), c);
    assert.equal((configurationToJson(c) as { cluster: { scripts_bundle: string } }).cluster.scripts_bundle, HASH);
  });

  test('problems name the line', () => {
    assert.match(parseError('[scripts]\nbundle = 1234\n'), /^cluster\.cfg:2: scripts bundle "1234" is not a bundle hash \(64 hex digits, as get-config shows it\)$/);
    assert.match(parseError(`[scripts]\ndir = a\nbundle = ${HASH}\n`), /^cluster\.cfg:3: \[scripts\] names both a directory \(dir\) and a stored bundle \(bundle\): give one$/);
    assert.match(parseError('[scripts]\nfoo = 1\n'), /^cluster\.cfg:1: \[scripts\] needs dir = DIRECTORY/);
    assert.match(parseError('[scripts]\ndir =\n'), /^cluster\.cfg:2: config item scripts\.dir needs a value$/);
  });

  test('a [scripts] section with a role is a node named scripts', () => {
    assert.deepEqual(parse('[scripts]\nrole = manager\n').nodes.map((n) => n.name), ['scripts']);
  });
});

describe('worker expansion (zeekctl lb_procs, ours)', () => {
  const workers = (extra: string): string => `[manager]\nrole = manager\n\n[worker-1]\nrole = worker\ninterface = eth0\n${extra}`;

  test('lb_procs with af_packet makes <name>-1..N on af_packet::<iface>, one fanout group, pinned in order', () => {
    const c = parse(workers('lb_procs = 3\nlb_method = af_packet\npin_cpus = 4,2,6\n'));
    assert.deepEqual(c.nodes.map((n) => [n.name, n.interface, n.cpuAffinity, n.options]), [
      ['manager', undefined, undefined, undefined],
      ['worker-1-1', 'af_packet::eth0', 4, [{ name: 'AF_Packet::fanout_id', value: '23' }]],
      ['worker-1-2', 'af_packet::eth0', 2, [{ name: 'AF_Packet::fanout_id', value: '23' }]],
      ['worker-1-3', 'af_packet::eth0', 6, [{ name: 'AF_Packet::fanout_id', value: '23' }]],
    ]);
    const ini = renderClusterConfig(c);
    assert.match(ini, /\[worker-1-2\]\ninstance = agent-testbox\nrole = WORKER\ninterface = af_packet::eth0\ncpu_affinity = 2\naf_packet_fanout_id = 23\n/);
    assert.deepEqual(parse(ini), c, 'the expanded form stages back the same');
  });

  test('each af_packet section of an instance gets its own fanout id unless one is given; fanout mode is passed on', () => {
    const c = parse(`${workers('lb_procs = 2\nlb_method = af_packet\n')}\n[worker-2]\nrole = worker\ninterface = eth1\nlb_procs = 2\nlb_method = af_packet\naf_packet_fanout_mode = FANOUT_CPU\n\n[worker-3]\nrole = worker\ninterface = eth2\nlb_procs = 1\nlb_method = af_packet\naf_packet_fanout_id = 24\n`);
    const ids = Object.fromEntries(c.nodes.filter((n) => n.options).map((n) => [n.name, n.options!.map((o) => `${o.name}=${o.value}`).sort().join(' ')]));
    assert.deepEqual(ids, {
      'worker-1-1': 'AF_Packet::fanout_id=23', 'worker-1-2': 'AF_Packet::fanout_id=23',
      'worker-2-1': 'AF_Packet::fanout_id=25 AF_Packet::fanout_mode=FANOUT_CPU', 'worker-2-2': 'AF_Packet::fanout_id=25 AF_Packet::fanout_mode=FANOUT_CPU',
      'worker-3-1': 'AF_Packet::fanout_id=24',
    });
  });

  test('lb_method custom keeps the interface as written; pin_cpus alone pins one worker', () => {
    const c = parse(workers('lb_procs = 2\nlb_method = custom\n').replace('eth0', 'pf_ring::eth0'));
    assert.deepEqual(c.nodes.filter((n) => n.role === 'WORKER').map((n) => [n.name, n.interface, n.options]), [['worker-1-1', 'pf_ring::eth0', undefined], ['worker-1-2', 'pf_ring::eth0', undefined]]);
    const one = parse(workers('pin_cpus = 3\n'));
    assert.deepEqual(one.nodes.filter((n) => n.role === 'WORKER').map((n) => [n.name, n.cpuAffinity]), [['worker-1', 3]]);
  });

  test('more CPUs than processes is a warning', () => {
    const r = parseClusterConfig(workers('lb_procs = 2\nlb_method = af_packet\npin_cpus = 0,1,2\n'), opts);
    assert.ok(r.ok);
    assert.deepEqual(r.warnings, ['node "worker-1": pin_cpus lists 3 CPUs for 2 processes; CPUs 2 are not used']);
  });

  const cases: [string, string, RegExp][] = [
    ['lb_procs not a number', 'lb_procs = two\nlb_method = af_packet\n', /^cluster\.cfg:7: node "worker-1": lb_procs must be a whole number from 1 to 1024, got "two"$/],
    ['lb_procs zero', 'lb_procs = 0\nlb_method = af_packet\n', /^cluster\.cfg:7: node "worker-1": lb_procs must be a whole number from 1 to 1024/],
    ['lb_procs without method', 'lb_procs = 2\n', /^cluster\.cfg:7: node "worker-1": lb_procs needs an lb_method \(af_packet or custom\)$/],
    ['method without lb_procs', 'lb_method = af_packet\n', /^cluster\.cfg:7: node "worker-1": lb_method needs lb_procs/],
    ['unsupported method', 'lb_procs = 2\nlb_method = pf_ring\n', /^cluster\.cfg:8: node "worker-1": lb_method "pf_ring" is not supported; use af_packet or custom/],
    ['af_packet prefix given', 'lb_procs = 2\nlb_method = af_packet\n', /^cluster\.cfg:8: node "worker-1": with lb_method af_packet give the bare interface \("eth0"\)/],
    ['fewer CPUs than processes', 'lb_procs = 3\nlb_method = af_packet\npin_cpus = 0,1\n', /^cluster\.cfg:9: node "worker-1": pin_cpus lists 2 CPUs for 3 processes; each process needs a CPU of its own$/],
    ['a CPU twice', 'lb_procs = 2\nlb_method = af_packet\npin_cpus = 1,1\n', /^cluster\.cfg:9: node "worker-1": pin_cpus lists CPU 1 more than once/],
    ['CPU list not numbers', 'pin_cpus = 0-3\n', /^cluster\.cfg:7: node "worker-1": pin_cpus must be a comma-separated list of CPU numbers/],
    ['pin_cpus and cpu_affinity', 'pin_cpus = 1\ncpu_affinity = 2\n', /^cluster\.cfg:7: node "worker-1": give either pin_cpus or cpu_affinity, not both$/],
    ['bad fanout id', 'af_packet_fanout_id = 70000\n', /^cluster\.cfg:7: node "worker-1" af_packet_fanout_id: option AF_Packet::fanout_id = "70000" is invalid: expected a fanout group id, 0 to 65535$/],
    ['bad fanout mode', 'af_packet_fanout_mode = FANOUT_EBPF; print 1\n', /^cluster\.cfg:7: node "worker-1" af_packet_fanout_mode: option AF_Packet::fanout_mode = .* is invalid: expected one of FANOUT_HASH, FANOUT_CPU, FANOUT_QM$/],
  ];
  for (const [name, extra, re] of cases) {
    test(name, () => assert.match(parseError(name === 'af_packet prefix given' ? workers(extra).replace('eth0', 'af_packet::eth0') : workers(extra)), re));
  }

  test('lb keys on a non-worker, and names that collide, are refused', () => {
    assert.match(parseError('[manager]\nrole = manager\nlb_procs = 2\nlb_method = custom\n'), /^cluster\.cfg:3: node "manager": lb_procs, lb_method and pin_cpus are for workers only$/);
    assert.match(parseError(`${workers('lb_procs = 2\nlb_method = custom\n')}\n[worker-1-2]\nrole = worker\ninterface = eth0\n`),
      /^cluster\.cfg:10: node "worker-1-2" is also defined by the section at line 4$/);
  });
});
