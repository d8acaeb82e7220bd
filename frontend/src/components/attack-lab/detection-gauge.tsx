import { Gauge, LoaderCircle, ShieldAlert, TriangleAlert } from 'lucide-react'
import { type CheckState, type GaugeBar, summarizeProbe } from '../../lib/gauge'
import { cn } from '../../lib/cn'
import { OUTCOME_META } from '../../lib/outcomes'
import type { ProbeResult } from '../../lib/types'
import { Card, CardBody, CardHeader } from '../ui/card'
import { OUTCOME_ICON, OUTCOME_TEXT } from '../ui/outcome-badge'
import { EmptyState, ErrorState, LoadingState } from '../ui/states'

const STATE = {
  clear: { label: 'Clear', chip: 'bg-ok/15 text-ok', marker: 'bg-ok shadow-[0_0_12px_rgb(52_211_153/0.7)]', icon: OUTCOME_ICON.accepted },
  flagged: { label: 'Flagged', chip: 'bg-info/15 text-info', marker: 'bg-info shadow-[0_0_12px_rgb(56_189_248/0.7)]', icon: TriangleAlert },
  excluded: { label: 'Excluded', chip: 'bg-warn/15 text-warn', marker: 'bg-warn shadow-[0_0_12px_rgb(251_191_36/0.7)]', icon: OUTCOME_ICON.excluded },
  slashed: { label: 'Slashed', chip: 'bg-bad/15 text-bad', marker: 'bg-bad shadow-[0_0_12px_rgb(253_138_155/0.8)]', icon: OUTCOME_ICON.slashed },
} satisfies Record<CheckState, unknown>

// Amber hatching where an update is left out, denser red hatching where it is slashed: two patterns, not two hues only.
const EXCLUDE_HATCH = 'bg-[repeating-linear-gradient(135deg,rgb(251_191_36/0.32)_0_4px,rgb(251_191_36/0.08)_4px_8px)]'
const SLASH_HATCH = 'bg-[repeating-linear-gradient(45deg,rgb(253_138_155/0.45)_0_3px,rgb(253_138_155/0.14)_3px_6px)]'

function FeatureBar({ bar }: { bar: GaugeBar }) {
  const state = STATE[bar.state]
  const Icon = state.icon
  return (
    <li
      className="space-y-1.5"
      data-feature={bar.name}
      data-rule={bar.rule ?? undefined}
      data-caught={bar.caught}
      data-outcome={bar.state}
    >
      <div className="flex flex-wrap items-baseline justify-between gap-x-3 gap-y-1">
        <span className="text-sm font-medium text-fg">{bar.label}</span>
        <span className="flex items-center gap-2">
          <span className="tabular font-mono text-xs text-muted">{bar.relation}</span>
          <span className={cn('inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-semibold', state.chip)}>
            <Icon className="size-3.5" aria-hidden />
            {state.label}
          </span>
        </span>
      </div>
      <div className="relative h-3 rounded-full bg-surface-4" aria-hidden>
        {bar.caughtZone && (
          <div
            className={cn('absolute inset-y-0 rounded-full', bar.tripOutcome === 'slashed' && bar.slashThreshold === null ? SLASH_HATCH : EXCLUDE_HATCH)}
            style={{ left: `${bar.caughtZone.fromPct}%`, width: `${bar.caughtZone.toPct - bar.caughtZone.fromPct}%` }}
          />
        )}
        {bar.slashZone && bar.slashThreshold !== null && (
          <div
            className={cn('absolute inset-y-0 rounded-full', SLASH_HATCH)}
            style={{ left: `${bar.slashZone.fromPct}%`, width: `${bar.slashZone.toPct - bar.slashZone.fromPct}%` }}
          />
        )}
        {bar.thresholdPct !== null && (
          <div className="absolute -inset-y-1.5 w-0.5 -translate-x-1/2 rounded bg-fg" style={{ left: `${bar.thresholdPct}%` }} data-limit="exclude" />
        )}
        {bar.slashThresholdPct !== null && (
          <div
            className="absolute -inset-y-1.5 w-1 -translate-x-1/2 rounded border-x border-fg bg-bad"
            style={{ left: `${bar.slashThresholdPct}%` }}
            data-limit="slash"
          />
        )}
        {bar.valuePct !== null && (
          <div
            className={cn(
              'absolute top-1/2 size-4 -translate-x-1/2 -translate-y-1/2 rotate-45 rounded-[3px] border-2 border-bg transition-[left] duration-300 ease-out',
              state.marker,
            )}
            style={{ left: `${bar.valuePct}%` }}
          />
        )}
      </div>
      <p className="text-xs text-faint" data-testid="check-limits">
        {bar.limits}
      </p>
      <p className="sr-only">
        {bar.label}: {bar.relation}; {bar.limits}. {state.label}.
      </p>
      {!bar.consistent && (
        <p className="flex items-center gap-1 text-xs text-warn">
          <TriangleAlert className="size-3.5" aria-hidden /> The engine's verdict on this feature differs from value vs limit.
        </p>
      )}
    </li>
  )
}

