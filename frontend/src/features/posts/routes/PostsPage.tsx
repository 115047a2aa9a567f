import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../../../api/errors';
import { useCurrentUser } from '../../../auth';
import { ConfirmDialog, Modal } from '../../../components/ConfirmDialog';
import { EmptyState } from '../../../components/EmptyState';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { FormField } from '../../../components/FormField';
import { Icon } from '../../../components/Icon';
import { Loading } from '../../../components/Loading';
import { OrgUnitPicker } from '../../../components/OrgUnitPicker';
import { Card, Page } from '../../../components/Page';
import { Pagination } from '../../../components/Pagination';
import { uploadFile } from '../../files/api/upload';
import { MAX_IMAGES, pinnedFirst, usePopularPosts, usePostMutations, usePosts, type Post } from '../api/posts';
import { Markdown } from '../components/Markdown';
import '../posts.css';

const PER_PAGE = 10;

interface Img {
  file_id: number;
  url: string;
}

function PostForm({
  post,
  defaultUnit,
  onDone,
  onCancel,
}: {
  post: Post | null;
  defaultUnit: number | null;
  onDone: (m: string) => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation('posts');
  const { t: tc } = useTranslation();
  const { create, update } = usePostMutations();
  const [unit, setUnit] = useState<number | null>(post?.org_unit_id ?? defaultUnit);
  const [title, setTitle] = useState(post?.title ?? '');
  const [body, setBody] = useState(post?.body ?? '');
  const [pinned, setPinned] = useState(post?.pinned ?? false);
  const [images, setImages] = useState<Img[]>(post?.images ?? []);
  const [uploading, setUploading] = useState(0);
  const [uploadError, setUploadError] = useState<unknown>(null);
  const m = post ? update : create;
  const error = m.error instanceof ApiError ? m.error : null;

  async function addImages(files: FileList | null) {
    if (!files) return;
    setUploadError(null);
    const list = Array.from(files).slice(0, MAX_IMAGES - images.length);
    setUploading((n) => n + list.length);
    for (const file of list) {
      try {
        const stored = await uploadFile(file, 'post_image', unit);
        setImages((cur) => [...cur, { file_id: stored.id, url: stored.url ?? URL.createObjectURL(file) }]);
      } catch (e) {
        setUploadError(e);
      } finally {
        setUploading((n) => n - 1);
      }
    }
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    const image_file_ids = images.map((i) => i.file_id);
    if (post) {
      update.mutate(
        { id: post.id, body: { title: title.trim(), body, image_file_ids } },
        { onSuccess: () => onDone(t('saved')) },
      );
    } else if (unit) {
      create.mutate({ org_unit_id: unit, title: title.trim(), body, pinned, image_file_ids }, { onSuccess: () => onDone(t('created')) });
    }
  }

  return (
    <form className="form" onSubmit={submit}>
      {!post ? (
        <FormField label={t('unit')} hint={t('pickBoard')} required error={error?.fieldError('org_unit_id')}>
          {(p) => <OrgUnitPicker {...p} value={unit} onChange={setUnit} />}
        </FormField>
      ) : null}
      <FormField label={t('postTitle')} required error={error?.fieldError('title')}>
        {(p) => <input {...p} className="input" value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} />}
      </FormField>
      <FormField label={t('body')} hint={t('bodyHint')} required error={error?.fieldError('body')}>
        {(p) => <textarea {...p} className="input post-form__body" value={body} maxLength={20000} onChange={(e) => setBody(e.target.value)} />}
      </FormField>
      <div className="field">
        <span className="field__label" id="post-images-label">
          {t('images')}
        </span>
        <div className="post-form__images">
          {images.map((img, i) => (
            <figure key={img.file_id} className="post-form__thumb">
              <img src={img.url} alt={t('imageAlt', { n: i + 1, title })} />
              <button
                type="button"
                className="btn btn--small btn--icon post-form__remove"
                aria-label={t('removeImage', { n: i + 1 })}
                onClick={() => setImages((cur) => cur.filter((x) => x.file_id !== img.file_id))}
              >
                <Icon name="close" size={14} />
              </button>
            </figure>
          ))}
          {uploading > 0 ? (
            <div className="post-form__thumb post-form__thumb--busy">
              <span className="spinner" aria-hidden="true" />
              <span className="sr-only">{t('uploading')}</span>
            </div>
          ) : null}
          {images.length + uploading < MAX_IMAGES ? (
            <label className="post-form__add">
              <Icon name="image" size={22} />
              <span className="small">{t('addImage')}</span>
              <input
                type="file"
                accept="image/*"
                multiple
                className="sr-only"
                aria-labelledby="post-images-label"
                onChange={(e) => {
                  void addImages(e.target.files);
                  e.target.value = '';
                }}
              />
            </label>
          ) : null}
        </div>
        <p className="field__hint">{t('maxImages', { count: MAX_IMAGES })}</p>
        {uploadError ? <ErrorMessage error={uploadError} /> : null}
      </div>
      {!post ? (
        <label className="checkbox">
          <input type="checkbox" checked={pinned} onChange={(e) => setPinned(e.target.checked)} />
          {t('pinOnTop')}
        </label>
      ) : null}
      {m.error && !error?.fieldErrors.length ? <ErrorMessage error={m.error} /> : null}
      <div className="form__actions">
        <button type="button" className="btn btn--ghost" onClick={onCancel}>
          {tc('actions.cancel')}
        </button>
        <button
          type="submit"
          className="btn btn--primary"
          disabled={m.isPending || uploading > 0 || !title.trim() || !body.trim() || (!post && !unit)}
        >
          {post ? tc('actions.save') : t('new')}
        </button>
      </div>
    </form>
  );
}

