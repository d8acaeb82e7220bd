/** Shapes of the orchestrator's HTTP API (docs/API.md). FLT amounts are decimal strings in FLT, not wei. */

export type Address = `0x${string}`
export type Hash = `0x${string}`

export interface ChainHealth {
  chain_id: number
  rpc_url: string
  connected: boolean
  last_block: number | null
}

export interface Health {
  status: string
  version: string
  chain: ChainHealth
}

export interface DeployedContract {
  address: Address
  abi: readonly unknown[]
}

export interface Deployment {
  chain_id: number
  rpc_url: string
  deployer?: Address
  deployment_block: number
  token: DeployedContract
  staking: DeployedContract
  demo_nodes?: Address[]
}

export interface Dataset {
  id: string
  name: string
  source: 'builtin' | 'upload'
  num_samples: number
  input_shape: number[]
  num_classes: number
  is_image: boolean
  class_names: string[]
}

/**
 * What the shield did with an update: aggregated and rewarded, left out without a penalty, or left out and
 * slashed (only on strong evidence).
 */
export type Outcome = 'accepted' | 'excluded' | 'slashed'

export type AttackKind =
  | 'none'
  | 'gaussian'
  | 'label_flip'
  | 'sign_flip'
  | 'alie'
  | 'ipm'
  | 'min_max'
  | 'backdoor'
  | 'free_rider'

/** Min-Max's perturbation direction p: the unit mean, the per-coordinate std, or the mean's sign. */
export type Perturbation = 'unit' | 'std' | 'sign'

export interface AttackPlan {
  kind: AttackKind
  sigma: number
  norm_matched: boolean
  flip_fraction: number
  scale: number
  num_attackers: number
  start_round: number
  /** ipm: the attackers send −ε·μ. */
  epsilon?: number
  /** alie: μ − zσ; null takes the paper's z_max for n nodes and f attackers. */
  z?: number | null
  /** min_max: the direction the attackers push along. */
  perturbation?: Perturbation
  /** backdoor: the update's boost; null boosts by the number of nodes (model replacement). */
  boost?: number | null
  /** backdoor: the label triggered inputs are pushed to. */
  target_label?: number
  /** backdoor: the share of the attacker's data stamped with the trigger. */
  poison_fraction?: number
}

export type Partition = 'iid' | 'dirichlet' | 'shards'

export type ExperimentStatus = 'created' | 'running' | 'paused' | 'stopped' | 'completed' | 'failed'

export interface ExperimentCreate {
  name: string
  dataset_id: string
  num_nodes: number
  partition: Partition
  alpha: number
  rounds: number
  /** Local training: omitted, the server's defaults apply (the product's one training). */
  local_epochs?: number
  batch_size?: number
  learning_rate?: number
  optimizer?: 'sgd' | 'adam'
  momentum?: number
  defense?: Record<string, unknown>
  attack: AttackPlan | null
  seed: number
}

export interface Experiment {
  id: number
  name: string
  status: ExperimentStatus
  /** The round open or last opened (0: not started). */
  current_round: number
  completed_rounds?: number
  rounds: number
  dataset_id?: string
  num_nodes?: number
  registered_nodes?: number
  partition?: Partition
  alpha?: number
  local_epochs?: number
  batch_size?: number
  learning_rate?: number
  defense?: Record<string, unknown>
  attack?: AttackPlan | null
  seed?: number
  reward_flt: string
  slash_flt: string
  initial_model_hash?: Hash
  current_model_hash?: Hash
  accuracy?: number | null
  loss?: number | null
  error?: string | null
  created_at: string
  updated_at?: string
}

export type SettlementStatus = 'pending' | 'sent' | 'confirmed' | 'failed'

export interface Settlement {
  status: SettlementStatus
  chain_round_id?: number | null
  tx_hash: Hash | null
  block_number: number | null
  gas_used: number | null
  results_root?: Hash
  attempts?: number
  last_error?: string | null
  payouts?: Record<string, { rewarded?: string; slashed?: string }> | null
}

export interface Round {
  round: number
  status: 'open' | 'screening' | 'completed' | 'cancelled' | string
  accuracy: number | null
  loss: number | null
  accepted: number
  /** excluded + slashed (kept for older clients). */
  rejected: number
  /** Left out of the aggregate, neither rewarded nor slashed. Absent from an orchestrator before outcomes. */
  excluded?: number
  /** Left out and slashed. Absent from an orchestrator before outcomes, where every rejection slashed. */
  slashed?: number
  tp?: number | null
  fp?: number | null
  tn?: number | null
  fn?: number | null
  base_model_hash?: Hash
  model_hash: Hash | null
  settlement: Settlement | null
  started_at: string | null
  deadline?: string | null
  finished_at: string | null
}

export interface Verdict {
  node_address: Address
  node_label: string
  /** outcome === 'accepted' (kept for older clients). */
  accepted: boolean
  outcome?: Outcome
  rule: string | null
  reason: string | null
  features: Record<string, number | null>
  malicious: boolean | null
}

export interface LastVerdict {
  round: number
  accepted: boolean
  outcome?: Outcome
  rule: string | null
  reason: string | null
}

