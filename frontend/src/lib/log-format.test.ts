import { describe, expect, it } from 'vitest'
import { filterLog, KNOWN_EVENT_KINDS, LOG_CATEGORIES, mergeEvents, toLogEntry } from './log-format'
import type { FedEvent } from './types'

const TX = `0x${'ab'.repeat(32)}`
const WALLET = '0xAb12000000000000000000000000000000009f3c'

function event(id: number, kind: string, message: string, data: Record<string, unknown> = {}): FedEvent {
  return { id, ts: '2025-01-01T00:00:00Z', kind, experiment_id: 1, round: 3, message, data }
}

describe('toLogEntry', () => {
  it('marks a rejected update with an icon and a word, not only a colour', () => {
    const entry = toLogEntry(event(1, 'update.rejected', 'Rejected update from 0xab12…: cosine −0.98 below 0.00', { address: WALLET }))
    expect(entry).toMatchObject({ category: 'defense', tone: 'bad', icon: 'x', label: 'Rejected', address: WALLET })
    expect(entry.txHref).toBeNull()
  })

  it('shows an excluded update as left out, not slashed, with its rule and reason', () => {
    const entry = toLogEntry(
      event(11, 'update.excluded', 'Excluded update from 0xab12…', {
        address: WALLET,
        rule: 'cosine_reference',
        reason: 'cosine to median 0.02 below 0.11',
        outcome: 'excluded',
      }),
    )
    expect(entry).toMatchObject({ category: 'defense', tone: 'warn', icon: 'shield-minus', label: 'Excluded', outcome: 'excluded' })
    expect(entry.detail).toBe('left out, not slashed · cosine_reference: cosine to median 0.02 below 0.11')
    expect(entry.counts).toBeNull()
  })

  it('shows a slashed update in red with its rule, without repeating a reason the message already gives', () => {
    const entry = toLogEntry(
      event(12, 'update.slashed', 'Slashed update from 0xab12…: root alignment -0.86 below -0.41', {
        address: WALLET,
        rule: 'root_alignment',
        reason: 'root alignment -0.86 below -0.41',
        outcome: 'slashed',
      }),
    )
    expect(entry).toMatchObject({ tone: 'bad', icon: 'shield-x', label: 'Slashed', outcome: 'slashed' })
    expect(entry.detail).toBe('left out and slashed · root_alignment')
  })

  it('reads an update.rejected from before outcomes as slashed', () => {
    const entry = toLogEntry(event(13, 'update.rejected', 'Rejected update from 0xab12…: x', { rule: 'norm_mad', reason: 'x' }))
    expect(entry.outcome).toBe('slashed')
    expect(entry.detail).toBe('left out and slashed · norm_mad')
    // an outcome named in the payload wins over the kind's
    expect(toLogEntry(event(17, 'update.rejected', 'Rejected update', { outcome: 'excluded' })).outcome).toBe('excluded')
  })

  it('gives an accepted update its outcome but no detail', () => {
    const entry = toLogEntry(event(14, 'update.accepted', 'Accepted update from 0xab12… (node-1)', { outcome: 'accepted' }))
    expect(entry).toMatchObject({ outcome: 'accepted', detail: null, tone: 'ok', label: 'Accepted' })
  })

  it('subscribes to every verdict kind on the stream', () => {
    expect(KNOWN_EVENT_KINDS).toEqual(expect.arrayContaining(['update.accepted', 'update.excluded', 'update.slashed', 'update.rejected']))
  })

  it('counts the three outcomes of an aggregation', () => {
    const entry = toLogEntry(event(15, 'model.aggregated', 'Aggregated v4', { accepted: 7, rejected: 3, excluded: 2, slashed: 1 }))
    expect(entry.counts).toEqual({ accepted: 7, excluded: 2, slashed: 1 })
    // before outcomes, every rejected update was slashed
    expect(toLogEntry(event(16, 'model.aggregated', 'Aggregated v5', { accepted: 8, rejected: 2 })).counts).toEqual({
      accepted: 8,
      excluded: 0,
      slashed: 2,
    })
  })

  it('links a slash to its transaction in the Explorer', () => {
    const entry = toLogEntry(event(2, 'wallet.slashed', `Slashed wallet 0xab12…: 15 FLT, tx ${TX}`, { address: WALLET }))
    expect(entry.label).toBe('Slashed')
    expect(entry.icon).toBe('flame')
    expect(entry.txHash).toBe(TX)
    expect(entry.txHref).toBe(`#/explorer?tx=${TX}`)
  })

  it('prefers the tx hash given in data', () => {
    const other = `0x${'cd'.repeat(32)}`
    expect(toLogEntry(event(3, 'tx.confirmed', 'Settled round 3', { tx_hash: other })).txHash).toBe(other)
    expect(toLogEntry(event(4, 'tx.sent', 'Sent', { hash: other })).txHash).toBe(other)
  })

  it('keeps aggregation messages as the server wrote them', () => {
    const entry = toLogEntry(event(5, 'model.aggregated', 'Aggregated v4'))
    expect(entry).toMatchObject({ text: 'Aggregated v4', label: 'Aggregated', icon: 'layers', category: 'model', counts: null })
  })

  it('handles unknown kinds by prefix, then as other', () => {
    expect(toLogEntry(event(6, 'round.closed', 'Round 3 closed')).category).toBe('round')
    expect(toLogEntry(event(7, 'mystery', 'Something')).category).toBe('other')
  })

  it('ignores strings that only look like hashes', () => {
    expect(toLogEntry(event(8, 'tx.sent', 'x', { tx_hash: '0x1234' })).txHash).toBeNull()
  })
})

