/** Shapes rounds from the API into chart rows, overlays of several runs, progress and counters. */
import { sumFlt } from './flt'
import { nodeOutcomes, type OutcomeCounts, roundOutcomes, sumOutcomes } from './outcomes'
import type { Experiment, Node, Round } from './types'

export interface MetricPoint {
  round: number
  accuracy: number | null
  loss: number | null
}

/** Accuracy is a fraction in [0, 1]; an engine that reports percent is brought back to a fraction. */
export function normalizeAccuracy(value: number | null | undefined): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null
  return value > 1 ? value / 100 : value
}

function finiteOrNull(value: number | null | undefined): number | null {
  return value === null || value === undefined || !Number.isFinite(value) ? null : value
}

/** One point per evaluated round, in round order; rounds still training carry no point yet. */
export function roundsToSeries(rounds: readonly Round[]): MetricPoint[] {
  return rounds
    .filter((r) => r.accuracy !== null || r.loss !== null)
    .map((r) => ({ round: r.round, accuracy: normalizeAccuracy(r.accuracy), loss: finiteOrNull(r.loss) }))
    .sort((a, b) => a.round - b.round)
}

export interface Run {
  id: number
  name: string
  rounds: readonly Round[]
}

export interface OverlaySeries {
  /** Row key of the metric for this run, e.g. "accuracy_7". */
  key: string
  experimentId: number
  name: string
  /** CSS colour, from the chart palette variables. */
  color: string
  /** The run being watched is drawn solid; overlaid earlier runs are dashed. */
  primary: boolean
}

export type OverlayRow = { round: number } & Record<string, number | null>

export const CHART_COLORS = ['var(--chart-1)', 'var(--chart-2)', 'var(--chart-3)', 'var(--chart-4)', 'var(--chart-5)', 'var(--chart-6)']

/** Rows keyed by round with one column per run, so Recharts draws one line per run on a shared x axis. */
export function overlayRuns(
  runs: readonly Run[],
  metric: 'accuracy' | 'loss',
): { rows: OverlayRow[]; series: OverlaySeries[] } {
  const byRound = new Map<number, OverlayRow>()
  const series: OverlaySeries[] = runs.map((run, i) => ({
    key: `${metric}_${run.id}`,
    experimentId: run.id,
    name: run.name,
    color: CHART_COLORS[i % CHART_COLORS.length],
    primary: i === 0,
  }))
  runs.forEach((run, i) => {
    for (const point of roundsToSeries(run.rounds)) {
      const row = byRound.get(point.round) ?? ({ round: point.round } as OverlayRow)
      row[series[i].key] = point[metric]
      byRound.set(point.round, row)
    }
  })
  const rows = [...byRound.values()].sort((a, b) => a.round - b.round)
  // Every row names every series, so a missing round shows as a gap instead of a misaligned tooltip.
  for (const row of rows) for (const s of series) if (!(s.key in row)) row[s.key] = null
  return { rows, series }
}

export interface RoundProgress {
  done: number
  total: number
  fraction: number
  /** Milliseconds until the last round should finish, or null when it cannot be estimated. */
  etaMs: number | null
  averageRoundMs: number | null
}

const time = (iso: string | null) => (iso ? new Date(iso).getTime() : Number.NaN)

export function roundProgress(
  experiment: Pick<Experiment, 'status' | 'rounds' | 'current_round' | 'completed_rounds'>,
  rounds: readonly Round[],
  now: number,
): RoundProgress {
  const total = Math.max(0, experiment.rounds)
  const finished = rounds.filter((r) => r.finished_at && r.status !== 'cancelled')
  const done =
    experiment.status === 'completed' ? total : Math.min(total, experiment.completed_rounds ?? finished.length)
  const durations = finished
    .map((r) => time(r.finished_at) - time(r.started_at))
    .filter((ms) => Number.isFinite(ms) && ms >= 0)
    .slice(-5)
  const averageRoundMs = durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : null
  let etaMs: number | null = null
  if (experiment.status === 'running' && averageRoundMs !== null && done < total) {
    const open = rounds.find((r) => !r.finished_at && r.started_at)
    const elapsed = open ? Math.max(0, now - time(open.started_at)) : 0
    etaMs = Math.max(0, (total - done) * averageRoundMs - Math.min(elapsed, averageRoundMs))
  } else if (done >= total && total > 0) {
    etaMs = 0
  }
  return { done, total, fraction: total ? done / total : 0, etaMs, averageRoundMs }
}

export interface RunCounters extends OutcomeCounts {
  nodes: number
  rewardedWei: bigint
  slashedWei: bigint
}

export function runCounters(rounds: readonly Round[], nodes: readonly Node[]): RunCounters {
  return {
    nodes: nodes.length,
    ...sumOutcomes(rounds.map(roundOutcomes)),
    rewardedWei: sumFlt(nodes.map((n) => n.rewarded_flt)),
    slashedWei: sumFlt(nodes.map((n) => n.slashed_flt)),
  }
}

export type OutcomeRow = { round: number } & OutcomeCounts

/** One stacked bar per screened round (open rounds have no verdicts yet), in round order. */
export function outcomeSeries(rounds: readonly Round[]): OutcomeRow[] {
  return rounds
    .filter((r) => r.status !== 'open' && r.status !== 'cancelled')
    .map((r) => ({ round: r.round, ...roundOutcomes(r) }))
    .filter((r) => r.accepted + r.excluded + r.slashed > 0)
    .sort((a, b) => a.round - b.round)
}

export interface HonestSlash {
  address: string
  label: string
  rounds: number
}

/**
 * Honest nodes (by the simulation's ground truth) the shield slashed at least once: the one number that must stay
 * zero. External nodes have no ground truth and are left out.
 */
export function honestSlashes(nodes: readonly Node[]): HonestSlash[] {
  return nodes
    .filter((n) => n.kind !== 'external' && !n.malicious)
    .map((n) => ({ address: n.address, label: n.label, rounds: nodeOutcomes(n).slashed }))
    .filter((n) => n.rounds > 0)
    .sort((a, b) => b.rounds - a.rounds || a.label.localeCompare(b.label, undefined, { numeric: true }))
}

const CSV_COLUMNS = ['round', 'status', 'accuracy', 'loss', 'accepted', 'excluded', 'slashed', 'model_hash', 'settlement', 'tx_hash'] as const

function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return ''
  const text = String(value)
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** The per-round table as CSV: one row per round with its three outcome counts. */
export function roundsCsv(rounds: readonly Round[]): string {
  const lines = [CSV_COLUMNS.join(',')]
  for (const r of [...rounds].sort((a, b) => a.round - b.round)) {
    const c = roundOutcomes(r)
    lines.push(
      [
        r.round,
        r.status,
        normalizeAccuracy(r.accuracy),
        finiteOrNull(r.loss),
        c.accepted,
        c.excluded,
        c.slashed,
        r.model_hash,
        r.settlement?.status,
        r.settlement?.tx_hash,
      ]
        .map(csvCell)
        .join(','),
    )
  }
  return `${lines.join('\n')}\n`
}

/** Detection quality over a run, from the per-round confusion counts (attackers = positives). */
export function detectionRates(rounds: readonly Round[]): { precision: number | null; recall: number | null } {
  let tp = 0
  let fp = 0
  let fn = 0
  for (const r of rounds) {
    tp += r.tp ?? 0
    fp += r.fp ?? 0
    fn += r.fn ?? 0
  }
  return { precision: tp + fp ? tp / (tp + fp) : null, recall: tp + fn ? tp / (tp + fn) : null }
}
