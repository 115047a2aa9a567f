import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  Legend,
  Pie,
  PieChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { EmptyState } from '../../../components/EmptyState';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { Loading } from '../../../components/Loading';
import { Card, Page } from '../../../components/Page';
import { useFormat } from '../../../lib/format';
import { useDashboard, type Dashboard } from '../api';

const STATUS_COLORS = { active: '#4f46e5', inactive: '#a5b4fc', suspended: '#f59e0b' } as const;
const PURPOSE_COLORS = { dues: '#4f46e5', material: '#0ea5a4', donation: '#f59e0b' } as const;
const PURPOSES = ['dues', 'material', 'donation'] as const;

function Stats({ data }: { data: Dashboard }) {
  const { t } = useTranslation('dashboard');
  const f = useFormat();
  const thisMonth = data.payments.find((p) => p.month === data.period);
  return (
    <div className="grid grid--stats">
      <Card>
        <div className="stat">
          <span className="stat__label">{t('members')}</span>
          <span className="stat__value" data-testid="members-total">
            {f.number(data.members.total)}
          </span>
          <span className="stat__sub">{t('newThisMonth', { count: data.members.new_this_month })}</span>
        </div>
      </Card>
      <Card>
        <div className="stat">
          <span className="stat__label">{t('active')}</span>
          <span className="stat__value">{f.number(data.members.by_status.active)}</span>
          <span className="stat__sub">
            {data.members.total > 0 ? Math.round((100 * data.members.by_status.active) / data.members.total) : 0}%
          </span>
        </div>
      </Card>
      {data.dues.length === 0 ? (
        <Card>
          <div className="stat">
            <span className="stat__label">{t('duesThisMonth', { currency: 'BRL' })}</span>
            <span className="stat__value">—</span>
            <span className="stat__sub">{t('noDues')}</span>
          </div>
        </Card>
      ) : (
        data.dues.map((d) => (
          <Card key={d.currency}>
            <div className="stat">
              <span className="stat__label">{t('duesThisMonth', { currency: d.currency })}</span>
              <span className="stat__value money">{f.money(d.collected_cents, d.currency)}</span>
              <div
                className="progress"
                role="progressbar"
                aria-valuemin={0}
                aria-valuemax={d.expected_cents}
                aria-valuenow={d.collected_cents}
                aria-label={t('collected')}
              >
                <div
                  className="progress__bar"
                  style={{ width: `${d.expected_cents ? Math.min(100, (100 * d.collected_cents) / d.expected_cents) : 0}%` }}
                />
              </div>
              <span className="stat__sub">
                {t('collectedOf', {
                  collected: f.money(d.collected_cents, d.currency),
                  expected: f.money(d.expected_cents, d.currency),
                })}
                {d.overdue_count > 0 ? ` · ${t('overdueCount', { count: d.overdue_count })}` : ''}
              </span>
            </div>
          </Card>
        ))
      )}
      <Card>
        <div className="stat">
          <span className="stat__label">{t('paymentsCount')}</span>
          <span className="stat__value">{f.number(thisMonth?.count ?? 0)}</span>
          <span className="stat__sub">{t('materialsDistributed', { count: thisMonth?.materials_distributed ?? 0 })}</span>
        </div>
      </Card>
    </div>
  );
}

function StatusChart({ data }: { data: Dashboard }) {
  const { t } = useTranslation('dashboard');
  const rows = (['active', 'inactive', 'suspended'] as const).map((s) => ({
    key: s,
    name: t(`status.${s}`),
    value: data.members.by_status[s],
  }));
  return (
    <Card title={t('byStatus')}>
      <div className="chart" role="img" aria-label={rows.map((r) => `${r.name}: ${r.value}`).join(', ')}>
        <ResponsiveContainer width="100%" height="100%">
          <PieChart>
            <Pie isAnimationActive={false} data={rows} dataKey="value" nameKey="name" innerRadius="55%" outerRadius="85%" paddingAngle={2}>
              {rows.map((r) => (
                <Cell key={r.key} fill={STATUS_COLORS[r.key]} />
              ))}
            </Pie>
            <Tooltip />
            <Legend verticalAlign="bottom" />
          </PieChart>
        </ResponsiveContainer>
      </div>
    </Card>
  );
}