describe('filterLog', () => {
  const entries = [
    toLogEntry(event(1, 'round.opened', 'Round 3 opened')),
    toLogEntry(event(2, 'update.rejected', 'Rejected update from 0xab12…', { address: WALLET })),
    toLogEntry({ ...event(3, 'wallet.slashed', `Slashed wallet, tx ${TX}`), experiment_id: 2 }),
    toLogEntry(event(4, 'update.excluded', 'Excluded update from 0xab12…', { rule: 'isolation', reason: 'no close neighbour' })),
  ]
  const all = new Set(LOG_CATEGORIES.map((c) => c.id))

  it('filters by category', () => {
    expect(filterLog(entries, { categories: new Set(['defense']), query: '', experimentId: null }).map((e) => e.id)).toEqual([2, 4])
  })

  it('searches text, label, address and hash', () => {
    expect(filterLog(entries, { categories: all, query: 'slashed wallet', experimentId: null }).map((e) => e.id)).toEqual([3])
    expect(filterLog(entries, { categories: all, query: WALLET.toLowerCase(), experimentId: null }).map((e) => e.id)).toEqual([2])
    expect(filterLog(entries, { categories: all, query: 'abab', experimentId: null }).map((e) => e.id)).toEqual([3])
    expect(filterLog(entries, { categories: all, query: 'not slashed', experimentId: null }).map((e) => e.id)).toEqual([4])
  })

  it('shows every kind when no chip is chosen', () => {
    expect(filterLog(entries, { categories: new Set(), query: '', experimentId: null }).map((e) => e.id)).toEqual([1, 2, 3, 4])
  })

  it('filters by outcome and by attacks only', () => {
    const none = new Set<never>()
    expect(filterLog(entries, { categories: none, query: '', experimentId: null, outcomes: new Set(['excluded']) }).map((e) => e.id)).toEqual([4])
    expect(filterLog(entries, { categories: none, query: '', experimentId: null, attacksOnly: true }).map((e) => e.id)).toEqual([2, 3, 4])
  })

  it('filters by experiment', () => {
    expect(filterLog(entries, { categories: all, query: '', experimentId: 1 }).map((e) => e.id)).toEqual([1, 2, 4])
  })
})

describe('mergeEvents', () => {
  it('appends in order and drops replayed duplicates', () => {
    const a = [event(1, 'x', 'a'), event(2, 'x', 'b')]
    expect(mergeEvents(a, [event(3, 'x', 'c')]).map((e) => e.id)).toEqual([1, 2, 3])
    expect(mergeEvents(a, [event(2, 'x', 'b'), event(3, 'x', 'c')]).map((e) => e.id)).toEqual([1, 2, 3])
    expect(mergeEvents([event(3, 'x', 'c')], [event(1, 'x', 'a')]).map((e) => e.id)).toEqual([1, 3])
  })

  it('keeps only the newest events past the cap', () => {
    const many = Array.from({ length: 10 }, (_, i) => event(i + 1, 'x', String(i)))
    expect(mergeEvents([], many, 4).map((e) => e.id)).toEqual([7, 8, 9, 10])
  })
})
