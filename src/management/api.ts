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
import { boolCodec, countCodec, defineEvent, stringCodec, withDefault, type Codec } from './events.js';
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
const result: Codec<Result> = { encode: encodeResult, decode: decodeResult };
const results: Codec<Result[]> = { encode: encodeResults, decode: decodeResults };
const node: Codec<Node> = { encode: encodeNode, decode: decodeNode };
const state: Codec<State> = { encode: encodeState, decode: readState };
const nameSet: Codec<string[]> = withDefault({ encode: encodeStringSet, decode: readStringSet }, () => []);
const action: Codec<string[]> = {
  encode: encodeStringVector,
  decode: (v, path) => readList(v, path, 'vector').map((x, i) => readString(x, `${path}[${i}]`)),
};
const reqid = stringCodec;

const C = 'Management::Controller::API::';
export const ControllerApi = {
  getInstancesRequest: defineEvent<[string]>(`${C}get_instances_request`, reqid),
  getInstancesResponse: defineEvent<[string, Result]>(`${C}get_instances_response`, reqid, result),
  stageConfigurationRequest: defineEvent<[string, Configuration]>(`${C}stage_configuration_request`, reqid, config),
  stageConfigurationResponse: defineEvent<[string, Result[]]>(`${C}stage_configuration_response`, reqid, results),
  getConfigurationRequest: defineEvent<[string, boolean]>(`${C}get_configuration_request`, reqid, boolCodec),
  getConfigurationResponse: defineEvent<[string, Result]>(`${C}get_configuration_response`, reqid, result),
  deployRequest: defineEvent<[string]>(`${C}deploy_request`, reqid),
  deployResponse: defineEvent<[string, Result[]]>(`${C}deploy_response`, reqid, results),
  getNodesRequest: defineEvent<[string]>(`${C}get_nodes_request`, reqid),
  getNodesResponse: defineEvent<[string, Result[]]>(`${C}get_nodes_response`, reqid, results),
  getIdValueRequest: defineEvent<[string, string, string[]]>(`${C}get_id_value_request`, reqid, stringCodec, nameSet),
  getIdValueResponse: defineEvent<[string, Result[]]>(`${C}get_id_value_response`, reqid, results),
  restartRequest: defineEvent<[string, string[]]>(`${C}restart_request`, reqid, nameSet),
  restartResponse: defineEvent<[string, Result[]]>(`${C}restart_response`, reqid, results),
  testTimeoutRequest: defineEvent<[string, boolean]>(`${C}test_timeout_request`, reqid, boolCodec),
  testTimeoutResponse: defineEvent<[string, Result]>(`${C}test_timeout_response`, reqid, result),
  notifyAgentsReady: defineEvent<[string[]]>(`${C}notify_agents_ready`, nameSet),
  /** Ours: every node of the deployed configuration is RUNNING. */
  notifyClusterReady: defineEvent<[string]>(`${C}notify_cluster_ready`, stringCodec),
} as const;

const A = 'Management::Agent::API::';
const emptyString = withDefault(stringCodec, () => '');
export const AgentApi = {
  deployRequest: defineEvent<[string, Configuration, boolean]>(`${A}deploy_request`, reqid, config, withDefault(boolCodec, () => false)),
  deployResponse: defineEvent<[string, Result[]]>(`${A}deploy_response`, reqid, results),
  getNodesRequest: defineEvent<[string]>(`${A}get_nodes_request`, reqid),
  getNodesResponse: defineEvent<[string, Result]>(`${A}get_nodes_response`, reqid, result),
  nodeDispatchRequest: defineEvent<[string, string[], string[]]>(`${A}node_dispatch_request`, reqid, action, nameSet),
  nodeDispatchResponse: defineEvent<[string, Result[]]>(`${A}node_dispatch_response`, reqid, results),
  agentWelcomeRequest: defineEvent<[string]>(`${A}agent_welcome_request`, reqid),
  agentWelcomeResponse: defineEvent<[string, Result]>(`${A}agent_welcome_response`, reqid, result),
  agentStandbyRequest: defineEvent<[string]>(`${A}agent_standby_request`, reqid),
  agentStandbyResponse: defineEvent<[string, Result]>(`${A}agent_standby_response`, reqid, result),
  restartRequest: defineEvent<[string, string[]]>(`${A}restart_request`, reqid, nameSet),
  restartResponse: defineEvent<[string, Result[]]>(`${A}restart_response`, reqid, results),
  notifyAgentHello: defineEvent<[string, string, boolean, number]>(`${A}notify_agent_hello`, stringCodec, stringCodec, boolCodec, countCodec),
  notifyChange: defineEvent<[string, Node, State, State]>(`${A}notify_change`, stringCodec, node, state, state),
  notifyError: defineEvent<[string, string, string]>(`${A}notify_error`, stringCodec, stringCodec, emptyString),
  notifyLog: defineEvent<[string, string, string]>(`${A}notify_log`, stringCodec, stringCodec, emptyString),
} as const;

const N = 'Management::Node::API::';
export const NodeApi = {
  nodeDispatchRequest: defineEvent<[string, string[], string[]]>(`${N}node_dispatch_request`, reqid, action, nameSet),
  nodeDispatchResponse: defineEvent<[string, Result]>(`${N}node_dispatch_response`, reqid, result),
  notifyNodeHello: defineEvent<[string]>(`${N}notify_node_hello`, stringCodec),
} as const;
