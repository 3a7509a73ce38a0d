/**
 * The frames of Broker's WebSocket JSON protocol, version 1: the client's
 * handshake (an array of topic prefixes), the server's ack, data messages
 * and error messages.
 */
import { decodeParsed, writeValue } from './codec.js';
import { DecodeError, preview } from './errors.js';
import { DEFAULT_LIMITS, type WireLimits } from './limits.js';
import type { Value } from './values.js';
import { parseJson } from './wire-json.js';

export const WS_PATH = '/v1/messages/json';
/** The subprotocol a browser offers, with `bearer.<token>`, to send a token it cannot put in an Authorization header. */
export const BROWSER_PROTOCOL = 'zeek-mgmt';

export interface AckMessage { type: 'ack'; endpoint: string; version: string }
export interface ErrorMessage { type: 'error'; code: string; context: string }
export interface DataMessage { type: 'data-message'; topic: string; value: Value }
/** Any other message type a newer peer may send; skipped, never fatal. */
export interface OtherMessage { type: 'other'; kind: string }
export type Message = AckMessage | ErrorMessage | DataMessage | OtherMessage;

/** Error codes, spelled as Broker's `ec` names. */
export const ErrorCode = {
  deserializationFailed: 'deserialization_failed',
  invalidHandshake: 'invalid_handshake',
  handshakeTimeout: 'peer_timeout',
  frameTooLarge: 'frame_too_large',
  invalidData: 'invalid_data',
} as const;

export function encodeData(topic: string, value: Value): string {
  // The value's own text is `{"@data-type":…,"data":…}`; the envelope inlines those two keys.
  return `{"type":"data-message","topic":${JSON.stringify(topic)},${writeValue(value).slice(1)}`;
}

export function encodeAck(endpoint: string, version: string): string {
  return JSON.stringify({ type: 'ack', endpoint, version });
}

export function encodeError(code: string, context: string): string {
  return JSON.stringify({ type: 'error', code, context });
}

function parseText(text: string): unknown {
  try {
    return parseJson(text);
  } catch (err) {
    throw new DecodeError('', `not JSON: ${(err as Error).message}`);
  }
}

/** What decoding a frame needs to know of the endpoint's limits. */
export type DecodeLimits = Pick<WireLimits, 'maxDepth' | 'maxTopicLength' | 'maxSubscriptions'>;

function checkTopic(topic: string, path: string, limits: DecodeLimits): void {
  if (topic.length > limits.maxTopicLength) {
    throw new DecodeError(path, `topic of ${topic.length} characters exceeds the limit of ${limits.maxTopicLength}`);
  }
}

/** The first frame from a connecting client: the topics it subscribes to. */
export function decodeHandshake(text: string, limits: DecodeLimits = DEFAULT_LIMITS): string[] {
  const raw = parseText(text);
  if (!Array.isArray(raw)) throw new DecodeError('', `handshake must be a JSON array of topic strings, got ${preview(raw)}`);
  if (raw.length > limits.maxSubscriptions) {
    throw new DecodeError('', `handshake subscribes to ${raw.length} topics, more than the limit of ${limits.maxSubscriptions}`);
  }
  raw.forEach((t, i) => {
    if (typeof t !== 'string') throw new DecodeError(`[${i}]`, `handshake topics must be strings, got ${preview(t)}`);
    checkTopic(t, `[${i}]`, limits);
  });
  return raw as string[];
}

export function decodeMessage(text: string, limits: DecodeLimits = DEFAULT_LIMITS): Message {
  const raw = parseText(text);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new DecodeError('', `expected a JSON object message, got ${preview(raw)}`);
  }
  const msg = raw as Record<string, unknown>;
  switch (msg.type) {
    case 'data-message': {
      if (typeof msg.topic !== 'string' || msg.topic === '') throw new DecodeError('topic', 'data-message needs a non-empty string topic');
      checkTopic(msg.topic, 'topic', limits);
      return { type: 'data-message', topic: msg.topic, value: decodeParsed(msg, 'data', limits.maxDepth) };
    }
    case 'ack':
      if (typeof msg.endpoint !== 'string') throw new DecodeError('endpoint', 'ack needs a string endpoint');
      return { type: 'ack', endpoint: msg.endpoint, version: typeof msg.version === 'string' ? msg.version : '' };
    case 'error':
      return { type: 'error', code: textOf(msg.code), context: textOf(msg.context) };
    default:
      if (typeof msg.type !== 'string') throw new DecodeError('type', 'message has no string "type"');
      return { type: 'other', kind: msg.type };
  }
}

/** A field that should be a string, as text (String() of a nested array recurses without bound). */
function textOf(raw: unknown): string {
  if (raw === undefined || raw === null) return '';
  return typeof raw === 'string' ? raw : preview(raw);
}
