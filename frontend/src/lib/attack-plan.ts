/** Attack Lab settings: each attack, its parameters with their ranges, sensible defaults, and a plan in words. */
import type { AttackKind, AttackPlan, Experiment, Perturbation } from './types'

/** A plan with every parameter set, as the controls hold it (the API fills what a request leaves out). */
export type AttackSettings = Required<Omit<AttackPlan, 'nodes'>>

export type NumberParamField = 'sigma' | 'flip_fraction' | 'scale' | 'epsilon' | 'z' | 'boost' | 'norm_cap' | 'target_label' | 'poison_fraction'

export interface RangeParam {
  type: 'range'
  field: NumberParamField
  label: string
  min: number
  max: number
  step: number
  format: (value: number) => string
  /** The attack's main knob, labelled "Intensity · …". */
  primary?: boolean
  /** A slider over a span of orders of magnitude (IPM's ε from 0.1 to 100) moves on a log scale. */
  log?: boolean
  /** The parameter may be left to the attack (null): the switch's label, and what "auto" means. */
  auto?: { label: string; meaning: string; start: number }
  /** The slider's upper end depends on the experiment (a label below the number of classes). */
  maxFrom?: 'classes' | 'nodes'
}

export interface ChoiceParam {
  type: 'choice'
  field: 'perturbation'
  label: string
  options: { value: Perturbation; label: string; hint: string }[]
}

export type AttackParam = RangeParam | ChoiceParam

export interface AttackOption {
  kind: Exclude<AttackKind, 'none'>
  name: string
  summary: string
  /** The paper the attack comes from, for the curious. */
  source?: string
  params: AttackParam[]
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v))
const percent = (v: number) => `${Math.round(v * 100)}%`

/** Min-Max's and Min-Sum's direction p: the one choice both attacks share. */
const PERTURBATION: ChoiceParam = {
  type: 'choice',
  field: 'perturbation',
  label: 'Perturbation p',
  options: [
    { value: 'std', label: 'Std', hint: 'the per-coordinate std of the honest updates' },
    { value: 'unit', label: 'Unit mean', hint: 'the honest mean, normalised' },
    { value: 'sign', label: 'Sign', hint: 'the sign of the honest mean' },
  ],
}

export const ATTACKS: AttackOption[] = [
  {
    kind: 'sign_flip',
    name: 'Sign flipping',
    summary: 'Sends −scale·Δ: pushes the model up the loss instead of down.',
    params: [{ type: 'range', field: 'scale', primary: true, label: 'Scale', min: 0.1, max: 10, step: 0.1, format: (v) => `×${v.toFixed(1)}` }],
  },
  {
    kind: 'gaussian',
    name: 'Gaussian noise',
    summary: 'Adds N(0, σ²) to every weight; norm-matched noise keeps the update honest-sized.',
    params: [{ type: 'range', field: 'sigma', primary: true, label: 'σ (noise std)', min: 0, max: 10, step: 0.05, format: (v) => `σ = ${v.toFixed(2)}` }],
  },
  {
    kind: 'label_flip',
    name: 'Label flipping',
    summary: 'Trains honestly on poisoned labels (y → C−1−y) for a fraction of its data.',
    params: [{ type: 'range', field: 'flip_fraction', primary: true, label: 'Labels flipped', min: 0.05, max: 1, step: 0.05, format: percent }],
  },
  {
    kind: 'alie',
    name: 'A little is enough',
    summary: 'Colluders send μ − zσ per coordinate: inside the honest spread, yet all pulling one way.',
    source: 'Baruch et al., NeurIPS 2019',
    params: [
      {
        type: 'range',
        field: 'z',
        primary: true,
        label: 'z (std devs from the mean)',
        min: 0,
        max: 5,
        step: 0.05,
        format: (v) => `z = ${v.toFixed(2)}`,
        auto: { label: 'Paper’s z_max', meaning: 'z from the paper’s z_max for n nodes and f attackers', start: 1 },
      },
    ],
  },
  {
    kind: 'ipm',
    name: 'Inner product manipulation',
    summary: 'Colluders send −ε·μ, turning the aggregate’s inner product with the true gradient negative.',
    source: 'Xie et al., UAI 2020',
    params: [{ type: 'range', field: 'epsilon', primary: true, label: 'ε', min: 0.1, max: 100, step: 0.01, log: true, format: (v) => `ε = ${formatScalar(v)}` }],
  },
  {
    kind: 'min_max',
    name: 'Min-Max',
    summary: 'μ − γp with γ as large as keeps it no farther from any honest update than they are from each other.',
    source: 'Shejwalkar & Houmansadr, NDSS 2021',
    params: [PERTURBATION],
  },
  {
    kind: 'min_sum',
    name: 'Min-Sum',
    summary: 'μ − γp with γ as large as keeps its summed distance to the honest updates within any honest one’s.',
    source: 'Shejwalkar & Houmansadr, NDSS 2021',
    params: [PERTURBATION],
  },
  {
    kind: 'fang_trim',
    name: 'Fang’s trimmed-mean attack',
    summary: 'Each coordinate just past the honest extreme, against the way the honest mean moves the model.',
    source: 'Fang et al., USENIX Security 2020',
    params: [],
  },
  {
    kind: 'backdoor',
    name: 'Backdoor (model replacement)',
    summary: 'Trains on triggered inputs relabelled to a target, then boosts its update to replace the model.',
    source: 'Bagdasaryan et al., AISTATS 2020',
    params: [
      { type: 'range', field: 'target_label', label: 'Target label', min: 0, max: 9, step: 1, format: (v) => `class ${v}`, maxFrom: 'classes' },
      { type: 'range', field: 'poison_fraction', primary: true, label: 'Data poisoned', min: 0.05, max: 1, step: 0.05, format: percent },
      {
        type: 'range',
        field: 'boost',
        label: 'Boost',
        min: 1,
        max: 50,
        step: 1,
        format: (v) => `×${v}`,
        maxFrom: 'nodes',
        auto: { label: 'Boost by the number of nodes', meaning: 'boosted by the number of nodes, which replaces the model', start: 10 },
      },
      {
        type: 'range',
        field: 'norm_cap',
        label: 'Norm cap',
        min: 0.5,
        max: 5,
        step: 0.1,
        format: (v) => `${v.toFixed(1)}× the honest norm`,
        auto: { label: 'No norm cap', meaning: 'not capped: the boost decides its size', start: 1.5 },
      },
    ],
  },
  {
    kind: 'free_rider',
    name: 'Free rider',
    summary: 'Does no training and sends a zero or tiny update, hoping to be paid anyway.',
    params: [],
  },
]

