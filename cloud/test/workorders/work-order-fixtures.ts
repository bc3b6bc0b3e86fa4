import { UserStore } from '../../src/auth/user-store.js';
import { SiteRegistry } from '../../src/storage/site-registry.js';
import type { SqlClient } from '../../src/storage/sql-client.js';
import type { WorkOrdersConfigInput } from '../../src/workorders/index.js';

export const WO_CONFIG: WorkOrdersConfigInput = {
  teams: [
    { id: 'maintenance', name: 'Maintenance', members: ['tech.zhao', 'tech.qian'] },
    { id: 'north-only', name: 'North team', sites: ['north'] },
  ],
  rules: [{ findings: ['leak'], category: 'plumbing', priority: 2, team: 'maintenance' }],
};

/** Two sites (sunrise with a building and a pump, north) and three facilities users. */
export async function seedSites(db: SqlClient): Promise<void> {
  const registry = new SiteRegistry(db);
  await registry.declareSite({ id: 'sunrise', name: 'Sunrise Gardens', timeZone: 'Asia/Shanghai', buildings: [{ id: 'b1' }], assets: [{ id: 'pump-1', kind: 'pump', building: 'b1' }] });
  await registry.declareSite({ id: 'north', timeZone: 'Asia/Shanghai' });
  const users = new UserStore(db);
  await db.transaction(async (tx) => {
    for (const [username, sites] of [['tech.zhao', ['sunrise']], ['tech.qian', '*'], ['outsider', ['north']]] as const) {
      await users.create(tx, { username, password: 'work-order-password', roles: ['facilities'], sites: sites === '*' ? '*' : [...sites] });
    }
  });
}

