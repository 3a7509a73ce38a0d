/**
 * `ws`, loaded through `require`. Its ESM entry makes Node translate each of
 * its CommonJS files for ESM, which costs about 20 ms at every process start
 * (import 'ws' +32 ms, require('ws') +13 ms over a bare `node`): felt by
 * every one-shot client command and every simulated node an agent starts.
 */
import { createRequire } from 'node:module';
import type WsWebSocket from 'ws';
import type { WebSocketServer as WsWebSocketServer } from 'ws';

type WsModule = typeof WsWebSocket & { WebSocketServer: typeof WsWebSocketServer };
const ws = createRequire(import.meta.url)('ws') as WsModule;

export const WebSocket = ws;
export type WebSocket = WsWebSocket;
export const WebSocketServer = ws.WebSocketServer;
export type WebSocketServer = WsWebSocketServer;
export type { ClientOptions, RawData } from 'ws';
