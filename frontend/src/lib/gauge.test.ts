import { describe, expect, it } from 'vitest'
import { featureLabel, gaugeDomain, isCaught, predictedOutcome, summarizeProbe, toGaugeBar, toGaugeBars } from './gauge'
import type { ProbeFeature, ProbeResult } from './types'
import { older } from '../test/older'

describe('isCaught', () => {
  it('catches max features above and min features below their threshold', () => {
    expect(isCaught(6, 5, 'max')).toBe(true)
    expect(isCaught(5, 5, 'max')).toBe(false)
    expect(isCaught(-0.98, 0, 'min')).toBe(true)
    expect(isCaught(0, 0, 'min')).toBe(false)
    expect(isCaught(Number.NaN, 5, 'max')).toBe(true)
  })
})

describe('gaugeDomain', () => {
  it('starts non-negative features at zero with headroom', () => {
    expect(gaugeDomain(4, 5)).toEqual([0, 6.25])
    expect(gaugeDomain(0, 0)).toEqual([0, 1])
  })
  it('pads both sides when a value is negative', () => {
    const [lo, hi] = gaugeDomain(-0.98, 0)
    expect(lo).toBeCloseTo(-1.225)
    expect(hi).toBeCloseTo(0.245)
  })
  it('draws cosines on their natural range [-1, 1]', () => {
    expect(gaugeDomain(-0.81, -0.5, 'cosine_reference')).toEqual([-1, 1])
    expect(gaugeDomain(0.4, 0.35, 'trust')).toEqual([0, 1])
    expect(gaugeDomain(-3, -0.5, 'cosine_reference')[0]).toBeLessThan(-3) // out of range: fall back
  })

  it('ignores a non-finite value for the range', () => {
    expect(gaugeDomain(Number.POSITIVE_INFINITY, 5)).toEqual([0, 6.25])
  })
})

describe('toGaugeBar', () => {
  it('places a caught norm past the threshold, in the caught zone on the right', () => {
    const bar = toGaugeBar(older({ name: 'model_norm', value: 20, threshold: 5, comparison: 'max', caught: true }))
    expect(bar.thresholdPct).toBeCloseTo(20)
    expect(bar.valuePct).toBeCloseTo(80)
    expect(bar.caughtZone).toEqual({ fromPct: bar.thresholdPct, toPct: 100 })
    expect(bar.valuePct!).toBeGreaterThan(bar.thresholdPct!)
    expect(bar.margin).toBeCloseTo(3)
    expect(bar.consistent).toBe(true)
    expect(bar.relation).toBe('20.0 > 5.00')
    expect(bar.label).toBe('Model norm ‖w + Δ‖')
  })

  it('places a caught cosine left of its threshold, caught zone on the left', () => {
    const bar = toGaugeBar(older({ name: 'cosine', value: -0.98, threshold: 0, comparison: 'min', caught: true }))
    expect(bar.valuePct!).toBeLessThan(bar.thresholdPct!)
    expect(bar.caughtZone).toEqual({ fromPct: 0, toPct: bar.thresholdPct })
    expect(bar.relation).toBe('−0.98 < 0.00')
    expect(bar.margin).toBeGreaterThan(0)
  })

  it('shows a clean update on the safe side with a negative margin', () => {
    const bar = toGaugeBar(older({ name: 'distance', value: 2, threshold: 8, comparison: 'max', caught: false }))
    expect(bar.valuePct!).toBeLessThan(bar.thresholdPct!)
    expect(bar.margin).toBeCloseTo(-0.75)
    expect(bar.relation).toBe('2.00 ≤ 8.00')
  })

  it('flags a server verdict that disagrees with value vs threshold', () => {
    const bar = toGaugeBar(older({ name: 'norm', value: 1, threshold: 5, comparison: 'max', caught: true }))
    expect(bar.consistent).toBe(false)
  })

  it('treats a missing (non-finite) value as caught, without a needle', () => {
    const bar = toGaugeBar(older({ name: 'update_norm', value: null, threshold: 5, comparison: 'max', caught: true }))
    expect(bar.valuePct).toBeNull()
    expect(bar.consistent).toBe(true)
    expect(bar.relation).toBe('not finite > 5.00')
  })

  it('gives a feature limited on both sides one labelled bar per side', () => {
    const bars = toGaugeBars([
      older({ name: 'norm_z', value: 3.46, threshold: 6, comparison: 'max', caught: false, rule: 'norm_mad' }),
      older({ name: 'norm_z', value: 3.46, threshold: -6, comparison: 'min', caught: false, rule: 'norm_mad' }),
      older({ name: 'root_alignment', value: -0.59, threshold: 0, comparison: 'min', caught: true, rule: 'root_alignment' }),
    ])
    expect(bars.map((b) => b.label)).toEqual([
      'Norm robust z-score (upper limit)',
      'Norm robust z-score (lower limit)',
      'Root-set alignment',
    ])
    expect(new Set(bars.map((b) => b.key)).size).toBe(3)
    expect(bars[1].relation).toBe('3.46 ≥ −6.00')
  })

  it('pins infinite values to the end and hides NaN', () => {
    expect(toGaugeBar(older({ name: 'n', value: Infinity, threshold: 5, comparison: 'max', caught: true })).valuePct).toBe(100)
    expect(toGaugeBar(older({ name: 'n', value: Number.NaN, threshold: 5, comparison: 'max', caught: true })).valuePct).toBeNull()
  })

  it('clamps positions into the bar', () => {
    const bar = toGaugeBar(older({ name: 'n', value: 1e9, threshold: 5, comparison: 'max', caught: true }))
    expect(bar.valuePct).toBeLessThanOrEqual(100)
    expect(bar.thresholdPct).toBeGreaterThanOrEqual(0)
  })

  it('shows a value without a threshold when the rule is off', () => {
    const bar = toGaugeBar(older({ name: 'trust', value: 0.4, threshold: null, comparison: 'min', caught: false }))
    expect(bar.thresholdPct).toBeNull()
    expect(bar.caughtZone).toBeNull()
    expect(bar.relation).toBe('0.40 (no threshold)')
  })
})

