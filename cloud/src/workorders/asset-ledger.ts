import { ApiError } from '../api/errors.js';
import { auditLog } from '../audit/audit-log.js';
import type { SqlClient, SqlExecutor } from '../storage/sql-client.js';
import { describeBytes, sniffPhoto } from './photo-check.js';
import { selectOrders, type WorkOrder } from './work-order-store.js';

/** An asset's entry in the equipment ledger (设备台账). Dates are site-local YYYY-MM-DD. */
export interface LedgerAsset {
  site: string;
  id: string;
  name: string | null;
  kind: string;
  building: string | null;
  /** the devices (meters, readers, cameras) that measure or serve it */
  devices: string[];
  /** declared in the configuration (its name, kind, building and devices are the configuration's) */
  declared: boolean;
  make: string | null;
  model: string | null;
  serialNo: string | null;
  installedOn: string | null;
  warrantyUntil: string | null;
  location: string | null;
  notes: string | null;
  /** orders not yet completed, closed or cancelled */
  activeOrders: number;
  /** the soonest next due date of its active plans */
  nextPlanDue: string | null;
}

export interface AssetDocument {
  id: string;
  title: string;
  fileName: string;
  contentType: string;
  size: number;
  createdBy: string;
  createdAt: number;
  url: string;
}

export type LedgerDetails = Partial<Pick<LedgerAsset, 'make' | 'model' | 'serialNo' | 'installedOn' | 'warrantyUntil' | 'location' | 'notes'>>;

export interface NewAsset extends LedgerDetails {
  site: string;
  id: string;
  name: string;
  kind: string;
  building?: string;
  devices?: string[];
}

export type AssetChanges = LedgerDetails & Partial<Pick<NewAsset, 'name' | 'kind' | 'building' | 'devices'>>;

export const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;
const MAX_DOCUMENTS_PER_ASSET = 50;

const LEDGER_COLUMNS: Record<keyof LedgerDetails, string> = {
  make: 'make',
  model: 'model',
  serialNo: 'serial_no',
  installedOn: 'installed_on',
  warrantyUntil: 'warranty_until',
  location: 'location',
  notes: 'notes',
};

/** Assets with their devices and active orders; `$sites` a text[] of sites or NULL for all. */
const selectAssets = (sites: string) => `
  SELECT a.site, a.id, a.name, a.kind, a.building, a.declared, a.make, a.model, a.serial_no AS "serialNo",
         to_char(a.installed_on, 'YYYY-MM-DD') AS "installedOn", to_char(a.warranty_until, 'YYYY-MM-DD') AS "warrantyUntil",
         a.location, a.notes, COALESCE(d.devices, '{}') AS devices, COALESCE(o.n, 0)::int AS "activeOrders"
    FROM assets a
    LEFT JOIN (SELECT site, asset, array_agg(device ORDER BY device) AS devices FROM asset_devices
                WHERE ${sites}::text[] IS NULL OR site = ANY(${sites}::text[]) GROUP BY site, asset) d ON d.site = a.site AND d.asset = a.id
    LEFT JOIN (SELECT site, asset, count(*) AS n FROM work_orders
                WHERE asset IS NOT NULL AND state IN ('open', 'assigned', 'in_progress', 'on_hold') AND (${sites}::text[] IS NULL OR site = ANY(${sites}::text[]))
                GROUP BY site, asset) o ON o.site = a.site AND o.asset = a.id
   WHERE (${sites}::text[] IS NULL OR a.site = ANY(${sites}::text[]))`;

/**
 * The equipment ledger: assets with their make, model, serial number, dates and documents, and every
 * order that touched them. The configuration declares most assets; facilities add the rest here.
 */
export class AssetLedger {
  constructor(
    private readonly db: SqlClient,
    /** the next due date of each asset's plans (the plan service's), keyed `${site}/${asset}` */
    private readonly nextDueOf: (sites: readonly string[] | '*') => Promise<Map<string, string>>,
  ) {}

  async list(sites: readonly string[] | '*', filter: { kind?: string; q?: string } = {}): Promise<LedgerAsset[]> {
    const where: string[] = [];
    const params: unknown[] = [sites === '*' ? null : sites];
    if (filter.kind !== undefined) where.push(`a.kind = $${params.push(filter.kind)}`);
    if (filter.q !== undefined) {
      const like = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where.push(`(a.id ILIKE $${params.push(like)} OR a.name ILIKE $${params.length} OR a.model ILIKE $${params.length} OR a.serial_no ILIKE $${params.length})`);
    }
    const [rows, due] = await Promise.all([
      this.db.query<Omit<LedgerAsset, 'nextPlanDue'>>(`${selectAssets('$1')} ${where.map((w) => `AND ${w}`).join(' ')} ORDER BY a.site, a.id LIMIT 5000`, params),
      this.nextDueOf(sites),
    ]);
    return rows.map((r) => ({ ...r, nextPlanDue: due.get(`${r.site}/${r.id}`) ?? null }));
  }

