import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { render, screen, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { keys } from '../../lib/query-keys'
import type { Experiment, Round } from '../../lib/types'
import { RoundTable } from '../experiments/round-table'
import { older } from '../../test/older'

const experiment = { id: 4, name: 'digits under ALIE', status: 'completed', current_round: 2, rounds: 2, reward_flt: '10', slash_flt: '15', created_at: '2026-01-01T00:00:00Z' } as Experiment

function round(n: number, patch: Partial<Round>): Round {
  return older({
    round: n,
    status: 'completed',
    accuracy: 0.9,
    loss: 0.3,
    accepted: 0,
    rejected: 0,
    model_hash: null,
    settlement: null,
    started_at: null,
    finished_at: null,
    ...patch,
  })
}

function renderTable(client: QueryClient, exp: Experiment | null = experiment) {
  return render(
    <QueryClientProvider client={client}>
      <RoundTable experiment={exp} />
    </QueryClientProvider>,
  )
}

describe('RoundTable', () => {
  it('lists each round newest first with its accepted, excluded and slashed counts', () => {
    const client = new QueryClient()
    client.setQueryData(keys.rounds(4), [
      round(1, { accepted: 7, rejected: 3, excluded: 2, slashed: 1, accuracy: 0.812 }),
      round(2, older({ accepted: 8, rejected: 2, excluded: 2, slashed: 0, settlement: { status: 'confirmed', tx_hash: null, block_number: 9, gas_used: 1 } })),
    ])
    renderTable(client)
    const table = screen.getByRole('table', { name: /Rounds of experiment #4/ })
    const header = within(table).getAllByRole('columnheader').map((th) => th.textContent?.trim())
    expect(header).toEqual(['Round', 'Status', 'Accuracy', 'Loss', 'Accepted', 'Excluded', 'Slashed', 'Settlement'])
    const rows = within(table).getAllByRole('row').slice(1)
    expect(rows.map((r) => r.getAttribute('data-round'))).toEqual(['2', '1'])
    expect(within(rows[1]).getAllByRole('cell').map((c) => c.textContent)).toEqual(['1', 'completed', '81.2%', '0.30', '7', '2', '1', '—'])
    expect(within(rows[0]).getAllByRole('cell').at(-1)).toHaveTextContent('confirmed')
    expect(screen.getByRole('button', { name: 'Rounds CSV of experiment #4' })).toBeInTheDocument()
  })

  it('counts every rejection of an older orchestrator as a slash', () => {
    const client = new QueryClient()
    client.setQueryData(keys.rounds(4), [round(1, { accepted: 8, rejected: 2 })])
    renderTable(client)
    const cells = within(screen.getByRole('table')).getAllByRole('cell')
    expect(cells.filter((c) => c.hasAttribute('data-outcome')).map((c) => c.textContent)).toEqual(['8', '0', '2'])
  })

  it('says when there is no experiment or no round yet', () => {
    const client = new QueryClient()
    client.setQueryData(keys.rounds(4), [])
    const { unmount } = renderTable(client)
    expect(screen.getByText('No rounds yet')).toBeInTheDocument()
    unmount()
    renderTable(client, null)
    expect(screen.getByText('No experiment chosen')).toBeInTheDocument()
  })
})
