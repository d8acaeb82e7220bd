import { describe, expect, it } from 'vitest'
import {
  detectionRates,
  honestSlashes,
  normalizeAccuracy,
  outcomeSeries,
  overlayRuns,
  roundProgress,
  roundsCsv,
  roundsToSeries,
  runCounters,
} from './chart-data'
import type { Node, Round } from './types'
import { older } from '../test/older'

function round(n: number, patch: Partial<Round> = {}): Round {
  return older({
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
  })
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
    const p = roundProgress(older({ status: 'running', rounds: 5, current_round: 3 }), rounds, now)
    expect(p.done).toBe(2)
    expect(p.fraction).toBeCloseTo(0.4)
    expect(p.averageRoundMs).toBe(30_000)
    expect(p.etaMs).toBe(3 * 30_000 - 10_000)
  })

  it('has no estimate before any round finished or when not running', () => {
    expect(roundProgress(older({ status: 'running', rounds: 5, current_round: 1 }), [], now).etaMs).toBeNull()
    expect(roundProgress(older({ status: 'paused', rounds: 5, current_round: 2 }), [round(1)], now).etaMs).toBeNull()
  })

  it('is full once completed', () => {
    const p = roundProgress(older({ status: 'completed', rounds: 2, current_round: 2 }), [round(1), round(2)], now)
    expect(p).toMatchObject({ done: 2, fraction: 1, etaMs: 0 })
  })
})

describe('outcomeSeries', () => {
  it('gives one stacked row per screened round, in round order', () => {
    const rows = outcomeSeries([
      round(2, { accepted: 7, rejected: 3, excluded: 2, slashed: 1 }),
      round(1, { accepted: 9, rejected: 1, excluded: 1, slashed: 0 }),
      round(3, { status: 'open', accepted: 0, rejected: 0 }),
    ])
    expect(rows).toEqual([
      { round: 1, accepted: 9, excluded: 1, slashed: 0 },
      { round: 2, accepted: 7, excluded: 2, slashed: 1 },
    ])
  })

  it('splits rejected by whichever count the server sent', () => {
    expect(outcomeSeries([round(1, { accepted: 6, rejected: 4, slashed: 1 })])[0]).toEqual({ round: 1, accepted: 6, excluded: 3, slashed: 1 })
    expect(outcomeSeries([round(1, { accepted: 6, rejected: 4 })])[0]).toEqual({ round: 1, accepted: 6, excluded: 0, slashed: 4 })
  })

  it('leaves out rounds that judged nothing', () => {
    expect(outcomeSeries([round(1, { status: 'completed', accepted: 0, rejected: 0 })])).toEqual([])
  })
})

describe('honestSlashes', () => {
  const node = (label: string, patch: Partial<Node>) =>
    ({ address: `0x${label.padStart(40, '0')}`, label, kind: 'simulated', malicious: false, ...patch }) as Node

  it('names every honest node slashed, most slashed first, and ignores attackers and external nodes', () => {
    const slashes = honestSlashes([
      node('1', { slashed_rounds: 1, excluded_rounds: 4 }),
      node('2', { slashed_rounds: 0, excluded_rounds: 2 }),
      node('3', { slashed_rounds: 3 }),
      node('4', { malicious: true, slashed_rounds: 9 }),
      node('5', { kind: 'external', slashed_rounds: 2 }),
    ])
    expect(slashes.map((s) => [s.label, s.rounds])).toEqual([
      ['3', 3],
      ['1', 1],
    ])
  })

  it('is empty when no honest node was slashed, exclusions notwithstanding', () => {
    expect(honestSlashes([node('1', { excluded_rounds: 5, slashed_rounds: 0 })])).toEqual([])
  })

  it('counts rejected rounds as slashes for nodes from before outcomes', () => {
    expect(honestSlashes([node('1', { accepted_rounds: 3, rejected_rounds: 2 })])[0].rounds).toBe(2)
  })
})

describe('roundsCsv', () => {
  it('writes one row per round with the three counts', () => {
    const csv = roundsCsv([
      round(2, { accepted: 7, rejected: 3, excluded: 2, slashed: 1, model_hash: `0x${'ab'.repeat(32)}` }),
      round(1, { status: 'completed', accepted: 10, rejected: 0, excluded: 0, slashed: 0, accuracy: 91, loss: 0.25 }),
    ])
    const lines = csv.trimEnd().split('\n')
    expect(lines[0]).toBe('round,status,accuracy,loss,accepted,excluded,slashed,model_hash,settlement,tx_hash')
    expect(lines[1]).toBe('1,completed,0.91,0.25,10,0,0,,,')
    expect(lines[2]).toBe(`2,settled,0.52,0.5,7,2,1,0x${'ab'.repeat(32)},,`)
  })

  it('quotes cells that hold a comma or a quote', () => {
    expect(roundsCsv([round(1, older({ status: 'odd, "status"' }))]).split('\n')[1]).toMatch(/^1,"odd, ""status""",/)
  })
})

describe('counters', () => {
  it('adds verdicts and FLT exactly', () => {
    const node = (rewarded: string, slashed: string) => ({ rewarded_flt: rewarded, slashed_flt: slashed }) as Node
    const c = runCounters(
      [round(1, { excluded: 1, slashed: 1 }), round(2, { excluded: 2, slashed: 0 })],
      [node('20', '0'), node('10', '15'), node('0.1', '0.2')],
    )
    expect(c).toEqual({
      nodes: 3,
      accepted: 16,
      excluded: 3,
      slashed: 1,
      rewardedWei: 30_100_000_000_000_000_000n,
      slashedWei: 15_200_000_000_000_000_000n,
    })
  })

  it('counts every rejection as a slash for rounds from before outcomes', () => {
    expect(runCounters([round(1), round(2)], [])).toMatchObject({ accepted: 16, excluded: 0, slashed: 4 })
  })

  it('computes detection precision and recall', () => {
    expect(detectionRates([round(1, { tp: 3, fp: 1, fn: 1 })])).toEqual({ precision: 0.75, recall: 0.75 })
    expect(detectionRates([round(1, { tp: 0, fp: 0, fn: 0 })])).toEqual({ precision: null, recall: null })
  })
})