  async get(site: string, id: string): Promise<LedgerAsset | undefined> {
    const [row] = await this.db.query<Omit<LedgerAsset, 'nextPlanDue'>>(`${selectAssets('$1')} AND a.id = $2`, [[site], id]);
    if (!row) return undefined;
    const due = await this.nextDueOf([site]);
    return { ...row, nextPlanDue: due.get(`${site}/${id}`) ?? null };
  }

  /** Every order that touched the asset, newest first: its maintenance history. */
  async history(site: string, id: string, now: number, limit = 500): Promise<WorkOrder[]> {
    return selectOrders(this.db, 'o.site = $1 AND o.asset = $2', [site, id], now, `ORDER BY o.created_at DESC, o.id DESC LIMIT ${Math.trunc(limit)}`);
  }

  async create(asset: NewAsset, actor: string): Promise<LedgerAsset> {
    await this.db.transaction(async (tx) => {
      const [site] = await tx.query('SELECT 1 FROM sites WHERE id = $1', [asset.site]);
      if (!site) throw new ApiError('GH_BAD_REQUEST', `unknown site "${asset.site}"`);
      const [taken] = await tx.query('SELECT 1 FROM assets WHERE site = $1 AND id = $2', [asset.site, asset.id]);
      if (taken) throw new ApiError('GH_CONFLICT', `site ${asset.site} has an asset "${asset.id}" already`);
      await this.checkBuilding(tx, asset.site, asset.building);
      await tx.execute(
        `INSERT INTO assets (site, id, name, kind, building, declared, make, model, serial_no, installed_on, warranty_until, location, notes)
         VALUES ($1, $2, $3, $4, $5, false, $6, $7, $8, $9::date, $10::date, $11, $12)`,
        [
          asset.site, asset.id, asset.name, asset.kind, asset.building ?? null, asset.make ?? null, asset.model ?? null, asset.serialNo ?? null,
          asset.installedOn ?? null, asset.warrantyUntil ?? null, asset.location ?? null, asset.notes ?? null,
        ],
      );
      await this.linkDevices(tx, asset.site, asset.id, asset.devices ?? []);
      await auditLog.append(tx, { actor, site: asset.site, action: 'asset.create', targetType: 'asset', targetId: asset.id, note: asset.name });
    });
    return (await this.get(asset.site, asset.id))!;
  }

  /**
   * Changes the ledger details; the name, kind, building and devices too of an asset added here (those
   * of a declared asset are the configuration's, and would come back on the next start).
   */
  async update(site: string, id: string, changes: AssetChanges, actor: string): Promise<LedgerAsset> {
    await this.db.transaction(async (tx) => {
      const [asset] = await tx.query<{ declared: boolean }>('SELECT declared FROM assets WHERE site = $1 AND id = $2 FOR UPDATE', [site, id]);
      if (!asset) throw new ApiError('GH_NOT_FOUND', `no asset ${id} on site ${site}`);
      const registryFields = (['name', 'kind', 'building', 'devices'] as const).filter((f) => changes[f] !== undefined);
      if (asset.declared && registryFields.length > 0) {
        throw new ApiError('GH_BAD_REQUEST', `asset ${id} is declared in the configuration: change its ${registryFields.join(', ')} there`);
      }
      const sets: string[] = [];
      const params: unknown[] = [site, id];
      for (const [field, column] of Object.entries(LEDGER_COLUMNS) as [keyof LedgerDetails, string][]) {
        const value = changes[field];
        if (value === undefined) continue;
        const cast = field === 'installedOn' || field === 'warrantyUntil' ? '::date' : '';
        sets.push(`${column} = $${params.push(value)}${cast}`);
      }
      if (changes.name !== undefined) sets.push(`name = $${params.push(changes.name)}`);
      if (changes.kind !== undefined) sets.push(`kind = $${params.push(changes.kind)}`);
      if (changes.building !== undefined) {
        await this.checkBuilding(tx, site, changes.building);
        sets.push(`building = $${params.push(changes.building)}`);
      }
      if (sets.length > 0) await tx.execute(`UPDATE assets SET ${sets.join(', ')} WHERE site = $1 AND id = $2`, params);
      if (changes.devices !== undefined) {
        await tx.execute('DELETE FROM asset_devices WHERE site = $1 AND asset = $2', [site, id]);
        await this.linkDevices(tx, site, id, changes.devices);
      }
      const changed = Object.keys(changes).filter((k) => changes[k as keyof AssetChanges] !== undefined);
      await auditLog.append(tx, { actor, site, action: 'asset.update', targetType: 'asset', targetId: id, note: changed.join(', ') });
    });
    return (await this.get(site, id))!;
  }