function UnitChart({ data }: { data: Dashboard }) {
  const { t } = useTranslation('dashboard');
  const rows = [...data.members.by_unit].sort((a, b) => b.count - a.count).slice(0, 12);
  const height = Math.max(180, rows.length * 30 + 40);
  return (
    <Card title={t('byUnit')}>
      <div style={{ width: '100%', height }} role="img" aria-label={rows.map((r) => `${r.name}: ${r.count}`).join(', ')}>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={rows} layout="vertical" margin={{ left: 8, right: 16 }}>
            <CartesianGrid horizontal={false} stroke="#eceef6" />
            <XAxis type="number" allowDecimals={false} tick={{ fontSize: 12 }} />
            <YAxis type="category" dataKey="name" width={130} tick={{ fontSize: 12 }} />
            <Tooltip />
            <Bar isAnimationActive={false} dataKey="count" name={t('members')} fill="#4f46e5" radius={[0, 6, 6, 0]} barSize={16} />
          </BarChart>
        </ResponsiveContainer>
      </div>
    </Card>
  );
}

function DuesChart({ data }: { data: Dashboard }) {
  const { t } = useTranslation('dashboard');
  const f = useFormat();
  const rows = data.dues.map((d) => ({
    currency: d.currency,
    expected: d.expected_cents / 100,
    collected: d.collected_cents / 100,
    overdue: d.overdue_cents / 100,
  }));
  return (
    <Card title={t('duesChart')}>
      <div className="chart">
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={rows}>
            <CartesianGrid vertical={false} stroke="#eceef6" />
            <XAxis dataKey="currency" />
            <YAxis tick={{ fontSize: 12 }} width={70} />
            <Tooltip formatter={(v, _n, item) => f.money(Number(v) * 100, String((item.payload as { currency: string }).currency))} />
            <Legend />
            <Bar isAnimationActive={false} dataKey="expected" name={t('expected')} fill="#c7d2fe" radius={[6, 6, 0, 0]} />
            <Bar isAnimationActive={false} dataKey="collected" name={t('collected')} fill="#4f46e5" radius={[6, 6, 0, 0]} />
            <Bar isAnimationActive={false} dataKey="overdue" name={t('overdue')} fill="#f59e0b" radius={[6, 6, 0, 0]} />
          </BarChart>
        </ResponsiveContainer>
      </div>
    </Card>
  );
}

function PaymentsChart({ data, currency }: { data: Dashboard; currency: string }) {
  const { t } = useTranslation('dashboard');
  const f = useFormat();
  const rows = data.payments.map((m) => {
    const row: Record<string, number | string> = { month: f.month(m.month) };
    for (const p of PURPOSES) {
      row[p] = m.amounts.filter((a) => a.purpose === p && a.currency === currency).reduce((s, a) => s + a.amount_cents, 0) / 100;
    }
    return row;
  });
  return (
    <Card title={t('paymentsChart', { currency })} className="span-2">
      <div className="chart">
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={rows}>
            <CartesianGrid vertical={false} stroke="#eceef6" />
            <XAxis dataKey="month" tick={{ fontSize: 12 }} />
            <YAxis tick={{ fontSize: 12 }} width={70} />
            <Tooltip formatter={(v) => f.money(Number(v) * 100, currency)} />
            <Legend />
            {PURPOSES.map((p, i) => (
              <Bar
                isAnimationActive={false}
                key={p}
                dataKey={p}
                stackId="a"
                name={t(`purpose.${p}`)}
                fill={PURPOSE_COLORS[p]}
                radius={i === PURPOSES.length - 1 ? [6, 6, 0, 0] : undefined}
              />
            ))}
          </BarChart>
        </ResponsiveContainer>
      </div>
    </Card>
  );
}

export function DashboardPage() {
  const { t } = useTranslation('dashboard');
  const f = useFormat();
  const query = useDashboard();
  const data = query.data;
  const currencies = useMemo(() => {
    const set = new Set<string>();
    for (const m of data?.payments ?? []) for (const a of m.amounts) set.add(a.currency);
    return [...set].sort();
  }, [data]);

  return (
    <Page
      title={t('title')}
      subtitle={data ? t('subtitle', { period: f.monthLong(data.period) }) : undefined}
    >
      {query.isPending ? (
        <Loading />
      ) : query.isError ? (
        <ErrorMessage error={query.error} onRetry={() => void query.refetch()} />
      ) : data && data.members.total === 0 && data.dues.length === 0 && currencies.length === 0 ? (
        <EmptyState />
      ) : data ? (
        <>
          <Stats data={data} />
          <div className="grid grid--2">
            <StatusChart data={data} />
            {data.dues.length > 0 ? <DuesChart data={data} /> : null}
            {currencies.map((c) => (
              <PaymentsChart key={c} data={data} currency={c} />
            ))}
            {data.members.by_unit.length > 0 ? <UnitChart data={data} /> : null}
          </div>
          <p className="muted small">{t('computedAt', { time: f.dateTime(data.computed_at) })}</p>
        </>
      ) : null}
    </Page>
  );
}
