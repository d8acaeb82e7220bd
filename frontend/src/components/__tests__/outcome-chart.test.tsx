import { render, screen, within } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import type { Node, Round } from '../../lib/types'
import { OutcomeChart } from '../overview/outcome-chart'
import { older } from '../../test/older'

function round(n: number, accepted: number, excluded: number, slashed: number): Round {
  return older({
    round: n,
    status: 'completed',
    accuracy: 0.8,
    loss: 0.4,
    accepted,
    rejected: excluded + slashed,
    excluded,
    slashed,
    model_hash: null,
    settlement: null,
    started_at: null,
    finished_at: null,
  })
}

function node(label: string, malicious: boolean, slashed: number): Node {
  return older({
    address: `0x${label.replace(/\D/g, '').padStart(40, '0')}`,
    label,
    kind: 'simulated',
    malicious,
    balance_flt: null,
    stake_flt: null,
    pending_flt: null,
    eligible: true,
    last_verdict: null,
    slashed_rounds: slashed,
    excluded_rounds: 0,
    accepted_rounds: 5,
    rewarded_flt: '0',
    slashed_flt: '0',
  })
}

const rounds = [round(1, 8, 1, 1), round(2, 9, 0, 1)]

describe('OutcomeChart', () => {
  it('tabulates each round’s accepted, excluded and slashed updates, and the run’s totals', () => {
    render(<OutcomeChart rounds={rounds} nodes={[node('node-1', false, 0), node('node-9', true, 2)]} />)
    expect(screen.getByRole('figure', { name: 'Updates per round by outcome' })).toHaveAttribute('data-rounds', '2')
    const table = screen.getByRole('table', { name: 'Updates per round by outcome' })
    expect(within(table).getAllByRole('row').map((r) => r.textContent)).toEqual(['RoundAcceptedExcludedSlashed', '1811', '2901'])
    const totals = screen.getByRole('list', { name: 'Updates over the run by outcome' })
    expect(totals).toHaveTextContent('17accepted1excluded2slashed')
  })

  it('calls out a false slash of an honest node', () => {
    render(<OutcomeChart rounds={rounds} nodes={[node('node-1', false, 1), node('node-9', true, 2)]} />)
    const alert = screen.getByRole('alert')
    expect(alert).toHaveTextContent('False slashes: 1 honest node slashed in 1 round')
    expect(within(alert).getByRole('link', { name: 'node-1' })).toHaveAttribute('href', `#/explorer?wallet=${node('node-1', false, 1).address}`)
  })

  it('gives an all-clear when no honest node was slashed', () => {
    render(<OutcomeChart rounds={rounds} nodes={[node('node-1', false, 0), node('node-9', true, 2)]} />)
    expect(screen.queryByRole('alert')).toBeNull()
    expect(screen.getByTestId('honest-slashes')).toHaveTextContent('No honest node slashed in this run.')
  })

  it('renders pending, error and empty states', () => {
    const retry = vi.fn()
    const { rerender } = render(<OutcomeChart rounds={[]} nodes={[]} isPending />)
    expect(screen.getByText('Loading outcomes…')).toBeInTheDocument()
    rerender(<OutcomeChart rounds={[]} nodes={[]} error={new Error('down')} onRetry={retry} />)
    expect(screen.getByRole('alert')).toHaveTextContent('down')
    rerender(<OutcomeChart rounds={[]} nodes={[]} />)
    expect(screen.getByText('No round screened yet')).toBeInTheDocument()
  })
})
