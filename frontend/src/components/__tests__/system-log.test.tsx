import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { render as renderBare, screen, within } from '@testing-library/react'
import type { ReactNode } from 'react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import type { FedEvent } from '../../lib/types'
import { SystemLog } from '../overview/system-log'

const render = (ui: ReactNode) => renderBare(<QueryClientProvider client={new QueryClient()}>{ui}</QueryClientProvider>)

const TX = `0x${'da'.repeat(32)}`
const WALLET = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'

const events: FedEvent[] = [
  { id: 1, ts: '2026-01-01T10:00:00Z', kind: 'round.opened', experiment_id: 1, round: 1, message: 'Round 1 opened', data: {} },
  {
    id: 2,
    ts: '2026-01-01T10:00:05Z',
    kind: 'update.rejected',
    experiment_id: 1,
    round: 1,
    message: 'Rejected update from 0x3C44…93BC: root alignment -0.86 below 0.00',
    data: { address: WALLET, rule: 'root_alignment' },
  },
  { id: 3, ts: '2026-01-01T10:00:06Z', kind: 'model.aggregated', experiment_id: 1, round: 1, message: 'Aggregated v2', data: {} },
  {
    id: 4,
    ts: '2026-01-01T10:00:07Z',
    kind: 'wallet.slashed',
    experiment_id: 1,
    round: 1,
    message: 'Slashed wallet 0x3C44…93BC: 15 FLT, tx 0xda788b9f…',
    data: { address: WALLET, amount_flt: '15', tx_hash: TX },
  },
  { id: 5, ts: '2026-01-01T10:00:08Z', kind: 'round.opened', experiment_id: 2, round: 1, message: 'Round 1 opened (other run)', data: {} },
]

const outcomes: FedEvent[] = [
  {
    id: 11,
    ts: '2026-01-01T10:01:00Z',
    kind: 'update.excluded',
    experiment_id: 1,
    round: 2,
    message: 'Excluded update from 0x3C44…93BC',
    data: { address: WALLET, rule: 'isolation', reason: 'no neighbour within 0.12', outcome: 'excluded' },
  },
  {
    id: 12,
    ts: '2026-01-01T10:01:01Z',
    kind: 'update.slashed',
    experiment_id: 1,
    round: 2,
    message: 'Slashed update from 0x3C44…93BC',
    data: { address: WALLET, rule: 'root_alignment', reason: 'mean alignment -0.4 below -0.1 over 3 rounds', outcome: 'slashed' },
  },
  {
    id: 13,
    ts: '2026-01-01T10:01:02Z',
    kind: 'model.aggregated',
    experiment_id: 1,
    round: 2,
    message: 'Aggregated v3: 8 of 10 updates accepted, accuracy 91.0%',
    data: { accepted: 8, rejected: 2, excluded: 1, slashed: 1 },
  },
]

function entries() {
  // log lines only, not the outcome counts listed inside an aggregation's line
  return within(screen.getByRole('log'))
    .getAllByRole('listitem')
    .filter((li) => li.hasAttribute('data-kind'))
}

describe('SystemLog', () => {
  it('lists the watched experiment’s events newest first, with icon labels in words', () => {
    render(<SystemLog experimentId={1} events={events} />)
    const items = entries()
    expect(items.map((li) => li.getAttribute('data-kind'))).toEqual(['wallet.slashed', 'model.aggregated', 'update.rejected', 'round.opened'])
    expect(within(items[0]).getByText('Slashed')).toBeInTheDocument()
    expect(within(items[2]).getByText('Rejected')).toBeInTheDocument()
    expect(within(items[1]).getByText('Aggregated v2')).toBeInTheDocument()
  })

  it('tells an exclusion (left out, not slashed) from a slash, each with its rule and reason', () => {
    render(<SystemLog experimentId={1} events={outcomes} />)
    const [aggregated, slashed, excluded] = entries()
    expect(excluded).toHaveAttribute('data-outcome', 'excluded')
    expect(within(excluded).getByText('Excluded')).toBeInTheDocument()
    expect(within(excluded).getByTestId('log-detail')).toHaveTextContent('left out, not slashed · isolation: no neighbour within 0.12')
    expect(slashed).toHaveAttribute('data-outcome', 'slashed')
    expect(within(slashed).getByText('Slashed')).toBeInTheDocument()
    expect(within(slashed).getByTestId('log-detail')).toHaveTextContent(
      'left out and slashed · root_alignment: mean alignment -0.4 below -0.1 over 3 rounds',
    )
    const counts = within(aggregated).getByRole('list', { name: 'Updates this round by outcome' })
    expect(within(counts).getAllByRole('listitem').map((li) => li.textContent)).toEqual(['8accepted', '1excluded', '1slashed'])
  })

  it('links a chain entry to its transaction in the Explorer', () => {
    render(<SystemLog experimentId={1} events={events} />)
    const link = screen.getByRole('link', { name: 'View transaction tx 0xdada…dada' })
    expect(link).toHaveAttribute('title', TX)
    expect(link).toHaveAttribute('href', `#/explorer?tx=${TX}`)
  })

  it('filters by kind and by text, and can show every experiment', async () => {
    const user = userEvent.setup()
    render(<SystemLog experimentId={1} events={events} />)
    // A kind chip picks what is shown: pressed, only that kind; pressed again, everything.
    await user.click(screen.getByRole('button', { name: 'Wallets' }))
    expect(screen.getByRole('button', { name: 'Wallets' })).toHaveAttribute('aria-pressed', 'true')
    expect(new Set(entries().map((li) => li.getAttribute('data-kind')))).toEqual(new Set(['wallet.slashed']))
    await user.click(screen.getByRole('button', { name: 'Wallets' }))
    expect(entries().map((li) => li.getAttribute('data-kind'))).toContain('round.opened')
    // Outcome chips and "Attacks only" bring slashes up from under the rewards.
    await user.click(screen.getByRole('button', { name: 'Slashed' }))
    expect(entries().length).toBeGreaterThan(0)
    expect(new Set(entries().map((li) => li.getAttribute('data-outcome')))).toEqual(new Set(['slashed']))
    await user.click(screen.getByRole('button', { name: 'Slashed' }))
    await user.click(screen.getByRole('button', { name: 'Attacks only' }))
    expect(entries().map((li) => li.getAttribute('data-kind'))).not.toContain('round.opened')
    expect(entries().map((li) => li.getAttribute('data-kind'))).toContain('wallet.slashed')
    await user.click(screen.getByRole('button', { name: 'Attacks only' }))
    await user.type(screen.getByRole('searchbox', { name: 'Search the log' }), 'aggregated')
    expect(entries()).toHaveLength(1)
    await user.clear(screen.getByRole('searchbox', { name: 'Search the log' }))
    await user.click(screen.getByRole('checkbox', { name: 'Only experiment #1' }))
    expect(screen.getByText('Round 1 opened (other run)')).toBeInTheDocument()
  })

  it('says when nothing matches', async () => {
    const user = userEvent.setup()
    render(<SystemLog experimentId={1} events={events} />)
    await user.type(screen.getByRole('searchbox', { name: 'Search the log' }), 'no such thing')
    expect(screen.getByText('Nothing matches these filters')).toBeInTheDocument()
  })
})
