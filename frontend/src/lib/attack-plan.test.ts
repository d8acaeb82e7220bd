import { describe, expect, it } from 'vitest'
import {
  attackersText,
  firstAttackRound,
  ATTACKS,
  describePlan,
  formatScalar,
  fromLogPosition,
  initialPlan,
  NO_ATTACK,
  toLogPosition,
  toRequestPlan,
  withDefaults,
} from './attack-plan'

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

  it('fills the parameters a plan from before the new attacks lacks', () => {
    const old = { kind: 'sign_flip' as const, sigma: 1, norm_matched: true, flip_fraction: 1, scale: 2, num_attackers: 1, start_round: 1 }
    expect(initialPlan({ attack: old, num_nodes: 10, current_round: 0 })).toEqual({ ...NO_ATTACK, ...old })
    expect(withDefaults({ ...old, kind: 'alie', z: null })).toMatchObject({ z: null, epsilon: 0.5, perturbation: 'std' })
  })
})

describe('ATTACKS', () => {
  it('offers every attack kind the orchestrator knows, each once', () => {
    expect(ATTACKS.map((a) => a.kind).sort()).toEqual(
      ['alie', 'backdoor', 'fang_trim', 'free_rider', 'gaussian', 'ipm', 'label_flip', 'min_max', 'min_sum', 'sign_flip'].sort(),
    )
  })

  it('lets ALIE’s z and the backdoor’s boost and norm cap be left to the attack', () => {
    const params = ATTACKS.flatMap((a) => a.params.map((p) => [a.kind, p.field, p.type === 'range' && Boolean(p.auto)] as const))
    expect(params.filter(([, , auto]) => auto).map(([kind, field]) => `${kind}.${field}`)).toEqual(['alie.z', 'backdoor.boost', 'backdoor.norm_cap'])
  })
})

describe('toRequestPlan', () => {
  it('clamps attackers to the nodes and rounds integers', () => {
    const plan = toRequestPlan({ ...NO_ATTACK, kind: 'sign_flip', num_attackers: 12.4, start_round: 0 }, 10)
    expect(plan.num_attackers).toBe(10)
    expect(plan.start_round).toBe(1)
  })

  const common = ['flip_fraction', 'kind', 'norm_matched', 'num_attackers', 'scale', 'sigma', 'start_round']

  it('sends only the API’s fields, and of the new parameters only the chosen attack’s', () => {
    const withExtra = { ...NO_ATTACK, nodes: ['0x1'] } as typeof NO_ATTACK
    expect(Object.keys(toRequestPlan(withExtra, null)).sort()).toEqual(common.sort())
    expect(Object.keys(toRequestPlan({ ...NO_ATTACK, kind: 'ipm' }, null)).sort()).toEqual([...common, 'epsilon'].sort())
    expect(Object.keys(toRequestPlan({ ...NO_ATTACK, kind: 'backdoor' }, null)).sort()).toEqual(
      [...common, 'boost', 'norm_cap', 'poison_fraction', 'target_label'].sort(),
    )
    expect(Object.keys(toRequestPlan({ ...NO_ATTACK, kind: 'free_rider' }, null)).sort()).toEqual(common.sort())
  })

  it('sends "auto" as null and clamps the new parameters', () => {
    expect(toRequestPlan({ ...NO_ATTACK, kind: 'alie', z: null }, 10).z).toBeNull()
    expect(toRequestPlan({ ...NO_ATTACK, kind: 'alie', z: -1 }, 10).z).toBe(0)
    expect(toRequestPlan({ ...NO_ATTACK, kind: 'ipm', epsilon: 100 }, 10).epsilon).toBe(100)
    expect(toRequestPlan({ ...NO_ATTACK, kind: 'min_max', perturbation: 'sign' }, 10).perturbation).toBe('sign')
    const backdoor = toRequestPlan({ ...NO_ATTACK, kind: 'backdoor', target_label: 2.6, poison_fraction: 1.4, boost: null }, 10)
    expect(backdoor).toMatchObject({ target_label: 3, poison_fraction: 1, boost: null, norm_cap: null })
    expect(toRequestPlan({ ...NO_ATTACK, kind: 'min_sum', perturbation: 'unit' }, 10).perturbation).toBe('unit')
  })
})

