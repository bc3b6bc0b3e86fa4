export { workOrdersConfigSchema, FAULT_TYPES, type WorkOrdersConfig, type WorkOrdersConfigInput } from './work-order-config.js';
export { WorkOrderService, type NewWorkOrder } from './work-order-service.js';
export { WorkOrderRaiser } from './work-order-raiser.js';
export { WorkOrderJobs } from './work-order-jobs.js';
export { registerWorkOrderRoutes } from './work-order-routes.js';
export { WORK_ORDER_STATES, WORK_ORDER_ACTIONS, WORK_ORDER_CATEGORIES, TRANSITIONS, nextState } from './work-order-rules.js';
export { serviceDeadline } from './sla.js';