/** A log-scale slider's position (0–1000) for a value in [min, max], and back (two significant digits). */
export const LOG_STEPS = 1000

export function toLogPosition(value: number, min: number, max: number): number {
  const v = clamp(value, min, max)
  return Math.round(((Math.log10(v) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))) * LOG_STEPS)
}

export function fromLogPosition(position: number, min: number, max: number): number {
  const exponent = Math.log10(min) + (clamp(position, 0, LOG_STEPS) / LOG_STEPS) * (Math.log10(max) - Math.log10(min))
  return clamp(Number((10 ** exponent).toPrecision(2)), min, max)
}

/** 0.5 → "0.5", 100 → "100", 3.1623 → "3.16": few digits, none that say nothing. */
export function formatScalar(value: number): string {
  if (Math.abs(value) >= 10) return String(Math.round(value))
  return String(Number(value.toFixed(2)))
}

export function attackOption(kind: AttackKind): AttackOption | undefined {
  return ATTACKS.find((a) => a.kind === kind)
}

export const NO_ATTACK: AttackSettings = {
  kind: 'none',
  sigma: 1,
  norm_matched: true,
  flip_fraction: 1,
  scale: 1,
  num_attackers: 0,
  start_round: 1,
  epsilon: 0.5,
  z: null,
  perturbation: 'std',
  boost: null,
  norm_cap: null,
  target_label: 0,
  poison_fraction: 0.5,
}

/** The plan to start from: the experiment's own if it has one, else a sign flip by a fifth of the nodes. */
export function initialPlan(experiment: Pick<Experiment, 'attack' | 'num_nodes' | 'current_round'> | null): AttackSettings {
  const nodes = experiment?.num_nodes ?? 10
  const current = experiment?.attack
  if (current && current.kind !== 'none') return withDefaults(current)
  return {
    ...NO_ATTACK,
    kind: 'sign_flip',
    scale: 3,
    num_attackers: Math.max(1, Math.round(nodes * 0.2)),
    start_round: Math.max(1, (experiment?.current_round ?? 0) + 1),
  }
}

/**
 * The first round a plan launched now really attacks in: a plan applies from the next round opened, so never
 * before `currentRound + 1` (the round open now keeps the plan it opened with), whatever the slider still says.
 */
