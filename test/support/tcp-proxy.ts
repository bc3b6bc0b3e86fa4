// One proxy for tests and the chaos suite.
export { TcpProxy } from '../../bench/src/chaos/tcp-proxy.js';
