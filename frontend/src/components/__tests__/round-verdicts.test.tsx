import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { render, screen, within } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { keys } from '../../lib/query-keys'
import type { Verdict } from '../../lib/types'
import { RoundVerdicts } from '../explorer/round-verdicts'

const ROOT = `0x${'7e'.repeat(32)}` as const
const addr = (n: number) => `0x${String(n).padStart(40, '0')}` as const

const verdicts: Verdict[] = [
  { node_address: addr(1), node_label: 'node-1', accepted: true, outcome: 'accepted', rule: null, reason: 'within every threshold', features: {}, malicious: false },
  { node_address: addr(9), node_label: 'node-9', accepted: false, outcome: 'slashed', rule: 'norm_mad', reason: 'norm z 41 above 12', features: {}, malicious: true },
  { node_address: addr(4), node_label: 'node-4', accepted: false, outcome: 'excluded', rule: 'isolation', reason: 'no neighbour within 0.12', features: {}, malicious: false },
]

function renderWith(client: QueryClient) {
  return render(
    <QueryClientProvider client={client}>
      <RoundVerdicts experimentId={3} round={5} resultsRoot={ROOT} />
    </QueryClientProvider>,
  )
}

afterEach(() => vi.unstubAllGlobals())

describe('RoundVerdicts', () => {
  it('lists each node’s outcome and why, slashes first, with the round’s counts and results root', () => {
    const client = new QueryClient()
    client.setQueryData(keys.verdicts(3, 5), verdicts)
    renderWith(client)
    expect(screen.getByRole('list', { name: 'Verdicts of round 5 by outcome' })).toHaveTextContent('1accepted1excluded1slashed')
    const items = within(screen.getByRole('list', { name: 'Verdicts of round 5' })).getAllByRole('listitem')
    expect(items.map((li) => li.getAttribute('data-verdict'))).toEqual(['slashed', 'excluded', 'accepted'])
    expect(items[0]).toHaveTextContent('Slashednode-9 attackerleft out and slashed · norm_mad: norm z 41 above 12')
    expect(items[1]).toHaveTextContent('Excludednode-4left out, not slashed · isolation: no neighbour within 0.12')
    expect(items[2]).toHaveTextContent('Acceptednode-1aggregated and rewarded')
    expect(within(items[1]).getByRole('link', { name: 'node-4' })).toHaveAttribute('href', `#/explorer?wallet=${addr(4)}`)
    expect(screen.getByText(/one leaf of the results root, recording the node, its outcome/)).toBeInTheDocument()
    expect(screen.getByTitle(ROOT)).toBeInTheDocument()
  })

  it('reads verdicts from before outcomes: rejected was slashed', () => {
    const client = new QueryClient()
    client.setQueryData(keys.verdicts(3, 5), [{ ...verdicts[1], outcome: undefined }])
    renderWith(client)
    expect(within(screen.getByRole('list', { name: 'Verdicts of round 5' })).getByRole('listitem')).toHaveAttribute('data-verdict', 'slashed')
  })

  it('shows the server’s error with a retry', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ detail: 'experiment 3 has no round 5' }), { status: 404 })))
    renderWith(new QueryClient({ defaultOptions: { queries: { retry: false } } }))
    expect(screen.getByText('Loading verdicts…')).toBeInTheDocument()
    expect(await screen.findByRole('alert')).toHaveTextContent('experiment 3 has no round 5')
    expect(screen.getByRole('button', { name: /retry/i })).toBeInTheDocument()
  })
})