const BOX = {
  accepted: 'border-info/40 bg-info/10',
  excluded: 'border-warn/40 bg-warn/10',
  slashed: 'glow-bad border-bad/40 bg-bad/10',
} as const

/** Where a probed attack sits against each check's exclusion and slash thresholds, and the outcome it would get. */
export function DetectionGauge({
  result,
  isFetching,
  isStale,
  error,
  onRetry,
  idle,
}: {
  result: ProbeResult | undefined
  isFetching: boolean
  isStale: boolean
  error: unknown
  onRetry: () => void
  /** Why there is nothing to probe (no dataset, no attack), if so. */
  idle?: string
}) {
  const summary = result ? summarizeProbe(result) : null
  const verdict = summary?.verdict ?? 'accepted'
  // An attack that is accepted slipped past the shield: an alert icon, not the accepted check.
  const VerdictIcon = verdict === 'accepted' ? ShieldAlert : OUTCOME_ICON[verdict]
  return (
    <Card live={isFetching} aria-labelledby="gauge-title" aria-busy={isFetching}>
      <CardHeader
        id="gauge-title"
        icon={<Gauge />}
        title="Detection gauge"
        description="The attack screened against each check's exclusion and slash thresholds, before anything is launched."
        actions={
          <span className="inline-flex items-center gap-1.5 text-xs text-muted" aria-live="polite">
            {isFetching ? (
              <>
                <LoaderCircle className="size-3.5 animate-spin" aria-hidden /> probing…
              </>
            ) : result ? (
              <span className="tabular font-mono">
                {Math.round(result.latency_ms)} ms{result.cached === false ? ' · cold' : ''}
              </span>
            ) : null}
          </span>
        }
      />
      <CardBody className="space-y-5">
        {idle ? (
          <EmptyState title="Nothing to probe" icon={<Gauge />}>
            {idle}
          </EmptyState>
        ) : error && !result ? (
          <ErrorState error={error} title="The probe failed" onRetry={onRetry} />
        ) : !summary ? (
          <LoadingState rows={6} label="Probing the defense… (the first probe trains an honest cohort)" />
        ) : (
          <div className={cn('space-y-5 transition-opacity', isStale && 'opacity-60')}>
            <div
              role="status"
              aria-live="polite"
              data-testid="predicted-verdict"
              data-verdict={verdict}
              className={cn('flex items-start gap-3 rounded-xl border px-4 py-3', BOX[verdict])}
            >
              <VerdictIcon className={cn('mt-0.5 size-7 shrink-0', verdict === 'accepted' ? 'text-info' : OUTCOME_TEXT[verdict])} aria-hidden />
              <div className="min-w-0">
                <p className={cn('text-xs font-semibold tracking-wide uppercase', verdict === 'accepted' ? 'text-info' : OUTCOME_TEXT[verdict])}>
                  Predicted: {verdict}
                </p>
                <p className="text-lg font-semibold text-fg">{summary.headline}</p>
                <p className="text-xs text-muted">The update would be {OUTCOME_META[verdict].meaning}.</p>
                {result?.reason && <p className="mt-0.5 text-sm break-words text-muted">{result.reason}</p>}
                <p className="mt-1 text-xs text-faint">
                  {summary.caughtCount} of {summary.bars.length} features past their exclusion limit
                  {summary.slashCount ? ` · ${summary.slashCount} past the slash limit` : ''}
                </p>
              </div>
            </div>
            {error ? <ErrorState error={error} title="The latest probe failed; showing the previous one" onRetry={onRetry} /> : null}
            <ul className="space-y-4" aria-label="Detection features">
              {summary.bars.map((bar) => (
                <FeatureBar key={bar.key} bar={bar} />
              ))}
            </ul>
            <p className="flex flex-wrap items-center gap-x-4 gap-y-1 text-xs text-faint">
              <span className="inline-flex items-center gap-1.5">
                <span className="inline-block h-3 w-0.5 rounded bg-fg" aria-hidden /> exclusion limit
              </span>
              <span className="inline-flex items-center gap-1.5">
                <span className="inline-block h-3 w-1 rounded border-x border-fg bg-bad" aria-hidden /> slash limit
              </span>
              <span className="inline-flex items-center gap-1.5">
                <span className={cn('inline-block h-2.5 w-4 rounded-sm', EXCLUDE_HATCH)} aria-hidden /> left out
              </span>
              <span className="inline-flex items-center gap-1.5">
                <span className={cn('inline-block h-2.5 w-4 rounded-sm', SLASH_HATCH)} aria-hidden /> slashed
              </span>
              <span className="inline-flex items-center gap-1.5">
                <span className="inline-block size-2.5 rotate-45 rounded-[2px] bg-fg" aria-hidden /> value
              </span>
            </p>
          </div>
        )}
      </CardBody>
    </Card>
  )
}
