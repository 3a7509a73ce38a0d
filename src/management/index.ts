/** The shared Management model: records, enums, event API, dispatch and request tracking. */
export * from './types.js';
export * from './records.js';
export * from './events.js';
export * from './api.js';
export * from './dispatch.js';
export * from './request.js';
export * from './access.js';
