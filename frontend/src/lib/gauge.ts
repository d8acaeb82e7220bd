/**
 * The Attack Lab gauge: where each detection feature of a probed attack sits against its thresholds.
 * A "max" feature is caught above its threshold (an update norm too large), a "min" feature below it
 * (a cosine similarity to the robust reference too low). Past the exclusion threshold an update is left out;
 * past the slash threshold, where a check has one, it is also slashed.
 */
import { formatMetric } from './numbers'
import { isOutcome } from './outcomes'
import type { Outcome, ProbeFeature, ProbeResult } from './types'

/**
 * What one check does to the update: nothing, flag it (past its limit, yet the verdict accepts: the
 * cohort's cap on exclusions), leave it out, or leave it out and slash it.
 */
export type CheckState = 'clear' | 'flagged' | 'excluded' | 'slashed'

interface Zone {
  fromPct: number
  toPct: number
}

export interface GaugeBar {
  /** Unique among a probe's bars: the name, plus the side when a feature has a limit on both. */
  key: string
  name: string
  rule: string | null
  label: string
  /** null: the engine found no finite value (an overflowing update), which is always caught. */
  value: number | null
  /** null: the rule is switched off in this defense; the bar then shows the value only. */
  threshold: number | null
  comparison: ProbeFeature['comparison']
  /** Positions along the bar, 0–100 (left to right). */
  valuePct: number | null
  thresholdPct: number | null
  /** The part of the bar where an update is caught (left out, at least). */
  caughtZone: Zone | null
  /** Past this the update is slashed too; null when the check never slashes on its own. */
  slashThreshold: number | null
  slashThresholdPct: number | null
  /** The part of the bar where an update is slashed. */
  slashZone: Zone | null
  /** What tripping this check leads to. */
  tripOutcome: Exclude<Outcome, 'accepted'>
  /** What the check does to this update. */
  state: CheckState
  /** The verdict the server reported for this feature (past the exclusion threshold). */
  caught: boolean
  /** Whether value against the thresholds agrees with the server (a mismatch is shown, never hidden). */
  consistent: boolean
  /** Signed distance past the threshold relative to its size: > 0 means on the caught side. */
  margin: number
  /** "14.2 > 5.00" / "0.12 ≥ 0.00" — the comparison as a reader checks it. */
  relation: string
  /** "exclude above 5.00 · slash above 20.0": both limits in words. */
  limits: string
}

const LABELS: Record<string, string> = {
  // the orchestrator's detection features (backend/engine/shield/features.py)
  model_norm: 'Model norm ‖w + Δ‖',
  update_norm: 'Update distance ‖Δ‖',
  norm_z: 'Norm robust z-score',
  label_alignment: 'Label alignment',
  neighbour_cosine: 'Best neighbour cosine',
  cosine_trusted: 'Cosine to root update',
  cosine_reference: 'Cosine to cohort median',
  trust: 'Trust score',
  root_alignment: 'Root-set alignment',
  quiet_energy: 'Quiet-coordinate energy',
}

/** The rule a verdict names → the feature it tests (most share the name). */
export const RULE_FEATURE: Record<string, string> = {
  norm_threshold: 'model_norm',
  distance_threshold: 'update_norm',
  norm_mad: 'norm_z',
  isolation: 'neighbour_cosine',
}

/** Features with a natural range (cosines, the trust score): drawn on it, so bars compare at a glance. */
const NATURAL_RANGE: Record<string, [number, number]> = {
  cosine_reference: [-1, 1],
  neighbour_cosine: [-1, 1],
  cosine_trusted: [-1, 1],
  label_alignment: [-1, 1],
  trust: [0, 1],
}

export function featureLabel(name: string): string {
  if (LABELS[name]) return LABELS[name]
  const words = name.replace(/[_-]+/g, ' ').trim()
  return words ? words[0].toUpperCase() + words.slice(1) : name
}

/** Whether a value is caught by a threshold (strictly beyond it, as the engine rejects). */
export function isCaught(value: number | null, threshold: number, comparison: ProbeFeature['comparison']): boolean {
  if (value === null || Number.isNaN(value)) return true // a non-finite update can never be accepted
  return comparison === 'max' ? value > threshold : value < threshold
}

