import { useI18n, type MessageKey } from '../../shell/i18n';
import { Dialog } from '../../ui/Dialog';

const SHORTCUTS: [keys: string[], what: MessageKey][] = [
  [['j', '↓'], 'shortcuts.next'],
  [['k', '↑'], 'shortcuts.previous'],
  [['Enter'], 'shortcuts.open'],
  [['Esc'], 'shortcuts.close'],
  [['a'], 'shortcuts.acknowledge'],
  [['o'], 'shortcuts.openDoor'],
  [['Ctrl', 'Enter'], 'shortcuts.sendAck'],
  [['?'], 'shortcuts.help'],
];

export function ShortcutHelp({ onClose }: { onClose: () => void }) {
  const { t } = useI18n();
  return (
    <Dialog title={t('shortcuts.title')} onClose={onClose} testId="shortcut-dialog">
      <table className="shortcuts">
        <tbody>
          {SHORTCUTS.map(([keys, what]) => (
            <tr key={what}>
              <td>
                {keys.map((k, i) => (
                  <span key={k}>
                    {i > 0 ? (k === 'Enter' ? ' + ' : ' / ') : null}
                    <kbd>{k === 'Esc' ? t('shortcuts.escKey') : k}</kbd>
                  </span>
                ))}
              </td>
              <td>{t(what)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Dialog>
  );
}
