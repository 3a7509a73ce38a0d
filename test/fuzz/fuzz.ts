/**
 * Drives fuzzed frames into a real daemon's listener and watches the
 * process: handshakes (one connection each) or data messages (over a few
 * sessions, each batch followed by a ping whose pong proves the daemon
 * handled what came before). Reports messages sent, crashes, the daemon's
 * peak RSS and messages per second.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { KeyProof, WS_PATH, type SharedKey } from '../../src/protocol/index.js';
import type { Frame } from './frames.js';

export interface FuzzTarget {
  /** For the report, e.g. `controller client port`. */
  name: string;
  pid: number;
  port: number;
  /** `handshake`: every frame is the first of a new session; `messages`: frames after `handshake`. */
  mode: 'handshake' | 'messages';
  /** The good handshake sessions start with (messages mode). */
  handshake?: string;
  frames: fc.Arbitrary<Frame>;
  /** A shared key the sessions prove before their handshake (a listener that admits only proven peers). */
  proof?: SharedKey;
}

export interface FuzzReport {
  name: string;
  messages: number;
  crashes: number;
  peakRssMiB: number;
  perSecond: number;
  /** Frames answered with an error message. */
  errors: number;
}

const BATCH = 200;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Peak resident set size of a process (VmHWM), in MiB. */
export function peakRssMiB(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
    return line ? Math.round(Number(line.split(/\s+/)[1]) / 102.4) / 10 : NaN;
  } catch {
    return NaN;
  }
}

interface Session { ws: WebSocket; errors: number; open: Promise<boolean>; closed: boolean }

function openSession(port: number, first: Frame | undefined, timeoutMs: number, proof?: SharedKey): Session {
  const nonce = KeyProof.nonce();
  const headers = proof ? { [KeyProof.idHeader]: proof.id, [KeyProof.nonceHeader]: nonce } : {};
  const ws = new WebSocket(`ws://127.0.0.1:${port}${WS_PATH}`, { maxPayload: 64 * 1024 * 1024, headers });
  let proofFrame: string | undefined;
  if (proof) {
    ws.once('upgrade', (res) => {
      const theirs = String(res.headers[KeyProof.nonceHeader] ?? '');
      proofFrame = JSON.stringify({ type: KeyProof.frameType, proof: KeyProof.proof(proof, proof.self, nonce, theirs) });
    });
  }
  const session: Session = { ws, errors: 0, closed: false, open: Promise.resolve(false) };
  ws.on('error', () => undefined);
  ws.on('message', (d) => { if (d.toString().startsWith('{"type":"error"')) session.errors += 1; });
  ws.once('close', () => { session.closed = true; });
  session.open = new Promise((resolve) => {
    const timer = setTimeout(() => { ws.terminate(); resolve(false); }, timeoutMs);
    ws.once('open', () => {
      if (proofFrame !== undefined) ws.send(proofFrame);
      if (first !== undefined) ws.send(first);
      // A session is up once the first answer (ack or error) came, or it closed.
      ws.once('message', () => { clearTimeout(timer); resolve(true); });
    });
    ws.once('close', () => { clearTimeout(timer); resolve(false); });
  });
  return session;
}

/** A ping answered: the daemon has handled every frame sent before it (or the session is gone). */
function barrier(s: Session, timeoutMs: number): Promise<void> {
  if (s.closed || s.ws.readyState !== WebSocket.OPEN) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => { clearTimeout(timer); s.ws.off('pong', done); s.ws.off('close', done); resolve(); };
    const timer = setTimeout(done, timeoutMs);
    s.ws.once('pong', done);
    s.ws.once('close', done);
    s.ws.ping();
  });
}

/** Sends `count` frames from `target.frames` (seeded) and reports; stops early once the daemon has died. */
export async function fuzz(target: FuzzTarget, count: number, seed: number, concurrency = target.mode === 'handshake' ? 48 : 4): Promise<FuzzReport> {
  const started = performance.now();
  let sent = 0;
  let errors = 0;
  let crashed = false;
  const frames = (n: number, offset: number): Frame[] => fc.sample(target.frames, { numRuns: n, seed: seed + offset });
  if (target.mode === 'handshake') {
    for (let batch = 0; sent < count && !crashed; batch++) {
      const list = frames(Math.min(concurrency, count - sent), batch);
      const sessions = list.map((f) => openSession(target.port, f, 5000, target.proof));
      await Promise.all(sessions.map((s) => s.open));
      for (const s of sessions) {
        errors += s.errors;
        s.ws.terminate();
      }
      sent += list.length;
      if (batch % 50 === 0) crashed = !alive(target.pid);
    }
  } else {
    const sessions: Session[] = [];
    for (let batch = 0; sent < count && !crashed; batch++) {
      for (let i = 0; i < concurrency; i++) {
        if (!sessions[i] || sessions[i]!.closed) {
          if (sessions[i]) errors += sessions[i]!.errors;
          sessions[i] = openSession(target.port, target.handshake, 5000, target.proof);
          await sessions[i]!.open;
        }
      }
      const list = frames(Math.min(BATCH, count - sent), batch);
      list.forEach((f, i) => {
        const s = sessions[i % concurrency]!;
        if (!s.closed && s.ws.readyState === WebSocket.OPEN) s.ws.send(f, { binary: typeof f !== 'string' });
      });
      sent += list.length;
      await Promise.all(sessions.map((s) => barrier(s, 10_000)));
      crashed = !alive(target.pid);
    }
    for (const s of sessions) {
      errors += s.errors;
      s.ws.terminate();
    }
  }
  crashed ||= !alive(target.pid);
  const seconds = (performance.now() - started) / 1000;
  return { name: target.name, messages: sent, crashes: crashed ? 1 : 0, peakRssMiB: peakRssMiB(target.pid), perSecond: Math.round(sent / seconds), errors };
}