function PostCard({
  post,
  onEdit,
  onDelete,
  onPin,
  pinBusy,
}: {
  post: Post;
  onEdit: () => void;
  onDelete: () => void;
  onPin: () => void;
  pinBusy: boolean;
}) {
  const { t, i18n } = useTranslation('posts');
  const { t: tc } = useTranslation();
  const when = new Date(post.created_at).toLocaleString(i18n.language, { dateStyle: 'medium', timeStyle: 'short' });
  return (
    <article className={post.pinned ? 'card post post--pinned' : 'card post'} aria-labelledby={`post-${post.id}-title`}>
      <header className="post__header">
        <div className="post__heading">
          {post.pinned ? (
            <span className="badge badge--warn">
              <Icon name="pin" size={12} /> {t('pinned')}
            </span>
          ) : null}
          <h2 id={`post-${post.id}-title`}>{post.title}</h2>
          <p className="muted small">
            {t('by', { name: post.author_name })} · <time dateTime={post.created_at}>{when}</time>
            {post.updated_at !== post.created_at ? ` · ${t('edited')}` : ''} ·{' '}
            {post.org_unit_in_scope ? post.org_unit_name : t('announcement', { unit: post.org_unit_name })}
          </p>
        </div>
        <div className="post__actions">
          {post.can_pin ? (
            <button type="button" className="btn btn--ghost btn--small" onClick={onPin} disabled={pinBusy} aria-pressed={post.pinned}>
              <Icon name="pin" size={14} /> {post.pinned ? t('unpin') : t('pin')}
            </button>
          ) : null}
          {post.can_edit ? (
            <>
              <button
                type="button"
                className="btn btn--ghost btn--small btn--icon"
                onClick={onEdit}
                aria-label={`${tc('actions.edit')}: ${post.title}`}
                title={tc('actions.edit')}
              >
                <Icon name="pencil" />
              </button>
              <button
                type="button"
                className="btn btn--ghost btn--small btn--icon"
                onClick={onDelete}
                aria-label={`${tc('actions.delete')}: ${post.title}`}
                title={tc('actions.delete')}
              >
                <Icon name="trash" />
              </button>
            </>
          ) : null}
        </div>
      </header>
      <Markdown>{post.body}</Markdown>
      {post.images.length ? (
        <div className={post.images.length === 1 ? 'post__images post__images--one' : 'post__images'}>
          {post.images.map((img, i) => (
            <a key={img.file_id} href={img.url} target="_blank" rel="noreferrer">
              <img src={img.url} alt={t('imageAlt', { n: i + 1, title: post.title })} loading="lazy" />
            </a>
          ))}
        </div>
      ) : null}
      <footer className="post__footer muted small">
        <Icon name="eye" size={14} /> {t('views', { count: post.view_count })}
      </footer>
    </article>
  );
}

