/**
 * The event API of every component, as in Zeek's `Management::Controller::API`,
 * `Management::Agent::API` and `Management::Node::API` (version 1), plus the
 * topics they are published on.
 */
import {
  decodeConfiguration, decodeNode, decodeResult, decodeResults, encodeConfiguration, encodeNode,
  encodeResult, encodeResults, encodeState, encodeStringSet, encodeStringVector, readList, readState,
  readString, readStringSet,
} from './records.js';
import {
  boolCodec, countCodec, defineEvent, defineRequest, stringCodec, withDefault, type Codec, type RequestKind, type ResultsCodec,
} from './events.js';
import type { Configuration, Node, Result, State } from './types.js';

export const API_VERSION = 1;

export const TOPIC_CONTROLLER = 'zeek/management/controller';
export const TOPIC_AGENT_PREFIX = 'zeek/management/agent';
export const TOPIC_NODE = 'zeek/management/node';
export const agentTopic = (name: string): string => `${TOPIC_AGENT_PREFIX}/${name}`;
/**
 * Agent ↔ one node. A topic per node, ending in `/` so that no node's topic
 * is a prefix of another's: a Zeek node's WebSocket listener is part of the
 * cluster's pub/sub, which would carry a shared topic to every node's agent
 * session.
 */
export const nodeTopic = (name: string): string => `${TOPIC_NODE}/${name}/`;

const config: Codec<Configuration> = { encode: encodeConfiguration, decode: decodeConfiguration };
/** A response with one Result. */
const one: ResultsCodec<Result> = { encode: encodeResult, decode: decodeResult, of: (rs) => rs[rs.length - 1]!, list: (r) => [r] };
/** A response with a list of Results. */
const many: ResultsCodec<Result[]> = { encode: encodeResults, decode: decodeResults, of: (rs) => [...rs], list: (rs) => rs };
const node: Codec<Node> = { encode: encodeNode, decode: decodeNode };
const state: Codec<State> = { encode: encodeState, decode: readState };
const nameSet: Codec<string[]> = withDefault({ encode: encodeStringSet, decode: readStringSet }, () => []);
const action: Codec<string[]> = {
  encode: encodeStringVector,
  decode: (v, path) => readList(v, path, 'vector').map((x, i) => readString(x, `${path}[${i}]`)),
};
const emptyString = withDefault(stringCodec, () => '');
/** A trailing set of names that may be left out (an older peer does not send it). */
const optionalNames: Codec<string[] | undefined> = { encode: (v) => encodeStringSet(v ?? []), decode: readStringSet, default: () => [] };
/** How many history entries get_deployments returns when the client does not say. */
export const DEFAULT_HISTORY_ROWS = 20;

/** An API: its request/response pairs and its other events (notifications), as far as names go. */
export type Api = Readonly<Record<string, RequestKind | { readonly name: string }>>;

const C = 'Management::Controller::API::';
export const ControllerApi = {
  getInstances: defineRequest<[], Result>(`${C}get_instances`, 'read', [], one),
  stageConfiguration: defineRequest<[Configuration], Result[]>(`${C}stage_configuration`, 'write', [config], many),
  getConfiguration: defineRequest<[boolean], Result>(`${C}get_configuration`, 'read', [boolCodec], one),
  deploy: defineRequest<[], Result[]>(`${C}deploy`, 'write', [], many),
  getNodes: defineRequest<[], Result[]>(`${C}get_nodes`, 'read', [], many),
  getIdValue: defineRequest<[string, string[]], Result[]>(`${C}get_id_value`, 'read', [stringCodec, nameSet], many),
  restart: defineRequest<[string[]], Result[]>(`${C}restart`, 'write', [nameSet], many),
  testTimeout: defineRequest<[boolean], Result>(`${C}test_timeout`, 'write', [boolCodec], one),
  // Ours from here (zeek-client does not send them). Read-only: check_configuration (it parses, stores nothing),
  // get_deployments, get_configuration_by_id, diag (it writes nothing on any host but the client's file); the rest change the cluster.
  /** zeekctl's `check`: parse every node's scripts with its agent's runtime, start nothing, store nothing. */
  checkConfiguration: defineRequest<[Configuration], Result[]>(`${C}check_configuration`, 'write', [config], many),
  /** Stops the named (or all) nodes of the deployed configuration; they stay stopped until started or redeployed. */
  stop: defineRequest<[string[]], Result[]>(`${C}stop`, 'write', [nameSet], many),
  /** Starts the named (or all) stopped nodes. */
  start: defineRequest<[string[]], Result[]>(`${C}start`, 'write', [nameSet], many),
  /** Restarts the named nodes (default: every worker) one at a time, each back to RUNNING before the next. */
  rollingRestart: defineRequest<[string[]], Result[]>(`${C}rolling_restart`, 'write', [nameSet], many),
  /** The latest deployments, newest first: Result data is a vector of DeploymentInfo (management/history.ts). */
  getDeployments: defineRequest<[number], Result>(`${C}get_deployments`, 'read', [withDefault(countCodec, () => DEFAULT_HISTORY_ROWS)], one),
  /** A configuration of the history by its id, or by the id of a deployment of it. */
  getConfigurationById: defineRequest<[string], Result>(`${C}get_configuration_by_id`, 'read', [stringCodec], one),
  /** Deploys a configuration of the history again ('' = the last good one before the deployed one); answers as deploy. */
  rollback: defineRequest<[string], Result[]>(`${C}rollback`, 'write', [emptyString], many),
  /** Deploys the staged configuration, and returns to the last good deployment if it does not come up. */
  deployWithRollback: defineRequest<[], Result[]>(`${C}deploy_with_rollback`, 'write', [], many),
  /** Diagnostics of a node: Results whose data is a table of file name → content, which the client packs into one .tar.gz. */
  diag: defineRequest<[string], Result[]>(`${C}diag`, 'write', [stringCodec], many),
  /**
   * Ours: one chunk of a script bundle's archive (hash, offset, total size,
   * base64 bytes). The Result's data is the count of bytes the controller
   * has, in order: the total once the bundle is stored (at once when it was).
   */
  uploadBundle: defineRequest<[string, number, number, string], Result>(`${C}upload_bundle`, 'write', [stringCodec, countCodec, countCodec, stringCodec], one),
  /** Ours: disk use per instance (state, logs, spool); one Result per instance. */
  df: defineRequest<[], Result[]>(`${C}df`, 'read', [], many),
  /**
   * Ours: the role of the asking session, `operator` or `viewer` (Result data: string), read-only; the dashboard
   * shows its actions to an operator only. The controller's answer is controller/session-role.ts.
   */
  getSessionRole: defineRequest<[], Result>(`${C}get_session_role`, 'read', [], one),
  notifyAgentsReady: defineEvent<[string[]]>(`${C}notify_agents_ready`, nameSet),
  /** Ours: every node of the deployed configuration is RUNNING. */
  notifyClusterReady: defineEvent<[string]>(`${C}notify_cluster_ready`, stringCodec),
  /** Ours: an instance's agent connected (true, with the address it is reached at) or lost its last session (false). */
  notifyInstanceState: defineEvent<[string, boolean, string]>(`${C}notify_instance_state`, stringCodec, boolCodec, emptyString),
} as const;

