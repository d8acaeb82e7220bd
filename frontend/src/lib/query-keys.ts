/** TanStack Query keys, in one place so live events can refresh exactly what they change. */
import { VERDICT_EVENT_KINDS } from './log-format'

export const keys = {
  health: ['health'] as const,
  datasets: ['datasets'] as const,
  experiments: ['experiments'] as const,
  experiment: (id: number) => ['experiment', id] as const,
  rounds: (id: number) => ['rounds', id] as const,
  nodes: (id: number) => ['nodes', id] as const,
  verdicts: (id: number, round: number) => ['verdicts', id, round] as const,
  chainRounds: ['chain-rounds'] as const,
  transactionsAll: ['transactions'] as const,
  transactions: (filter: object) => ['transactions', filter] as const,
  walletsAll: ['wallet'] as const,
  wallet: (address: string) => ['wallet', address.toLowerCase()] as const,
}

export type QueryKey = readonly unknown[]

/** The queries an event makes stale (prefix keys: ['rounds', 3] also covers nothing deeper). */
export function staleQueriesFor(kind: string, experimentId: number | null): QueryKey[] {
  const exp = experimentId
  const out: QueryKey[] = []
  const [prefix] = kind.split('.')
  if (prefix === 'experiment' || kind === 'attack.updated') {
    out.push(keys.experiments)
    if (exp !== null) out.push(keys.experiment(exp), keys.rounds(exp))
  }
  if (prefix === 'round' || kind === 'model.aggregated') {
    out.push(keys.experiments)
    if (exp !== null) out.push(keys.experiment(exp), keys.rounds(exp))
  }
  if (VERDICT_EVENT_KINDS.has(kind)) {
    if (exp !== null) out.push(keys.rounds(exp), keys.nodes(exp), ['verdicts', exp])
  }
  if (prefix === 'node' && exp !== null) out.push(keys.nodes(exp))
  if (prefix === 'wallet' || prefix === 'tx') {
    out.push(keys.chainRounds, keys.transactionsAll, keys.walletsAll)
    if (exp !== null) out.push(keys.nodes(exp), keys.rounds(exp))
  }
  const seen = new Set<string>()
  return out.filter((k) => {
    const id = JSON.stringify(k)
    if (seen.has(id)) return false
    seen.add(id)
    return true
  })
}
