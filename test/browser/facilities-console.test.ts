import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import jpegJs from 'jpeg-js';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCloudConfig, startCloud, type RunningCloud } from '@gatehouse/cloud';
import { loadGatewayConfig, startGateway, type RunningGateway } from '@gatehouse/edge';
import { loadSimulatorConfig, startSimulatedSite, type SimulatedSite } from '@gatehouse/firmware-sim';
import { createTestDatabase } from '../support/real-services.js';
import { silentLogger } from '../support/site-under-test.js';
import { waitFor } from '../support/wait-for.js';

const DEMO = fileURLToPath(new URL('../../examples/site-in-a-box/', import.meta.url));
const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const CHROMIUM = process.env.GH_CHROMIUM ?? '/usr/bin/chromium';
const SITE = 'demo-site';
const TECH = { username: 'facilities.zhao', password: 'facilities-password-1' };
const PHONE = { width: 390, height: 844 };

interface ApiOrder {
  id: string;
  number: string;
  title: string;
  state: string;
  origin: string;
  device: string | null;
  createdAt: number;
  evidence: { kind: string; findingId: string } | null;
}

// The facilities page in a real Chromium against the demo site's own configuration on the machine's
// PostgreSQL: the demo's HVAC meter glitches (sooner than in the demo), the detectors find it, the
// raiser turns it into a work order, and a technician on a phone works it through to completion;
// the requester's low rating reopens it.
describe('facilities console in Chromium', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let cloud: RunningCloud;
  let sim: SimulatedSite;
  let gateway: RunningGateway;
  let browser: Browser;
  let base: string;
  let adminToken: string;

  const api = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const res = await fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' } });
    return (await res.json()) as T;
  };
  const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    db = await createTestDatabase('gh_facilities');
    const simConfig = loadSimulatorConfig(resolve(DEMO, 'sim.yaml'));
    const cloudConfig = loadCloudConfig(resolve(DEMO, 'cloud.yaml'));
    const edgeConfig = loadGatewayConfig(resolve(DEMO, 'edge.yaml'));
    // The meters only; the HVAC meter's register glitch 10 s after the start rather than 5 minutes.
    sim = await startSimulatedSite(
      {
        ...simConfig,
        stateFile: join(mkdtempSync(join(tmpdir(), 'gh-fac-sim-')), 'state.json'),
        modbusTcp: simConfig.modbusTcp.map((e) => ({ ...e, port: 0 })),
        osdpTcp: [],
        onvifCameras: [],
        isapiPanels: [],
        faults: simConfig.faults.filter((f) => f.meter === 'podium-hvac').map((f) => ({ ...f, afterMs: 10_000 })),
      },
      { logger: silentLogger },
    );
    cloud = await startCloud(
      {
        ...cloudConfig,
        http: { host: '127.0.0.1', port: 0 },
        storage: { kind: 'postgres', connectionString: db.url },
        embeddedBroker: { host: '127.0.0.1', port: 0 },
        rollups: { refreshEveryMs: 1_000 },
        detection: { ...cloudConfig.detection, everyMs: 2_000 },
      },
      silentLogger,
    );
    base = `http://127.0.0.1:${cloud.httpPort}`;
    adminToken = await cloud.db.transaction(async (tx) => {
      await cloud.auth.users.create(tx, { username: TECH.username, displayName: '赵师傅 Zhao', password: TECH.password, roles: ['facilities'], sites: [SITE] });
      return (await cloud.auth.tokens.create(tx, 'admin', { name: 'test', roles: ['admin'], sites: '*', expiresAt: Date.now() + 3_600_000 })).token;
    });
    gateway = await startGateway(
      {
        ...edgeConfig,
        dataDir: mkdtempSync(join(tmpdir(), 'gh-fac-edge-')),
        mqtt: { ...edgeConfig.mqtt, url: cloud.brokerUrl! },
        http: { host: '127.0.0.1', port: 0 },
        devices: edgeConfig.devices.filter((d) => d.driver === 'modbus+tcp').map((d) => ({ ...d, port: sim.modbusTcp[0]!.port, intervalMs: 2_000 })),
        videoLinkage: { links: [] },
      },
      silentLogger,
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await sim?.stop();
    await cloud?.stop();
    await db?.drop();
  });

  it('the glitching meter becomes a work order on the board; a technician on a phone completes it; a rating of 2 reopens it', async () => {
    // The finding, then the order, without anyone touching anything.
    let order: ApiOrder | undefined;
    await waitFor(
      'a work order raised from the HVAC meter’s finding',
      async () => {
        order = (await api<{ orders: ApiOrder[] }>(`/api/v1/work-orders?site=${SITE}`)).orders.find((o) => o.device === 'podium-hvac');
        return order !== undefined;
      },
      90_000,
    );
    expect(order).toMatchObject({ origin: 'finding', state: 'open', evidence: { kind: 'finding' } });
    const finding = await api<{ detector: string; variant: string }>(`/api/v1/sites/${SITE}/findings/${order!.evidence!.findingId}`);
    expect(finding).toMatchObject({ detector: 'counter_reset', variant: 'jump' });

    const context = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${base}/`);
    await page.getByTestId('login-username').fill(TECH.username);
    await page.getByTestId('login-password').fill(TECH.password);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('nav-work-orders').click();
    const card = page.getByTestId('wo-card').filter({ hasText: order!.number });
    await card.waitFor();
    expect(await card.innerText()).toMatch(/待派单/);
    expect(await card.innerText()).toMatch(/表计计数复位或更换: Podium HVAC/);
    await shot(page, '10-work-orders-board-phone');

    await card.click();
    await page.getByTestId('wo-detail').waitFor();
    await shot(page, '11-work-order-detail-phone');
    const state = page.getByTestId('wo-state');
    await page.getByTestId('wo-action-assign').click();
    await page.getByTestId('wo-assignee-input').fill(TECH.username);
    await page.getByTestId('wo-confirm').click();
    await expect.poll(() => state.innerText()).toBe('已派单');
    await page.getByTestId('wo-action-start').click();
    await expect.poll(() => state.innerText()).toBe('维修中');
    // The checklist that came with the finding, ticked on the phone.
    const boxes = page.getByTestId('wo-checklist').locator('input[type="checkbox"]');
    expect(await boxes.count()).toBe(2);
    for (let i = 0; i < 2; i++) {
      await boxes.nth(i).check();
      await expect.poll(() => boxes.nth(i).isChecked()).toBe(true);
    }
    // A photo after the work, from the phone's camera (a 2000 × 1500 picture, sent scaled down).
    const width = 2000;
    const height = 1500;
    const pixels = Buffer.alloc(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      pixels[i * 4] = Math.floor(((i % width) * 255) / width);
      pixels[i * 4 + 1] = Math.floor((Math.floor(i / width) * 255) / height);
      pixels[i * 4 + 2] = 128;
      pixels[i * 4 + 3] = 255;
    }
    const photo = Buffer.from(jpegJs.encode({ data: pixels, width, height }, 90).data);
    await page.getByTestId('wo-photo-after').setInputFiles({ name: '完工照片.jpg', mimeType: 'image/jpeg', buffer: photo });
    await page.getByTestId('wo-photo').first().waitFor();
    await page.getByTestId('wo-comment-input').fill('表计寄存器跳变，已核对读数');
    await page.getByTestId('wo-comment').click();
    await page.getByTestId('wo-history').getByText('表计寄存器跳变').waitFor();
    await page.getByTestId('wo-action-complete').click();
    await expect.poll(() => state.innerText()).toBe('已完工');
    await page.getByTestId('wo-rating').scrollIntoViewIfNeeded();
    await shot(page, '12-work-order-completed-phone');

    // The requester is not happy: 2 of 5 reopens it, back to the technician.
    await page.getByTestId('wo-star-2').click();
    await page.getByTestId('wo-rate').click();
    await expect.poll(() => state.innerText()).toBe('已派单');
    const stored = await api<ApiOrder & { rating: number | null; assignee: string; history: { kind: string; actor: string }[]; photos: { stage: string; fileName: string; contentType: string; url: string; size: number }[] }>(`/api/v1/work-orders/${order!.id}`);
    expect(stored).toMatchObject({ state: 'assigned', assignee: TECH.username, rating: 2 });
    // The technician's steps, in order, each by them; and the system's note that the jump was a one-off.
    const byPeople = stored.history.filter((h) => h.actor !== 'system');
    expect(byPeople.map((h) => h.kind)).toEqual(['assign', 'start', 'update', 'update', 'photo', 'comment', 'complete', 'rating', 'reopen']);
    // The photo as stored: a JPEG no longer than 1600 px, much lighter than the camera's.
    expect(stored.photos).toMatchObject([{ stage: 'after', fileName: '完工照片.jpg', contentType: 'image/jpeg' }]);
    const served = await fetch(`${base}${stored.photos[0]!.url}`, { headers: { authorization: `Bearer ${adminToken}` } });
    const decoded = jpegJs.decode(new Uint8Array(await served.arrayBuffer()));
    expect([decoded.width, decoded.height]).toEqual([1600, 1200]);
    expect(stored.photos[0]!.size).toBeLessThan(photo.length);
    expect(new Set(byPeople.map((h) => h.actor))).toEqual(new Set([TECH.username]));
    expect(stored.history.filter((h) => h.actor === 'system').map((h) => h.kind)).toEqual(['created', 'condition_cleared']);
    await page.getByTestId('wo-detail').scrollIntoViewIfNeeded();
    await page.getByTestId('wo-state').scrollIntoViewIfNeeded();
    await shot(page, '13-work-order-reopened-phone');
    // Nothing on the phone layout runs off the screen sideways.
    expect(await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    expect(errors).toEqual([]);
    await context.close();
  }, 180_000);

  it('raises an order by hand from the board on a desktop, and shows it with its SLA', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-US', timezoneId: 'Asia/Shanghai' });
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.getByTestId('login-username').fill(TECH.username);
    await page.getByTestId('login-password').fill(TECH.password);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('nav-work-orders').click();
    await page.getByTestId('wo-new').click();
    await page.getByTestId('wo-new-title').fill('Tower 1 lobby: <b>light</b> flickers');
    await page.getByTestId('wo-new-category').selectOption('electrical');
    await page.getByTestId('wo-new-priority').selectOption('2');
    await page.getByTestId('wo-new-requester').fill('Ms Wang 王女士');
    await shot(page, '14-work-order-new-desktop');
    await page.getByTestId('wo-new-submit').click();
    await page.getByTestId('wo-detail').waitFor();
    expect(await page.locator('.wo-detail-title').innerText()).toBe('Tower 1 lobby: <b>light</b> flickers');
    expect(await page.locator('.wo-detail-title b').count()).toBe(0);
    expect(await page.getByTestId('wo-sla').first().innerText()).toMatch(/On track/);
    await page.getByTestId('nav-work-orders').click();
    await page.getByTestId('wo-card').first().waitFor();
    // The demo's plans may have raised today's lift or fire check too: the board shows every active order.
    const active = (await api<{ orders: ApiOrder[] }>(`/api/v1/work-orders?site=${SITE}&state=active`)).orders;
    expect(active.filter((o) => o.origin !== 'plan')).toHaveLength(2);
    await expect.poll(() => page.getByTestId('wo-card').count()).toBe(active.length);
    await shot(page, '15-work-orders-board-desktop');
    // The figures: both orders counted, by month and category, by team.
    await page.getByTestId('wo-view-figures').click();
    const figures = page.getByTestId('wo-figures');
    await figures.waitFor();
    const raised = await api<{ orders: number }>(`/api/v1/work-order-figures?site=${SITE}`);
    expect(raised.orders).toBeGreaterThanOrEqual(2);
    expect(await figures.locator('.wo-kpi-value').first().innerText()).toBe(String(raised.orders));
    expect(await figures.locator('svg rect').count()).toBeGreaterThanOrEqual(1);
    await shot(page, '16-work-order-figures-desktop');
    await context.close();
  }, 60_000);

  it('keeps the equipment ledger and plans: a lift on a phone, the plan calendar, a skip with its reason, a new plan whose order comes to the board', async () => {
    // The demo declares its lifts, fire system and booster pumps with their plans.
    type ApiPlan = { id: string; asset: string; name: string; nextDueOn: string | null; occurrences?: { dueOn: string; outcome: string; actor: string; reason: string | null }[] };
    const plans = (await api<{ plans: ApiPlan[] }>(`/api/v1/maintenance-plans?site=${SITE}`)).plans;
    expect(plans.map((p) => p.asset).sort()).toEqual(['b1-lift-a', 'b2-lift-a', 'booster-pumps', 'fire-system']);
    const liftPlan = plans.find((p) => p.asset === 'b1-lift-a')!;

    // A technician on a phone looks the lift up: its ledger, its plan, nothing off the screen.
    const phone = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    const page = await phone.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${base}/`);
    await page.getByTestId('login-username').fill(TECH.username);
    await page.getByTestId('login-password').fill(TECH.password);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('nav-equipment').click();
    const lift = page.locator('[data-testid="eq-asset-card"][data-asset="b1-lift-a"]');
    await lift.waitFor();
    expect(await lift.innerText()).toMatch(/Otis/);
    await shot(page, '17-equipment-ledger-phone');
    await lift.locator('a').first().click();
    const detail = page.getByTestId('eq-asset-detail');
    await detail.waitFor();
    expect(await detail.innerText()).toMatch(/OTS-2019-B1A/);
    expect(await page.getByTestId('eq-asset-plans').innerText()).toMatch(/电梯半月维护保养/);
    await shot(page, '18-equipment-lift-phone');
    const scrollWidth = () => page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
    expect(await scrollWidth()).toBeLessThanOrEqual(PHONE.width);
    await page.goto(`${base}/equipment/plans`);
    await page.getByTestId('eq-calendar').waitFor();
    await page.getByTestId('eq-plan-list').waitFor();
    expect(await page.getByTestId('eq-plan-row').count()).toBe(4);
    await shot(page, '19-plan-calendar-phone');
    expect(await scrollWidth()).toBeLessThanOrEqual(PHONE.width);
    expect(errors).toEqual([]);
    await phone.close();

    // At a desk: the calendar, the lift's next service skipped with a reason, and a new plan.
    const desk = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-US', timezoneId: 'Asia/Shanghai' });
    const pc = await desk.newPage();
    await pc.goto(`${base}/`);
    await pc.getByTestId('login-username').fill(TECH.username);
    await pc.getByTestId('login-password').fill(TECH.password);
    await pc.getByTestId('login-submit').click();
    await pc.getByTestId('nav-equipment').click();
    await pc.getByTestId('eq-ledger').waitFor();
    await shot(pc, '20-equipment-ledger-desktop');
    await pc.getByTestId('eq-tab-plans').click();
    await pc.getByTestId('eq-calendar').waitFor();
    await expect.poll(() => pc.locator('[data-testid="eq-cal-entry"]').count()).toBeGreaterThanOrEqual(1);
    await shot(pc, '21-plan-calendar-desktop');

    await pc.goto(`${base}/equipment/plans/${liftPlan.id}`);
    await pc.getByTestId('eq-plan-detail').waitFor();
    await pc.getByTestId('eq-skip').click();
    await pc.getByTestId('eq-skip-reason').fill('Lift closed for the landlord’s refit: <b>no</b> service this time');
    await pc.getByTestId('eq-skip-confirm').click();
    const skipped = pc.locator('[data-testid="eq-occurrence"][data-outcome="skipped"]');
    await skipped.waitFor();
    expect(await skipped.innerText()).toContain('Lift closed for the landlord’s refit: <b>no</b> service this time');
    await shot(pc, '22-plan-skipped-desktop');
    const afterSkip = await api<ApiPlan>(`/api/v1/maintenance-plans/${liftPlan.id}`);
    expect(afterSkip.occurrences![0]).toMatchObject({ dueOn: liftPlan.nextDueOn!, outcome: 'skipped', actor: TECH.username });
    expect(afterSkip.nextDueOn! > liftPlan.nextDueOn!).toBe(true);

    // A monthly thermal scan of the retail board, starting today: its order is on the board by itself.
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
    await pc.goto(`${base}/equipment/${SITE}/retail-board`);
    await pc.getByTestId('eq-asset-detail').waitFor();
    await pc.getByTestId('eq-new-plan').click();
    await pc.getByTestId('eq-plan-template').selectOption('');
    await pc.getByTestId('eq-plan-name').fill('Retail board thermal scan');
    await pc.getByTestId('eq-plan-team').selectOption('maintenance');
    await pc.getByTestId('eq-plan-starts').fill(today);
    await pc.getByTestId('eq-plan-lead').fill('0');
    await pc.getByTestId('eq-plan-every').fill('1');
    await pc.getByTestId('eq-plan-unit').selectOption('month');
    await shot(pc, '23-new-plan-desktop');
    await pc.getByTestId('eq-plan-submit').click();
    await pc.locator('[data-testid="eq-plan-row"]').filter({ hasText: 'Retail board thermal scan' }).waitFor();
    let planned: ApiOrder | undefined;
    await waitFor(
      'the new plan’s order on the board',
      async () => {
        planned = (await api<{ orders: ApiOrder[] }>(`/api/v1/work-orders?site=${SITE}&state=active`)).orders.find((o) => o.title === `Retail board thermal scan · ${today}`);
        return planned !== undefined;
      },
      15_000,
    );
    expect(planned).toMatchObject({ origin: 'plan', state: 'open' });
    await pc.getByTestId('nav-work-orders').click();
    await pc.getByTestId('wo-card').filter({ hasText: 'Retail board thermal scan' }).waitFor();
    // The order's history is on the asset's page.
    await pc.goto(`${base}/equipment/${SITE}/retail-board`);
    await pc.getByTestId('eq-history-row').filter({ hasText: planned!.number }).waitFor();
    await shot(pc, '24-asset-history-desktop');
    await desk.close();
  }, 120_000);
});
