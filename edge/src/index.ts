export * from './config.js';
export * from './gateway.js';
export * from './drivers/driver.js';
export * from './drivers/modbus/profile.js';
export * from './drivers/modbus/register-decoding.js';
export * from './drivers/modbus/read-plan.js';
export * from './uplink/telemetry-outbox.js';
export { GATEWAY_VERSION } from './version.js';
