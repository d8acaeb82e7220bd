import { describe, expect, it } from 'vitest'
import { filterLog, LOG_CATEGORIES, mergeEvents, toLogEntry } from './log-format'
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
    expect(entry).toMatchObject({ text: 'Aggregated v4', label: 'Aggregated', icon: 'layers', category: 'model' })
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
  ]
  const all = new Set(LOG_CATEGORIES.map((c) => c.id))

  it('filters by category', () => {
    expect(filterLog(entries, { categories: new Set(['defense']), query: '', experimentId: null }).map((e) => e.id)).toEqual([2])
  })

  it('searches text, label, address and hash', () => {
    expect(filterLog(entries, { categories: all, query: 'slashed', experimentId: null }).map((e) => e.id)).toEqual([3])
    expect(filterLog(entries, { categories: all, query: WALLET.toLowerCase(), experimentId: null }).map((e) => e.id)).toEqual([2])
    expect(filterLog(entries, { categories: all, query: 'abab', experimentId: null }).map((e) => e.id)).toEqual([3])
  })

  it('filters by experiment', () => {
    expect(filterLog(entries, { categories: all, query: '', experimentId: 1 }).map((e) => e.id)).toEqual([1, 2])
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