describe('summarizeProbe', () => {
  const base: ProbeResult = older({
    predicted: 'rejected',
    rule: 'cosine_reference',
    reason: 'cosine to median -0.98 below -0.50',
    latency_ms: 12,
    features: [
      older({ name: 'model_norm', value: 6, threshold: 5, comparison: 'max', caught: true }),
      older({ name: 'cosine_reference', value: -0.98, threshold: 0, comparison: 'min', caught: true }),
      older({ name: 'update_norm', value: 2, threshold: 8, comparison: 'max', caught: false }),
    ],
  })

  it('names the rule the server used as deciding', () => {
    const summary = summarizeProbe(base)
    expect(summary.caughtCount).toBe(2)
    expect(summary.deciding?.name).toBe('cosine_reference')
    // an orchestrator from before outcomes says "rejected": that was a slash
    expect(summary.verdict).toBe('slashed')
    expect(summary.headline).toBe('Will be caught and slashed by cosine to cohort median')
  })

  it('falls back to the most clearly caught feature', () => {
    const summary = summarizeProbe({ ...base, rule: null })
    // cosine is 0.98 past a zero threshold (relative to the bar's span, ≈0.67); norm only 20% past 5
    expect(summary.deciding?.name).toBe('cosine_reference')
    const louder = summarizeProbe({
      ...base,
      rule: null,
      features: [older({ name: 'model_norm', value: 20, threshold: 5, comparison: 'max', caught: true }), base.features[1]],
    })
    expect(louder.deciding?.name).toBe('model_norm')
  })

  it('finds the deciding bar by the rule each feature names', () => {
    const withRules: ProbeResult = older({
      ...base,
      rule: 'root_alignment',
      features: [
        ...base.features,
        { name: 'root_alignment', value: -0.59, threshold: 0, comparison: 'min' as const, caught: true, rule: 'root_alignment' },
      ],
    })
    expect(summarizeProbe(withRules).deciding?.name).toBe('root_alignment')
    expect(summarizeProbe(withRules).headline).toBe('Will be caught and slashed by root-set alignment')
  })

  it('maps rule names to the feature they test', () => {
    expect(summarizeProbe({ ...base, rule: 'norm_threshold' }).deciding?.name).toBe('model_norm')
  })

  it('says when an attack slips through', () => {
    const clean = summarizeProbe({
      ...base,
      predicted: 'accepted',
      rule: null,
      features: base.features.map((f) => ({ ...f, caught: false })),
    })
    expect(clean.headline).toBe('Slips through every threshold')
    expect(clean.deciding).toBeNull()
  })
})

