export * from './alarm-config.js';
export * from './alarm-rules.js';
export { type Alarm, redactUrl } from './alarm-store.js';
export * from './alarm-service.js';
export * from './escalation.js';
export * from './notifiers.js';
export * from './alarm-jobs.js';
export * from './alarm-routes.js';
