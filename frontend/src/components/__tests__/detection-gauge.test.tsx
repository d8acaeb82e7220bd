import { render, screen, within } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import type { ProbeResult } from '../../lib/types'
import { DetectionGauge } from '../attack-lab/detection-gauge'
import { older } from '../../test/older'

const result: ProbeResult = older({
  predicted: 'excluded',
  rule: 'norm_mad',
  reason: 'norm robust z 10.70 above 4.00',
  latency_ms: 15.8,
  cached: true,
  features: [
    { name: 'update_norm', value: 1.42, threshold: 100, slash_threshold: null, comparison: 'max', caught: false, outcome: 'excluded', rule: 'distance_threshold' },
    { name: 'norm_z', value: 10.7, threshold: 4, slash_threshold: 16, comparison: 'max', caught: true, outcome: 'excluded', rule: 'norm_mad' },
    { name: 'cosine_reference', value: -0.81, threshold: -0.5, slash_threshold: -0.7, comparison: 'min', caught: true, outcome: 'slashed', rule: 'cosine_reference' },
  ],
})

const gauge = (r: ProbeResult | undefined) => <DetectionGauge result={r} isFetching={false} isStale={false} error={null} onRetry={() => {}} />

function checks() {
  return within(screen.getByRole('list', { name: 'Detection features' })).getAllByRole('listitem')
}

describe('DetectionGauge', () => {
  it('states the predicted outcome and the deciding rule in words', () => {
    render(gauge(result))
    const verdict = screen.getByTestId('predicted-verdict')
    expect(verdict).toHaveAttribute('data-verdict', 'excluded')
    expect(within(verdict).getByText('Predicted: excluded')).toBeInTheDocument()
    expect(within(verdict).getByText('Will be caught by norm robust z-score: left out, not slashed')).toBeInTheDocument()
    expect(within(verdict).getByText('The update would be left out, not slashed.')).toBeInTheDocument()
    // no card claims a slash the verdict does not make
    expect(within(verdict).getByText('2 of 3 features past their exclusion limit')).toBeInTheDocument()
    expect(screen.getByText('16 ms')).toBeInTheDocument()
  })

  it('marks each check clear or excluded by text, never beyond the verdict, with its exclusion and slash limits', () => {
    render(gauge(result))
    const items = checks()
    expect(items).toHaveLength(3)
    expect(within(items[0]).getByText('Clear')).toBeInTheDocument()
    expect(within(items[0]).getByText('1.42 ≤ 100.0')).toBeInTheDocument()
    expect(within(items[0]).getByTestId('check-limits')).toHaveTextContent('exclude above 100.0')
    expect(items[0].querySelector('[data-limit="slash"]')).toBeNull()

    expect(items[1]).toHaveAttribute('data-outcome', 'excluded')
    expect(within(items[1]).getByText('Excluded')).toBeInTheDocument()
    expect(within(items[1]).getByTestId('check-limits')).toHaveTextContent('exclude above 4.00 · slash above 16.0')
    expect(items[1].querySelector('[data-limit="exclude"]')).not.toBeNull()
    expect(items[1].querySelector('[data-limit="slash"]')).not.toBeNull()

    // past its slash line, yet the verdict only leaves the update out: the card says what happens
    expect(items[2]).toHaveAttribute('data-outcome', 'excluded')
    expect(items[2]).toHaveAttribute('data-caught', 'true')
    expect(within(items[2]).getByText('Excluded')).toBeInTheDocument()
    expect(within(items[2]).getByText('−0.81 < −0.50')).toBeInTheDocument()
    expect(within(items[2]).getByTestId('check-limits')).toHaveTextContent('exclude below −0.50 · slash below −0.70')
  })

  it('shows a slash prediction, and reads "rejected" from an older orchestrator as a slash', () => {
    const { rerender } = render(gauge({ ...result, predicted: 'slashed', rule: 'cosine_reference' }))
    expect(screen.getByTestId('predicted-verdict')).toHaveAttribute('data-verdict', 'slashed')
    expect(screen.getByText('Will be caught and slashed by cosine to cohort median')).toBeInTheDocument()
    rerender(gauge(older({ ...result, predicted: 'rejected', features: result.features.map(({ outcome: _o, slash_threshold: _s, ...f }) => f) })))
    expect(screen.getByTestId('predicted-verdict')).toHaveAttribute('data-verdict', 'slashed')
    expect(screen.getByText('Predicted: slashed')).toBeInTheDocument()
    expect(checks()[1]).toHaveAttribute('data-outcome', 'slashed')
  })

  it('says when an attack would be accepted', () => {
    render(gauge({ ...result, predicted: 'accepted', rule: null, features: [result.features[0]] }))
    const verdict = screen.getByTestId('predicted-verdict')
    expect(verdict).toHaveAttribute('data-verdict', 'accepted')
    expect(within(verdict).getByText('Slips through every threshold')).toBeInTheDocument()
    expect(within(verdict).getByText('The update would be aggregated and rewarded.')).toBeInTheDocument()
  })

  it('shows why there is nothing to probe, and errors with a retry', async () => {
    const { rerender } = render(
      <DetectionGauge result={undefined} isFetching={false} isStale={false} error={null} onRetry={() => {}} idle="Choose an attack." />,
    )
    expect(screen.getByText('Choose an attack.')).toBeInTheDocument()
    const retry = vi.fn()
    rerender(<DetectionGauge result={undefined} isFetching={false} isStale={false} error={new Error('boom')} onRetry={retry} />)
    expect(screen.getByRole('alert')).toHaveTextContent('boom')
    screen.getByRole('button', { name: /retry/i }).click()
    expect(retry).toHaveBeenCalledOnce()
  })

  it('shows a loading state while the first probe runs', () => {
    render(gauge(undefined))
    expect(screen.getByText(/Probing the defense/)).toBeInTheDocument()
  })
})
