import { useI18n } from '../shell/i18n';
import { useSession } from '../shell/session';

/** For pages about one site while the top bar says "all sites": pick one here. */
export function SiteChooser({ message }: { message: string }) {
  const { t } = useI18n();
  const session = useSession();
  return (
    <div className="site-chooser">
      <p>{message}</p>
      <div className="site-cards">
        {session.sites.map((s) => (
          <button type="button" key={s.id} className="site-card" onClick={() => session.setSelectedSite(s.id)} data-testid={`choose-site-${s.id}`}>
            <strong>{s.name ?? s.id}</strong>
            <span className="muted small">
              {t('site.summary', { devices: s.devices, gateways: s.gateways })} · {s.timeZone}
            </span>
          </button>
        ))}
      </div>
    </div>
  );
}