/** The range a bar shows: non-negative features start at zero, others get room on both sides. */
export function gaugeDomain(value: number | null, threshold: number, name?: string, slashThreshold?: number | null): [number, number] {
  const natural = name ? NATURAL_RANGE[name] : undefined
  const limits = slashThreshold === null || slashThreshold === undefined || !Number.isFinite(slashThreshold) ? [threshold] : [threshold, slashThreshold]
  const inside = (x: number) => natural !== undefined && x >= natural[0] && x <= natural[1]
  if (natural && (value === null || inside(value)) && limits.every(inside)) {
    return natural
  }
  const finite = value !== null && Number.isFinite(value) ? value : threshold
  const lo0 = Math.min(finite, ...limits)
  const hi0 = Math.max(finite, ...limits)
  if (lo0 >= 0) {
    const hi = hi0 > 0 ? hi0 * 1.25 : 1
    return [0, hi]
  }
  const span = hi0 - lo0 || Math.abs(threshold) || 1
  return [lo0 - span * 0.25, hi0 + span * 0.25]
}

const clampPct = (x: number) => Math.max(0, Math.min(100, x))

const finiteOr = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? null : x)

function limitWords(comparison: ProbeFeature['comparison'], threshold: number | null, slash: number | null, trip: CheckState): string {
  const side = comparison === 'max' ? 'above' : 'below'
  if (threshold === null) return 'no threshold'
  const first = `${trip === 'slashed' && slash === null ? 'slash' : 'exclude'} ${side} ${formatMetric(threshold)}`
  return slash === null ? first : `${first} · slash ${side} ${formatMetric(slash)}`
}

export function toGaugeBar(feature: ProbeFeature): GaugeBar {
  const { name, value, threshold, comparison } = feature
  const label = featureLabel(name)
  const slashThreshold = threshold === null ? null : finiteOr(feature.slash_threshold)
  // Before outcomes every tripped check slashed; with a slash threshold, tripping the first one only excludes.
  const tripOutcome: Exclude<Outcome, 'accepted'> =
    feature.outcome === 'excluded' || feature.outcome === 'slashed' ? feature.outcome : slashThreshold === null ? 'slashed' : 'excluded'
  if (threshold === null) {
    const [lo, hi] = gaugeDomain(value, value ?? 0, name)
    const valuePct = value === null || !Number.isFinite(value) ? null : clampPct(((value - lo) / (hi - lo)) * 100)
    return {
      key: name,
      name,
      rule: feature.rule ?? null,
      label,
      value,
      threshold,
      comparison,
      valuePct,
      thresholdPct: null,
      caughtZone: null,
      slashThreshold: null,
      slashThresholdPct: null,
      slashZone: null,
      tripOutcome,
      state: feature.caught ? tripOutcome : 'clear',
      caught: feature.caught,
      consistent: true,
      margin: Number.NaN,
      relation: `${value === null ? 'not finite' : formatMetric(value)} (no threshold)`,
      limits: 'no threshold',
    }
  }
  const [lo, hi] = gaugeDomain(value, threshold, name, slashThreshold)
  const at = (x: number) => clampPct(((x - lo) / (hi - lo)) * 100)
  const thresholdPct = at(threshold)
  const slashThresholdPct = slashThreshold === null ? null : at(slashThreshold)
  let valuePct: number | null
  if (value === null || Number.isNaN(value)) valuePct = null
  else if (!Number.isFinite(value)) valuePct = value > 0 ? 100 : 0
  else valuePct = at(value)
  const reference = Math.abs(threshold) || hi - lo || 1
  const beyond = value === null ? Number.POSITIVE_INFINITY : comparison === 'max' ? value - threshold : threshold - value
  const margin = Number.isFinite(beyond) ? beyond / reference : Number.isNaN(beyond) ? Number.NaN : Math.sign(beyond)
  const caughtBySide = isCaught(value, threshold, comparison)
  const slashedBySide = slashThreshold !== null && isCaught(value, slashThreshold, comparison)
  // Where the bar draws a slash threshold, the state follows it, so that what the reader sees is what it says.
  const state: CheckState = !feature.caught ? 'clear' : slashThreshold !== null ? (slashedBySide ? 'slashed' : 'excluded') : tripOutcome
  const consistent =
    feature.caught === caughtBySide && (slashThreshold === null || feature.outcome === undefined || !feature.caught || feature.outcome === state)
  const symbol = comparison === 'max' ? (caughtBySide ? '>' : '≤') : caughtBySide ? '<' : '≥'
  const zone = (from: number): Zone => (comparison === 'max' ? { fromPct: from, toPct: 100 } : { fromPct: 0, toPct: from })
  return {
    key: name,
    name,
    rule: feature.rule ?? null,
    label,
    value,
    threshold,
    comparison,
    valuePct,
    thresholdPct,
    caughtZone: zone(thresholdPct),
    slashThreshold,
    slashThresholdPct,
    slashZone: slashThresholdPct === null ? (tripOutcome === 'slashed' ? zone(thresholdPct) : null) : zone(slashThresholdPct),
    tripOutcome,
    state,
    caught: feature.caught,
    consistent,
    margin,
    relation:
      value === null ? `not finite ${symbol} ${formatMetric(threshold)}` : `${formatMetric(value)} ${symbol} ${formatMetric(threshold)}`,
    limits: limitWords(comparison, threshold, slashThreshold, tripOutcome),
  }
}

