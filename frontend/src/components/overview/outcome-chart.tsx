import { ShieldAlert, ShieldCheck, ShieldHalf } from 'lucide-react'
import { useMemo } from 'react'
import { Bar, BarChart, CartesianGrid, Tooltip, XAxis, YAxis } from 'recharts'
import { honestSlashes, outcomeSeries, type OutcomeRow } from '../../lib/chart-data'
import { usePrefersReducedMotion } from '../../lib/hooks'
import { explorerWalletHref } from '../../lib/log-format'
import { OUTCOME_META, OUTCOMES, sumOutcomes } from '../../lib/outcomes'
import type { Node, Round } from '../../lib/types'
import { Card, CardBody, CardHeader } from '../ui/card'
import { OUTCOME_ICON, OUTCOME_TEXT, OutcomeCountList } from '../ui/outcome-badge'
import { GRID_PROPS, ROUND_AXIS_PROPS, VALUE_AXIS_PROPS } from './chart-axes'
import { EmptyState, ErrorState, LoadingState } from '../ui/states'

interface TooltipPayload {
  dataKey?: string | number
  value?: number | null
}

function OutcomeTooltip({ active, payload, label }: { active?: boolean; payload?: readonly TooltipPayload[]; label?: string | number }) {
  if (!active || !payload?.length) return null
  return (
    <div className="glass rounded-lg px-3 py-2 text-xs shadow-xl">
      <p className="mb-1 font-semibold text-fg">Round {label}</p>
      {[...OUTCOMES].reverse().map((o) => {
        const Icon = OUTCOME_ICON[o]
        const value = payload.find((p) => p.dataKey === o)?.value ?? 0
        return (
          <p key={o} className="flex items-center gap-1.5 text-muted">
            <Icon className={`size-3.5 ${OUTCOME_TEXT[o]}`} aria-hidden />
            {OUTCOME_META[o].label}: <span className="tabular font-mono text-fg">{value}</span>
          </p>
        )
      })}
    </div>
  )
}

/** The false slashes of honest nodes, said out loud when there is any; a quiet all-clear otherwise. */
export function HonestSlashCallout({ nodes }: { nodes: readonly Node[] }) {
  const slashed = honestSlashes(nodes)
  const judged = nodes.some((n) => n.kind !== 'external')
  if (!judged) return null
  if (!slashed.length) {
    return (
      <p className="flex items-center gap-1.5 text-xs text-ok" data-testid="honest-slashes" data-count={0}>
        <ShieldCheck className="size-3.5" aria-hidden /> No honest node slashed in this run.
      </p>
    )
  }
  const total = slashed.reduce((n, s) => n + s.rounds, 0)
  return (
    <div role="alert" className="glow-bad rounded-xl border border-bad/40 bg-bad/10 px-4 py-3" data-testid="honest-slashes" data-count={total}>
      <p className="flex items-center gap-2 text-sm font-semibold text-bad">
        <ShieldAlert className="size-4 shrink-0" aria-hidden />
        False slashes: {slashed.length} honest node{slashed.length > 1 ? 's' : ''} slashed in {total} round{total > 1 ? 's' : ''}
      </p>
      <ul className="mt-1 flex flex-wrap gap-x-3 gap-y-1 text-xs text-muted">
        {slashed.map((s) => (
          <li key={s.address}>
            <a href={explorerWalletHref(s.address)} className="font-medium text-fg hover:underline">
              {s.label}
            </a>{' '}
            × {s.rounds}
          </li>
        ))}
      </ul>
    </div>
  )
}

/** The data of the chart as a table, for screen readers (a chart alone says nothing to them). */
function OutcomeTable({ rows }: { rows: readonly OutcomeRow[] }) {
  return (
    <table className="sr-only">
      <caption>Updates per round by outcome</caption>
      <thead>
        <tr>
          <th scope="col">Round</th>
          {OUTCOMES.map((o) => (
            <th key={o} scope="col">
              {OUTCOME_META[o].label}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.round}>
            <th scope="row">{r.round}</th>
            {OUTCOMES.map((o) => (
              <td key={o}>{r[o]}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  )
}

/** Accepted, excluded and slashed updates per round, stacked, with any slash of an honest node called out. */
export function OutcomeChart({
  rounds,
  nodes,
  isPending,
  error,
  onRetry,
  live,
}: {
  rounds: readonly Round[]
  nodes: readonly Node[]
  isPending?: boolean
  error?: unknown
  onRetry?: () => void
  live?: boolean
}) {
  const reducedMotion = usePrefersReducedMotion()
  const rows = useMemo(() => outcomeSeries(rounds), [rounds])
  const total = useMemo(() => sumOutcomes(rows), [rows])
  return (
    <Card live={live} aria-labelledby="outcome-chart-title">
      <CardHeader
        id="outcome-chart-title"
        icon={<ShieldHalf />}
        title="Outcomes per round"
        description="Accepted: aggregated and rewarded · excluded: left out, not slashed · slashed: left out and slashed."
      />
      <CardBody className="space-y-3">
        {error ? (
          <ErrorState error={error} title="Could not load the rounds" onRetry={onRetry} />
        ) : isPending ? (
          <LoadingState rows={6} label="Loading outcomes…" />
        ) : !rows.length ? (
          <EmptyState title="No round screened yet" className="h-[240px]">
            Bars appear as the shield judges each round's updates.
          </EmptyState>
        ) : (
          <>
            <HonestSlashCallout nodes={nodes} />
            <OutcomeCountList counts={total} label="Updates over the run by outcome" className="text-sm" />
            <figure aria-label="Updates per round by outcome" data-rounds={rows.length}>
              <BarChart
                responsive
                data={rows}
                style={{ width: '100%', height: 220 }}
                margin={{ top: 8, right: 12, bottom: 0, left: -16 }}
                accessibilityLayer
              >
                <CartesianGrid {...GRID_PROPS} />
                <XAxis {...ROUND_AXIS_PROPS} />
                <YAxis
                  {...VALUE_AXIS_PROPS}
                  width={40}
                  allowDecimals={false}
                />
                <Tooltip
                  content={(props) => (
                    <OutcomeTooltip
                      active={props.active}
                      payload={props.payload as readonly TooltipPayload[] | undefined}
                      label={props.label as number | undefined}
                    />
                  )}
                  cursor={{ fill: 'var(--chart-grid)', fillOpacity: 0.4 }}
                />
                {OUTCOMES.map((o) => (
                  <Bar
                    key={o}
                    dataKey={o}
                    name={OUTCOME_META[o].label}
                    stackId="outcomes"
                    fill={OUTCOME_META[o].color}
                    // A dark seam between segments tells neighbouring colours apart without relying on hue.
                    stroke="var(--color-bg)"
                    strokeWidth={1}
                    isAnimationActive={!reducedMotion}
                    animationDuration={400}
                  />
                ))}
              </BarChart>
              <OutcomeTable rows={rows} />
            </figure>
          </>
        )}
      </CardBody>
    </Card>
  )
}
