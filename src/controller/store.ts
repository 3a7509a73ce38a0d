/**
 * The controller's persistent state in SQLite (WAL, synchronous=FULL, exclusive locking):
 * the staged, ready and deployed configurations and the deployment history.
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
import { decodeConfiguration, encodeConfiguration, encodeResult, type Configuration, type Result } from '../management/index.js';
import { makePrivateDir, openPrivateAppend, restrictIfPresent } from '../management/private-files.js';

export type ConfigState = 'staged' | 'ready' | 'deployed';

export interface DeploymentRecord {
  id: string;
  configId: string;
  started: string;
  ended?: string;
  outcome?: 'success' | 'failure' | 'timeout';
  results?: unknown[];
}

const SCHEMA_VERSION = 2;

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
    if (!row) this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema', String(SCHEMA_VERSION));
    // Schema 1 differs only in how configurations are written, and load() reads both.
    else if (row.value === '1') this.db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(String(SCHEMA_VERSION), 'schema');
    else if (Number(row.value) !== SCHEMA_VERSION) throw new Error(`schema version ${row.value} is not supported (expected ${SCHEMA_VERSION})`);
  }

  /** Reads a stored configuration; throws StoreError if it is unreadable. */
  load(state: ConfigState): Configuration | undefined {
    const row = this.db.prepare('SELECT body FROM configs WHERE state = ?').get(state) as { body: string } | undefined;
    if (!row) return undefined;
    const decoded = attempt(() => {
      const raw = parseJson(row.body);
      // Stored JSON is unchecked: encoded to the wire form (schema 1 stored that
      // already), it meets the same strict decoders as a client's configuration.
      const wire = isWireValue(raw) ? raw : encodeValue(encodeConfiguration(raw as Configuration));
      return decodeConfiguration(decodeValue(wire), state);
    });
    if (!decoded.ok) throw new StoreError(`the ${state} configuration in ${this.path} is unreadable: ${decoded.error}`);
    return decoded.value;
  }

  /** Stores staged and ready together: either both or neither. */
  saveStaged(staged: Configuration, ready: Configuration): void {
    this.db.transaction(() => {
      this.put('staged', staged);
      this.put('ready', ready);
    })();
  }

  saveDeployed(config: Configuration): void {
    this.put('deployed', config);
  }

  startDeployment(id: string, configId: string): void {
    this.db.prepare('INSERT OR REPLACE INTO deployments (id, config_id, started) VALUES (?, ?, ?)').run(id, configId, new Date().toISOString());
  }

  endDeployment(id: string, outcome: 'success' | 'failure' | 'timeout', results: readonly Result[]): void {
    const body = stringifyJson(results.map((r) => encodeValue(encodeResult(r))));
    this.db.prepare('UPDATE deployments SET ended = ?, outcome = ?, results = ? WHERE id = ?').run(new Date().toISOString(), outcome, body, id);
  }

  deployments(limit = 50): DeploymentRecord[] {
    const rows = this.db.prepare('SELECT id, config_id, started, ended, outcome, results FROM deployments ORDER BY started DESC LIMIT ?').all(limit) as
      { id: string; config_id: string; started: string; ended: string | null; outcome: DeploymentRecord['outcome'] | null; results: string | null }[];
    return rows.map((r) => ({
      id: r.id,
      configId: r.config_id,
      started: r.started,
      ...(r.ended ? { ended: r.ended } : {}),
      ...(r.outcome ? { outcome: r.outcome } : {}),
      ...(r.results ? { results: JSON.parse(r.results) as unknown[] } : {}),
    }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private put(state: ConfigState, config: Configuration): void {
    this.db.prepare('INSERT OR REPLACE INTO configs (state, config_id, body, updated) VALUES (?, ?, ?, ?)')
      .run(state, config.id, JSON.stringify(config), new Date().toISOString());
  }
}
