/** The protocol layer's public surface: Broker's WebSocket JSON v1. */
export * from './values.js';
export * from './errors.js';
export { encodeValue, writeValue, decodeValue, parsePort, encodeTimespan, decodeTimespan, isSubnet, type WireValue } from './codec.js';
export * from './event.js';
export * from './envelope.js';
export { parseJson, stringifyJson } from './wire-json.js';
export * from './endpoint.js';
export type { Link, LinkOptions, RetryOptions } from './link.js';
export type { PeerInfo, Direction } from './peer.js';
export type { ListenOptions } from './server.js';
export { HttpRouter, sendJson, sendText, type Authorization, type Authorize, type HttpHandler, type RouteInfo } from './http-router.js';
export { DEFAULT_LIMITS, type WireLimits } from './limits.js';
export { requestCredentials, type Gathered } from './credentials.js';
export { isLoopback, KeyProof, plainAddress, type Admission, type Admit, type Credentials, type SharedKey } from './admission.js';
export type { ClientTls, ServerTls } from './tls-options.js';
export type { SessionOptions } from './session.js';
export type { Logger } from './logger.js';
export { silentLogger } from './logger.js';
