import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceEvent } from '@gatehouse/contracts';
import { SiteRegistry, type SqlClient } from '@gatehouse/cloud';
import { EventStore } from '../src/storage/event-store.js';
import { csvCell, registerEventRoutes } from '../src/api/event-routes.js';
import { DATABASES, openTestDatabase, routeHarness } from './route-harness.js';

const SITE = 'sunrise';
const t0 = Date.UTC(2026, 10, 26, 2, 0, 0); // 10:00 in Shanghai
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);

const ev = (id: string, device: string, type: DeviceEvent['type'], dt: number, extra: Partial<DeviceEvent> = {}): DeviceEvent => ({ id, device, type, ts: t0 + dt, ...extra });

interface ApiEvent {
  site: string;
  gateway: string;
  id: string;
  device: string;
  type: string;
  ts: number;
  credential: string | null;
  reason: string | null;
  attachments: number;
  attachmentUrls: string[];
}
interface Page {
  events: ApiEvent[];
  nextCursor: string | null;
  truncated: boolean;
}

/** RFC 4180, enough to read back what the export wrote. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}

describe.each(DATABASES)('event search and export (%s)', (kind) => {
  let db: SqlClient;
  let closeDb: () => Promise<void>;
  let app: FastifyInstance;
  let events: EventStore;

  const get = async (url: string) => {
    const res = await app.inject({ url });
    return { status: res.statusCode, body: res.json() as Page & { code?: string; message?: string } };
  };
  const ids = (page: Page) => page.events.map((e) => e.id);

  beforeAll(async () => {
    ({ db, close: closeDb } = await openTestDatabase(kind));
    const registry = new SiteRegistry(db);
    await registry.declareSite({ id: SITE, timeZone: 'Asia/Shanghai' });
    await registry.declareSite({ id: 'other', timeZone: 'UTC' });
    events = new EventStore(db);
    await events.write({ site: SITE, gateway: 'gw-01' }, [
      ev('ev-01', 'door-lobby', 'access_granted', 0, { point: 'door', credential: '****5640' }),
      ev('ev-02', 'door-lobby', 'access_denied', 1000, { point: 'door', credential: '****AB12', reason: 'credential not enrolled at this door' }),
      ev('ev-03', 'door-lobby', 'door_forced_open', 2000, { point: 'door', attachments: [{ camera: 'cam-lobby', contentType: 'image/jpeg', ts: t0 + 2010, dataBase64: JPEG.toString('base64') }] }),
      // three events in the same millisecond: ordered by gateway, then id
      ev('ev-04', 'gate-carpark', 'access_granted', 3000, { point: '1', credential: '****5640' }),
      ev('ev-05', 'gate-carpark', 'door_held_open', 3000, { point: '2' }),
      ev('ev-07', 'door-lobby', 'device_fault', 4000, { point: 'door', reason: '=HYPERLINK("http://evil.example","click"), "quoted"\nsecond line' }),
      ev('ev-08', 'door-lobby', 'tamper', 5000, { point: 'door', reason: '-2+3' }),
      ev('ev-09', 'door-lobby', 'tamper', 6000, { point: 'door', reason: '@SUM(A1:A9)' }),
      ev('ev-10', 'door-lobby', 'tamper', 7000, { point: 'door', reason: '+86 门禁 防拆' }),
    ]);
    await events.write({ site: SITE, gateway: 'gw-02' }, [ev('ev-06', 'gate-west', 'access_denied', 3000, { point: '1', credential: '****0001' })]);
    // Another site with the same gateway, device and event ids: never listed for this one.
    await events.write({ site: 'other', gateway: 'gw-01' }, [ev('ev-01', 'door-lobby', 'access_granted', 0, { credential: '****5640' }), ev('ev-99', 'door-lobby', 'door_forced_open', 9000)]);
    app = await routeHarness((api) => registerEventRoutes(api, { db, events }));
  });

  afterAll(async () => {
    await app.close();
    await closeDb();
  });

  it('lists the events of the site asked for, newest first, then by gateway and id, with picture URLs', async () => {
    const { status, body } = await get(`/api/v1/events?site=${SITE}`);
    expect(status).toBe(200);
    expect(ids(body)).toEqual(['ev-10', 'ev-09', 'ev-08', 'ev-07', 'ev-06', 'ev-05', 'ev-04', 'ev-03', 'ev-02', 'ev-01']);
    expect(body).toMatchObject({ nextCursor: null, truncated: false });
    expect(body.events.every((e) => e.site === SITE)).toBe(true);
    expect(body.events.find((e) => e.id === 'ev-03')).toEqual({
      site: SITE,
      gateway: 'gw-01',
      id: 'ev-03',
      device: 'door-lobby',
      type: 'door_forced_open',
      ts: t0 + 2000,
      point: 'door',
      credential: null,
      reason: null,
      attachments: 1,
      attachmentUrls: [`/api/v1/sites/${SITE}/events/gw-01/ev-03/attachments/0`],
    });
    const picture = await app.inject({ url: `/api/v1/sites/${SITE}/events/gw-01/ev-03/attachments/0` });
    expect(picture.statusCode).toBe(200);
    expect(picture.headers['content-type']).toBe('image/jpeg');
    expect(picture.headers['x-camera']).toBe('cam-lobby');
    expect(picture.rawPayload).toEqual(JPEG);
  });

  it('filters by device, types (comma list or repeated), time range and the last digits of a card', async () => {
    expect(ids((await get(`/api/v1/events?site=${SITE}&device=gate-carpark`)).body)).toEqual(['ev-05', 'ev-04']);
    expect(ids((await get(`/api/v1/events?site=${SITE}&type=access_granted,access_denied`)).body)).toEqual(['ev-06', 'ev-04', 'ev-02', 'ev-01']);
    expect(ids((await get(`/api/v1/events?site=${SITE}&type=access_granted&type=door_held_open`)).body)).toEqual(['ev-05', 'ev-04', 'ev-01']);
    // from is inclusive, to exclusive; ISO 8601 with an offset or epoch ms
    const from = encodeURIComponent('2026-11-26T10:00:02+08:00');
    expect(ids((await get(`/api/v1/events?site=${SITE}&from=${from}&to=${t0 + 4000}`)).body)).toEqual(['ev-06', 'ev-05', 'ev-04', 'ev-03']);
    expect(ids((await get(`/api/v1/events?site=${SITE}&card=5640`)).body)).toEqual(['ev-04', 'ev-01']);
    expect(ids((await get(`/api/v1/events?site=${SITE}&card=ab12`)).body)).toEqual(['ev-02']);
    expect(ids((await get(`/api/v1/events?site=${SITE}&card=5640&device=door-lobby&type=access_granted`)).body)).toEqual(['ev-01']);
    expect(ids((await get(`/api/v1/events?site=${SITE}&card=9999`)).body)).toEqual([]);
  });

  it('pages with an opaque cursor: no event twice, none missed, and newer events do not shift the pages', async () => {
    const all = ids((await get(`/api/v1/events?site=${SITE}&limit=1000`)).body);
    const walked: string[] = [];
    let url = `/api/v1/events?site=${SITE}&limit=3`;
    let pages = 0;
    for (;;) {
      const { body } = await get(url);
      pages++;
      walked.push(...ids(body));
      expect(body.truncated).toBe(body.nextCursor !== null);
      if (!body.nextCursor) break;
      expect(body.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
      url = `/api/v1/events?site=${SITE}&limit=3&cursor=${body.nextCursor}`;
      if (pages === 1) {
        // stored between two pages: newer than anything, so it belongs before the first page
        await events.write({ site: SITE, gateway: 'gw-01' }, [ev('ev-11', 'door-lobby', 'door_closed', 8000, { point: 'door' })]);
      }
    }
    expect(pages).toBe(4);
    expect(walked).toEqual(all);
    expect(ids((await get(`/api/v1/events?site=${SITE}&limit=1`)).body)).toEqual(['ev-11']);
    // filters apply along the pages
    const first = (await get(`/api/v1/events?site=${SITE}&type=tamper&limit=2`)).body;
    expect(ids(first)).toEqual(['ev-10', 'ev-09']);
    expect(ids((await get(`/api/v1/events?site=${SITE}&type=tamper&limit=2&cursor=${first.nextCursor}`)).body)).toEqual(['ev-08']);
  });

  it('says plainly what is wrong with a search', async () => {
    expect(await get('/api/v1/events?site=nowhere')).toMatchObject({ status: 404, body: { code: 'GH_NOT_FOUND', message: 'no site nowhere' } });
    expect(await get('/api/v1/events')).toMatchObject({ status: 400, body: { code: 'GH_BAD_REQUEST', message: expect.stringContaining('querystring.site') } });
    expect(await get(`/api/v1/events?site=${SITE}&type=door_forced_open,door_exploded`)).toMatchObject({ status: 400, body: { message: expect.stringContaining('unknown event type "door_exploded"') } });
    expect(await get(`/api/v1/events?site=${SITE}&from=yesterday`)).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^querystring\.from: expected an ISO 8601 time .* or epoch milliseconds, not "yesterday"$/) } });
    expect(await get(`/api/v1/events?site=${SITE}&from=${t0 + 10}&to=${t0}`)).toMatchObject({ status: 400, body: { code: 'GH_BAD_TIME_RANGE' } });
    expect(await get(`/api/v1/events?site=${SITE}&card=56401`)).toMatchObject({ status: 400, body: { message: expect.stringContaining('querystring.card') } });
    expect(await get(`/api/v1/events?site=${SITE}&cursor=bm90IGEgY3Vyc29y`)).toMatchObject({ status: 400, body: { message: 'querystring.cursor: not a cursor this API gave; start again without it' } });
    expect(await get(`/api/v1/events?site=${SITE}&limit=1001`)).toMatchObject({ status: 400 });
  });

  it('exports CSV for Excel: BOM, header, times in the site time zone, quoting and no formulas', async () => {
    const res = await app.inject({ url: `/api/v1/events.csv?site=${SITE}&to=${t0 + 8000}` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="events-sunrise-\d{8}-\d{4}\.csv"$/);
    expect(res.headers['x-truncated']).toBe('false');
    expect(res.rawPayload.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const text = res.rawPayload.subarray(3).toString('utf8');
    expect(text.endsWith('\r\n')).toBe(true);
    const rows = parseCsv(text);
    expect(rows[0]).toEqual(['time', 'site', 'gateway', 'device', 'point', 'type', 'credential', 'reason', 'attachments', 'id']);
    expect(rows.slice(1).map((r) => r[9])).toEqual(['ev-10', 'ev-09', 'ev-08', 'ev-07', 'ev-06', 'ev-05', 'ev-04', 'ev-03', 'ev-02', 'ev-01']);
    const row = (id: string) => rows.find((r) => r[9] === id)!;
    expect(row('ev-01')).toEqual(['2026-11-26T10:00:00.000+08:00', SITE, 'gw-01', 'door-lobby', 'door', 'access_granted', '****5640', '', '0', 'ev-01']);
    expect(row('ev-03').slice(0, 1).concat(row('ev-03').slice(8))).toEqual(['2026-11-26T10:00:02.000+08:00', '1', 'ev-03']);
    // A reason that would be a formula is text; quotes, commas and line breaks survive.
    expect(row('ev-07')[7]).toBe(`'=HYPERLINK("http://evil.example","click"), "quoted"\nsecond line`);
    expect(row('ev-08')[7]).toBe("'-2+3");
    expect(row('ev-09')[7]).toBe("'@SUM(A1:A9)");
    expect(row('ev-10')[7]).toBe("'+86 门禁 防拆");
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example"",""click""), ""quoted""\nsecond line"`);
    expect(row('ev-02')[7]).toBe('credential not enrolled at this door');
  });

  it('exports with the same filters, in the time zone of the site, and says when rows were left out', async () => {
    const other = await app.inject({ url: '/api/v1/events.csv?site=other' });
    const otherRows = parseCsv(other.rawPayload.subarray(3).toString('utf8'));
    expect(otherRows.slice(1).map((r) => [r[0], r[9]])).toEqual([
      ['2026-11-26T02:00:09.000Z', 'ev-99'],
      ['2026-11-26T02:00:00.000Z', 'ev-01'],
    ]);
    const filtered = await app.inject({ url: `/api/v1/events.csv?site=${SITE}&type=tamper&limit=2` });
    expect(filtered.headers['x-truncated']).toBe('true');
    expect(filtered.headers['x-rows']).toBe('2');
    expect(parseCsv(filtered.rawPayload.subarray(3).toString('utf8')).slice(1).map((r) => r[9])).toEqual(['ev-10', 'ev-09']);
    const missing = await app.inject({ url: '/api/v1/events.csv?site=nowhere' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ code: 'GH_NOT_FOUND', message: 'no site nowhere' });
  });

  it('guards every cell a spreadsheet would run, and quotes only what needs it', () => {
    expect(['=1+1', '+1', '-1', '@A1', '\t=1', '\r=1'].map(csvCell)).toEqual(["'=1+1", "'+1", "'-1", "'@A1", "'\t=1", `"'\r=1"`]);
    expect(['plain', 'a,b', 'say "hi"', 'two\nlines', '', null, 3].map(csvCell)).toEqual(['plain', '"a,b"', '"say ""hi"""', '"two\nlines"', '', '', '3']);
  });
});
