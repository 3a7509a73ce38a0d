/**
 * The controller's persistent state in SQLite (WAL, synchronous=FULL, exclusive locking):
 * the staged, ready and deployed configurations, the deployment history
 * with every configuration deployed (for get-config --id and rollback; the
 * newest HISTORY_LIMIT deployments of each sort are kept), the nodes an
 * operator stopped, and the script bundles (content-addressed: an archive
 * under its sha256).
 * A configuration is stored as its own JSON (schema 1 stored the Broker wire
 * form: 4-5 times the bytes, and encoding and writing it twice was most of a
 * large stage's time). Reading one back goes through the one strict codec
 * all the same. A database that cannot be opened or read is an error for the
 * caller to report; it is never reset.
 */
import Database from 'better-sqlite3';
import { closeSync } from 'node:fs';
import { join } from 'node:path';
import { attempt, decodeValue, encodeValue, parseJson, stringifyJson } from '../protocol/index.js';
import { decodeConfiguration, decodeResult, encodeConfiguration, encodeResult, type Configuration, type Result } from '../management/index.js';
import { makePrivateDir, openPrivateAppend, restrictIfPresent } from '../management/private-files.js';

export type ConfigState = 'staged' | 'ready' | 'deployed';

/** A client's deploy; a rollback asked for; one after a failed deploy (--rollback-on-failure); an agent brought back. */
export const DEPLOYMENT_KINDS = ['deploy', 'rollback', 'auto-rollback', 'bring-back'] as const;
export type DeploymentKind = (typeof DEPLOYMENT_KINDS)[number];
export type DeploymentOutcome = 'success' | 'failure' | 'timeout';

export interface DeploymentRecord {
  id: string;
  configId: string;
  kind: DeploymentKind;
  /** Who asked: the client's session, or the controller itself. */
  who?: string;
  started: string;
  ended?: string;
  outcome?: DeploymentOutcome;
  results?: Result[];
}

const SCHEMA_VERSION = 3;
/** Deployments kept per sort (bring-backs apart, so an agent that comes and goes cannot push deployments out). */
export const HISTORY_LIMIT = 100;

export class StoreError extends Error {}

const isWireValue = (raw: unknown): boolean => typeof raw === 'object' && raw !== null && '@data-type' in raw;

export class ControllerStore {
  private readonly db: Database.Database;
  readonly path: string;

  private constructor(path: string) {
    this.path = path;
    try {
      // 0600 (configurations hold env secrets): SQLite gives its -wal and -shm files the database file's mode.
      closeSync(openPrivateAppend(path));
      for (const side of ['-wal', '-shm']) restrictIfPresent(`${path}${side}`);
      this.db = new Database(path);
      // Exclusive: the controller is the database's only user, and without a shared-memory index (-shm) a
      // controller restarted on a full disk can still open and read its state; writes fail until space returns.
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.migrate();
    } catch (err) {
      throw new StoreError(`cannot open the controller database ${path}: ${(err as Error).message}; move it aside to start with empty state`);
    }
  }

  static open(stateDir: string): ControllerStore {
    makePrivateDir(stateDir, { followLink: true });
    return new ControllerStore(join(stateDir, 'controller.sqlite'));
  }