  async documents(site: string, id: string): Promise<AssetDocument[]> {
    const rows = await this.db.query<Omit<AssetDocument, 'url'>>(
      `SELECT id::text AS id, title, file_name AS "fileName", content_type AS "contentType", size, created_by AS "createdBy",
              (extract(epoch from created_at) * 1000)::float8 AS "createdAt"
         FROM asset_documents WHERE site = $1 AND asset = $2 ORDER BY asset_documents.id`,
      [site, id],
    );
    return rows.map((d) => ({ ...d, url: `/api/v1/sites/${encodeURIComponent(site)}/assets/${encodeURIComponent(id)}/documents/${d.id}` }));
  }

  /** Keeps a manual, certificate or report with the asset: a PDF, JPEG, PNG or WebP (by its bytes) of at most 10 MiB. */
  async addDocument(site: string, id: string, actor: string, doc: { title: string; fileName: string; data: Buffer }): Promise<AssetDocument> {
    if (doc.data.length === 0) throw new ApiError('GH_BAD_REQUEST', 'the document is empty');
    if (doc.data.length > MAX_DOCUMENT_BYTES) throw new ApiError('GH_BAD_REQUEST', `the document is ${(doc.data.length / 1048576).toFixed(1)} MiB: at most ${MAX_DOCUMENT_BYTES / 1048576} MiB`);
    const type = sniffDocument(doc.data);
    if (!type) throw new ApiError('GH_BAD_REQUEST', `not a PDF, JPEG, PNG or WebP file (it starts like ${describeBytes(doc.data)})`);
    const docId = await this.db.transaction(async (tx) => {
      const [asset] = await tx.query('SELECT 1 FROM assets WHERE site = $1 AND id = $2 FOR UPDATE', [site, id]);
      if (!asset) throw new ApiError('GH_NOT_FOUND', `no asset ${id} on site ${site}`);
      const [count] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM asset_documents WHERE site = $1 AND asset = $2', [site, id]);
      if ((count?.n ?? 0) >= MAX_DOCUMENTS_PER_ASSET) throw new ApiError('GH_CONFLICT', `asset ${id} has ${MAX_DOCUMENTS_PER_ASSET} documents already`);
      const [row] = await tx.query<{ id: string }>(
        'INSERT INTO asset_documents (site, asset, title, file_name, content_type, size, data, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id::text AS id',
        [site, id, doc.title, doc.fileName, type, doc.data.length, doc.data, actor],
      );
      await auditLog.append(tx, { actor, site, action: 'asset.document', targetType: 'asset', targetId: id, note: doc.title });
      return row!.id;
    });
    return (await this.documents(site, id)).find((d) => d.id === docId)!;
  }

  async document(site: string, id: string, docId: string): Promise<{ contentType: string; fileName: string; data: Buffer } | undefined> {
    const [row] = await this.db.query<{ contentType: string; fileName: string; data: Buffer }>(
      'SELECT content_type AS "contentType", file_name AS "fileName", data FROM asset_documents WHERE site = $1 AND asset = $2 AND id = $3',
      [site, id, docId],
    );
    return row;
  }

  private async checkBuilding(tx: SqlExecutor, site: string, building: string | undefined): Promise<void> {
    if (building === undefined) return;
    const [row] = await tx.query('SELECT 1 FROM buildings WHERE site = $1 AND id = $2', [site, building]);
    if (!row) throw new ApiError('GH_BAD_REQUEST', `unknown building "${building}" on site ${site}`);
  }

  private async linkDevices(tx: SqlExecutor, site: string, asset: string, devices: readonly string[]): Promise<void> {
    if (devices.length === 0) return;
    const known = new Set((await tx.query<{ id: string }>('SELECT id FROM devices WHERE site = $1 AND id = ANY($2::text[])', [site, devices])).map((r) => r.id));
    const unknown = devices.filter((d) => !known.has(d));
    if (unknown.length > 0) throw new ApiError('GH_BAD_REQUEST', `unknown device${unknown.length > 1 ? 's' : ''} on site ${site}: ${unknown.join(', ')}`);
    await tx.execute('INSERT INTO asset_devices (site, asset, device) SELECT $1, $2, d FROM unnest($3::text[]) AS d ON CONFLICT DO NOTHING', [site, asset, [...new Set(devices)]]);
  }
}

/** A document's type from its bytes: a PDF or one of the photo types; never HTML or SVG. */
export function sniffDocument(data: Uint8Array): 'application/pdf' | ReturnType<typeof sniffPhoto> {
  if (data.length >= 5 && String.fromCharCode(...data.subarray(0, 5)) === '%PDF-') return 'application/pdf';
  return sniffPhoto(data);
}
