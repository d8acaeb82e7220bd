import { describe, expect, it } from 'vitest'
import {
  countVerdicts,
  describeOutcomes,
  nodeOutcomes,
  OUTCOME_META,
  payloadOutcomes,
  roundOutcomes,
  sortVerdicts,
  verdictOutcome,
} from './outcomes'
import { older } from '../test/older'
import type { Verdict } from './types'

describe('verdictOutcome', () => {
  it('takes the outcome the server names', () => {
    expect(verdictOutcome({ accepted: false, outcome: 'excluded' })).toBe('excluded')
    expect(verdictOutcome({ accepted: false, outcome: 'slashed' })).toBe('slashed')
    expect(verdictOutcome({ accepted: true, outcome: 'accepted' })).toBe('accepted')
  })

  it('reads a verdict from before outcomes: rejected meant slashed', () => {
    expect(verdictOutcome({ accepted: true })).toBe('accepted')
    expect(verdictOutcome({ accepted: false })).toBe('slashed')
    expect(verdictOutcome({ accepted: false, outcome: 'rejected' })).toBe('slashed')
  })
})

describe('counts', () => {
  it('splits a round by its excluded and slashed counts', () => {
    expect(roundOutcomes({ accepted: 7, rejected: 3, excluded: 2, slashed: 1 })).toEqual({ accepted: 7, excluded: 2, slashed: 1 })
    expect(roundOutcomes(older({ accepted: 7, rejected: 3, excluded: 3 }))).toEqual({ accepted: 7, excluded: 3, slashed: 0 })
    expect(roundOutcomes(older({ accepted: 7, rejected: 3 }))).toEqual({ accepted: 7, excluded: 0, slashed: 3 })
  })

  it('counts a node’s rounds, with zero for a node that has none', () => {
    expect(nodeOutcomes({ accepted_rounds: 12, rejected_rounds: 3, excluded_rounds: 2, slashed_rounds: 1 })).toEqual({
      accepted: 12,
      excluded: 2,
      slashed: 1,
    })
    expect(nodeOutcomes(older({}))).toEqual({ accepted: 0, excluded: 0, slashed: 0 })
  })

  it('reads counts from an event payload, or none when it has none', () => {
    expect(payloadOutcomes({ accepted: 8, excluded: 1, slashed: 1 })).toEqual({ accepted: 8, excluded: 1, slashed: 1 })
    expect(payloadOutcomes({ model_hash: '0x' })).toBeNull()
  })

  it('says the counts in words', () => {
    expect(describeOutcomes({ accepted: 7, excluded: 2, slashed: 1 })).toBe('7 accepted · 2 excluded · 1 slashed')
  })
})

describe('OUTCOME_META', () => {
  it('gives each outcome its own tone and a meaning in words', () => {
    expect(new Set(Object.values(OUTCOME_META).map((m) => m.tone)).size).toBe(3)
    expect(OUTCOME_META.excluded.meaning).toBe('left out, not slashed')
  })
})

describe('verdict lists', () => {
  const v = (node_label: string, accepted: boolean, outcome?: 'accepted' | 'excluded' | 'slashed'): Verdict =>
    older({ node_label, accepted, outcome })

  it('counts a round’s verdicts by outcome', () => {
    expect(countVerdicts([v('a', true, 'accepted'), v('b', false, 'excluded'), v('c', false, 'slashed'), v('d', false)])).toEqual({
      accepted: 1,
      excluded: 1,
      slashed: 2,
    })
  })

  it('lists slashes first, then exclusions, then the accepted, in natural label order', () => {
    const sorted = sortVerdicts([v('node-10', true), v('node-2', false, 'excluded'), v('node-3', false, 'slashed'), v('node-1', true)])
    expect(sorted.map((x) => x.node_label)).toEqual(['node-3', 'node-2', 'node-1', 'node-10'])
  })
})
