import { useRef, useState } from 'react';
import { api } from '../../shell/api-client';
import { useI18n } from '../../shell/i18n';
import { Lightbox } from '../../ui/Dialog';
import { ErrorNote } from '../../ui/errors';

export interface WorkOrderPhoto {
  id: string;
  stage: 'before' | 'after' | 'other';
  fileName: string;
  url: string;
  createdBy: string;
}

/** Longest side of a photo as sent: plenty for a repair, and light on a phone's data plan. */
const MAX_SIDE = 1600;

/** The photo scaled down to MAX_SIDE as a JPEG, or the file as it is when the browser cannot draw it. */
async function shrink(file: File): Promise<Blob> {
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext('2d')!.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    return await new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('no JPEG'))), 'image/jpeg', 0.85));
  } catch {
    // Not an image the browser can draw: the server says what it is.
    return file;
  }
}

/** The bytes as the API takes files: base64 (in chunks, so a large file does not overflow the call stack). */
export async function base64Of(blob: Blob): Promise<string> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Photos before and after the work: taken with the phone's camera, shown as thumbnails. */
export function PhotoSection(props: { orderId: string; photos: WorkOrderPhoto[]; canAdd: boolean; onAdded: () => void }) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [shown, setShown] = useState<string | null>(null);
  const inputs = { before: useRef<HTMLInputElement>(null), after: useRef<HTMLInputElement>(null) };

  const add = async (stage: 'before' | 'after', file: File | undefined) => {
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      const blob = await shrink(file);
      const fileName = blob === file ? file.name : file.name.replace(/\.[^.]*$/, '') + '.jpg';
      await api.post(`/work-orders/${encodeURIComponent(props.orderId)}/photos`, { stage, fileName: fileName || 'photo.jpg', dataBase64: await base64Of(blob) });
      props.onAdded();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      for (const input of Object.values(inputs)) if (input.current) input.current.value = '';
    }
  };

  if (props.photos.length === 0 && !props.canAdd) return null;
  return (
    <section className="detail-section" data-testid="wo-photos">
      <h2 className="section-title">{t('wo.photos')}</h2>
      {(['before', 'after'] as const).map((stage) => {
        const list = props.photos.filter((p) => p.stage === stage || (stage === 'after' && p.stage === 'other'));
        return list.length > 0 ? (
          <div key={stage} className="wo-photo-group">
            <div className="small muted">{stage === 'before' ? t('wo.photosBefore') : t('wo.photosAfter')}</div>
            <div className="snapshot-strip">
              {list.map((p) => (
                <button key={p.id} type="button" className="thumb" data-testid="wo-photo" onClick={() => setShown(p.url)}>
                  <img src={p.url} alt={p.fileName} loading="lazy" />
                </button>
              ))}
            </div>
          </div>
        ) : null;
      })}
      {props.canAdd ? (
        <div className="button-row wo-photo-buttons">
          {(['before', 'after'] as const).map((stage) => (
            <label key={stage} className={`button ${busy ? 'disabled' : ''}`}>
              {stage === 'before' ? t('wo.addPhotoBefore') : t('wo.addPhotoAfter')}
              <input
                ref={inputs[stage]}
                type="file"
                accept="image/*"
                capture="environment"
                className="sr-only"
                data-testid={`wo-photo-${stage}`}
                disabled={busy}
                onChange={(e) => void add(stage, e.target.files?.[0])}
              />
            </label>
          ))}
        </div>
      ) : null}
      <ErrorNote error={error} />
      {shown ? <Lightbox src={shown} onClose={() => setShown(null)} /> : null}
    </section>
  );
}
