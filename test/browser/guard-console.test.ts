import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type RunningCloud } from '@gatehouse/cloud';
import { startGateway, type RunningGateway } from '@gatehouse/edge';
import { SimulatedCamera, SimulatedPeripheral, type RunningCamera } from '@gatehouse/firmware-sim';
import { createTestDatabase } from '../support/real-services.js';
import { silentLogger } from '../support/site-under-test.js';
import { waitFor } from '../support/wait-for.js';

const NORTH = 'north-gate';
const SOUTH = 'south-gate';
const CHROMIUM = process.env.GH_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const PASSWORDS = { 'guard.li': 'guard-password-1', 'engineer.wang': 'engineer-password-1', admin: 'admin-password-12' } as const;
type User = keyof typeof PASSWORDS;

interface ApiAlarm {
  id: string;
  site: string;
  type: string;
  state: string;
  device: string | null;
  snapshotUrls: string[];
  occurrences: number;
}

// The guard console in a real Chromium against the real cloud on the machine's PostgreSQL: a door of
// a simulated OSDP reader, watched by a simulated ONVIF camera, behind a real gateway.
describe('guard console in Chromium', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let cloud: RunningCloud;
  const gateways: RunningGateway[] = [];
  const readers: SimulatedPeripheral[] = [];
  const listening: { close(): Promise<void> }[] = [];
  let camera: SimulatedCamera;
  let cameraListening: RunningCamera;
  let browser: Browser;
  let base: string;
  let adminToken: string;

  const api = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const res = await fetch(`${base}${path}`, { ...init, headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' } });
    return (await res.json()) as T;
  };
  const alarmsOf = async (type: string) => (await api<{ alarms: ApiAlarm[] }>(`/api/v1/alarms?site=${NORTH}&state=new,acknowledged,cleared,closed`)).alarms.filter((a) => a.type === type);

  const shot = async (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });

  async function logIn(user: User, viewport = { width: 1440, height: 900 }): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport, locale: 'en-US', timezoneId: 'Europe/London' });
    const page = await context.newPage();
    page.on('pageerror', (err) => {
      throw new Error(`console error in the page: ${err.message}`);
    });
    await page.goto(`${base}/`);
    await page.getByTestId('login-username').fill(user);
    await page.getByTestId('login-password').fill(PASSWORDS[user]);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('live-status').waitFor();
    return { context, page };
  }

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    db = await createTestDatabase('gh_console');
    cloud = await startCloud(
      {
        http: { host: '127.0.0.1', port: 0 },
        storage: { kind: 'postgres', connectionString: db.url },
        embeddedBroker: { host: '127.0.0.1', port: 0 },
        sites: [
          { id: NORTH, name: 'North Gate Residences 北门小区', timeZone: 'Asia/Shanghai' },
          { id: SOUTH, name: 'South Gate Plaza 南门广场', timeZone: 'Asia/Shanghai' },
        ],
      },
      silentLogger,
    );
    base = `http://127.0.0.1:${cloud.httpPort}`;
    adminToken = await cloud.db.transaction(async (tx) => {
      await cloud.auth.users.update(tx, 'admin', { password: PASSWORDS.admin });
      await cloud.auth.users.create(tx, { username: 'guard.li', displayName: '李保安 Li', password: PASSWORDS['guard.li'], roles: ['guard'], sites: [NORTH] });
      await cloud.auth.users.create(tx, { username: 'engineer.wang', displayName: '王工 Wang', password: PASSWORDS['engineer.wang'], roles: ['engineer'], sites: [NORTH] });
      return (await cloud.auth.tokens.create(tx, 'admin', { name: 'test', roles: ['admin'], sites: '*', expiresAt: Date.now() + 3_600_000 })).token;
    });

    camera = new SimulatedCamera({ name: 'Lobby camera', username: 'admin', password: 'cam-pass', discovery: false, snapshotSize: { width: 640, height: 360 } });
    cameraListening = await camera.listen();
    for (const [site, address] of [
      [NORTH, 5],
      [SOUTH, 6],
    ] as const) {
      const reader = new SimulatedPeripheral({ address });
      readers.push(reader);
      const door = await reader.listen();
      listening.push(door);
      gateways.push(
        await startGateway(
          {
            site,
            gateway: 'gw-01',
            mqtt: { url: cloud.brokerUrl!, clientId: `gh-${site}-gw-01` },
            dataDir: mkdtempSync(join(tmpdir(), 'gh-console-')),
            http: { host: '127.0.0.1', port: 0 },
            devices: [
              { id: 'door-lobby', name: 'Lobby door 大堂门', driver: 'osdp+tcp', host: '127.0.0.1', port: door.port, address, replyTimeoutMs: 100, door: { unlockMs: 2000, heldOpenMs: 30_000, cards: ['12345640'] } },
              ...(site === NORTH ? [{ id: 'cam-lobby', name: 'Lobby camera', driver: 'onvif' as const, url: `http://127.0.0.1:${cameraListening.port}/onvif/device_service`, username: 'admin', password: 'cam-pass' }] : []),
            ],
            ...(site === NORTH ? { videoLinkage: { links: [{ device: 'door-lobby', cameras: ['cam-lobby'] }] } } : {}),
          },
          silentLogger,
        ),
      );
    }
    await waitFor('both doors online', () => readers.every((r) => r.received.length > 3) && camera.subscriptionCount === 1);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    for (const g of gateways) await g.stop();
    await cloud?.stop();
    for (const l of listening) await l.close();
    await cameraListening?.close();
    await db?.drop();
  });

  it('shows a door forced at the reader in the guard\'s queue without reload, with its snapshot, and takes the acknowledgement', async () => {
    const { context, page } = await logIn('guard.li');
    await shot(page, '01-alarm-queue-empty');
    readers[0]!.setDoorOpen(true);
    await waitFor('the alarm with its picture', async () => (await alarmsOf('door_forced_open')).some((a) => a.snapshotUrls.length === 1));
    const [alarm] = await alarmsOf('door_forced_open');
    // No reload: the row arrives by live push.
    const row = page.locator(`[data-testid="alarm-row"][data-alarm-id="${alarm!.id}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.getAttribute('data-state')).toBe('new');
    await row.click();
    const detail = page.getByTestId('alarm-detail');
    await detail.waitFor();
    const snapshot = page.getByTestId('alarm-snapshot').first();
    await snapshot.waitFor();
    await waitFor('the snapshot loaded', () => snapshot.evaluate((img) => (img as unknown as { complete: boolean; naturalWidth: number }).complete && (img as unknown as { naturalWidth: number }).naturalWidth === 640));
    await shot(page, '02-alarm-detail-with-snapshot');

    // A note with markup stays text.
    const note = 'Checked <img src=x onerror="window.__xss=1"> on camera: courier, door closed again';
    await page.getByTestId('ack-note').fill(note);
    await page.getByTestId('ack-type').selectOption('false_alarm');
    await page.getByTestId('ack-submit').click();
    await waitFor('acknowledged', async () => (await row.getAttribute('data-state')) === 'acknowledged');
    const stored = (await api<ApiAlarm & { ackNote: string; acknowledgedBy: string; ackType: string }>(`/api/v1/alarms/${alarm!.id}`));
    expect(stored).toMatchObject({ state: 'acknowledged', ackNote: note, acknowledgedBy: 'guard.li', ackType: 'false_alarm' });
    await expect.poll(() => detail.innerText()).toContain('onerror="window.__xss=1"');
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator('img[src="x"]').count()).toBe(0);

    // The door closes: the alarm clears by itself, live.
    readers[0]!.setDoorOpen(false);
    await waitFor('cleared by the door closing', async () => (await row.getAttribute('data-state')) === 'cleared');

    // The audit page shows the guard's acknowledgement.
    await page.getByTestId('nav-audit').click();
    const line = page.getByTestId('audit-row').filter({ hasText: 'guard.li' }).first();
    await line.waitFor();
    expect(await line.innerText()).toContain('courier');
    await shot(page, '03-audit');
    await context.close();
  });

  it('opens a door from the alarm through the audited command path, and shows the gateway\'s answer', async () => {
    const { context, page } = await logIn('guard.li');
    readers[0]!.setDoorOpen(true);
    await waitFor('a second forced door', async () => (await alarmsOf('door_forced_open')).some((a) => a.state === 'new'));
    const alarm = (await alarmsOf('door_forced_open')).find((a) => a.state === 'new')!;
    readers[0]!.setDoorOpen(false);
    await page.locator(`[data-testid="alarm-row"][data-alarm-id="${alarm.id}"]`).click();
    await page.getByTestId('door-open').click();
    await page.getByTestId('confirm-yes').click();
    const result = page.getByTestId('command-result');
    await expect.poll(() => result.innerText(), { timeout: 10_000 }).toMatch(/ok|opened|released|done/i);
    await waitFor('the strike released', () => readers[0]!.strikeEnergised);
    const commands = await api<{ commands: { issuedBy: string; status: string }[] }>(`/api/v1/sites/${NORTH}/commands`);
    expect(commands.commands[0]).toMatchObject({ issuedBy: 'guard.li', status: 'ok' });
    const audit = await api<{ entries: { actor: string; action: string }[] }>(`/api/v1/audit?site=${NORTH}&action=door.open`);
    expect(audit.entries[0]).toMatchObject({ actor: 'guard.li', action: 'door.open' });
    await shot(page, '04-door-opened-from-alarm');
    await context.close();
  });

  it('switches to Chinese and back, every screen translated', async () => {
    const { context, page } = await logIn('guard.li');
    await page.getByTestId('lang-switch').selectOption('zh-CN');
    await expect.poll(() => page.getByTestId('nav-alarms').innerText()).toMatch(/[\u4e00-\u9fff]/);
    for (const nav of ['nav-alarms', 'nav-doors', 'nav-events', 'nav-audit']) {
      await page.getByTestId(nav).click();
      await page.waitForTimeout(300);
      const text = await page.locator('body').innerText();
      // No English UI words left (device names and users are data, not UI).
      expect(text, nav).not.toMatch(/\b(Alarms|Acknowledge|Doors & cameras|Events|Audit log|Loading|Search|Priority)\b/);
      await shot(page, `05-zh-${nav.slice(4)}`);
    }
    await page.getByTestId('lang-switch').selectOption('en');
    await expect.poll(() => page.getByTestId('nav-alarms').innerText()).toMatch(/Alarms/);
    await context.close();
  });

  it('a guard cannot see or open a door of a site not granted', async () => {
    readers[1]!.setDoorOpen(true);
    await waitFor('the south alarm raised', async () => (await api<{ alarms: ApiAlarm[] }>(`/api/v1/alarms?site=${SOUTH}`)).alarms.length === 1);
    readers[1]!.setDoorOpen(false);
    const { context, page } = await logIn('guard.li');
    await page.getByTestId('alarm-row').first().waitFor();
    expect(await page.locator('body').innerText()).not.toContain('South Gate');
    const options = await page.getByTestId('site-picker').locator('option').allInnerTexts().catch(() => []);
    expect(options.join(' ')).not.toContain('South');
    // Even asking the API directly from the page, with the session and its CSRF token.
    const answer = await page.evaluate(async (site) => {
      const me = (await (await fetch('/api/v1/auth/me')).json()) as { csrfToken: string };
      const res = await fetch(`/api/v1/sites/${site}/doors/door-lobby/commands`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken }, body: JSON.stringify({ action: 'open' }) });
      const alarms = await fetch(`/api/v1/alarms?site=${site}`);
      return { open: res.status, alarms: alarms.status };
    }, SOUTH);
    expect(answer).toEqual({ open: 403, alarms: 403 });
    expect(readers[1]!.strikeEnergised).toBe(false);
    await context.close();
  });

  it('an engineer sees the queue but cannot acknowledge', async () => {
    const { context, page } = await logIn('engineer.wang');
    const row = page.getByTestId('alarm-row').first();
    await row.waitFor();
    await row.click();
    await page.getByTestId('alarm-detail').waitFor();
    expect(await page.getByTestId('ack-submit').count()).toBe(0);
    expect(await page.getByTestId('door-open').count()).toBe(0);
    await shot(page, '06-engineer-read-only');
    const id = await row.getAttribute('data-alarm-id');
    const status = await page.evaluate(async (alarmId) => {
      const me = (await (await fetch('/api/v1/auth/me')).json()) as { csrfToken: string };
      return (await fetch(`/api/v1/alarms/${alarmId}/acknowledge`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken }, body: JSON.stringify({ note: 'not mine to do', ackType: 'genuine' }) })).status;
    }, id);
    expect(status).toBe(403);
    await context.close();
  });

  it('refuses a forged or expired session and sends the browser back to the login', async () => {
    const forged = await browser.newContext();
    await forged.addCookies([{ name: 'gh_session', value: 'forged-session-value', url: base }]);
    const page = await forged.newPage();
    await page.goto(`${base}/`);
    await page.getByTestId('login-username').waitFor();
    await forged.close();

    const { context, page: guardPage } = await logIn('guard.li');
    await guardPage.getByTestId('alarm-row').first().waitFor();
    await cloud.db.execute(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE username = 'guard.li'`);
    await guardPage.getByTestId('nav-events').click();
    await guardPage.getByTestId('login-username').waitFor({ timeout: 10_000 });
    await shot(guardPage, '07-login-after-expiry');
    await context.close();
  });

  it('shows device and user names with markup as text, never running them', async () => {
    // A gateway declares a reader whose name carries markup; its forced door raises an alarm.
    const { connect } = await import('mqtt');
    const { gatewayStateCodec, eventBatchCodec, topics } = await import('@gatehouse/contracts');
    const evil = connect(cloud.brokerUrl!, { clientId: 'gh-north-gw-evil' });
    await new Promise<void>((resolve) => evil.once('connect', () => resolve()));
    const address = { site: NORTH, gateway: 'gw-evil' };
    await evil.publishAsync(topics.state(address), gatewayStateCodec.encode({ v: 1, status: 'online', ts: Date.now(), devices: [{ id: 'door-evil', kind: 'access_panel', driver: 'osdp+tcp', name: '<img src=z onerror="window.__xss=2">Back door' }] }), { qos: 1 });
    await evil.publishAsync(topics.events(address), eventBatchCodec.encode({ v: 1, seq: 1, lastSeq: 1, sentAt: Date.now(), historical: false, events: [{ id: 'evil-1', device: 'door-evil', type: 'door_forced_open', ts: Date.now(), reason: '<script>window.__xss=3</script>' }] }), { qos: 1 });
    await evil.endAsync();
    await api('/api/v1/users', { method: 'POST', body: JSON.stringify({ username: 'guard.evil', displayName: '<b onmouseover="window.__xss=4">Evil</b>', password: 'evil-password-1', roles: ['guard'], sites: [NORTH] }) });

    const { context, page } = await logIn('admin');
    const row = page.getByTestId('alarm-row').filter({ hasText: 'Back door' });
    await row.waitFor();
    expect(await row.innerText()).toContain('<img src=z onerror="window.__xss=2">Back door');
    await row.click();
    await page.getByTestId('alarm-detail').waitFor();
    await expect.poll(() => page.getByTestId('alarm-detail').innerText()).toContain('<script>window.__xss=3</script>');
    await page.getByTestId('nav-users').click();
    const user = page.getByTestId('user-row').filter({ hasText: 'guard.evil' });
    await user.waitFor();
    expect(await user.innerText()).toContain('<b onmouseover="window.__xss=4">Evil</b>');
    await user.hover();
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator('img[src="z"], b[onmouseover]').count()).toBe(0);
    await context.close();
  });

  it('doors, events, users: the other screens, on a desk and on a phone', async () => {
    // A card read, so the event log has something of its own to show.
    readers[0]!.presentCard(Buffer.from('12345640', 'hex'), 32);
    await waitFor('the card read stored', async () => (await api<{ events: { type: string }[] }>(`/api/v1/events?site=${NORTH}`)).events.some((e) => e.type === 'access_granted'));
    const { context, page } = await logIn('admin');
    // An admin sees every site: the doors and events of one at a time.
    await page.getByTestId('site-picker').selectOption(NORTH);
    await page.getByTestId('nav-doors').click();
    await page.getByTestId('door-card').first().waitFor();
    await shot(page, '08-doors-and-cameras');
    await page.getByTestId('nav-events').click();
    await page.getByTestId('event-row').first().waitFor();
    await shot(page, '09-event-log');
    await page.getByTestId('nav-users').click();
    await page.getByTestId('user-row').first().waitFor();
    await shot(page, '10-users');
    await context.close();
    const phone = await logIn('guard.li', { width: 390, height: 844 });
    await phone.page.getByTestId('alarm-row').first().waitFor();
    await shot(phone.page, '11-phone-alarm-queue');
    await phone.page.getByTestId('alarm-row').first().click();
    await phone.page.getByTestId('alarm-detail').waitFor();
    await phone.page.getByTestId('alarm-occurrences').waitFor();
    await shot(phone.page, '12-phone-alarm-detail');
    await phone.context.close();
  });
});
