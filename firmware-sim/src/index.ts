export * from './config.js';
export * from './simulated-site.js';
export * from './meters/load-shape.js';
export * from './meters/electricity-meter.js';
export * from './meters/eastron-sdm630.js';
export * from './modbus/modbus-tcp-meter-server.js';
export * from './modbus/free-port.js';
