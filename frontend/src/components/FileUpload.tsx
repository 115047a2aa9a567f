import { useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { uploadFile, type FileDto, type FileType } from '../features/files/api/upload';
import { ErrorMessage } from './ErrorMessage';
import { Icon } from './Icon';

/**
 * Picks a file, shows a local preview for images, uploads it (direct upload) and reports the
 * stored file. `currentUrl` is the image already there (e.g. a member's avatar).
 */
export function FileUpload({
  label,
  fileType,
  accept,
  orgUnitId,
  currentUrl,
  onUploaded,
  onRemove,
}: {
  label: string;
  fileType: FileType;
  accept?: string;
  orgUnitId?: number | null;
  currentUrl?: string | null;
  onUploaded: (file: FileDto) => void;
  onRemove?: () => void;
}) {
  const { t } = useTranslation();
  const id = useId();
  const [preview, setPreview] = useState<string | null>(null);
  const [name, setName] = useState<string | null>(null);
  const [state, setState] = useState<'idle' | 'uploading' | 'done'>('idle');
  const [error, setError] = useState<unknown>(null);

  useEffect(() => () => {
    if (preview) URL.revokeObjectURL(preview);
  }, [preview]);

  async function onPick(file: File | undefined) {
    if (!file) return;
    setError(null);
    setName(file.name);
    setPreview(file.type.startsWith('image/') ? URL.createObjectURL(file) : null);
    setState('uploading');
    try {
      const stored = await uploadFile(file, fileType, orgUnitId);
      setState('done');
      onUploaded(stored);
    } catch (e) {
      setState('idle');
      setError(e);
    }
  }

  const shown = preview ?? currentUrl ?? null;
  return (
    <div className="upload">
      <span className="field__label" id={`${id}-label`}>
        {label}
      </span>
      <div className="upload__row">
        {accept?.startsWith('image') ? (
          <div className="upload__preview" aria-label={t('upload.preview')}>
            {shown ? <img src={shown} alt={t('upload.preview')} /> : <Icon name="profile" size={32} />}
          </div>
        ) : null}
        <div className="upload__controls">
          <label className="btn btn--ghost" htmlFor={id}>
            <Icon name="upload" /> {t('upload.choose')}
          </label>
          <input
            id={id}
            className="sr-only"
            type="file"
            accept={accept}
            aria-labelledby={`${id}-label`}
            onChange={(e) => void onPick(e.target.files?.[0])}
          />
          {name ? (
            <span className="muted small" aria-live="polite">
              {name} · {state === 'uploading' ? t('upload.uploading') : state === 'done' ? t('upload.done') : ''}
            </span>
          ) : null}
          {onRemove && (shown || state === 'done') ? (
            <button
              type="button"
              className="btn btn--ghost btn--small"
              onClick={() => {
                setPreview(null);
                setName(null);
                setState('idle');
                onRemove();
              }}
            >
              {t('upload.remove')}
            </button>
          ) : null}
        </div>
      </div>
      {error ? <ErrorMessage error={error} /> : null}
    </div>
  );
}
