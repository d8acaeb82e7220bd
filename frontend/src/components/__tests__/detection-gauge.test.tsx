import { render, screen, within } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import type { ProbeResult } from '../../lib/types'
import { DetectionGauge } from '../attack-lab/detection-gauge'

const result: ProbeResult = {
  predicted: 'rejected',
  rule: 'norm_mad',
  reason: 'norm robust z 10.70 above 4.00',
  latency_ms: 15.8,
  cached: true,
  features: [
    { name: 'update_norm', value: 1.42, threshold: 100, comparison: 'max', caught: false },
    { name: 'norm_z', value: 10.7, threshold: 4, comparison: 'max', caught: true },
    { name: 'cosine_reference', value: -0.81, threshold: -0.5, comparison: 'min', caught: true },
  ],
}

describe('DetectionGauge', () => {
  it('states the predicted verdict and the deciding rule in words', () => {
    render(<DetectionGauge result={result} isFetching={false} isStale={false} error={null} onRetry={() => {}} />)
    const verdict = screen.getByTestId('predicted-verdict')
    expect(verdict).toHaveAttribute('data-verdict', 'rejected')
    expect(within(verdict).getByText('Predicted: rejected')).toBeInTheDocument()
    expect(within(verdict).getByText('Will be caught by norm robust z-score')).toBeInTheDocument()
    expect(within(verdict).getByText('2 of 3 features past their limit')).toBeInTheDocument()
    expect(screen.getByText('16 ms')).toBeInTheDocument()
  })

  it('marks each feature caught or clear by text, value against limit', () => {
    render(<DetectionGauge result={result} isFetching={false} isStale={false} error={null} onRetry={() => {}} />)
    const items = within(screen.getByRole('list', { name: 'Detection features' })).getAllByRole('listitem')
    expect(items).toHaveLength(3)
    expect(within(items[0]).getByText('Clear')).toBeInTheDocument()
    expect(within(items[0]).getByText('1.42 ≤ 100.0')).toBeInTheDocument()
    expect(within(items[1]).getByText('Caught')).toBeInTheDocument()
    expect(within(items[2]).getByText('−0.81 < −0.50')).toBeInTheDocument()
    expect(items[2]).toHaveAttribute('data-caught', 'true')
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
})