export interface Node {
  address: Address
  label: string
  kind: 'simulated' | 'external'
  slot?: number | null
  active?: boolean
  /** Follows the attack plan in force (simulated nodes only): the simulation's ground truth. */
  malicious: boolean
  /** null while the orchestrator cannot reach the chain. */
  balance_flt: string | null
  stake_flt: string | null
  pending_flt: string | null
  eligible: boolean | null
  last_verdict: LastVerdict | null
  accepted_rounds?: number
  /** excluded_rounds + slashed_rounds (kept for older clients). */
  rejected_rounds?: number
  excluded_rounds?: number
  slashed_rounds?: number
  rewarded_flt: string
  slashed_flt: string
}

/** A decoded log; uint256 args are JSON numbers, or decimal strings beyond 2^53. */
export interface TxEvent {
  name: string
  contract: string
  args: Record<string, unknown>
  log_index: number
}

export interface ChainTransaction {
  hash: Hash
  block_number: number
  gas_used: number
  from: Address
  to: Address | null
  experiment_id?: number | null
  round?: number | null
  chain_round_id?: number | null
  events: TxEvent[]
}

export interface ChainRound {
  round_id: number
  experiment_id: number | null
  round?: number | null
  model_hash: Hash
  results_root: Hash
  tx_hash: Hash
  block_number: number
  /** null when this orchestrator has no record of the round (settled by another). */
  model_matches: boolean | null
}

export interface WalletEvent extends TxEvent {
  tx_hash: Hash
  block_number: number
}

export interface WalletReport {
  address?: Address
  status: {
    balance_flt: string
    stake_flt: string
    pending_flt: string
    /** Unix seconds; 0 when nothing is pending. */
    unlock_at: number
    eligible: boolean
  }
  history: WalletEvent[]
}

export type ProbeComparison = 'max' | 'min'

export interface ProbeFeature {
  name: string
  /** null when the engine found no finite value (always caught). */
  value: number | null
  threshold: number | null
  comparison: ProbeComparison
  caught: boolean
  /** The detection rule this feature feeds (several features may share one, e.g. both sides of a z-score). */
  rule?: string | null
  /** What tripping this check leads to. Absent from an orchestrator before outcomes, where every trip slashed. */
  outcome?: Exclude<Outcome, 'accepted'>
  /** Past this value (on the same side as `threshold`) the update is slashed, not only excluded; null: never. */
  slash_threshold?: number | null
}

export interface ProbeRequest {
  experiment_id: number | null
  dataset_id: string
  attack: AttackPlan
}

export interface ProbeResult {
  /** 'rejected' comes from an orchestrator before outcomes, where a rejected update was slashed. */
  predicted: Outcome | 'rejected'
  rule: string | null
  reason: string | null
  features: ProbeFeature[]
  latency_ms: number
  /** Whether the probe's inputs (honest cohort, model) came from the cache. */
  cached?: boolean
}

/** Event kinds the orchestrator streams about updates; `update.rejected` is what it sent before outcomes. */
export type UpdateEventKind = 'update.received' | 'update.accepted' | 'update.excluded' | 'update.slashed' | 'update.rejected'

/** The payload of update.accepted / update.excluded / update.slashed. */
export interface UpdateVerdictData {
  experiment_id?: number
  round?: number
  address?: Address
  label?: string
  rule?: string | null
  reason?: string | null
  outcome?: Outcome
}

/** The payload of model.aggregated; `rejected` = excluded + slashed. */
export interface AggregatedData {
  model_hash?: Hash
  version?: number
  accuracy?: number
  loss?: number
  accepted?: number
  rejected?: number
  excluded?: number
  slashed?: number
  results_root?: Hash
}

export interface FedEvent {
  id: number
  ts: string
  kind: string
  experiment_id: number | null
  round: number | null
  message: string
  data: Record<string, unknown>
}

export interface EventLogPage {
  events: FedEvent[]
  /** Pass as `after` for the next page. */
  next_after: number
}

/** A bring-your-own-data preview (`POST /api/dataset-previews`): what an upload would become, stored nowhere. */
export type ColumnKind = 'numeric' | 'boolean' | 'categorical' | 'label' | 'dropped'

export interface CategoryCount {
  value: string
  count: number
}

export interface ColumnProfile {
  name: string
  kind: ColumnKind
  reason: string | null
  missing: number
  distinct: number
  top: CategoryCount[]
  vocabulary_size: number | null
  minimum: number | null
  maximum: number | null
  mean: number | null
}

export interface TableProfile {
  file_name: string
  format: 'csv' | 'parquet'
  encoding: string | null
  delimiter: string | null
  rows: number
  label_column: string
  columns: ColumnProfile[]
  class_balance: CategoryCount[]
  rows_without_label: number
  sample_rows: Record<string, string | null>[]
  num_features: number
  warnings: string[]
}

export interface ImageProfile {
  file_name: string
  images: number
  class_balance: CategoryCount[]
  channels: number
  size: number
  modes: Record<string, number>
  sizes: Record<string, number>
  skipped: string[]
}

export interface DatasetPreview {
  kind: 'table' | 'images' | 'arrays'
  name: string
  num_samples: number
  input_shape: number[]
  num_classes: number
  class_names: string[]
  label_column: string | null
  table: TableProfile | null
  images: ImageProfile | null
}

/** What the user chose in the preview; the upload sends the same choices. */
export interface DatasetChoices {
  label_column: string | null
  exclude_columns: string[]
  image_size: number
}

export interface UploadedDataset extends Dataset {
  feature_names: string[]
  label_column: string | null
}