export function PostsPage() {
  const { t } = useTranslation('posts');
  const { t: tc } = useTranslation();
  const me = useCurrentUser();
  const [tab, setTab] = useState<'board' | 'popular'>('board');
  // Every board by default: it includes the announcements of the units above the caller's.
  const [unit, setUnit] = useState<number | null>(null);
  const [page, setPage] = useState(1);
  const [popularPage, setPopularPage] = useState(1);
  const board = usePosts(unit, page, PER_PAGE);
  const popular = usePopularPosts(popularPage, PER_PAGE, tab === 'popular');
  const { update, remove } = usePostMutations();
  const [editing, setEditing] = useState<Post | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Post | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const list = tab === 'board' ? board : popular;
  const posts = list.data ? (tab === 'board' ? pinnedFirst(list.data.items) : list.data.items) : [];

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
            setEditing('new');
          }}
        >
          <Icon name="plus" /> {t('new')}
        </button>
      }
    >
      <div className="posts-bar">
        <div className="tabs" role="tablist" aria-label={t('tabs')}>
          {(['board', 'popular'] as const).map((k) => (
            <button
              key={k}
              type="button"
              role="tab"
              id={`tab-${k}`}
              aria-selected={tab === k}
              aria-controls="posts-panel"
              className={tab === k ? 'tab tab--active' : 'tab'}
              onClick={() => setTab(k)}
            >
              {t(k)}
            </button>
          ))}
        </div>
        {tab === 'board' ? (
          <FormField label={t('unit')}>
            {(p) => (
              <OrgUnitPicker
                {...p}
                required={false}
                value={unit}
                onChange={(v) => {
                  setUnit(v);
                  setPage(1);
                }}
                allLabel={t('allBoards')}
              />
            )}
          </FormField>
        ) : null}
      </div>
      <div aria-live="polite">{notice ? <p className="notice notice--ok">{notice}</p> : null}</div>
      {update.error ? <ErrorMessage error={update.error} /> : null}
      <div id="posts-panel" role="tabpanel" aria-labelledby={`tab-${tab}`} className="posts">
        {list.isPending ? (
          <Loading />
        ) : list.isError ? (
          <ErrorMessage error={list.error} onRetry={() => void list.refetch()} />
        ) : posts.length === 0 ? (
          <Card>{tab === 'board' && unit ? <EmptyState title={t('emptyBoard')} hint={t('emptyBoardHint')} /> : <EmptyState />}</Card>
        ) : (
          <>
            {posts.map((p) => (
              <PostCard
                key={p.id}
                post={p}
                pinBusy={update.isPending}
                onEdit={() => {
                  setNotice(null);
                  setEditing(p);
                }}
                onDelete={() => {
                  remove.reset();
                  setDeleting(p);
                }}
                onPin={() => update.mutate({ id: p.id, body: { pinned: !p.pinned } })}
              />
            ))}
            {list.data ? (
              <Pagination
                page={tab === 'board' ? page : popularPage}
                perPage={PER_PAGE}
                total={list.data.total}
                onPage={tab === 'board' ? setPage : setPopularPage}
              />
            ) : null}
          </>
        )}
      </div>
      <Modal open={editing !== null} title={editing === 'new' ? t('new') : t('edit')} onClose={() => setEditing(null)}>
        {editing !== null ? (
          <PostForm
            post={editing === 'new' ? null : editing}
            defaultUnit={unit ?? me.org_unit_id ?? null}
            onCancel={() => setEditing(null)}
            onDone={(m) => {
              setEditing(null);
              setNotice(m);
            }}
          />
        ) : null}
      </Modal>
      <ConfirmDialog
        open={deleting !== null}
        title={t('deleteTitle', { title: deleting?.title ?? '' })}
        confirmLabel={tc('actions.delete')}
        danger
        busy={remove.isPending}
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          if (!deleting) return;
          remove.mutate(deleting.id, {
            onSuccess: () => {
              setDeleting(null);
              setNotice(t('deleted'));
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
