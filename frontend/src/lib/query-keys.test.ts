import { describe, expect, it } from 'vitest'
import { keys, staleQueriesFor } from './query-keys'

describe('staleQueriesFor', () => {
  it('refreshes the charts when a model is aggregated', () => {
    expect(staleQueriesFor('model.aggregated', 4)).toEqual([keys.experiments, keys.experiment(4), keys.rounds(4)])
  })

  it.each(['update.accepted', 'update.excluded', 'update.slashed', 'update.rejected'])(
    'refreshes node verdicts and round counts on %s',
    (kind) => {
      const stale = staleQueriesFor(kind, 4)
      expect(stale).toContainEqual(keys.nodes(4))
      expect(stale).toContainEqual(keys.rounds(4))
    },
  )

  it('refreshes chain views on settlement events', () => {
    const stale = staleQueriesFor('wallet.slashed', 2)
    expect(stale).toContainEqual(keys.chainRounds)
    expect(stale).toContainEqual(keys.transactionsAll)
    expect(stale).toContainEqual(keys.nodes(2))
  })

  it('ignores received updates and never repeats a key', () => {
    expect(staleQueriesFor('update.received', 1)).toEqual([])
    const stale = staleQueriesFor('experiment.completed', 1).map((k) => JSON.stringify(k))
    expect(new Set(stale).size).toBe(stale.length)
  })
})
