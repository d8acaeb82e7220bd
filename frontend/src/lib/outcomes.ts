/**
 * The shield's three outcomes and how every view names, colours and counts them. An orchestrator from before
 * outcomes sends only `accepted` / `rejected`; there every rejected update was slashed, so that is what a
 * missing outcome reads as.
 */
import type { LastVerdict, Node, Outcome, Round, Verdict } from './types'

export const OUTCOMES: readonly Outcome[] = ['accepted', 'excluded', 'slashed']

export type OutcomeTone = 'ok' | 'warn' | 'bad'

export interface OutcomeMeta {
  /** One word, shown next to the icon so that colour is never the only cue. */
  label: string
  tone: OutcomeTone
  /** What the outcome means for the node, in a few words. */
  meaning: string
  /** CSS colour for charts. */
  color: string
}

export const OUTCOME_META: Record<Outcome, OutcomeMeta> = {
  accepted: { label: 'Accepted', tone: 'ok', meaning: 'aggregated and rewarded', color: 'var(--color-ok)' },
  excluded: { label: 'Excluded', tone: 'warn', meaning: 'left out, not slashed', color: 'var(--color-warn)' },
  slashed: { label: 'Slashed', tone: 'bad', meaning: 'left out and slashed', color: 'var(--color-bad)' },
}

export function isOutcome(value: unknown): value is Outcome {
  return value === 'accepted' || value === 'excluded' || value === 'slashed'
}

/** The outcome of one verdict: the server's when it names one, else accepted or (before outcomes) slashed. */
export function verdictOutcome(verdict: Pick<Verdict | LastVerdict, 'accepted'> & { outcome?: unknown }): Outcome {
  if (isOutcome(verdict.outcome)) return verdict.outcome
  return verdict.accepted ? 'accepted' : 'slashed'
}

export type OutcomeCounts = Record<Outcome, number>

const count = (value: number | null | undefined) => (typeof value === 'number' && Number.isFinite(value) ? value : 0)

/** Splits `rejected` into excluded and slashed with whichever of the two the server sent. */
function split(accepted: number | null | undefined, rejected: number | null | undefined, excluded?: number, slashed?: number): OutcomeCounts {
  const total = count(rejected)
  if (excluded === undefined && slashed === undefined) return { accepted: count(accepted), excluded: 0, slashed: total }
  const ex = excluded ?? Math.max(0, total - count(slashed))
  const sl = slashed ?? Math.max(0, total - count(excluded))
  return { accepted: count(accepted), excluded: count(ex), slashed: count(sl) }
}

export function roundOutcomes(round: Pick<Round, 'accepted' | 'rejected' | 'excluded' | 'slashed'>): OutcomeCounts {
  return split(round.accepted, round.rejected, round.excluded, round.slashed)
}

export function nodeOutcomes(node: Pick<Node, 'accepted_rounds' | 'rejected_rounds' | 'excluded_rounds' | 'slashed_rounds'>): OutcomeCounts {
  return split(node.accepted_rounds, node.rejected_rounds, node.excluded_rounds, node.slashed_rounds)
}

/** Counts from an event payload (model.aggregated), or null when it carries no counts at all. */
export function payloadOutcomes(data: Record<string, unknown>): OutcomeCounts | null {
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
  const accepted = num(data.accepted)
  const rejected = num(data.rejected)
  const excluded = num(data.excluded)
  const slashed = num(data.slashed)
  if (accepted === undefined && rejected === undefined && excluded === undefined && slashed === undefined) return null
  return split(accepted, rejected ?? count(excluded) + count(slashed), excluded, slashed)
}

export function sumOutcomes(counts: readonly OutcomeCounts[]): OutcomeCounts {
  const total: OutcomeCounts = { accepted: 0, excluded: 0, slashed: 0 }
  for (const c of counts) for (const o of OUTCOMES) total[o] += c[o]
  return total
}

/** "7 accepted · 2 excluded · 1 slashed" */
export function describeOutcomes(counts: OutcomeCounts): string {
  return OUTCOMES.map((o) => `${counts[o]} ${o}`).join(' · ')
}

/** How many of a round's verdicts got each outcome. */
export function countVerdicts(verdicts: readonly Pick<Verdict, 'accepted' | 'outcome'>[]): OutcomeCounts {
  const counts: OutcomeCounts = { accepted: 0, excluded: 0, slashed: 0 }
  for (const v of verdicts) counts[verdictOutcome(v)] += 1
  return counts
}

const SEVERITY: Record<Outcome, number> = { slashed: 0, excluded: 1, accepted: 2 }

/** Slashed first, then excluded, then accepted; by node label within each (node-2 before node-10). */
export function sortVerdicts<V extends Pick<Verdict, 'accepted' | 'outcome' | 'node_label'>>(verdicts: readonly V[]): V[] {
  return [...verdicts].sort(
    (a, b) =>
      SEVERITY[verdictOutcome(a)] - SEVERITY[verdictOutcome(b)] || a.node_label.localeCompare(b.node_label, undefined, { numeric: true }),
  )
}
