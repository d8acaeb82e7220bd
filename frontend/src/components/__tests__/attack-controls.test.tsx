import { fireEvent, render, screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { useState } from 'react'
import { describe, expect, it } from 'vitest'
import { type AttackSettings, NO_ATTACK } from '../../lib/attack-plan'
import { AttackControls } from '../attack-lab/attack-controls'

/** The plan as the controls last changed it. */
let latest: AttackSettings = NO_ATTACK

function Harness({ start }: { start: AttackSettings }) {
  const [plan, setPlan] = useState(start)
  return (
    <AttackControls
      plan={plan}
      onChange={(p) => {
        latest = p
        setPlan(p)
      }}
      numNodes={10}
      maxRound={20}
      numClasses={3}
    />
  )
}

describe('AttackControls', () => {
  it('offers the literature’s attacks beside the simple ones', () => {
    render(<Harness start={{ ...NO_ATTACK, kind: 'sign_flip', num_attackers: 2 }} />)
    const kinds = within(screen.getByRole('group', { name: 'Kind' })).getAllByRole('radio').map((r) => (r as HTMLInputElement).value)
    expect(kinds).toEqual(['sign_flip', 'gaussian', 'label_flip', 'alie', 'ipm', 'min_max', 'min_sum', 'fang_trim', 'backdoor', 'free_rider'])
  })

  it('leaves ALIE’s z to the paper’s z_max until switched to a chosen z', async () => {
    const user = userEvent.setup()
    render(<Harness start={{ ...NO_ATTACK, kind: 'sign_flip', num_attackers: 2 }} />)
    await user.click(screen.getByText('A little is enough'))
    const z = screen.getByLabelText('Intensity · z (std devs from the mean)')
    expect(z).toBeDisabled()
    expect(z).toHaveAttribute('aria-valuetext', 'auto')
    expect(latest.z).toBeNull()
    await user.click(screen.getByRole('switch', { name: 'Paper’s z_max' }))
    expect(z).toBeEnabled()
    expect(latest.z).toBe(1)
    expect(z).toHaveAttribute('aria-valuetext', 'z = 1.00')
  })

  it('moves IPM’s ε on a log scale from its default of 0.5', () => {
    render(<Harness start={{ ...NO_ATTACK, kind: 'ipm', num_attackers: 2 }} />)
    const eps = screen.getByLabelText('Intensity · ε')
    expect(eps).toHaveAttribute('aria-valuetext', 'ε = 0.5')
    expect(eps).toHaveAttribute('max', '1000')
    fireEvent.change(eps, { target: { value: '1000' } })
    expect(latest.epsilon).toBe(100)
    expect(eps).toHaveAttribute('aria-valuetext', 'ε = 100')
  })

  it('chooses Min-Max’s perturbation', async () => {
    const user = userEvent.setup()
    render(<Harness start={{ ...NO_ATTACK, kind: 'min_max', num_attackers: 2 }} />)
    const group = screen.getByRole('group', { name: 'Perturbation p' })
    expect(within(group).getByRole('radio', { name: 'Std' })).toBeChecked()
    await user.click(within(group).getByText('Sign'))
    expect(latest.perturbation).toBe('sign')
  })

  it('bounds the backdoor’s target label by the dataset’s classes and boosts by the nodes unless told', () => {
    render(<Harness start={{ ...NO_ATTACK, kind: 'backdoor', num_attackers: 3 }} />)
    expect(screen.getByLabelText('Target label')).toHaveAttribute('max', '2')
    expect(screen.getByLabelText('Intensity · Data poisoned')).toHaveAttribute('aria-valuetext', '50%')
    expect(screen.getByRole('switch', { name: 'Boost by the number of nodes' })).toBeChecked()
    expect(screen.getByLabelText('Boost')).toBeDisabled()
  })

  it('shows no parameters for a free rider', async () => {
    render(<Harness start={{ ...NO_ATTACK, kind: 'free_rider', num_attackers: 1 }} />)
    expect(screen.getByText(/skips training/)).toBeInTheDocument()
    expect(screen.queryByLabelText(/^Intensity/)).toBeNull()
  })
})
