export * from './onvif-config.js';
export * from './ws-security.js';
export * from './soap-envelope.js';
export * from './onvif-soap-client.js';
export * from './onvif-answers.js';
export * from './ws-discovery.js';
export * from './onvif-camera-driver.js';
