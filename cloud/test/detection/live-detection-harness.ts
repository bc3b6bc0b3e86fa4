export * from '../../src/index.js';
export { registerFindingRoutes as registerFindingRoutesForTest } from '../../src/detection/finding-routes.js';
