import { useRef, useState, type FormEvent } from 'react';
import { api } from '../../shell/api-client';
import { useI18n } from '../../shell/i18n';
import { formatDate } from '../../shell/time';
import { ErrorNote } from '../../ui/errors';
import { base64Of } from '../workorders/PhotoSection';
import { assetPath } from './AssetDialog';
import { MAX_DOCUMENT_BYTES, type AssetDocument, type LedgerAsset } from './equipment-types';

const ACCEPTED = 'application/pdf,.pdf,image/jpeg,image/png,image/webp';

function sizeInWords(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1048576).toFixed(1)} MiB` : `${Math.max(1, Math.round(bytes / 1024))} KiB`;
}

/**
 * Manuals, certificates and inspection reports kept with an asset. Each opens in a new tab as the
 * file it is (the server serves it sandboxed); those who manage add PDFs or photos, sent as they are
 * so that a certificate stays legible.
 */
export function DocumentSection(props: { asset: LedgerAsset; documents: AssetDocument[]; canAdd: boolean; timeZone: string; onAdded: () => void }) {
  const { t } = useI18n();
  const [title, setTitle] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [tooLarge, setTooLarge] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  const choose = (chosen: File | undefined) => {
    setError(null);
    setFile(chosen ?? null);
    setTooLarge(chosen && chosen.size > MAX_DOCUMENT_BYTES ? chosen.size : null);
    // The file's name is the likeliest title; one typed already stays.
    if (chosen && !title.trim()) setTitle(chosen.name.replace(/\.[^.]*$/, ''));
  };

  const upload = async (e: FormEvent) => {
    e.preventDefault();
    if (!file || tooLarge !== null) return;
    setBusy(true);
    setError(null);
    try {
      await api.post(`${assetPath(props.asset)}/documents`, { title: title.trim(), fileName: file.name, dataBase64: await base64Of(file) });
      setTitle('');
      setFile(null);
      if (input.current) input.current.value = '';
      props.onAdded();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="detail-section" data-testid="eq-documents">
      <h2 className="section-title">{t('eq.documents')}</h2>
      {props.documents.length === 0 ? <p className="muted small">{t('eq.noDocuments')}</p> : null}
      <ul className="eq-docs">
        {props.documents.map((doc) => (
          <li key={doc.id} data-testid="eq-doc">
            <a href={doc.url} target="_blank" rel="noopener noreferrer" className="eq-doc-title">
              {doc.title}
            </a>
            <span className="small muted">
              {[doc.fileName, doc.contentType === 'application/pdf' ? 'PDF' : t('eq.photo'), sizeInWords(doc.size), doc.createdBy, formatDate(doc.createdAt, props.timeZone)].join(' · ')}
            </span>
          </li>
        ))}
      </ul>
      {props.canAdd ? (
        <form className="form wo-inline-form eq-doc-form" onSubmit={(e) => void upload(e)}>
          <div className="field">
            <span>{t('eq.docFile')}</span>
            {/* the browser's own file button speaks the browser's language: this one speaks the console's */}
            <label className={`button eq-file-button ${busy ? 'disabled' : ''}`}>
              <span className="eq-file-name">{file ? file.name : t('eq.chooseFile')}</span>
              <input ref={input} type="file" accept={ACCEPTED} className="sr-only" data-testid="eq-doc-upload" disabled={busy} onChange={(e) => choose(e.target.files?.[0])} />
            </label>
          </div>
          <label className="field">
            <span>{t('eq.docTitle')}</span>
            <input value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={200} data-testid="eq-doc-title" />
          </label>
          <button type="submit" className="button" disabled={busy || !file || tooLarge !== null || !title.trim()} data-testid="eq-doc-submit">
            {busy ? t('common.working') : t('eq.upload')}
          </button>
        </form>
      ) : null}
      {tooLarge !== null ? (
        <p className="error-note" role="alert">
          {t('eq.docTooLarge', { size: (tooLarge / 1048576).toFixed(1) })}
        </p>
      ) : null}
      <ErrorNote error={error} />
    </section>
  );
}
