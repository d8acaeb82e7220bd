import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { render, screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { keys } from '../../lib/query-keys'
import type { ChainRound, Round, Verdict } from '../../lib/types'
import { ChainRounds } from '../explorer/chain-rounds'
import { older } from '../../test/older'

const hash = (c: string) => `0x${c.repeat(64)}` as const

const chainRound: ChainRound = {
  round_id: 12,
  experiment_id: 3,
  round: 5,
  model_hash: hash('a'),
  results_root: hash('b'),
  tx_hash: hash('c'),
  block_number: 40,
  model_matches: true,
}

const round: Round = older({
  round: 5,
  status: 'completed',
  accuracy: 0.9,
  loss: 0.3,
  accepted: 8,
  rejected: 2,
  excluded: 1,
  slashed: 1,
  model_hash: hash('a'),
  settlement: null,
  started_at: null,
  finished_at: null,
})

const verdict: Verdict = {
  node_address: `0x${'0'.repeat(39)}9`,
  node_label: 'node-9',
  accepted: false,
  outcome: 'slashed',
  rule: 'norm_mad',
  reason: 'norm z 41 above 12',
  features: {},
  malicious: true,
}

describe('ChainRounds', () => {
  it('shows each settled round’s outcome counts and opens its verdicts', async () => {
    const client = new QueryClient()
    client.setQueryData(keys.chainRounds, [chainRound])
    client.setQueryData(keys.rounds(3), [round])
    client.setQueryData(keys.verdicts(3, 5), [verdict])
    render(
      <QueryClientProvider client={client}>
        <ChainRounds />
      </QueryClientProvider>,
    )
    const row = document.querySelector('[data-chain-round="12"]') as HTMLElement
    expect(within(row).getByRole('list', { name: 'Round 5 by outcome' })).toHaveTextContent('8accepted1excluded1slashed')
    // compact in the table: the words stay for screen readers and as a tooltip
    expect(within(row).getByTitle('1 slashed')).toBeInTheDocument()
    expect(within(row).getByText('slashed')).toHaveClass('sr-only')
    const toggle = within(row).getByRole('button', { name: 'Verdicts of chain round 12' })
    expect(toggle).toHaveAttribute('aria-expanded', 'false')
    expect(screen.queryByRole('list', { name: 'Verdicts of round 5' })).toBeNull()
    await userEvent.setup().click(toggle)
    expect(toggle).toHaveAttribute('aria-expanded', 'true')
    const list = screen.getByRole('list', { name: 'Verdicts of round 5' })
    expect(within(list).getByRole('listitem')).toHaveAttribute('data-verdict', 'slashed')
  })
})