export interface GaugeSummary {
  bars: GaugeBar[]
  verdict: Outcome
  /** Checks past their exclusion threshold. */
  caughtCount: number
  /** Checks that slash this update. */
  slashCount: number
  /** The feature that decides: the server's rule if it names one, else the most clearly caught. */
  deciding: GaugeBar | null
  headline: string
}

/** Bars for every feature; a feature limited on both sides (a robust z-score) gets one bar per side. */
export function toGaugeBars(features: readonly ProbeFeature[]): GaugeBar[] {
  const count = new Map<string, number>()
  for (const f of features) count.set(f.name, (count.get(f.name) ?? 0) + 1)
  return features.map((f, i) => {
    const bar = toGaugeBar(f)
    if ((count.get(f.name) ?? 0) < 2) return bar
    const side = f.comparison === 'max' ? 'upper limit' : 'lower limit'
    return { ...bar, key: `${f.name}:${f.comparison}:${i}`, label: `${bar.label} (${side})` }
  })
}

/** The predicted outcome; "rejected" comes from an orchestrator before outcomes, where rejected meant slashed. */
export function predictedOutcome(predicted: ProbeResult['predicted']): Outcome {
  return isOutcome(predicted) ? predicted : 'slashed'
}

const SEVERITY: Record<CheckState, number> = { clear: 0, flagged: 1, excluded: 2, slashed: 3 }

/**
 * A card never claims more than the verdict: a check past its slash limit reads "Excluded" when the
 * verdict is to leave the update out (a slash needs evidence over rounds too), and "Flagged" when it is
 * accepted, so every card agrees with the headline above it.
 */
export function capToVerdict(bar: GaugeBar, verdict: Outcome): GaugeBar {
  const ceiling: CheckState = verdict === 'accepted' ? 'flagged' : verdict
  if (bar.state === 'clear' || SEVERITY[bar.state] <= SEVERITY[ceiling]) return bar
  return { ...bar, state: ceiling }
}

export function summarizeProbe(result: ProbeResult): GaugeSummary {
  const verdict = predictedOutcome(result.predicted)
  const bars = toGaugeBars(result.features).map((bar) => capToVerdict(bar, verdict))
  const caught = bars.filter((b) => b.caught)
  const slashing = bars.filter((b) => b.state === 'slashed')
  const ruleFeature = result.rule ? (RULE_FEATURE[result.rule] ?? result.rule) : null
  const byRule = result.rule
    ? (caught.find((b) => b.rule === result.rule) ?? bars.find((b) => b.rule === result.rule) ?? bars.find((b) => b.name === ruleFeature))
    : undefined
  const loudest = (list: GaugeBar[]) => [...list].sort((a, b) => (b.margin || 0) - (a.margin || 0))[0]
  const deciding = byRule ?? (verdict === 'slashed' ? loudest(slashing) : undefined) ?? loudest(caught) ?? null
  const by = deciding ? ` by ${deciding.label.toLowerCase()}` : ''
  let headline: string
  if (verdict === 'slashed') {
    headline = `Will be caught and slashed${by}`
  } else if (verdict === 'excluded') {
    headline = `Will be caught${by}: left out, not slashed`
  } else if (caught.length) {
    headline = `Slips through: ${caught.length} feature${caught.length > 1 ? 's' : ''} flagged but not enough to exclude`
  } else {
    headline = 'Slips through every threshold'
  }
  return { bars, verdict, caughtCount: caught.length, slashCount: slashing.length, deciding, headline }
}