const A = 'Management::Agent::API::';
/** What agents report about their nodes; the controller republishes these to clients. */
export const AgentNotifications = {
  notifyChange: defineEvent<[string, Node, State, State]>(`${A}notify_change`, stringCodec, node, state, state),
  notifyError: defineEvent<[string, string, string]>(`${A}notify_error`, stringCodec, stringCodec, emptyString),
  notifyLog: defineEvent<[string, string, string]>(`${A}notify_log`, stringCodec, stringCodec, emptyString),
} as const;

export const AgentApi = {
  /** The third argument (ours): nodes an operator stopped, which the deployment leaves stopped. */
  deploy: defineRequest<[Configuration, boolean, (string[] | undefined)?], Result[]>(`${A}deploy`, 'write', [config, withDefault(boolCodec, () => false), optionalNames], many),
  getNodes: defineRequest<[], Result>(`${A}get_nodes`, 'read', [], one),
  nodeDispatch: defineRequest<[string[], string[]], Result[]>(`${A}node_dispatch`, 'read', [action, nameSet], many),
  agentWelcome: defineRequest<[], Result>(`${A}agent_welcome`, 'write', [], one),
  agentStandby: defineRequest<[], Result>(`${A}agent_standby`, 'write', [], one),
  restart: defineRequest<[string[]], Result[]>(`${A}restart`, 'write', [nameSet], many),
  /** Ours: the script check of this instance's nodes of a configuration, one Result per node. */
  check: defineRequest<[Configuration], Result[]>(`${A}check`, 'write', [config], many),
  // Ours.
  stop: defineRequest<[string[]], Result[]>(`${A}stop`, 'write', [nameSet], many),
  start: defineRequest<[string[]], Result[]>(`${A}start`, 'write', [nameSet], many),
  /** One Result with data: table of file name → content, the node's diagnostics on this host. */
  diag: defineRequest<[string], Result>(`${A}diag`, 'read', [stringCodec], one),
  /** Ours: this instance's disk use (df). */
  df: defineRequest<[], Result>(`${A}df`, 'read', [], one),
  /**
   * Ours, asked by an agent and served by the controller: a chunk of a
   * stored script bundle (hash, offset); the Result's data is
   * `[total count, chunk string (base64)]`.
   */
  fetchBundle: defineRequest<[string, number], Result>(`${A}fetch_bundle`, 'read', [stringCodec, countCodec], one),
  notifyAgentHello: defineEvent<[string, string, boolean, number]>(`${A}notify_agent_hello`, stringCodec, stringCodec, boolCodec, countCodec),
  ...AgentNotifications,
} as const;

const N = 'Management::Node::API::';
export const NodeApi = {
  nodeDispatch: defineRequest<[string[], string[]], Result>(`${N}node_dispatch`, 'read', [action, nameSet], one),
  notifyNodeHello: defineEvent<[string]>(`${N}notify_node_hello`, stringCodec),
} as const;
