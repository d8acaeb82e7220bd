import { describe, expect, it } from 'vitest'
import { detectionRates, normalizeAccuracy, overlayRuns, roundProgress, roundsToSeries, runCounters } from './chart-data'
import type { Node, Round } from './types'

function round(n: number, patch: Partial<Round> = {}): Round {
  return {
    round: n,
    status: 'settled',
    accuracy: 0.5 + n / 100,
    loss: 1 / n,
    accepted: 8,
    rejected: 2,
    tp: 2,
    fp: 0,
    tn: 8,
    fn: 0,
    model_hash: null,
    settlement: null,
    started_at: `2025-01-01T00:0${n}:00Z`,
    finished_at: `2025-01-01T00:0${n}:30Z`,
    ...patch,
  }
}

describe('roundsToSeries', () => {
  it('sorts by round and skips rounds not yet evaluated', () => {
    const series = roundsToSeries([round(2), round(1), round(3, { accuracy: null, loss: null })])
    expect(series.map((p) => p.round)).toEqual([1, 2])
    expect(series[0]).toEqual({ round: 1, accuracy: 0.51, loss: 1 })
  })

  it('accepts percent accuracies and drops non-finite losses', () => {
    expect(normalizeAccuracy(93.5)).toBeCloseTo(0.935)
    expect(normalizeAccuracy(null)).toBeNull()
    expect(roundsToSeries([round(1, { loss: Number.NaN })])[0].loss).toBeNull()
  })
})

describe('overlayRuns', () => {
  it('aligns runs of different lengths on the round axis', () => {
    const { rows, series } = overlayRuns(
      [
        { id: 7, name: 'current', rounds: [round(1), round(2)] },
        { id: 3, name: 'earlier', rounds: [round(1), round(2), round(3)] },
      ],
      'accuracy',
    )
    expect(series.map((s) => [s.key, s.primary])).toEqual([
      ['accuracy_7', true],
      ['accuracy_3', false],
    ])
    expect(series[0].color).toBe('var(--chart-1)')
    expect(rows).toHaveLength(3)
    expect(rows[2]).toEqual({ round: 3, accuracy_7: null, accuracy_3: 0.53 })
  })

  it('overlays loss as well', () => {
    const { rows } = overlayRuns([{ id: 1, name: 'a', rounds: [round(2)] }], 'loss')
    expect(rows).toEqual([{ round: 2, loss_1: 0.5 }])
  })
})

describe('roundProgress', () => {
  const now = new Date('2025-01-01T00:03:10Z').getTime()

  it('estimates time left from recent round durations, minus the open round', () => {
    const rounds = [round(1), round(2), round(3, { finished_at: null, accuracy: null })]
    const p = roundProgress({ status: 'running', rounds: 5, current_round: 3 }, rounds, now)
    expect(p.done).toBe(2)
    expect(p.fraction).toBeCloseTo(0.4)
    expect(p.averageRoundMs).toBe(30_000)
    expect(p.etaMs).toBe(3 * 30_000 - 10_000)
  })

  it('has no estimate before any round finished or when not running', () => {
    expect(roundProgress({ status: 'running', rounds: 5, current_round: 1 }, [], now).etaMs).toBeNull()
    expect(roundProgress({ status: 'paused', rounds: 5, current_round: 2 }, [round(1)], now).etaMs).toBeNull()
  })

  it('is full once completed', () => {
    const p = roundProgress({ status: 'completed', rounds: 2, current_round: 2 }, [round(1), round(2)], now)
    expect(p).toMatchObject({ done: 2, fraction: 1, etaMs: 0 })
  })
})

describe('counters', () => {
  it('adds verdicts and FLT exactly', () => {
    const node = (rewarded: string, slashed: string) => ({ rewarded_flt: rewarded, slashed_flt: slashed }) as Node
    const c = runCounters([round(1), round(2)], [node('20', '0'), node('10', '15'), node('0.1', '0.2')])
    expect(c).toEqual({ nodes: 3, accepted: 16, rejected: 4, rewardedWei: 30_100_000_000_000_000_000n, slashedWei: 15_200_000_000_000_000_000n })
  })

  it('computes detection precision and recall', () => {
    expect(detectionRates([round(1, { tp: 3, fp: 1, fn: 1 })])).toEqual({ precision: 0.75, recall: 0.75 })
    expect(detectionRates([round(1, { tp: 0, fp: 0, fn: 0 })])).toEqual({ precision: null, recall: null })
  })
})
