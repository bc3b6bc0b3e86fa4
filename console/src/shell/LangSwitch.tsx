import { LANGS, useI18n, type Lang } from './i18n';

const NAMES: Record<Lang, string> = { 'zh-CN': '中文', en: 'English' };

/** Language names are written in their own language, so anyone can find theirs. */
export function LangSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <select className="lang-switch" data-testid="lang-switch" value={lang} aria-label={t('shell.language')} onChange={(e) => setLang(e.target.value as Lang)}>
      {LANGS.map((l) => (
        <option key={l} value={l} lang={l}>
          {NAMES[l]}
        </option>
      ))}
    </select>
  );
}
