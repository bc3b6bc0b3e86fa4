import { ApiError } from '../shell/api-client';
import { isMessageKey, useI18n, type Translate } from '../shell/i18n';

/** An error in the user's language: the API's code translated, the server's own words kept as detail. */
export function errorText(t: Translate, error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'GH_LOCKED_OUT') {
      const minutes = Math.max(1, Math.ceil((error.retryAfter ?? 60) / 60));
      return t('error.GH_LOCKED_OUT', { minutes });
    }
    const key = `error.${error.code}`;
    if (isMessageKey(key)) return t(key);
    // the cloud answers 502/504 when the gateway behind it (camera, door) does not
    if (error.status === 502) return t('error.gatewayUnreachable');
    if (error.status === 504) return t('error.gatewayTimeout');
    if (error.status >= 500) return t('error.server', { status: error.status });
    return t('error.unknown', { status: error.status });
  }
  return t('error.unexpected');
}

/** The server's own message, when it adds something to the translated text (which field was wrong). */
export function errorDetail(error: unknown): string | null {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : null;
  if (error.status === 502 || error.status === 504) return error.message.startsWith('HTTP ') ? null : error.message;
  if (['GH_BAD_REQUEST', 'GH_GATEWAY_FAILED', 'GH_COMMAND_REFUSED', 'GH_TIMEOUT', 'GH_FORBIDDEN', 'GH_NOT_FOUND', 'GH_CONFLICT', 'GH_BAD_TRANSITION', 'GH_BAD_TIME_RANGE'].includes(error.code)) return error.message;
  return null;
}

export function ErrorNote({ error, className }: { error: unknown; className?: string }) {
  const { t } = useI18n();
  if (error === null || error === undefined) return null;
  const detail = errorDetail(error);
  return (
    <div className={`error-note ${className ?? ''}`} role="alert">
      <span>{errorText(t, error)}</span>
      {detail ? <span className="error-detail">{detail}</span> : null}
    </div>
  );
}
