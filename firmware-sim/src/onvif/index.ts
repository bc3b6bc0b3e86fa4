export * from './simulated-camera.js';
export { WS_DISCOVERY_GROUP, WS_DISCOVERY_PORT } from './ws-discovery-responder.js';
