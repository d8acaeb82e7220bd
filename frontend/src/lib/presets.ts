/** Ready-made experiments for the Experiments view: a clean baseline and attacks the shield should catch. */
import { NO_ATTACK } from './attack-plan'
import type { ExperimentCreate } from './types'

export interface Preset {
  id: string
  label: string
  description: string
  config: PresetConfig
}

/** What a preset sets: the fields the form shows are always given; the rest are left to the server. */
export type PresetConfig = Omit<ExperimentCreate, 'name'> &
  Required<Pick<ExperimentCreate, 'num_nodes' | 'rounds' | 'partition' | 'attack'>>

// Local training is left to the server: its defaults are the product's one training (DEFAULT_TRAIN),
// the same the CLI and every bench run.
const base: PresetConfig = {
  dataset_id: 'digits',
  num_nodes: 10,
  partition: 'iid',
  alpha: 0.5,
  rounds: 10,
  attack: null,
  seed: 0,
}

export const PRESETS: Preset[] = [
  {
    id: 'digits-iid-clean',
    label: 'Digits · IID · clean',
    description: '10 honest nodes, evenly split data: the baseline every attack is measured against.',
    config: base,
  },
  {
    id: 'digits-dirichlet-signflip',
    label: 'Digits · Dirichlet · sign-flip 30%',
    description: 'Skewed data (α = 0.5) and 3 of 10 nodes sending −3·Δ from round 1.',
    config: { ...base, partition: 'dirichlet', attack: { ...NO_ATTACK, kind: 'sign_flip', scale: 3, num_attackers: 3, start_round: 1 } },
  },
  {
    id: 'digits-iid-labelflip',
    label: 'Digits · IID · label-flip 20%',
    description: '2 of 10 nodes train on flipped labels (y → 9 − y) from round 2.',
    config: { ...base, attack: { ...NO_ATTACK, kind: 'label_flip', flip_fraction: 1, num_attackers: 2, start_round: 2 } },
  },
  {
    id: 'digits-iid-stealth-noise',
    label: 'Digits · IID · norm-matched noise',
    description: '2 of 10 nodes add honest-sized Gaussian noise: invisible to a plain norm check.',
    config: { ...base, attack: { ...NO_ATTACK, kind: 'gaussian', norm_matched: true, num_attackers: 2, start_round: 1 } },
  },
]

/** A name that tells runs apart in lists and chart legends. */
export function presetName(preset: Preset, existing: readonly string[]): string {
  let n = 1
  let name = preset.label
  while (existing.includes(name)) name = `${preset.label} (${++n})`
  return name
}
