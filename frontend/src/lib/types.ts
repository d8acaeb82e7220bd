/**
 * Shapes of the orchestrator's HTTP API and event stream, named for the dashboard. Every one is generated from
 * the orchestrator's OpenAPI schema (src/api/schema.d.ts, `scripts/gen-api-types`); only the dashboard's own
 * state (form choices) and the chain deployment document are written here. FLT amounts are decimal strings.
 */
import type { components } from '../api/schema'

type Schemas = components['schemas']

export type Address = `0x${string}`
export type Hash = `0x${string}`

export type Health = Schemas['HealthPublic']
export type ChainHealth = Schemas['ChainHealth']

export interface DeployedContract {
  address: Address
  abi: readonly unknown[]
}

/** GET /api/chain/deployment: the contracts' addresses and ABIs (the schema leaves it open). */
export interface Deployment {
  chain_id: number
  rpc_url: string
  deployer?: Address
  deployment_block: number
  token: DeployedContract
  staking: DeployedContract
  demo_nodes?: Address[]
}

export type Dataset = Schemas['DatasetPublic']

/**
 * What the shield did with an update: aggregated and rewarded, left out without a penalty, or left out and
 * slashed (only on strong evidence).
 */
export type Outcome = Schemas['Outcome']

export type AttackPlan = Schemas['AttackPlan']
export type AttackKind = NonNullable<AttackPlan['kind']>
/** Min-Max's perturbation direction p: the unit mean, the per-coordinate std, or the mean's sign. */
export type Perturbation = NonNullable<AttackPlan['perturbation']>

export type ExperimentCreate = Schemas['ExperimentCreate']
export type Partition = NonNullable<ExperimentCreate['partition']>

export type ExperimentStatus = Schemas['ExperimentStatus']
export type Experiment = Schemas['ExperimentPublic']

export type SettlementStatus = Schemas['PublicSettlementStatus']
export type Settlement = Schemas['SettlementPublic']
export type RoundStatus = Schemas['RoundStatus']
export type Round = Schemas['RoundPublic']
export type Verdict = Schemas['VerdictPublic']
export type LastVerdict = Schemas['LastVerdict']
export type Node = Schemas['NodePublic']
export type SimulatedNodes = Schemas['SimulatedNodesPublic']
export type SimulatedNodesAdd = Schemas['SimulatedNodesAdd']
export type SimulatedNodesAdded = Schemas['SimulatedNodesAdded']

/** A decoded log; uint256 args are JSON numbers, or decimal strings beyond 2^53. */
export type TxEvent = Schemas['TxEventPublic']
export type ChainTransaction = Schemas['TransactionPublic']
export type ChainRound = Schemas['ChainRoundPublic']
export type WalletEvent = Schemas['ChainEventPublic']
export type WalletReport = Schemas['WalletPublic']

export type ProbeFeature = Schemas['ProbeFeature']
export type ProbeComparison = ProbeFeature['comparison']
export type ProbeRequest = Schemas['ProbeRequest']
export type ProbeResult = Schemas['ProbeResult']

/** One event as the stream and the log send it; `data` holds its kind's fields (see `StreamedEvent`). */
export type FedEvent = Schemas['Event']
export type EventLogPage = Schemas['EventLog']
/** Every kind of event the orchestrator publishes, each with its own `data`. */
export type StreamedEvent = Schemas['StreamedEvent']
export type EventKind = StreamedEvent['kind']

/** A bring-your-own-data preview (`POST /api/dataset-previews`): what an upload would become, stored nowhere. */
export type DatasetPreview = Schemas['DatasetPreview']
export type TableProfile = Schemas['TableProfile']
export type ImageProfile = Schemas['ImageProfile']
export type ColumnProfile = Schemas['ColumnProfile']
export type ColumnKind = ColumnProfile['kind']
export type CategoryCount = Schemas['CategoryCount']

/** What the user chose in the preview; the upload sends the same choices. */
export interface DatasetChoices {
  label_column: string | null
  exclude_columns: string[]
  image_size: number
}

export type UploadedDataset = Dataset
