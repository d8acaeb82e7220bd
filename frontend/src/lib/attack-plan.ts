/** Attack Lab settings: the three attacks, their intensity knob, sensible defaults, and a plan in words. */
import type { AttackKind, AttackPlan, Experiment } from './types'

export interface IntensityKnob {
  field: 'sigma' | 'flip_fraction' | 'scale'
  label: string
  min: number
  max: number
  step: number
  format: (value: number) => string
}

export interface AttackOption {
  kind: Exclude<AttackKind, 'none'>
  name: string
  summary: string
  intensity: IntensityKnob
}

export const ATTACKS: AttackOption[] = [
  {
    kind: 'sign_flip',
    name: 'Sign flipping',
    summary: 'Sends −scale·Δ: pushes the model up the loss instead of down.',
    intensity: { field: 'scale', label: 'Scale', min: 0.1, max: 10, step: 0.1, format: (v) => `×${v.toFixed(1)}` },
  },
  {
    kind: 'gaussian',
    name: 'Gaussian noise',
    summary: 'Adds N(0, σ²) to every weight; norm-matched noise keeps the update honest-sized.',
    intensity: { field: 'sigma', label: 'σ (noise std)', min: 0, max: 10, step: 0.05, format: (v) => `σ = ${v.toFixed(2)}` },
  },
  {
    kind: 'label_flip',
    name: 'Label flipping',
    summary: 'Trains honestly on poisoned labels (y → C−1−y) for a fraction of its data.',
    intensity: {
      field: 'flip_fraction',
      label: 'Labels flipped',
      min: 0.05,
      max: 1,
      step: 0.05,
      format: (v) => `${Math.round(v * 100)}%`,
    },
  },
]

export function attackOption(kind: AttackKind): AttackOption | undefined {
  return ATTACKS.find((a) => a.kind === kind)
}

export const NO_ATTACK: AttackPlan = {
  kind: 'none',
  sigma: 1,
  norm_matched: true,
  flip_fraction: 1,
  scale: 1,
  num_attackers: 0,
  start_round: 1,
}

/** The plan to start from: the experiment's own if it has one, else a sign flip by a fifth of the nodes. */
export function initialPlan(experiment: Pick<Experiment, 'attack' | 'num_nodes' | 'current_round'> | null): AttackPlan {
  const nodes = experiment?.num_nodes ?? 10
  const current = experiment?.attack
  if (current && current.kind !== 'none') return { ...NO_ATTACK, ...current }
  return {
    ...NO_ATTACK,
    kind: 'sign_flip',
    scale: 3,
    num_attackers: Math.max(1, Math.round(nodes * 0.2)),
    start_round: Math.max(1, (experiment?.current_round ?? 0) + 1),
  }
}

/** Exactly the fields the API takes, clamped to what it accepts (attackers ≤ nodes, start ≥ 1). */
export function toRequestPlan(plan: AttackPlan, numNodes: number | null): AttackPlan {
  const attackers = Math.max(0, Math.round(plan.num_attackers))
  return {
    kind: plan.kind,
    sigma: Math.max(0, plan.sigma),
    norm_matched: plan.norm_matched,
    flip_fraction: Math.min(1, Math.max(0, plan.flip_fraction)),
    scale: plan.scale > 0 ? plan.scale : 0.1,
    num_attackers: numNodes === null ? attackers : Math.min(attackers, numNodes),
    start_round: Math.max(1, Math.round(plan.start_round)),
  }
}

export function describePlan(plan: AttackPlan, numNodes?: number | null): string {
  if (plan.kind === 'none' || plan.num_attackers === 0) return 'No attack: every node trains honestly'
  const option = attackOption(plan.kind)!
  const intensity =
    plan.kind === 'gaussian' && plan.norm_matched ? 'norm-matched' : option.intensity.format(plan[option.intensity.field])
  const who = numNodes ? `${plan.num_attackers} of ${numNodes} nodes` : `${plan.num_attackers} node${plan.num_attackers > 1 ? 's' : ''}`
  return `${option.name} (${intensity}) by ${who} from round ${plan.start_round}`
}
