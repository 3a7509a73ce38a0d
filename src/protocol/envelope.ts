/**
 * The frames of Broker's WebSocket JSON protocol, version 1: the client's
 * handshake (an array of topic prefixes), the server's ack, data messages
 * and error messages.
 */
import { decodeParsed, writeValue } from './codec.js';
import { DecodeError, preview } from './errors.js';
import type { Value } from './values.js';
import { parseJson } from './wire-json.js';

export const WS_PATH = '/v1/messages/json';

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

/** The first frame from a connecting client: the topics it subscribes to. */
export function decodeHandshake(text: string): string[] {
  const raw = parseText(text);
  if (!Array.isArray(raw)) throw new DecodeError('', `handshake must be a JSON array of topic strings, got ${preview(raw)}`);
  raw.forEach((t, i) => {
    if (typeof t !== 'string') throw new DecodeError(`[${i}]`, `handshake topics must be strings, got ${preview(t)}`);
  });
  return raw as string[];
}

export function decodeMessage(text: string): Message {
  const raw = parseText(text);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new DecodeError('', `expected a JSON object message, got ${preview(raw)}`);
  }
  const msg = raw as Record<string, unknown>;
  switch (msg.type) {
    case 'data-message': {
      if (typeof msg.topic !== 'string' || msg.topic === '') throw new DecodeError('topic', 'data-message needs a non-empty string topic');
      return { type: 'data-message', topic: msg.topic, value: decodeParsed(msg, 'data') };
    }
    case 'ack':
      if (typeof msg.endpoint !== 'string') throw new DecodeError('endpoint', 'ack needs a string endpoint');
      return { type: 'ack', endpoint: msg.endpoint, version: typeof msg.version === 'string' ? msg.version : '' };
    case 'error':
      return { type: 'error', code: String(msg.code ?? ''), context: String(msg.context ?? '') };
    default:
      if (typeof msg.type !== 'string') throw new DecodeError('type', 'message has no string "type"');
      return { type: 'other', kind: msg.type };
  }
}
