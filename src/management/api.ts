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

/** An API: its request/response pairs and its other events (notifications), as far as names go. */
export type Api = Readonly<Record<string, RequestKind | { readonly name: string }>>;

const C = 'Management::Controller::API::';
export const ControllerApi = {
  getInstances: defineRequest<[], Result>(`${C}get_instances`, [], one),
  stageConfiguration: defineRequest<[Configuration], Result[]>(`${C}stage_configuration`, [config], many),
  getConfiguration: defineRequest<[boolean], Result>(`${C}get_configuration`, [boolCodec], one),
  deploy: defineRequest<[], Result[]>(`${C}deploy`, [], many),
  getNodes: defineRequest<[], Result[]>(`${C}get_nodes`, [], many),
  getIdValue: defineRequest<[string, string[]], Result[]>(`${C}get_id_value`, [stringCodec, nameSet], many),
  restart: defineRequest<[string[]], Result[]>(`${C}restart`, [nameSet], many),
  testTimeout: defineRequest<[boolean], Result>(`${C}test_timeout`, [boolCodec], one),
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
  deploy: defineRequest<[Configuration, boolean], Result[]>(`${A}deploy`, [config, withDefault(boolCodec, () => false)], many),
  getNodes: defineRequest<[], Result>(`${A}get_nodes`, [], one),
  nodeDispatch: defineRequest<[string[], string[]], Result[]>(`${A}node_dispatch`, [action, nameSet], many),
  agentWelcome: defineRequest<[], Result>(`${A}agent_welcome`, [], one),
  agentStandby: defineRequest<[], Result>(`${A}agent_standby`, [], one),
  restart: defineRequest<[string[]], Result[]>(`${A}restart`, [nameSet], many),
  notifyAgentHello: defineEvent<[string, string, boolean, number]>(`${A}notify_agent_hello`, stringCodec, stringCodec, boolCodec, countCodec),
  ...AgentNotifications,
} as const;

const N = 'Management::Node::API::';
export const NodeApi = {
  nodeDispatch: defineRequest<[string[], string[]], Result>(`${N}node_dispatch`, [action, nameSet], one),
  notifyNodeHello: defineEvent<[string]>(`${N}notify_node_hello`, stringCodec),
} as const;
