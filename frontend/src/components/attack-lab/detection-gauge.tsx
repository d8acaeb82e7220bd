import { Gauge, LoaderCircle, ShieldAlert, ShieldCheck, ShieldX, TriangleAlert } from 'lucide-react'
import { type GaugeBar, summarizeProbe } from '../../lib/gauge'
import { cn } from '../../lib/cn'
import type { ProbeResult } from '../../lib/types'
import { Card, CardBody, CardHeader } from '../ui/card'
import { EmptyState, ErrorState, LoadingState } from '../ui/states'

function FeatureBar({ bar }: { bar: GaugeBar }) {
  const tone = bar.caught ? 'bad' : 'ok'
  return (
    <li className="space-y-1.5" data-feature={bar.name} data-rule={bar.rule ?? undefined} data-caught={bar.caught}>
      <div className="flex flex-wrap items-baseline justify-between gap-x-3 gap-y-1">
        <span className="text-sm font-medium text-fg">{bar.label}</span>
        <span className="flex items-center gap-2">
          <span className="tabular font-mono text-xs text-muted">{bar.relation}</span>
          <span
            className={cn(
              'inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-semibold',
              bar.caught ? 'bg-bad/15 text-bad' : 'bg-ok/15 text-ok',
            )}
          >
            {bar.caught ? <ShieldX className="size-3.5" aria-hidden /> : <ShieldCheck className="size-3.5" aria-hidden />}
            {bar.caught ? 'Caught' : 'Clear'}
          </span>
        </span>
      </div>
      <div className="relative h-3 rounded-full bg-surface-4" aria-hidden>
        {bar.caughtZone && (
          <div
            className="absolute inset-y-0 rounded-full bg-[repeating-linear-gradient(135deg,rgb(253_138_155/0.35)_0_4px,rgb(253_138_155/0.12)_4px_8px)]"
            style={{ left: `${bar.caughtZone.fromPct}%`, width: `${bar.caughtZone.toPct - bar.caughtZone.fromPct}%` }}
          />
        )}
        {bar.thresholdPct !== null && (
          <div className="absolute -inset-y-1.5 w-0.5 -translate-x-1/2 rounded bg-fg" style={{ left: `${bar.thresholdPct}%` }} />
        )}
        {bar.valuePct !== null && (
          <div
            className={cn(
              'absolute top-1/2 size-4 -translate-x-1/2 -translate-y-1/2 rotate-45 rounded-[3px] border-2 border-bg transition-[left] duration-300 ease-out',
              tone === 'bad' ? 'bg-bad shadow-[0_0_12px_rgb(253_138_155/0.8)]' : 'bg-ok shadow-[0_0_12px_rgb(52_211_153/0.7)]',
            )}
            style={{ left: `${bar.valuePct}%` }}
          />
        )}
      </div>
      <p className="sr-only">
        {bar.label}: {bar.relation}, {bar.comparison === 'max' ? 'caught above the limit' : 'caught below the limit'}.{' '}
        {bar.caught ? 'Caught.' : 'Clear.'}
      </p>
      {!bar.consistent && (
        <p className="flex items-center gap-1 text-xs text-warn">
          <TriangleAlert className="size-3.5" aria-hidden /> The engine's verdict on this feature differs from value vs limit.
        </p>
      )}
    </li>
  )
}

/** Where a probed attack sits against each detection threshold, and the verdict it would get. */
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
  const rejected = summary?.verdict === 'rejected'
  return (
    <Card live={isFetching} aria-labelledby="gauge-title" aria-busy={isFetching}>
      <CardHeader
        id="gauge-title"
        icon={<Gauge />}
        title="Detection gauge"
        description="The attack screened against the defense's thresholds, before anything is launched."
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
              data-verdict={summary.verdict}
              className={cn(
                'flex items-start gap-3 rounded-xl border px-4 py-3',
                rejected ? 'glow-bad border-bad/40 bg-bad/10' : 'border-warn/40 bg-warn/10',
              )}
            >
              {rejected ? (
                <ShieldX className="mt-0.5 size-7 shrink-0 text-bad" aria-hidden />
              ) : (
                <ShieldAlert className="mt-0.5 size-7 shrink-0 text-warn" aria-hidden />
              )}
              <div className="min-w-0">
                <p className={cn('text-xs font-semibold tracking-wide uppercase', rejected ? 'text-bad' : 'text-warn')}>
                  Predicted: {rejected ? 'rejected' : 'accepted'}
                </p>
                <p className="text-lg font-semibold text-fg">{summary.headline}</p>
                {result?.reason && <p className="mt-0.5 text-sm break-words text-muted">{result.reason}</p>}
                <p className="mt-1 text-xs text-faint">
                  {summary.caughtCount} of {summary.bars.length} features past their limit
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
                <span className="inline-block h-3 w-0.5 rounded bg-fg" aria-hidden /> limit
              </span>
              <span className="inline-flex items-center gap-1.5">
                <span className="inline-block size-2.5 rotate-45 rounded-[2px] bg-bad" aria-hidden /> value (caught)
              </span>
              <span className="inline-flex items-center gap-1.5">
                <span className="inline-block size-2.5 rotate-45 rounded-[2px] bg-ok" aria-hidden /> value (clear)
              </span>
              <span className="inline-flex items-center gap-1.5">
                <span className="inline-block h-2.5 w-4 rounded-sm bg-[repeating-linear-gradient(135deg,rgb(253_138_155/0.5)_0_3px,transparent_3px_6px)]" aria-hidden />{' '}
                caught zone
              </span>
            </p>
          </div>
        )}
      </CardBody>
    </Card>
  )
}
