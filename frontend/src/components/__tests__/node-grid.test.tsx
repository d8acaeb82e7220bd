import { render, screen, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import type { Node } from '../../lib/types'
import { NodeCard } from '../overview/node-grid'
import { older } from '../../test/older'

const base: Node = older({
  address: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
  label: 'node-3',
  kind: 'simulated',
  malicious: false,
  balance_flt: '120',
  stake_flt: '50',
  pending_flt: '0',
  eligible: true,
  last_verdict: null,
  accepted_rounds: 12,
  rejected_rounds: 3,
  excluded_rounds: 2,
  slashed_rounds: 1,
  rewarded_flt: '120',
  slashed_flt: '15',
})

function card(patch: Partial<Node>) {
  render(
    <ul>
      <NodeCard node={{ ...base, ...patch }} chain={undefined} />
    </ul>,
  )
  return screen.getByRole('listitem', { name: `Node ${patch.label ?? base.label}` })
}

describe('NodeCard', () => {
  it('counts the node’s rounds by outcome, each with its word', () => {
    const node = card({})
    const counts = within(node).getByRole('list', { name: 'Rounds of node-3 by outcome' })
    expect(within(counts).getAllByRole('listitem').map((li) => li.textContent)).toEqual(['12accepted', '2excluded', '1slashed'])
  })

  it('shows an exclusion as left out, not slashed, with its rule and reason', () => {
    const node = card({
      last_verdict: { round: 7, accepted: false, outcome: 'excluded', rule: 'root_alignment', reason: 'alignment 0.01 below 0.05' },
    })
    const verdict = node.querySelector('[data-verdict]')!
    expect(verdict).toHaveAttribute('data-verdict', 'excluded')
    expect(verdict).toHaveTextContent('Excluded · round 7')
    expect(verdict).toHaveTextContent('left out, not slashed · root_alignment: alignment 0.01 below 0.05')
    expect(node.className).not.toContain('glow-bad')
  })

  it('marks a slash in words and with a red glow', () => {
    const node = card({ last_verdict: { round: 8, accepted: false, outcome: 'slashed', rule: 'norm_mad', reason: 'norm z 41 above 12' } })
    expect(node.querySelector('[data-verdict]')).toHaveAttribute('data-verdict', 'slashed')
    expect(within(node).getByText('left out and slashed')).toBeInTheDocument()
    expect(node.className).toContain('glow-bad')
  })

  it('reads a rejected verdict from before outcomes as a slash, and counts its rejected rounds as slashed', () => {
    const node = card(older({
      last_verdict: { round: 2, accepted: false, rule: 'cosine_reference', reason: 'cosine −0.9 below 0.0' },
      excluded_rounds: undefined,
      slashed_rounds: undefined,
    }))
    expect(node.querySelector('[data-verdict]')).toHaveAttribute('data-verdict', 'slashed')
    expect(node.querySelector('[data-outcome-count="slashed"]')).toHaveTextContent('3slashed')
    expect(node.querySelector('[data-outcome-count="excluded"]')).toHaveTextContent('0excluded')
  })

  it('shows an accepted update without a reason, and a node not yet judged', () => {
    const node = card({ last_verdict: { round: 9, accepted: true, outcome: 'accepted', rule: null, reason: 'within every threshold' } })
    expect(node.querySelector('[data-verdict]')).toHaveTextContent('Accepted · round 9')
    expect(within(node).queryByText(/within every threshold/)).toBeNull()
    render(
      <ul>
        <NodeCard node={{ ...base, label: 'node-4', last_verdict: null }} chain={undefined} />
      </ul>,
    )
    expect(within(screen.getByRole('listitem', { name: 'Node node-4' })).getByText('No verdict yet')).toBeInTheDocument()
  })
})