  private migrate(): void {
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS configs (
        state TEXT PRIMARY KEY CHECK (state IN ('staged', 'ready', 'deployed')),
        config_id TEXT NOT NULL,
        body TEXT NOT NULL,
        updated TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS bundles (
        hash TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        body BLOB NOT NULL,
        created TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS deployments (
        id TEXT PRIMARY KEY,
        config_id TEXT NOT NULL,
        started TEXT NOT NULL,
        ended TEXT,
        outcome TEXT,
        results TEXT
      );
    `);
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get('schema') as { value: string } | undefined;
    if (row && !['1', '2', String(SCHEMA_VERSION)].includes(row.value)) throw new Error(`schema version ${row.value} is not supported (expected ${SCHEMA_VERSION})`);
    // A database of this schema needs no write to open (a controller starts on a full disk and serves what it stored).
    if (row?.value === String(SCHEMA_VERSION)) return;
    this.db.transaction(() => {
      // Schema 1 differs from 2 only in how configurations are written, and load() reads both; 3 adds the history's
      // configurations, who and what each deployment was, the stopped nodes and the script bundles (the table above).
      const columns = (this.db.prepare('PRAGMA table_info(deployments)').all() as { name: string }[]).map((c) => c.name);
      if (!columns.includes('kind')) this.db.exec("ALTER TABLE deployments ADD COLUMN kind TEXT NOT NULL DEFAULT 'deploy'");
      if (!columns.includes('who')) this.db.exec('ALTER TABLE deployments ADD COLUMN who TEXT');
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS history_configs (id TEXT PRIMARY KEY, body TEXT NOT NULL, stored TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS stopped_nodes (node TEXT PRIMARY KEY, since TEXT NOT NULL);
        INSERT OR IGNORE INTO history_configs (id, body, stored) SELECT config_id, body, updated FROM configs WHERE state = 'deployed';
      `);
      this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run('schema', String(SCHEMA_VERSION));
    })();
  }

  /** Reads a stored configuration; throws StoreError if it is unreadable. */
  load(state: ConfigState): Configuration | undefined {
    const row = this.db.prepare('SELECT body FROM configs WHERE state = ?').get(state) as { body: string } | undefined;
    return row ? this.decode(row.body, `the ${state} configuration`) : undefined;
  }

  private decode(body: string, what: string): Configuration {
    const decoded = attempt(() => {
      const raw = parseJson(body);
      // Stored JSON is unchecked: encoded to the wire form (schema 1 stored that
      // already), it meets the same strict decoders as a client's configuration.
      const wire = isWireValue(raw) ? raw : encodeValue(encodeConfiguration(raw as Configuration));
      return decodeConfiguration(decodeValue(wire), 'config');
    });
    if (!decoded.ok) throw new StoreError(`${what} in ${this.path} is unreadable: ${decoded.error}`);
    return decoded.value;
  }

  /** Stores staged and ready together: either both or neither. */
  saveStaged(staged: Configuration, ready: Configuration): void {
    this.db.transaction(() => {
      this.put('staged', staged);
      this.put('ready', ready);
    })();
  }

  /** A new deployed configuration: what an operator stopped starts again with it. */
  saveDeployed(config: Configuration): void {
    this.db.transaction(() => {
      this.put('deployed', config);
      this.db.exec('DELETE FROM stopped_nodes');
    })();
  }

  /** Records the start of a deployment of `config` (kept in the history by its id); prunes the oldest. */
  startDeployment(id: string, config: Configuration, kind: DeploymentKind = 'deploy', who?: string): void {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.db.prepare('INSERT OR IGNORE INTO history_configs (id, body, stored) VALUES (?, ?, ?)').run(config.id, JSON.stringify(config), now);
      this.db.prepare('INSERT OR REPLACE INTO deployments (id, config_id, started, kind, who) VALUES (?, ?, ?, ?, ?)').run(id, config.id, now, kind, who ?? null);
      this.prune();
    })();
  }

  endDeployment(id: string, outcome: DeploymentOutcome, results: readonly Result[]): void {
    const body = stringifyJson(results.map((r) => encodeValue(encodeResult(r))));
    this.db.prepare('UPDATE deployments SET ended = ?, outcome = ?, results = ? WHERE id = ?').run(new Date().toISOString(), outcome, body, id);
  }

  /** The newest deployments first. */
  deployments(limit = 50): DeploymentRecord[] {
    const rows = this.db.prepare('SELECT id, config_id, kind, who, started, ended, outcome, results FROM deployments ORDER BY started DESC, rowid DESC LIMIT ?').all(limit) as
      { id: string; config_id: string; kind: DeploymentKind; who: string | null; started: string; ended: string | null; outcome: DeploymentOutcome | null; results: string | null }[];
    return rows.map((r) => {
      const results = r.results ? attempt(() => (parseJson(r.results!) as unknown[]).map((x, i) => decodeResult(decodeValue(x), `results[${i}]`))) : undefined;
      return {
        id: r.id,
        configId: r.config_id,
        kind: r.kind,
        ...(r.who ? { who: r.who } : {}),
        started: r.started,
        ...(r.ended ? { ended: r.ended } : {}),
        ...(r.outcome ? { outcome: r.outcome } : {}),
        ...(results?.ok ? { results: results.value } : {}),
      };
    });
  }

  /**
   * A configuration by its id (one deployed, or the staged one made ready),
   * or by the id of a deployment of it; undefined when there is none.
   * Throws StoreError when it is unreadable.
   */
  configurationById(id: string): Configuration | undefined {
    const row = (this.db.prepare('SELECT body FROM history_configs WHERE id = ?').get(id) ??
      this.db.prepare('SELECT h.body FROM deployments d JOIN history_configs h ON h.id = d.config_id WHERE d.id = ?').get(id) ??
      this.db.prepare("SELECT body FROM configs WHERE config_id = ? AND state IN ('ready', 'deployed') ORDER BY state = 'deployed' DESC").get(id)) as { body: string } | undefined;
    return row ? this.decode(row.body, `configuration ${id}`) : undefined;
  }

  /** The newest successful deployment (not a bring-back) of another configuration than `configId`, whose configuration is kept. */
  lastGoodDeployment(exceptConfigId: string): DeploymentRecord | undefined {
    const row = this.db.prepare(`SELECT d.id FROM deployments d WHERE d.outcome = 'success' AND d.kind != 'bring-back' AND d.config_id != ?
      AND EXISTS (SELECT 1 FROM history_configs h WHERE h.id = d.config_id) ORDER BY d.started DESC, d.rowid DESC LIMIT 1`).get(exceptConfigId) as { id: string } | undefined;
    return row ? this.deployments(HISTORY_LIMIT * 2).find((d) => d.id === row.id) : undefined;
  }

  /** Nodes an operator stopped (they stay stopped when an agent is brought back). */
  stoppedNodes(): string[] {
    return (this.db.prepare('SELECT node FROM stopped_nodes ORDER BY node').pluck().all() as string[]);
  }

  setStopped(nodes: readonly string[], stopped: boolean): void {
    const now = new Date().toISOString();
    const add = this.db.prepare('INSERT OR IGNORE INTO stopped_nodes (node, since) VALUES (?, ?)');
    const remove = this.db.prepare('DELETE FROM stopped_nodes WHERE node = ?');
    this.db.transaction(() => { for (const n of nodes) if (stopped) add.run(n, now); else remove.run(n); })();
  }

  /** Keeps the newest HISTORY_LIMIT deployments of each sort, and the configurations something still refers to. */
  private prune(): void {
    this.db.prepare(`DELETE FROM deployments WHERE (kind = 'bring-back') = ? AND id NOT IN
      (SELECT id FROM deployments WHERE (kind = 'bring-back') = ? ORDER BY started DESC, rowid DESC LIMIT ?)`).run(0, 0, HISTORY_LIMIT);
    this.db.prepare(`DELETE FROM deployments WHERE (kind = 'bring-back') = ? AND id NOT IN
      (SELECT id FROM deployments WHERE (kind = 'bring-back') = ? ORDER BY started DESC, rowid DESC LIMIT ?)`).run(1, 1, HISTORY_LIMIT);
    this.db.exec('DELETE FROM history_configs WHERE id NOT IN (SELECT config_id FROM deployments) AND id NOT IN (SELECT config_id FROM configs)');
  }

  /** The size of a stored bundle, or undefined when there is none with that hash. */
  bundleSize(hash: string): number | undefined {
    const row = this.db.prepare('SELECT size FROM bundles WHERE hash = ?').get(hash) as { size: number } | undefined;
    return row?.size;
  }

  /** Stores a bundle (the caller checked its hash); storing one twice is a no-op. */
  saveBundle(hash: string, archive: Buffer): void {
    this.db.prepare('INSERT OR IGNORE INTO bundles (hash, size, body, created) VALUES (?, ?, ?, ?)').run(hash, archive.length, archive, new Date().toISOString());
  }

  /** `length` bytes of a stored bundle from `offset`, or undefined when there is none. */
  readBundle(hash: string, offset: number, length: number): Buffer | undefined {
    const row = this.db.prepare('SELECT substr(body, ?, ?) AS part FROM bundles WHERE hash = ?').get(offset + 1, length, hash) as { part: Buffer } | undefined;
    return row?.part;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private put(state: ConfigState, config: Configuration): void {
    this.db.prepare('INSERT OR REPLACE INTO configs (state, config_id, body, updated) VALUES (?, ?, ?, ?)')
      .run(state, config.id, JSON.stringify(config), new Date().toISOString());
  }
}
