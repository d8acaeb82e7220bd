/**
 * The Attack Lab gauge: where each detection feature of a probed attack sits against its threshold.
 * A "max" feature is caught above its threshold (an update norm too large), a "min" feature below it
 * (a cosine similarity to the robust reference too low).
 */
import { formatMetric } from './numbers'
import type { ProbeFeature, ProbeResult } from './types'

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
  /** The part of the bar where an update is caught. */
  caughtZone: { fromPct: number; toPct: number } | null
  /** The verdict the server reported for this feature. */
  caught: boolean
  /** Whether value against threshold agrees with the server (a mismatch is shown, never hidden). */
  consistent: boolean
  /** Signed distance past the threshold relative to its size: > 0 means on the caught side. */
  margin: number
  /** "14.2 > 5.00" / "0.12 ≥ 0.00" — the comparison as a reader checks it. */
  relation: string
}

const LABELS: Record<string, string> = {
  // the orchestrator's detection features (backend/detection.py)
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
export function gaugeDomain(value: number | null, threshold: number, name?: string): [number, number] {
  const natural = name ? NATURAL_RANGE[name] : undefined
  if (natural && (value === null || (value >= natural[0] && value <= natural[1])) && threshold >= natural[0] && threshold <= natural[1]) {
    return natural
  }
  const finite = value !== null && Number.isFinite(value) ? value : threshold
  const lo0 = Math.min(finite, threshold)
  const hi0 = Math.max(finite, threshold)
  if (lo0 >= 0) {
    const hi = hi0 > 0 ? hi0 * 1.25 : 1
    return [0, hi]
  }
  const span = hi0 - lo0 || Math.abs(threshold) || 1
  return [lo0 - span * 0.25, hi0 + span * 0.25]
}

const clampPct = (x: number) => Math.max(0, Math.min(100, x))

export function toGaugeBar(feature: ProbeFeature): GaugeBar {
  const { name, value, threshold, comparison } = feature
  const label = featureLabel(name)
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
      caught: feature.caught,
      consistent: true,
      margin: Number.NaN,
      relation: `${value === null ? 'not finite' : formatMetric(value)} (no threshold)`,
    }
  }
  const [lo, hi] = gaugeDomain(value, threshold, name)
  const at = (x: number) => clampPct(((x - lo) / (hi - lo)) * 100)
  const thresholdPct = at(threshold)
  let valuePct: number | null
  if (value === null || Number.isNaN(value)) valuePct = null
  else if (!Number.isFinite(value)) valuePct = value > 0 ? 100 : 0
  else valuePct = at(value)
  const reference = Math.abs(threshold) || hi - lo || 1
  const beyond = value === null ? Number.POSITIVE_INFINITY : comparison === 'max' ? value - threshold : threshold - value
  const margin = Number.isFinite(beyond) ? beyond / reference : Number.isNaN(beyond) ? Number.NaN : Math.sign(beyond)
  const caughtBySide = isCaught(value, threshold, comparison)
  const consistent = feature.caught === caughtBySide
  const symbol = comparison === 'max' ? (caughtBySide ? '>' : '≤') : caughtBySide ? '<' : '≥'
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
    caughtZone: comparison === 'max' ? { fromPct: thresholdPct, toPct: 100 } : { fromPct: 0, toPct: thresholdPct },
    caught: feature.caught,
    consistent,
    margin,
    relation:
      value === null ? `not finite ${symbol} ${formatMetric(threshold)}` : `${formatMetric(value)} ${symbol} ${formatMetric(threshold)}`,
  }
}

export interface GaugeSummary {
  bars: GaugeBar[]
  verdict: ProbeResult['predicted']
  caughtCount: number
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

export function summarizeProbe(result: ProbeResult): GaugeSummary {
  const bars = toGaugeBars(result.features)
  const caught = bars.filter((b) => b.caught)
  const ruleFeature = result.rule ? (RULE_FEATURE[result.rule] ?? result.rule) : null
  const byRule = result.rule
    ? (caught.find((b) => b.rule === result.rule) ?? bars.find((b) => b.rule === result.rule) ?? bars.find((b) => b.name === ruleFeature))
    : undefined
  const strongest = [...caught].sort((a, b) => (b.margin || 0) - (a.margin || 0))[0]
  const deciding = byRule ?? strongest ?? null
  let headline: string
  if (result.predicted === 'rejected') {
    headline = `Will be caught${deciding ? ` by ${deciding.label.toLowerCase()}` : ''}`
  } else if (caught.length) {
    headline = `Slips through: ${caught.length} feature${caught.length > 1 ? 's' : ''} flagged but not enough to reject`
  } else {
    headline = 'Slips through every threshold'
  }
  return { bars, verdict: result.predicted, caughtCount: caught.length, deciding, headline }
}