describe('exclusion and slash thresholds', () => {
  it('draws the slash threshold beyond the exclusion threshold and slashes only past it', () => {
    const feature = { name: 'norm_z', value: 9, threshold: 6, slash_threshold: 12, comparison: 'max' as const, caught: true, outcome: 'excluded' as const }
    const bar = toGaugeBar(older(feature))
    expect(bar.state).toBe('excluded')
    expect(bar.consistent).toBe(true)
    expect(bar.thresholdPct!).toBeLessThan(bar.valuePct!)
    expect(bar.valuePct!).toBeLessThan(bar.slashThresholdPct!)
    expect(bar.caughtZone).toEqual({ fromPct: bar.thresholdPct, toPct: 100 })
    expect(bar.slashZone).toEqual({ fromPct: bar.slashThresholdPct, toPct: 100 })
    expect(bar.limits).toBe('exclude above 6.00 · slash above 12.0')
    // the bar's range holds the slash threshold: 12 × 1.25
    expect(bar.slashThresholdPct).toBeCloseTo(80)

    const slashed = toGaugeBar(older({ ...feature, value: 20, outcome: 'slashed' }))
    expect(slashed.state).toBe('slashed')
    expect(slashed.consistent).toBe(true)
  })

  it('puts a lower slash threshold left of a lower exclusion threshold', () => {
    const bar = toGaugeBar(older({ name: 'root_alignment', value: -0.3, threshold: -0.1, slash_threshold: -0.5, comparison: 'min', caught: true, outcome: 'excluded' }))
    expect(bar.slashThresholdPct!).toBeLessThan(bar.valuePct!)
    expect(bar.valuePct!).toBeLessThan(bar.thresholdPct!)
    expect(bar.slashZone).toEqual({ fromPct: 0, toPct: bar.slashThresholdPct })
    expect(bar.limits).toBe('exclude below −0.10 · slash below −0.50')
  })

  it('flags a server outcome that disagrees with value against the slash threshold', () => {
    const bar = toGaugeBar(older({ name: 'norm_z', value: 9, threshold: 6, slash_threshold: 12, comparison: 'max', caught: true, outcome: 'slashed' }))
    expect(bar.state).toBe('excluded')
    expect(bar.consistent).toBe(false)
  })

  it('takes what tripping leads to from the check when it has no slash threshold', () => {
    const only = { name: 'quiet_energy', value: 3, threshold: 1, comparison: 'max' as const, caught: true }
    expect(toGaugeBar(older({ ...only, outcome: 'excluded', slash_threshold: null }))).toMatchObject({
      state: 'excluded',
      slashZone: null,
      limits: 'exclude above 1.00',
    })
    const slashes = toGaugeBar(older({ ...only, outcome: 'slashed', slash_threshold: null }))
    expect(slashes).toMatchObject({ state: 'slashed', limits: 'slash above 1.00' })
    expect(slashes.slashZone).toEqual(slashes.caughtZone)
    // before outcomes every tripped check slashed
    expect(toGaugeBar(older(only)).state).toBe('slashed')
    expect(toGaugeBar(older({ ...only, value: 0.5, caught: false, outcome: 'excluded' })).state).toBe('clear')
  })
})

