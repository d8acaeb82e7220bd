import { describe, expect, it } from 'vitest'
import { describePlan, initialPlan, NO_ATTACK, toRequestPlan } from './attack-plan'

describe('initialPlan', () => {
  it('starts from a sign flip by a fifth of the nodes, from the next round', () => {
    expect(initialPlan({ attack: null, num_nodes: 10, current_round: 3 })).toMatchObject({
      kind: 'sign_flip',
      num_attackers: 2,
      start_round: 4,
    })
  })

  it('keeps the experiment’s own plan', () => {
    const attack = { ...NO_ATTACK, kind: 'label_flip' as const, flip_fraction: 0.3, num_attackers: 3 }
    expect(initialPlan({ attack, num_nodes: 10, current_round: 0 })).toEqual(attack)
  })
})

describe('toRequestPlan', () => {
  it('clamps attackers to the nodes and rounds integers', () => {
    const plan = toRequestPlan({ ...NO_ATTACK, kind: 'sign_flip', num_attackers: 12.4, start_round: 0 }, 10)
    expect(plan.num_attackers).toBe(10)
    expect(plan.start_round).toBe(1)
  })

  it('sends only the API’s fields', () => {
    const withExtra = { ...NO_ATTACK, nodes: ['0x1'] } as typeof NO_ATTACK
    expect(Object.keys(toRequestPlan(withExtra, null)).sort()).toEqual(
      ['flip_fraction', 'kind', 'norm_matched', 'num_attackers', 'scale', 'sigma', 'start_round'].sort(),
    )
  })
})

describe('describePlan', () => {
  it('reads like a sentence', () => {
    expect(describePlan({ ...NO_ATTACK, kind: 'sign_flip', scale: 3, num_attackers: 2, start_round: 4 }, 10)).toBe(
      'Sign flipping (×3.0) by 2 of 10 nodes from round 4',
    )
    expect(describePlan({ ...NO_ATTACK, kind: 'gaussian', norm_matched: true, num_attackers: 1 })).toBe(
      'Gaussian noise (norm-matched) by 1 node from round 1',
    )
    expect(describePlan(NO_ATTACK)).toBe('No attack: every node trains honestly')
  })
})
