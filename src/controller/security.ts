/**
 * Who may talk to the controller, and how it proves itself to agents.
 * Clients: a bearer token or client certificate from the auth file, or an
 * anonymous client on loopback (an operator, as with the original) unless
 * --require-auth; off loopback nobody anonymous unless --insecure. Agents:
 * only a session that proves the key derived for its name from the
 * installation secret, speaking on its own topic only. TLS material and the
 * auth file are read again on SIGHUP.
 */
import { agentKey, controllerSecret, controllerSide } from '../management/agent-key.js';
import { AuthTable } from '../management/auth-file.js';
import { agentRole, type ClientRole } from '../management/access.js';
import { TOPIC_CONTROLLER, agentTopic } from '../management/api.js';
import type { ManagementLogger } from '../management/log.js';
import { TlsMaterial } from '../management/tls-material.js';
import { USABLE_NAME } from '../management/identifiers.js';
import { KeyProof, requestCredentials, type Admission, type Authorize, type Credentials, type LinkOptions, type ListenOptions, type SharedKey } from '../protocol/index.js';
import type { ControllerOptions } from './config.js';


export class ControllerAccess {
  private constructor(
    private readonly options: ControllerOptions,
    private readonly log: ManagementLogger,
    private readonly secret: Buffer,
    readonly tls: TlsMaterial | undefined,
    private auth: AuthTable,
  ) {}

  /** Reads the secret (made at first start), TLS material and auth file; throws with a message an operator can act on. */
  static async open(options: ControllerOptions, log: ManagementLogger): Promise<ControllerAccess> {
    const secret = controllerSecret(options.stateDir);
    if (!secret.ok) throw new Error(secret.error);
    const s = options.security;
    let tls: TlsMaterial | undefined;
    if (s.tls) {
      const loaded = await TlsMaterial.load(s.tls);
      if (!loaded.ok) throw new Error(loaded.error);
      tls = loaded.value;
      for (const note of tls.notes) log.warn({}, note);
    }
    const auth = s.authFile ? AuthTable.read(s.authFile) : { ok: true as const, value: AuthTable.empty() };
    if (!auth.ok) throw new Error(auth.error);
    if (s.insecure) {
      log.warn({ clients: options.clientHost, agents: options.agentHost, tls: tls !== undefined },
        'running with --insecure: clients off loopback need no credentials and links may be plaintext; anyone who reaches the client port commands the cluster');
    }
    return new ControllerAccess(options, log, secret.value, tls, auth.value);
  }

  clientListener(): Pick<ListenOptions, 'admit' | 'allowedOrigins' | 'tls'> {
    return { admit: (c) => this.admitClient(c), allowedOrigins: this.options.security.allowedOrigins, ...this.serverTls() };
  }

  /**
   * The client listener's HTTP routes (Prometheus, dashboard) admit whom a
   * session would admit, any role: a scraper sends its token as
   * `Authorization: Bearer`. The WebSocket upgrade decides for itself.
   */
  httpAuthorize(): Authorize {
    return (req, route) => {
      // The WebSocket upgrade admits its session itself; the dashboard's files are public code holding no data (the page
      // then opens a session like any client).
      if (route.name === 'websocket' || route.name === 'dashboard') return { ok: true };
      const gathered = requestCredentials(req, req.socket, this.options.security.allowedOrigins);
      if (!gathered.ok) return { ok: false, status: gathered.status, message: gathered.error };
      const admission = this.admitClient(gathered.credentials);
      if (admission.ok) return { ok: true };
      const status = gathered.credentials.bearer !== undefined || gathered.credentials.certificate ? 403 : 401;
      const headers: Record<string, string> = status === 401 ? { 'www-authenticate': 'Bearer realm="zeek-mgmt"' } : {};
      return { ok: false, status, message: admission.error, headers };
    };
  }

  agentListener(): Pick<ListenOptions, 'admit' | 'keyFor' | 'tls'> {
    return { admit: (c) => admitAgent(c), keyFor: (id) => this.keyOf(id), ...this.serverTls() };
  }

  /** How the controller dials an instance's agent: proving that agent's key, over TLS when configured. */
  agentLink(name: string): Pick<LinkOptions, 'proof' | 'principal' | 'tls'> {
    return { proof: controllerSide(name, agentKey(this.secret, name)), principal: agentRole(name), ...(this.tls ? { tls: this.tls.client } : {}) };
  }

  /** SIGHUP: TLS files and the auth file again; what failed keeps its old contents. Returns the problems. */
  async reload(): Promise<string[]> {
    const problems: string[] = [];
    if (this.tls) {
      const r = await this.tls.reload();
      if (!r.ok) problems.push(r.error);
      else for (const note of this.tls.notes) this.log.warn({}, note);
    }
    const file = this.options.security.authFile;
    if (file) {
      const r = AuthTable.read(file);
      if (r.ok) this.auth = r.value;
      else problems.push(r.error);
    }
    return problems;
  }

  private serverTls(): Pick<ListenOptions, 'tls'> {
    return this.tls ? { tls: this.tls.server } : {};
  }

  private keyOf(id: string): SharedKey | undefined {
    // The key id on the wire is a usable instance name before any key is derived for it.
    return USABLE_NAME.test(id) ? controllerSide(id, agentKey(this.secret, id)) : undefined;
  }

  private admitClient(c: Credentials): Admission {
    const s = this.options.security;
    const as = (role: ClientRole): Admission => ({ ok: true, principal: role, mayPublish: [TOPIC_CONTROLLER], maySubscribe: [TOPIC_CONTROLLER] });
    if (c.bearer !== undefined) {
      const launch = s.launchToken;
      if (launch !== undefined && KeyProof.same(c.bearer, launch)) return as('operator');
      const role = this.auth.roleOfToken(c.bearer);
      return role ? as(role) : { ok: false, error: 'unknown token' };
    }
    if (c.certificate) return as(this.auth.roleOfCertificate(c.certificate.commonName));
    if (!s.requireAuth && (c.loopback || s.insecure)) return as('operator');
    return {
      ok: false,
      error: s.requireAuth
        ? 'authentication required (--require-auth): send a token (auth.token_file) or a client certificate'
        : 'authentication required off loopback: send a token (auth.token_file) or a client certificate',
    };
  }
}

function admitAgent(c: Credentials): Admission {
  if (c.keyId === undefined) {
    return { ok: false, error: 'this port is for agents, which must prove their agent key (zeek-mgmt agent --key-file; see README "Security"); clients connect to the controller\'s client port (default 2149)' };
  }
  const topic = agentTopic(c.keyId);
  return { ok: true, principal: agentRole(c.keyId), mayPublish: [topic], maySubscribe: [topic] };
}
