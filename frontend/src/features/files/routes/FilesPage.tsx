import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useCurrentUser } from '../../../auth';
import { ConfirmDialog, Modal } from '../../../components/ConfirmDialog';
import { EmptyState } from '../../../components/EmptyState';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { FileUpload } from '../../../components/FileUpload';
import { FormField } from '../../../components/FormField';
import { Icon } from '../../../components/Icon';
import { Loading } from '../../../components/Loading';
import { OrgUnitPicker } from '../../../components/OrgUnitPicker';
import { Card, Page } from '../../../components/Page';
import { Pagination } from '../../../components/Pagination';
import { unitName, useOrgUnits } from '../../org/api/orgUnits';
import { FILE_TYPES, formatSize, useFileMutations, useFiles } from '../api/files';
import type { FileDto, FileType } from '../api/upload';
import '../files.css';

const PER_PAGE = 24;

function UploadForm({ onDone }: { onDone: (f: FileDto) => void }) {
  const { t } = useTranslation('files');
  const me = useCurrentUser();
  const [fileType, setFileType] = useState<FileType>('general');
  const [unit, setUnit] = useState<number | null>(me.org_unit_id ?? null);
  return (
    <div className="form">
      <div className="form__row">
        <FormField label={t('type')} hint={t('typeHint')}>
          {(p) => (
            <select {...p} className="input" value={fileType} onChange={(e) => setFileType(e.target.value as FileType)}>
              {FILE_TYPES.map((ft) => (
                <option key={ft} value={ft}>
                  {t(`types.${ft}`)}
                </option>
              ))}
            </select>
          )}
        </FormField>
        <FormField label={t('unit')}>
          {(p) => <OrgUnitPicker {...p} required={false} value={unit} onChange={setUnit} allLabel={t('noUnit')} />}
        </FormField>
      </div>
      <FileUpload
        key={`${fileType}-${unit ?? ''}`}
        label={t('upload')}
        fileType={fileType}
        orgUnitId={unit}
        accept={fileType === 'avatar' || fileType === 'post_image' ? 'image/*' : 'image/*,application/pdf'}
        onUploaded={onDone}
      />
    </div>
  );
}

function Tile({ file, onDelete, canDelete }: { file: FileDto; onDelete: () => void; canDelete: boolean }) {
  const { t, i18n } = useTranslation('files');
  const { t: tc } = useTranslation();
  const units = useOrgUnits();
  const [broken, setBroken] = useState(false);
  const isImage = file.content_type.startsWith('image/');
  const date = new Date(file.created_at).toLocaleDateString(i18n.language, { dateStyle: 'medium' });
  return (
    <li className="file-tile card">
      <div className="file-tile__media">
        {file.url && isImage && !broken ? (
          <a href={file.url} target="_blank" rel="noreferrer" aria-label={t('open', { name: file.original_name })}>
            <img src={file.url} alt={file.original_name} loading="lazy" onError={() => setBroken(true)} />
          </a>
        ) : file.url ? (
          <a href={file.url} target="_blank" rel="noreferrer" className="file-tile__doc" aria-label={t('open', { name: file.original_name })}>
            <Icon name="files" size={36} />
            <span className="small">{file.content_type.split('/')[1]?.toUpperCase()}</span>
          </a>
        ) : (
          <span className="file-tile__doc muted">
            <Icon name="upload" size={28} />
            <span className="small">{t('pending')}</span>
          </span>
        )}
      </div>
      <div className="file-tile__body">
        <p className="file-tile__name" title={file.original_name}>
          {file.original_name}
        </p>
        <p className="muted small">
          <span className="badge">{t(`types.${file.file_type}`)}</span> {formatSize(file.size, i18n.language)}
        </p>
        <p className="muted small">
          {t('by', { date })}
          {file.org_unit_id ? ` · ${unitName(units.data, file.org_unit_id)}` : ''}
        </p>
      </div>
      {canDelete ? (
        <button
          type="button"
          className="btn btn--ghost btn--small btn--icon file-tile__delete"
          onClick={onDelete}
          aria-label={`${tc('actions.delete')}: ${file.original_name}`}
          title={tc('actions.delete')}
        >
          <Icon name="trash" />
        </button>
      ) : null}
    </li>
  );
}

export function FilesPage() {
  const { t } = useTranslation('files');
  const { t: tc } = useTranslation();
  const me = useCurrentUser();
  const [fileType, setFileType] = useState<FileType | null>(null);
  const [page, setPage] = useState(1);
  const files = useFiles(fileType, page, PER_PAGE);
  const { remove, invalidate } = useFileMutations();
  const [uploading, setUploading] = useState(false);
  const [deleting, setDeleting] = useState<FileDto | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  return (
    <Page
      title={t('title')}
      subtitle={t('subtitle')}
      actions={
        <button
          type="button"
          className="btn btn--primary"
          onClick={() => {
            setNotice(null);
            setUploading(true);
          }}
        >
          <Icon name="upload" /> {t('upload')}
        </button>
      }
    >
      <div className="toolbar">
        <FormField label={t('type')}>
          {(p) => (
            <select
              {...p}
              className="input"
              value={fileType ?? ''}
              onChange={(e) => {
                setFileType((e.target.value || null) as FileType | null);
                setPage(1);
              }}
            >
              <option value="">{t('allTypes')}</option>
              {FILE_TYPES.map((ft) => (
                <option key={ft} value={ft}>
                  {t(`types.${ft}`)}
                </option>
              ))}
            </select>
          )}
        </FormField>
        <span />
        <span />
      </div>
      <div aria-live="polite">{notice ? <p className="notice notice--ok">{notice}</p> : null}</div>
      {files.isPending ? (
        <Loading />
      ) : files.isError ? (
        <ErrorMessage error={files.error} onRetry={() => void files.refetch()} />
      ) : files.data.items.length === 0 ? (
        <Card>
          <EmptyState />
        </Card>
      ) : (
        <>
          <ul className="file-grid" aria-label={t('caption')}>
            {files.data.items.map((f) => (
              <Tile
                key={f.id}
                file={f}
                canDelete={me.is_admin || f.uploaded_by === me.id}
                onDelete={() => {
                  remove.reset();
                  setDeleting(f);
                }}
              />
            ))}
          </ul>
          <Pagination page={page} perPage={PER_PAGE} total={files.data.total} onPage={setPage} />
        </>
      )}
      <Modal open={uploading} title={t('uploadTitle')} onClose={() => setUploading(false)}>
        <UploadForm
          onDone={(f) => {
            void invalidate();
            setUploading(false);
            setNotice(t('uploaded', { name: f.original_name }));
          }}
        />
        <div className="form__actions">
          <button type="button" className="btn btn--ghost" onClick={() => setUploading(false)}>
            {tc('actions.close')}
          </button>
        </div>
      </Modal>
      <ConfirmDialog
        open={deleting !== null}
        title={t('deleteTitle', { name: deleting?.original_name ?? '' })}
        confirmLabel={tc('actions.delete')}
        danger
        busy={remove.isPending}
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          if (!deleting) return;
          const name = deleting.original_name;
          remove.mutate(deleting.id, {
            onSuccess: () => {
              setDeleting(null);
              setNotice(t('deleted', { name }));
            },
          });
        }}
      >
        <p>{t('deleteBody')}</p>
        {remove.error ? <ErrorMessage error={remove.error} /> : null}
      </ConfirmDialog>
    </Page>
  );
}