export function firstAttackRound(startRound: number, currentRound: number): number {
  return Math.max(1, Math.round(startRound), currentRound + 1)
}

/** A plan from the API, its missing (or null-less) parameters filled with the defaults. */
export function withDefaults(plan: AttackPlan): AttackSettings {
  const out = { ...NO_ATTACK }
  for (const [key, value] of Object.entries(plan) as [keyof AttackSettings, unknown][]) {
    if (key in NO_ATTACK && value !== undefined) (out as Record<string, unknown>)[key] = value
  }
  return out
}

/**
 * Exactly the fields the API takes, clamped to what it accepts (attackers ≤ nodes, start ≥ 1). The parameters
 * of other attacks are left out: the orchestrator fills its defaults, and one from before these attacks, which
 * forbids fields it does not know, still takes the attacks it has.
 */
export function toRequestPlan(plan: AttackSettings, numNodes: number | null): AttackPlan {
  const attackers = Math.max(0, Math.round(plan.num_attackers))
  const request: AttackPlan = {
    kind: plan.kind,
    sigma: Math.max(0, plan.sigma),
    norm_matched: plan.norm_matched,
    flip_fraction: clamp(plan.flip_fraction, 0, 1),
    scale: plan.scale > 0 ? plan.scale : 0.1,
    num_attackers: numNodes === null ? attackers : Math.min(attackers, numNodes),
    start_round: Math.max(1, Math.round(plan.start_round)),
  }
  switch (plan.kind) {
    case 'alie':
      request.z = plan.z === null ? null : Math.max(0, plan.z)
      break
    case 'ipm':
      request.epsilon = plan.epsilon > 0 ? plan.epsilon : 0.5
      break
    case 'min_max':
    case 'min_sum':
      request.perturbation = plan.perturbation
      break
    case 'backdoor':
      request.target_label = Math.max(0, Math.round(plan.target_label))
      request.poison_fraction = clamp(plan.poison_fraction, 0, 1)
      request.boost = plan.boost === null ? null : Math.max(1, plan.boost)
      request.norm_cap = plan.norm_cap === null ? null : Math.max(0.1, plan.norm_cap)
      break
    default:
      break
  }
  return request
}

/** The attack's parameters in a few words: "z = auto", "ε = 100", "target class 0, 50% poisoned, ×auto". */
export function describeIntensity(given: AttackPlan): string {
  const plan = withDefaults(given)
  switch (plan.kind) {
    case 'sign_flip':
      return `×${plan.scale.toFixed(1)}`
    case 'gaussian':
      return plan.norm_matched ? 'norm-matched' : `σ = ${plan.sigma.toFixed(2)}`
    case 'label_flip':
      return `${percent(plan.flip_fraction)} of labels`
    case 'alie':
      return plan.z === null ? 'z = z_max' : `z = ${plan.z.toFixed(2)}`
    case 'ipm':
      return `ε = ${formatScalar(plan.epsilon)}`
    case 'min_max':
    case 'min_sum':
      return `p = ${plan.perturbation}`
    case 'fang_trim':
      return 'past the honest extremes'
    case 'backdoor':
      return `target class ${plan.target_label}, ${percent(plan.poison_fraction)} poisoned, ${
        plan.norm_cap === null ? `boost ${plan.boost === null ? 'auto (×n)' : `×${plan.boost}`}` : `capped at ${plan.norm_cap.toFixed(1)}× the honest norm`
      }`
    case 'free_rider':
      return 'no training'
    default:
      return ''
  }
}

export function describePlan(given: AttackPlan, numNodes?: number | null): string {
  const plan = withDefaults(given)
  if (plan.kind === 'none' || plan.num_attackers === 0) return 'No attack: every node trains honestly'
  const option = attackOption(plan.kind)!
  return `${option.name} (${describeIntensity(plan)}) by ${attackersText(plan, numNodes)} from round ${plan.start_round}`
}

/** Who attacks, in words ("2 of 10 nodes", "1 attacker", "3 chosen nodes"): a count is never written as "×2",
 * which reads as the sign flip's scale. */
export function attackersText(plan: Pick<AttackPlan, 'num_attackers' | 'nodes'>, numNodes?: number | null): string {
  if (plan.nodes?.length) return `${plan.nodes.length} chosen node${plan.nodes.length > 1 ? 's' : ''}`
  const n = plan.num_attackers ?? 0
  return numNodes ? `${n} of ${numNodes} nodes` : `${n} attacker${n === 1 ? '' : 's'}`
}
