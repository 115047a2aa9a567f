import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Bar, BarChart, CartesianGrid, Cell, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { Card, Page } from '../../../components/Page';
import { ConfirmDialog } from '../../../components/ConfirmDialog';
import { DataTable } from '../../../components/DataTable';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { FormField } from '../../../components/FormField';
import { Icon } from '../../../components/Icon';
import { Loading } from '../../../components/Loading';
import type { FileType } from '../../files/api/upload';
import {
  CLEARABLE,
  useCacheAction,
  useCacheStats,
  type CacheAction,
  type CacheStats,
  type ClearableNamespace,
} from '../api/cache';
import { cacheResultText, formatBytes, formatPercent } from '../components/cacheWording';
import { AdminOnly } from '../components/AdminOnly';
import '../admin.css';

const FILE_TYPES: FileType[] = ['avatar', 'material', 'receipt', 'post_image', 'general'];

type ClearChoice = { kind: 'all' } | { kind: 'namespace'; ns: ClearableNamespace } | { kind: 'file' };

function Stats({ stats }: { stats: CacheStats }) {
  const { t, i18n } = useTranslation('administration');
  const locale = i18n.language;
  const num = (n: number) => new Intl.NumberFormat(locale).format(n);
  const redis = stats.redis ?? null;
  const memoryRatio = redis && redis.maxmemory > 0 ? Math.min(1, redis.used_memory / redis.maxmemory) : null;
  const entriesRatio =
    stats.max_entries && stats.total_keys != null ? Math.min(1, stats.total_keys / stats.max_entries) : null;
  return (
    <div className="grid grid--stats">
      <Card>
        <div className="stat">
          <span className="stat__label">{t('cache.status')}</span>
          <span className="stat__value">
            {stats.degraded ? (
              <span className="badge badge--danger">{t('cache.degraded')}</span>
            ) : (
              <span className="badge badge--ok">{t('cache.healthy')}</span>
            )}
          </span>
          <span className="stat__sub">
            {t('cache.backend')}: {t(`cache.backends.${stats.backend}`)}
            {redis ? ` ${redis.redis_version}` : ''}
          </span>
        </div>
      </Card>
      <Card>
        <div className="stat">
          <span className="stat__label">{t('cache.fileUrlHitRatio')}</span>
          <span className="stat__value">{formatPercent(stats.hit_ratio, locale)}</span>
          <span className="stat__sub">{t('cache.hitsMisses', { hits: num(stats.hits), misses: num(stats.misses) })}</span>
        </div>
      </Card>
      <Card>
        <div className="stat">
          <span className="stat__label">{t('cache.fileUrls')}</span>
          <span className="stat__value" data-testid="cache-file-urls">
            {stats.file_url_entries == null ? '—' : num(stats.file_url_entries)}
          </span>
          <span className="stat__sub">
            {stats.total_keys == null ? t('cache.unknown') : t('cache.totalKeys', { count: stats.total_keys })}
          </span>
        </div>
      </Card>
      <Card>
        {redis ? (
          <div className="stat">
            <span className="stat__label">{t('cache.memory')}</span>
            <span className="stat__value">{redis.used_memory_human || formatBytes(redis.used_memory, locale)}</span>
            <span className="stat__sub">
              {t('cache.memoryOf', {
                used: formatBytes(redis.used_memory, locale),
                max: redis.maxmemory > 0 ? formatBytes(redis.maxmemory, locale) : t('cache.noLimit'),
              })}
            </span>
            {memoryRatio != null ? (
              <div
                className="progress"
                role="meter"
                aria-label={t('cache.memory')}
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={Math.round(memoryRatio * 100)}
              >
                <div className="progress__bar" style={{ width: `${memoryRatio * 100}%` }} />
              </div>
            ) : null}
          </div>
        ) : (
          <div className="stat">
            <span className="stat__label">{t('cache.entries')}</span>
            <span className="stat__value">{stats.total_keys == null ? '—' : num(stats.total_keys)}</span>
            <span className="stat__sub">
              {stats.max_entries != null && stats.total_keys != null
                ? t('cache.entriesOf', { count: stats.total_keys, max: num(stats.max_entries) })
                : t('cache.unknown')}
            </span>
            {entriesRatio != null ? (
              <div
                className="progress"
                role="meter"
                aria-label={t('cache.entries')}
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={Math.round(entriesRatio * 100)}
              >
                <div className="progress__bar" style={{ width: `${Math.max(entriesRatio * 100, 1)}%` }} />
              </div>
            ) : null}
          </div>
        )}
      </Card>
    </div>
  );
}

