import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ConfirmDialog } from '../../../components/ConfirmDialog';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { Loading } from '../../../components/Loading';
import { Card, Page } from '../../../components/Page';
import { useFormat } from '../../../lib/format';
import { useCacheAction, useCacheStats, type CacheAction } from '../api/admin';

const RESULT_KEY: Record<CacheAction, string> = { clear: 'cache.cleared', warm: 'cache.warmed', refresh: 'cache.refreshed' };

export function CachePage() {
  const { t } = useTranslation('admin');
  const f = useFormat();
  const stats = useCacheStats();
  const action = useCacheAction();
  const [confirm, setConfirm] = useState<CacheAction | null>(null);
  const s = stats.data?.stats;
  const namespaces = s
    ? Object.entries(s.namespaces as Record<string, { hits: number; misses: number; hit_ratio: number; entries?: number | null }>)
        .map(([name, n]) => ({ name, ratio: Math.round(n.hit_ratio * 1000) / 10, hits: n.hits, misses: n.misses, entries: n.entries ?? null }))
        .sort((a, b) => a.name.localeCompare(b.name))
    : [];

  return (
    <Page
      title={t('cache.title')}
      subtitle={t('cache.subtitle')}
      actions={
        <>
          <button type="button" className="btn" onClick={() => setConfirm('refresh')} disabled={action.isPending}>
            {t('cache.refresh')}
          </button>
          <button type="button" className="btn" onClick={() => setConfirm('warm')} disabled={action.isPending}>
            {t('cache.warm')}
          </button>
          <button type="button" className="btn btn--danger" onClick={() => setConfirm('clear')} disabled={action.isPending}>
            {t('cache.clear')}
          </button>
        </>
      }
    >
      {action.data ? (
        <p className="notice notice--ok" role="status" data-testid="cache-result">
          {t(RESULT_KEY[action.data.action], { count: action.data.count })}
        </p>
      ) : null}
      {action.isError ? <ErrorMessage error={action.error} /> : null}
      {stats.isPending ? (
        <Loading />
      ) : stats.isError ? (
        <ErrorMessage error={stats.error} onRetry={() => void stats.refetch()} />
      ) : s ? (
        <>
          {s.degraded ? <p className="notice">{t('cache.degraded')}</p> : null}
          <div className="grid grid--stats">
            <Card>
              <div className="stat">
                <span className="stat__label">{t('cache.backend')}</span>
                <span className="stat__value">{t(`cache.backends.${s.backend}`)}</span>
                <span className="stat__sub">{s.degraded ? t('cache.degraded') : t('cache.healthy')}</span>
              </div>
            </Card>
            <Card>
              <div className="stat">
                <span className="stat__label">{t('cache.hitRatio')}</span>
                <span className="stat__value" data-testid="cache-hit-ratio">
                  {(s.hit_ratio * 100).toFixed(1)}%
                </span>
                <span className="stat__sub">{t('cache.hitsMisses', { hits: f.number(s.hits), misses: f.number(s.misses) })}</span>
              </div>
            </Card>
            <Card>
              <div className="stat">
                <span className="stat__label">{t('cache.entries')}</span>
                <span className="stat__value" data-testid="cache-entries">
                  {s.total_keys != null ? f.number(s.total_keys) : '—'}
                </span>
                <span className="stat__sub">
                  {s.max_entries != null ? t('cache.memoryOf', { used: f.number(s.total_keys ?? 0), max: f.number(s.max_entries) }) : t('cache.noLimit')}
                </span>
              </div>
            </Card>
            {s.redis ? (
              <Card>
                <div className="stat">
                  <span className="stat__label">{t('cache.memory')}</span>
                  <span className="stat__value">{s.redis.used_memory_human}</span>
                  <span className="stat__sub">
                    {s.redis.maxmemory > 0
                      ? t('cache.memoryOf', { used: s.redis.used_memory_human, max: s.redis.maxmemory_human })
                      : t('cache.noLimit')}
                  </span>
                </div>
              </Card>
            ) : null}
          </div>
          <div className="grid grid--2">
            <Card title={t('cache.perNamespace')}>
              <div className="chart">
                <ResponsiveContainer width="100%" height="100%">
                  <BarChart data={namespaces}>
                    <CartesianGrid vertical={false} stroke="#eceef6" />
                    <XAxis dataKey="name" tick={{ fontSize: 11 }} interval={0} angle={-25} textAnchor="end" height={50} />
                    <YAxis domain={[0, 100]} unit="%" tick={{ fontSize: 12 }} width={48} />
                    <Tooltip />
                    <Bar isAnimationActive={false} dataKey="ratio" name={t('cache.hitRatio')} fill="#4f46e5" radius={[6, 6, 0, 0]} />
                  </BarChart>
                </ResponsiveContainer>
              </div>
            </Card>
            <div className="table-wrap">
              <table className="table">
                <caption className="sr-only">{t('cache.perNamespace')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('cache.namespace')}</th>
                    <th scope="col" className="align-right">{t('cache.hits')}</th>
                    <th scope="col" className="align-right">{t('cache.misses')}</th>
                    <th scope="col" className="align-right">{t('cache.entries')}</th>
                  </tr>
                </thead>
                <tbody>
                  {namespaces.map((n) => (
                    <tr key={n.name}>
                      <td><code>{n.name}</code></td>
                      <td className="align-right">{f.number(n.hits)}</td>
                      <td className="align-right">{f.number(n.misses)}</td>
                      <td className="align-right">{n.entries != null ? f.number(n.entries) : '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
        </>
      ) : null}
      <ConfirmDialog
        open={confirm !== null}
        title={confirm === 'clear' ? t('cache.clear') : confirm === 'warm' ? t('cache.warm') : t('cache.refresh')}
        danger={confirm === 'clear'}
        busy={action.isPending}
        onCancel={() => setConfirm(null)}
        onConfirm={() => {
          if (confirm) action.mutate(confirm, { onSettled: () => setConfirm(null) });
        }}
      >
        <p>{confirm === 'clear' ? t('cache.clearConfirm') : confirm === 'warm' ? t('cache.warmConfirm') : t('cache.refreshConfirm')}</p>
      </ConfirmDialog>
    </Page>
  );
}
