import { Activity, TrendingDown } from 'lucide-react'
import { useMemo } from 'react'
import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts'
import { overlayRuns, type Run } from '../../lib/chart-data'
import { usePrefersReducedMotion } from '../../lib/hooks'
import { formatMetric, formatPercent } from '../../lib/numbers'
import { Card, CardBody, CardHeader } from '../ui/card'
import { GRID_PROPS, ROUND_AXIS_PROPS, VALUE_AXIS_PROPS } from './chart-axes'
import { EmptyState, ErrorState, LoadingState } from '../ui/states'

const META = {
  accuracy: { title: 'Global accuracy', icon: <Activity />, format: (v: number) => formatPercent(v), axis: (v: number) => `${Math.round(v * 100)}%` },
  loss: { title: 'Global loss', icon: <TrendingDown />, format: (v: number) => formatMetric(v), axis: (v: number) => formatMetric(v) },
} as const

interface TooltipPayload {
  dataKey?: string | number
  value?: number | null
  color?: string
  name?: string
}

function ChartTooltip({
  active,
  payload,
  label,
  format,
}: {
  active?: boolean
  payload?: readonly TooltipPayload[]
  label?: string | number
  format: (v: number) => string
}) {
  if (!active || !payload?.length) return null
  return (
    <div className="glass rounded-lg px-3 py-2 text-xs shadow-xl">
      <p className="mb-1 font-semibold text-fg">Round {label}</p>
      {payload.map((p) => (
        <p key={String(p.dataKey)} className="flex items-center gap-2 text-muted">
          <span className="inline-block h-0.5 w-3 rounded" style={{ background: p.color }} aria-hidden />
          {p.name}: <span className="tabular font-mono text-fg">{p.value === null || p.value === undefined ? '—' : format(p.value)}</span>
        </p>
      ))}
    </div>
  )
}

/** Accuracy or loss per round for the watched run, with earlier runs overlaid dashed when asked. */
export function MetricChart({
  metric,
  runs,
  isPending,
  error,
  onRetry,
  live,
}: {
  metric: 'accuracy' | 'loss'
  runs: readonly Run[]
  isPending?: boolean
  error?: unknown
  onRetry?: () => void
  live?: boolean
}) {
  const meta = META[metric]
  const reducedMotion = usePrefersReducedMotion()
  const { rows, series } = useMemo(() => overlayRuns(runs, metric), [runs, metric])
  const primary = series[0]
  const latest = primary ? [...rows].reverse().find((r) => r[primary.key] !== null && r[primary.key] !== undefined) : undefined
  const latestValue = latest && primary ? (latest[primary.key] as number) : null
  const titleId = `chart-${metric}-title`

  return (
    <Card live={live} aria-labelledby={titleId}>
      <CardHeader
        id={titleId}
        icon={meta.icon}
        title={meta.title}
        description={series.length > 1 ? `${series.length - 1} earlier run${series.length > 2 ? 's' : ''} overlaid (dashed)` : 'per round'}
        actions={
          latestValue !== null ? (
            <span className="tabular font-mono text-2xl font-semibold text-fg" data-testid={`latest-${metric}`}>
              {meta.format(latestValue)}
            </span>
          ) : undefined
        }
      />
      <CardBody>
        {error ? (
          <ErrorState error={error} title={`Could not load ${metric}`} onRetry={onRetry} />
        ) : isPending ? (
          <LoadingState rows={6} label={`Loading ${metric}…`} />
        ) : !rows.length ? (
          <EmptyState title="No rounds evaluated yet" className="h-[240px]">
            The curve starts when the first round is aggregated.
          </EmptyState>
        ) : (
          <figure aria-label={`${meta.title} per round`} data-points={rows.length}>
            <LineChart
              responsive
              data={rows}
              style={{ width: '100%', height: 240 }}
              margin={{ top: 8, right: 12, bottom: 0, left: -8 }}
              accessibilityLayer
            >
              <CartesianGrid {...GRID_PROPS} />
              <XAxis {...ROUND_AXIS_PROPS} />
              <YAxis
                {...VALUE_AXIS_PROPS}
                width={48}
                domain={metric === 'accuracy' ? [0, 1] : ['auto', 'auto']}
                tickFormatter={meta.axis}
              />
              <Tooltip
                content={(props) => (
                  <ChartTooltip
                    active={props.active}
                    payload={props.payload as readonly TooltipPayload[] | undefined}
                    label={props.label as number | undefined}
                    format={meta.format}
                  />
                )}
                cursor={{ stroke: 'var(--chart-axis)', strokeOpacity: 0.4 }}
              />
              {series.length > 1 && <Legend wrapperStyle={{ fontSize: 12, color: 'var(--chart-axis)' }} />}
              {series.map((s) => (
                <Line
                  key={s.key}
                  type="monotone"
                  dataKey={s.key}
                  name={`#${s.experimentId} ${s.name}`}
                  stroke={s.color}
                  strokeWidth={s.primary ? 2.5 : 1.5}
                  strokeDasharray={s.primary ? undefined : '5 4'}
                  dot={s.primary ? { r: 2.5, strokeWidth: 0, fill: s.color } : false}
                  activeDot={{ r: 4 }}
                  connectNulls
                  isAnimationActive={!reducedMotion}
                  animationDuration={400}
                />
              ))}
            </LineChart>
            <figcaption className="sr-only">
              {latestValue !== null && latest ? `Latest: ${meta.format(latestValue)} at round ${latest.round}.` : ''}
            </figcaption>
          </figure>
        )}
      </CardBody>
    </Card>
  )
}