describe('predicted outcome', () => {
  const features: ProbeFeature[] = older([
    { name: 'norm_z', value: 9, threshold: 6, slash_threshold: 12, comparison: 'max' as const, caught: true, outcome: 'excluded' as const, rule: 'norm_mad' },
    { name: 'root_alignment', value: -0.2, threshold: -0.1, slash_threshold: -0.5, comparison: 'min' as const, caught: true, outcome: 'excluded' as const, rule: 'root_alignment' },
    { name: 'cosine_reference', value: 0.4, threshold: 0.1, comparison: 'min' as const, caught: false, rule: 'cosine_reference' },
  ])

  it('says an excluded attack is left out, not slashed', () => {
    const summary = summarizeProbe(older({ predicted: 'excluded', rule: 'norm_mad', reason: 'norm z 9 above 6', latency_ms: 3, features }))
    expect(summary).toMatchObject({ verdict: 'excluded', caughtCount: 2, slashCount: 0 })
    expect(summary.headline).toBe('Will be caught by norm robust z-score: left out, not slashed')
  })

  it('names the check that slashes when the server names no rule', () => {
    const slashing = [{ ...features[0], value: 30, outcome: 'slashed' as const }, features[1], features[2]]
    const summary = summarizeProbe(older({ predicted: 'slashed', rule: null, reason: 'norm z 30 above 12', latency_ms: 3, features: slashing }))
    expect(summary).toMatchObject({ verdict: 'slashed', caughtCount: 2, slashCount: 1 })
    expect(summary.deciding?.name).toBe('norm_z')
    expect(summary.headline).toBe('Will be caught and slashed by norm robust z-score')
  })

  it('reads every outcome, and "rejected" as slashed', () => {
    expect(predictedOutcome('accepted')).toBe('accepted')
    expect(predictedOutcome('excluded')).toBe('excluded')
    expect(predictedOutcome('slashed')).toBe('slashed')
    expect(predictedOutcome(older('rejected'))).toBe('slashed')
  })

  it('says how many checks flag an attack that is still accepted', () => {
    const summary = summarizeProbe(older({ predicted: 'accepted', rule: null, reason: 'within every threshold', latency_ms: 3, features: [features[1], features[2]] }))
    expect(summary.headline).toBe('Slips through: 1 feature flagged but not enough to exclude')
  })
})

describe('featureLabel', () => {
  it('humanises unknown names', () => {
    expect(featureLabel('grad_var')).toBe('Grad var')
    expect(featureLabel('cosine_trusted')).toBe('Cosine to root update')
  })
})

describe('cards agree with the verdict', () => {
  const past = (name: string, value: number, threshold: number, slash: number) =>
    older({ name, value, threshold, slash_threshold: slash, comparison: 'min', caught: true, outcome: 'excluded' })

  it('never shows a slashed card under a verdict that leaves the update out', () => {
    const summary = summarizeProbe(
      older({ predicted: 'excluded', rule: 'direction', reason: 'direction z -6.0 below -2.5', latency_ms: 3, features: [past('direction_z', -6, -2.5, -4.5)] }),
    )
    expect(summary.headline).toBe('Will be caught by direction z: left out, not slashed')
    expect(summary.bars.map((b) => b.state)).toEqual(['excluded'])
    expect(summary.slashCount).toBe(0)
    // the slash zone lies on the caught side of a lower limit: left of the exclusion line
    expect(summary.bars[0].slashZone).toEqual({ fromPct: 0, toPct: summary.bars[0].slashThresholdPct })
    expect(summary.bars[0].slashThresholdPct!).toBeLessThan(summary.bars[0].thresholdPct!)
  })

  it('reads a check past its limit as flagged when the verdict accepts', () => {
    const summary = summarizeProbe(
      older({ predicted: 'accepted', rule: null, reason: 'accepted although direction flagged it', latency_ms: 3, features: [past('direction_z', -3, -2.5, -4.5)] }),
    )
    expect(summary.bars[0].state).toBe('flagged')
    expect(summary.headline).toBe('Slips through: 1 feature flagged but not enough to exclude')
  })

  it('keeps a slashed card under a slash verdict', () => {
    const summary = summarizeProbe(
      older({ predicted: 'slashed', rule: 'direction', reason: 'sustained', latency_ms: 3, features: [past('direction_z', -6, -2.5, -4.5)] }),
    )
    expect(summary.bars[0].state).toBe('slashed')
  })
})
