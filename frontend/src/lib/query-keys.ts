/** TanStack Query keys, in one place so live events can refresh exactly what they change. */
import type { LegacyEventKind } from './log-format'
import type { EventKind } from './types'

export const keys = {
  health: ['health'] as const,
  datasets: ['datasets'] as const,
  experiments: ['experiments'] as const,
  experiment: (id: number) => ['experiment', id] as const,
  rounds: (id: number) => ['rounds', id] as const,
  nodes: (id: number) => ['nodes', id] as const,
  simulatedNodes: (id: number) => ['simulated-nodes', id] as const,
  eventHistory: (id: number) => ['event-history', id] as const,
  verdicts: (id: number, round: number) => ['verdicts', id, round] as const,
  chainRounds: ['chain-rounds'] as const,
  transactionsAll: ['transactions'] as const,
  transactions: (filter: object) => ['transactions', filter] as const,
  walletsAll: ['wallet'] as const,
  wallet: (address: string) => ['wallet', address.toLowerCase()] as const,
}

export type QueryKey = readonly unknown[]

/** What an event changes, standing for the queries that show it; each kind changes one of these, or nothing. */
type Change = 'experiment' | 'verdicts' | 'nodes' | 'chain'

// Every kind the orchestrator publishes (generated from its event registry) says what it changes: a new kind is a
// type error here until it does.
const CHANGES = {
  'experiment.created': 'experiment',
  'experiment.started': 'experiment',
  'experiment.paused': 'experiment',
  'experiment.resumed': 'experiment',
  'experiment.stopped': 'experiment',
  'experiment.completed': 'experiment',
  'experiment.failed': 'experiment',
  'attack.updated': 'experiment',
  'round.opened': 'experiment',
  'model.aggregated': 'experiment',
  'node.registered': 'nodes',
  'node.deactivated': 'nodes',
  'update.received': null,
  'update.accepted': 'verdicts',
  'update.excluded': 'verdicts',
  'update.slashed': 'verdicts',
  'update.rejected': 'verdicts',
  'wallet.rewarded': 'chain',
  'wallet.slashed': 'chain',
  'tx.sent': 'chain',
  'tx.confirmed': 'chain',
  'tx.failed': 'chain',
  'tx.requeued': 'chain',
} satisfies Record<EventKind | LegacyEventKind, Change | null>

/** The queries that show `change`, each once. */
function queriesOf(change: Change, exp: number | null): QueryKey[] {
  switch (change) {
    case 'experiment':
      return exp === null ? [keys.experiments] : [keys.experiments, keys.experiment(exp), keys.rounds(exp)]
    case 'verdicts':
      return exp === null ? [] : [keys.rounds(exp), keys.nodes(exp), ['verdicts', exp]]
    case 'nodes':
      return exp === null ? [] : [keys.nodes(exp), keys.simulatedNodes(exp)]
    case 'chain': {
      const chain: QueryKey[] = [keys.chainRounds, keys.transactionsAll, keys.walletsAll]
      return exp === null ? chain : [...chain, keys.nodes(exp), keys.rounds(exp)]
    }
  }
}

/** The queries an event makes stale (prefix keys: ['rounds', 3] also covers nothing deeper); none for a kind
 * this dashboard does not know. */
export function staleQueriesFor(kind: string, experimentId: number | null): QueryKey[] {
  const change: Change | null = Object.hasOwn(CHANGES, kind) ? CHANGES[kind as keyof typeof CHANGES] : null
  return change === null ? [] : queriesOf(change, experimentId)
}