describe('log-scale sliders', () => {
  it('maps IPM’s ε = 0.5 and ε = 100 onto the slider and back exactly', () => {
    for (const eps of [0.1, 0.5, 1, 100]) expect(fromLogPosition(toLogPosition(eps, 0.1, 100), 0.1, 100)).toBe(eps)
    expect(toLogPosition(0.1, 0.1, 100)).toBe(0)
    expect(toLogPosition(100, 0.1, 100)).toBe(1000)
    expect(toLogPosition(1e9, 0.1, 100)).toBe(1000)
  })

  it('formats scalars without noise digits', () => {
    expect(formatScalar(0.5)).toBe('0.5')
    expect(formatScalar(100)).toBe('100')
    expect(formatScalar(3.1623)).toBe('3.16')
  })
})

describe('describePlan', () => {
  it('reads like a sentence', () => {
    expect(describePlan({ ...NO_ATTACK, kind: 'sign_flip', scale: 3, num_attackers: 2, start_round: 4 }, 10)).toBe(
      'Sign flipping (×3.0) by 2 of 10 nodes from round 4',
    )
    expect(describePlan({ ...NO_ATTACK, kind: 'gaussian', norm_matched: true, num_attackers: 1 })).toBe(
      'Gaussian noise (norm-matched) by 1 attacker from round 1',
    )
    expect(describePlan(NO_ATTACK)).toBe('No attack: every node trains honestly')
  })

  it('names the new attacks’ parameters', () => {
    const n = { ...NO_ATTACK, num_attackers: 3, start_round: 2 }
    expect(describePlan({ ...n, kind: 'alie', z: null }, 10)).toBe('A little is enough (z = z_max) by 3 of 10 nodes from round 2')
    expect(describePlan({ ...n, kind: 'alie', z: 1.5 }, 10)).toBe('A little is enough (z = 1.50) by 3 of 10 nodes from round 2')
    expect(describePlan({ ...n, kind: 'ipm', epsilon: 100 }, 10)).toBe('Inner product manipulation (ε = 100) by 3 of 10 nodes from round 2')
    expect(describePlan({ ...n, kind: 'min_max', perturbation: 'unit' }, 10)).toBe('Min-Max (p = unit) by 3 of 10 nodes from round 2')
    expect(describePlan({ ...n, kind: 'backdoor', target_label: 7, poison_fraction: 0.5, boost: null }, 10)).toBe(
      'Backdoor (model replacement) (target class 7, 50% poisoned, boost auto (×n)) by 3 of 10 nodes from round 2',
    )
    expect(describePlan({ ...n, kind: 'free_rider' }, 10)).toBe('Free rider (no training) by 3 of 10 nodes from round 2')
  })
})

describe('firstAttackRound', () => {
  it('is the next round opened when the slider points at the open round or before', () => {
    expect(firstAttackRound(13, 13)).toBe(14)
    expect(firstAttackRound(13, 71)).toBe(72)
  })
  it('keeps a later start', () => {
    expect(firstAttackRound(20, 13)).toBe(20)
    expect(firstAttackRound(1, 0)).toBe(1)
  })
})

describe('attackersText', () => {
  it('counts attackers in words, never as a multiplier', () => {
    expect(attackersText({ num_attackers: 2 })).toBe('2 attackers')
    expect(attackersText({ num_attackers: 1 }, 10)).toBe('1 of 10 nodes')
    expect(attackersText({ num_attackers: 0, nodes: ['0xa', '0xb'] })).toBe('2 chosen nodes')
  })
})