function Namespaces({ stats }: { stats: CacheStats }) {
  const { t, i18n } = useTranslation('administration');
  const locale = i18n.language;
  const rows = Object.entries(stats.namespaces)
    .map(([name, ns]) => ({ name, ...ns }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const data = rows.map((r) => ({ name: r.name, ratio: Math.round(r.hit_ratio * 1000) / 10 }));
  return (
    <div className="grid grid--2">
      <Card title={t('cache.chartTitle')}>
        <div className="chart" role="img" aria-label={t('cache.chartLabel')}>
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={data} margin={{ top: 8, right: 8, bottom: 8, left: -16 }}>
              <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e3e5ef" />
              <XAxis dataKey="name" tick={{ fontSize: 12 }} interval={0} angle={-35} textAnchor="end" height={64} />
              <YAxis domain={[0, 100]} unit="%" tick={{ fontSize: 12 }} />
              <Tooltip formatter={(v) => [`${String(v)}%`, t('cache.hitRatio')]} />
              <Bar dataKey="ratio" radius={[6, 6, 0, 0]}>
                {data.map((d) => (
                  <Cell key={d.name} fill={d.name === 'file_url' ? '#0ea5a4' : '#4f46e5'} />
                ))}
              </Bar>
            </BarChart>
          </ResponsiveContainer>
        </div>
      </Card>
      <DataTable
        caption={t('cache.namespacesCaption')}
        rows={rows}
        rowKey={(r) => r.name}
        columns={[
          { key: 'name', header: t('cache.namespace'), render: (r) => <code>{r.name}</code> },
          { key: 'hits', header: t('cache.hits'), align: 'right', hideOnPhone: true, render: (r) => r.hits.toLocaleString(locale) },
          { key: 'misses', header: t('cache.misses'), align: 'right', hideOnPhone: true, render: (r) => r.misses.toLocaleString(locale) },
          { key: 'ratio', header: t('cache.hitRatio'), align: 'right', render: (r) => formatPercent(r.hit_ratio, locale) },
          { key: 'entries', header: t('cache.entries'), align: 'right', render: (r) => (r.entries == null ? '—' : r.entries.toLocaleString(locale)) },
        ]}
      />
    </div>
  );
}

/** The periodic jobs: when each last ran (on any instance), how long it took and how it ended. */
function Jobs({ stats }: { stats: CacheStats }) {
  const { t, i18n } = useTranslation('administration');
  const locale = i18n.language;
  const rows = Object.entries(stats.jobs ?? {})
    .map(([name, job]) => ({ name, job, run: job.last_run ?? job.last_turn_here ?? null }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const badge = { ok: 'badge--ok', error: 'badge--danger', skipped: 'badge--info' } as const;
  return (
    <DataTable
      caption={t('cache.jobs.caption')}
      rows={rows}
      rowKey={(r) => r.name}
      columns={[
        {
          key: 'name',
          header: t('cache.jobs.name'),
          render: (r) => (
            <>
              <code>{r.name}</code>
              <div className="muted small">
                {!r.job.enabled
                  ? t('cache.jobs.off')
                  : r.job.every_secs == null
                    ? t('cache.jobs.oncePerDeploy')
                    : t('cache.jobs.every', { count: r.job.every_secs })}
              </div>
            </>
          ),
        },
        {
          key: 'last',
          header: t('cache.jobs.lastRun'),
          render: (r) =>
            r.run ? (
              <>
                {new Date(r.run.started_at).toLocaleString(locale, { dateStyle: 'short', timeStyle: 'medium' })}
                <div className="muted small">
                  {r.run.fence == null
                    ? r.run.instance
                    : t('cache.jobs.where', { instance: r.run.instance, fence: r.run.fence })}
                </div>
              </>
            ) : (
              t('cache.jobs.never')
            ),
        },
        {
          key: 'duration',
          header: t('cache.jobs.duration'),
          align: 'right',
          hideOnPhone: true,
          render: (r) => (r.run ? t('cache.jobs.ms', { ms: r.run.duration_ms.toLocaleString(locale) }) : '—'),
        },
        {
          key: 'result',
          header: t('cache.jobs.result'),
          render: (r) =>
            r.run ? (
              <>
                <span className={`badge ${badge[r.run.result]}`}>{t(`cache.jobs.results.${r.run.result}`)}</span>
                <div className="muted small">{r.run.message}</div>
              </>
            ) : (
              '—'
            ),
        },
      ]}
    />
  );
}

function Actions() {
  const { t } = useTranslation('administration');
  const action = useCacheAction();
  const [clear, setClear] = useState<ClearChoice>({ kind: 'all' });
  const [fileId, setFileId] = useState('');
  const [warmType, setWarmType] = useState<FileType | ''>('');
  const [dashboards, setDashboards] = useState(false);
  const [pending, setPending] = useState<CacheAction | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  const fileIdNumber = Number(fileId);
  const fileIdValid = Number.isInteger(fileIdNumber) && fileIdNumber >= 1;

  function ask(next: CacheAction) {
    setMessage(null);
    action.reset();
    setPending(next);
  }

  function clearAction(): CacheAction {
    if (clear.kind === 'namespace') return { kind: 'clear', body: { namespace: clear.ns } };
    if (clear.kind === 'file') return { kind: 'clear', body: { file_id: fileIdNumber } };
    return { kind: 'clear', body: {} };
  }

  function confirmText(a: CacheAction): { title: string; body: string; label: string } {
    if (a.kind === 'warm') return { title: t('cache.confirmWarmTitle'), body: t('cache.confirmWarmBody'), label: t('cache.warm') };
    if (a.kind === 'refresh')
      return { title: t('cache.confirmRefreshTitle'), body: t('cache.confirmRefreshBody'), label: t('cache.refresh') };
    const body = a.body;
    let text = t('cache.confirmClearAll');
    if ('file_id' in body && body.file_id != null) text = t('cache.confirmClearFile', { id: body.file_id });
    else if (body.namespace) text = t('cache.confirmClearNamespace', { namespace: body.namespace });
    return { title: t('cache.confirmClearTitle'), body: text, label: t('cache.clear') };
  }

  const clearValue = clear.kind === 'namespace' ? `ns:${clear.ns}` : clear.kind;
  const confirm = pending ? confirmText(pending) : null;

  return (
    <Card title={t('cache.actionsTitle')}>
      <div aria-live="polite">
        {message ? (
          <p className="notice notice--ok cache-result" role="status" data-testid="cache-result">
            <Icon name="check" /> {message}
          </p>
        ) : null}
      </div>
      {action.error && !pending ? <ErrorMessage error={action.error} /> : null}
      <div className="cache-actions">
        <div className="cache-action">
          <h3>{t('cache.clear')}</h3>
          <p className="muted small">{t('cache.clearHint')}</p>
          <FormField label={t('cache.clearWhat')}>
            {(p) => (
              <select
                {...p}
                className="input"
                value={clearValue}
                onChange={(e) => {
                  const v = e.target.value;
                  if (v === 'all' || v === 'file') setClear({ kind: v });
                  else setClear({ kind: 'namespace', ns: v.slice(3) as ClearableNamespace });
                }}
              >
                <option value="all">{t('cache.clearAllUrls')}</option>
                {CLEARABLE.map((ns) => (
                  <option key={ns} value={`ns:${ns}`}>
                    {t('cache.clearNamespace', { namespace: ns })}
                  </option>
                ))}
                <option value="file">{t('cache.clearFile')}</option>
              </select>
            )}
          </FormField>
          {clear.kind === 'file' ? (
            <FormField label={t('cache.fileId')} required>
              {(p) => (
                <input
                  {...p}
                  className="input"
                  type="number"
                  min={1}
                  step={1}
                  inputMode="numeric"
                  value={fileId}
                  onChange={(e) => setFileId(e.target.value)}
                />
              )}
            </FormField>
          ) : null}
          <button
            type="button"
            className="btn btn--danger"
            disabled={clear.kind === 'file' && !fileIdValid}
            onClick={() => ask(clearAction())}
          >
            <Icon name="trash" /> {t('cache.clear')}
          </button>
        </div>
        <div className="cache-action">
          <h3>{t('cache.warm')}</h3>
          <p className="muted small">{t('cache.warmHint')}</p>
          <FormField label={t('cache.warmType')}>
            {(p) => (
              <select {...p} className="input" value={warmType} onChange={(e) => setWarmType(e.target.value as FileType | '')}>
                <option value="">{t('cache.warmAllTypes')}</option>
                {FILE_TYPES.map((ft) => (
                  <option key={ft} value={ft}>
                    {t('cache.warmOfType', { type: t(`cache.fileTypes.${ft}`) })}
                  </option>
                ))}
              </select>
            )}
          </FormField>
          <label className="checkbox">
            <input type="checkbox" checked={dashboards} onChange={(e) => setDashboards(e.target.checked)} />
            {t('cache.warmDashboards')}
          </label>
          <button
            type="button"
            className="btn btn--primary"
            onClick={() =>
              ask({
                kind: 'warm',
                body: { ...(warmType ? { file_type: warmType } : {}), ...(dashboards ? { dashboards: true } : {}) },
              })
            }
          >
            {t('cache.warm')}
          </button>
        </div>
        <div className="cache-action">
          <h3>{t('cache.refresh')}</h3>
          <p className="muted small">{t('cache.refreshHint')}</p>
          <button type="button" className="btn" onClick={() => ask({ kind: 'refresh' })}>
            {t('cache.refresh')}
          </button>
        </div>
      </div>
      <ConfirmDialog
        open={pending !== null}
        title={confirm?.title ?? ''}
        confirmLabel={confirm?.label}
        danger={pending?.kind === 'clear'}
        busy={action.isPending}
        onCancel={() => setPending(null)}
        onConfirm={() => {
          if (!pending) return;
          action.mutate(pending, {
            onSuccess: (result) => {
              setMessage(cacheResultText(t, result));
              setPending(null);
            },
          });
        }}
      >
        <p>{confirm?.body}</p>
        {action.error ? <ErrorMessage error={action.error} /> : null}
      </ConfirmDialog>
    </Card>
  );
}

export function CachePage() {
  const { t } = useTranslation('administration');
  return (
    <AdminOnly title={t('cache.title')}>
      <CachePageContent />
    </AdminOnly>
  );
}

function CachePageContent() {
  const { t } = useTranslation('administration');
  const stats = useCacheStats();
  const minutes = (s: number) => t('cache.minutes', { count: Math.round(s / 60) });
  return (
    <Page
      title={t('cache.title')}
      subtitle={
        stats.data
          ? `${t('cache.subtitle')} ${t('cache.ttl', { ttl: minutes(stats.data.file_url_cache_ttl), expires: minutes(stats.data.file_url_expires) })}`
          : t('cache.subtitle')
      }
    >
      {stats.isPending ? (
        <Loading />
      ) : stats.isError ? (
        <ErrorMessage error={stats.error} onRetry={() => void stats.refetch()} />
      ) : (
        <>
          {stats.data.degraded ? (
            <p className="notice" role="alert">
              {t('cache.degradedHint')}
            </p>
          ) : null}
          <Stats stats={stats.data} />
          <Namespaces stats={stats.data} />
          <Jobs stats={stats.data} />
        </>
      )}
      <Actions />
    </Page>
  );
}
