import { memo, useCallback, useEffect, useState } from 'react';
import { api, apiUrl } from '../../shell/api-client';
import type { Camera, Door } from '../../shell/api-types';
import { translateValue, useI18n } from '../../shell/i18n';
import { live } from '../../shell/live';
import { ALL_SITES, useSession } from '../../shell/session';
import { formatDateTime } from '../../shell/time';
import { OnlineState } from '../../ui/badges';
import { Lightbox } from '../../ui/Dialog';
import { DoorCommand } from '../../ui/DoorCommand';
import { cameraAfterEvent, doorAfterEvent, shownPoint } from '../../ui/door-state';
import { ErrorNote } from '../../ui/errors';
import { SiteChooser } from '../../ui/SiteChooser';

interface Overview {
  site: string;
  doors: Door[];
  cameras: Camera[];
}

/** The doors and cameras of one site as they are now, updated by the live feed. */
export function DoorsPage() {
  const { t } = useI18n();
  const session = useSession();
  const site = session.selectedSite;
  const [overview, setOverview] = useState<Overview | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [picture, setPicture] = useState<{ src: string; caption: string } | null>(null);

  const load = useCallback(async (which: string) => {
    try {
      const r = await api.get<{ doors: Door[]; cameras: Camera[] }>(`/sites/${encodeURIComponent(which)}/doors`);
      setOverview({ site: which, doors: r.doors, cameras: r.cameras });
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, []);

  useEffect(() => {
    if (site === ALL_SITES) return;
    setOverview(null);
    void load(site);
    return live.subscribe({
      event: (event) => {
        if (event.site !== site) return;
        setOverview((o) => {
          if (!o || o.site !== site) return o;
          // unchanged doors keep their object, so their cards are not drawn again
          const doors = o.doors.map((d) => doorAfterEvent(d, event));
          const cameras = o.cameras.map((c) => cameraAfterEvent(c, event));
          return { ...o, doors, cameras };
        });
      },
      resync: () => void load(site),
    });
  }, [site, load]);

  if (site === ALL_SITES) return <SiteChooser message={t('doors.chooseSite')} />;

  const openCount = overview?.doors.filter((d) => d.doorState === 'open').length ?? 0;
  const offlineCount = overview ? [...overview.doors, ...overview.cameras].filter((d) => d.online === false).length : 0;

  return (
    <div className="doors-page page">
      <div className="page-head">
        <h1>{t('doors.title', { site: session.siteName(site) })}</h1>
        {overview ? (
          <span className="muted">
            {t('doors.summary', { doors: overview.doors.length, open: openCount, cameras: overview.cameras.length, offline: offlineCount })}
          </span>
        ) : null}
        <span className="toolbar-spacer" />
        <button type="button" className="button" onClick={() => void load(site)}>
          {t('common.refresh')}
        </button>
      </div>
      <ErrorNote error={error} />
      {!overview && !error ? <p className="muted">{t('common.loading')}</p> : null}
      {overview ? (
        <>
          <h2 className="section-title">{t('doors.doors')}</h2>
          {overview.doors.length === 0 ? <p className="muted">{t('doors.noDoors')}</p> : null}
          <div className="card-grid">
            {overview.doors.map((door) => (
              <DoorCard key={`${door.device}/${door.point ?? ''}`} site={site} door={door} cameras={overview.cameras} />
            ))}
          </div>
          <h2 className="section-title">{t('doors.cameras')}</h2>
          {overview.cameras.length === 0 ? <p className="muted">{t('doors.noCameras')}</p> : null}
          <div className="card-grid">
            {overview.cameras.map((camera) => (
              <CameraCard key={camera.device} site={site} camera={camera} onEnlarge={setPicture} />
            ))}
          </div>
        </>
      ) : null}
      {picture ? <Lightbox src={picture.src} caption={picture.caption} onClose={() => setPicture(null)} /> : null}
    </div>
  );
}

const DoorCard = memo(function DoorCard({ site, door, cameras }: { site: string; door: Door; cameras: Camera[] }) {
  const { t } = useI18n();
  const session = useSession();
  const tz = session.timeZoneOf(site);
  const name = door.name ?? session.deviceName(site, door.device);
  const last = door.lastEvent;
  return (
    <article className={`card door-card door-${door.doorState}`} data-testid="door-card" data-device={door.device} data-door-state={door.doorState} data-online={String(door.online)}>
      <header className="card-head">
        <h3>{name}</h3>
        <OnlineState online={door.online} />
      </header>
      <p className="muted small">
        {door.device}
        {shownPoint(door.point) ? ` · ${t('alarm.point')} ${door.point}` : ''}
      </p>
      <p className={`door-state big ds-${door.doorState}`} data-testid="door-state">
        {translateValue(t, 'doorState', door.doorState)}
      </p>
      <div className="last-event">
        <span className="muted small">{t('doors.lastEvent')}</span>
        {last ? (
          <span>
            {translateValue(t, 'eventType', last.type)} · <span className="nowrap">{formatDateTime(last.ts, tz)}</span>
            {last.credential ? <span className="mono"> · {last.credential}</span> : null}
          </span>
        ) : (
          <span className="muted">—</span>
        )}
      </div>
      {door.cameras.length ? (
        <p className="small">
          <span className="muted">{t('doors.watchedBy')} </span>
          {door.cameras.map((c) => cameras.find((x) => x.device === c)?.name ?? session.deviceName(site, c)).join(', ')}
        </p>
      ) : null}
      <DoorCommand site={site} device={door.device} door={door.point} label={name} compact />
    </article>
  );
});

const CameraCard = memo(function CameraCard(props: { site: string; camera: Camera; onEnlarge: (p: { src: string; caption: string }) => void }) {
  const { site, camera, onEnlarge } = props;
  const { t } = useI18n();
  const session = useSession();
  const tz = session.timeZoneOf(site);
  const name = camera.name ?? session.deviceName(site, camera.device);
  const [image, setImage] = useState<{ src: string; takenAt: number | null } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [missing, setMissing] = useState(false);

  const takeNow = async () => {
    setBusy(true);
    setError(null);
    setMissing(false);
    try {
      const r = await api.post<{ url: string; takenAt: number }>(`/sites/${encodeURIComponent(site)}/cameras/${encodeURIComponent(camera.device)}/snapshot`);
      setImage({ src: r.url, takenAt: r.takenAt });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const showLatest = () => {
    setError(null);
    setMissing(false);
    // the URL stays the same while the picture behind it changes
    setImage({ src: `${apiUrl(`/sites/${encodeURIComponent(site)}/cameras/${encodeURIComponent(camera.device)}/snapshot`)}?t=${Date.now()}`, takenAt: camera.lastSnapshotAt });
  };

  return (
    <article className="card camera-card" data-testid="camera-card" data-device={camera.device}>
      <header className="card-head">
        <h3>{name}</h3>
        <OnlineState online={camera.online} />
      </header>
      <p className="muted small">
        {camera.device} · {t('doors.lastSnapshot')}: {camera.lastSnapshotAt ? formatDateTime(camera.lastSnapshotAt, tz) : '—'}
      </p>
      <div className="camera-frame">
        {image && !missing ? (
          <button type="button" onClick={() => onEnlarge({ src: image.src, caption: name })} title={t('alarm.enlarge')}>
            <img src={image.src} alt={t('alarm.snapshotAlt', { device: name })} data-testid="camera-snapshot" onError={() => setMissing(true)} />
          </button>
        ) : (
          <span className="muted small">{missing ? t('doors.noSnapshot') : busy ? t('doors.taking') : t('doors.snapshotHint')}</span>
        )}
      </div>
      {image?.takenAt && !missing ? <p className="muted small">{t('doors.takenAt', { at: formatDateTime(image.takenAt, tz) })}</p> : null}
      <div className="button-row">
        {session.can('cameras.snapshot') ? (
          <button type="button" className="button primary" data-testid="camera-snapshot-now" disabled={busy} onClick={() => void takeNow()}>
            {busy ? t('doors.taking') : t('doors.takeSnapshot')}
          </button>
        ) : null}
        {session.can('events.read') ? (
          <button type="button" className="button" onClick={showLatest} disabled={busy}>
            {t('doors.showLatest')}
          </button>
        ) : null}
      </div>
      <ErrorNote error={error} />
    </article>
  );
});
