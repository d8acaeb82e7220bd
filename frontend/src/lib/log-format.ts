/** The system log: each orchestrator event as an icon, a tone, a short label, its text and its chain links. */
import { isOutcome, OUTCOME_META, type OutcomeCounts, payloadOutcomes } from './outcomes'
import type { EventKind, FedEvent, Outcome } from './types'

export type LogCategory = 'experiment' | 'round' | 'update' | 'defense' | 'model' | 'wallet' | 'chain' | 'other'
export type LogTone = 'ok' | 'bad' | 'warn' | 'info' | 'accent' | 'neutral'
export type LogIcon =
  | 'play'
  | 'pause'
  | 'stop'
  | 'flag'
  | 'circle-dot'
  | 'inbox'
  | 'check'
  | 'x'
  | 'shield-minus'
  | 'shield-x'
  | 'layers'
  | 'coins'
  | 'flame'
  | 'send'
  | 'link'
  | 'alert'
  | 'swords'
  | 'user-plus'
  | 'info'

export interface LogEntry {
  id: number
  ts: string
  kind: string
  category: LogCategory
  tone: LogTone
  icon: LogIcon
  /** One or two words that say what happened without relying on colour: "Excluded", "Slashed". */
  label: string
  text: string
  /** For a verdict: what it means for the node, then the rule and the reason when the text lacks them. */
  detail: string | null
  /** The verdict's outcome (update.* events), so views can show it with its icon. */
  outcome: Outcome | null
  /** For an aggregation: how many updates got each outcome. */
  counts: OutcomeCounts | null
  experimentId: number | null
  round: number | null
  txHash: `0x${string}` | null
  /** Deep link into the Explorer view, when the event concerns a transaction. */
  txHref: string | null
  address: `0x${string}` | null
}

interface KindStyle {
  category: LogCategory
  tone: LogTone
  icon: LogIcon
  label: string
}

/** A kind an orchestrator from before outcomes sent, where every rejected update was slashed; old logs replay it. */
export type LegacyEventKind = 'update.rejected'

// Every kind the orchestrator publishes (generated from its event registry) must have a style: a new kind is a
// type error here until it gets one.
const KINDS = {
  'experiment.started': { category: 'experiment', tone: 'accent', icon: 'play', label: 'Started' },
  'experiment.resumed': { category: 'experiment', tone: 'accent', icon: 'play', label: 'Resumed' },
  'experiment.paused': { category: 'experiment', tone: 'warn', icon: 'pause', label: 'Paused' },
  'experiment.stopped': { category: 'experiment', tone: 'neutral', icon: 'stop', label: 'Stopped' },
  'experiment.completed': { category: 'experiment', tone: 'ok', icon: 'flag', label: 'Completed' },
  'experiment.failed': { category: 'experiment', tone: 'bad', icon: 'alert', label: 'Failed' },
  'experiment.created': { category: 'experiment', tone: 'neutral', icon: 'info', label: 'Created' },
  'attack.updated': { category: 'defense', tone: 'warn', icon: 'swords', label: 'Attack plan' },
  'node.registered': { category: 'wallet', tone: 'info', icon: 'user-plus', label: 'Node joined' },
  'node.deactivated': { category: 'wallet', tone: 'warn', icon: 'pause', label: 'Node left' },
  'round.opened': { category: 'round', tone: 'info', icon: 'circle-dot', label: 'Round opened' },
  'update.received': { category: 'update', tone: 'neutral', icon: 'inbox', label: 'Received' },
  'update.accepted': { category: 'update', tone: 'ok', icon: 'check', label: 'Accepted' },
  'update.excluded': { category: 'defense', tone: 'warn', icon: 'shield-minus', label: 'Excluded' },
  'update.slashed': { category: 'defense', tone: 'bad', icon: 'shield-x', label: 'Slashed' },
  'update.rejected': { category: 'defense', tone: 'bad', icon: 'x', label: 'Rejected' },
  'model.aggregated': { category: 'model', tone: 'accent', icon: 'layers', label: 'Aggregated' },
  'wallet.rewarded': { category: 'wallet', tone: 'ok', icon: 'coins', label: 'Rewarded' },
  'wallet.slashed': { category: 'wallet', tone: 'bad', icon: 'flame', label: 'Slashed' },
  'tx.sent': { category: 'chain', tone: 'info', icon: 'send', label: 'Tx sent' },
  'tx.confirmed': { category: 'chain', tone: 'ok', icon: 'link', label: 'Tx confirmed' },
  'tx.failed': { category: 'chain', tone: 'bad', icon: 'alert', label: 'Tx failed' },
  'tx.requeued': { category: 'chain', tone: 'warn', icon: 'send', label: 'Tx requeued' },
} satisfies Record<EventKind | LegacyEventKind, KindStyle>

const styleOf = (kind: string): KindStyle | undefined =>
  Object.hasOwn(KINDS, kind) ? KINDS[kind as keyof typeof KINDS] : undefined

/** Every event kind the stream names in its `event:` field: EventSource needs a listener per name. */
export const KNOWN_EVENT_KINDS = Object.keys(KINDS) as (EventKind | LegacyEventKind)[]

const PREFIX_FALLBACK: Record<string, KindStyle> = {
  experiment: { category: 'experiment', tone: 'neutral', icon: 'info', label: 'Experiment' },
  round: { category: 'round', tone: 'info', icon: 'circle-dot', label: 'Round' },
  update: { category: 'update', tone: 'neutral', icon: 'inbox', label: 'Update' },
  model: { category: 'model', tone: 'accent', icon: 'layers', label: 'Model' },
  wallet: { category: 'wallet', tone: 'info', icon: 'coins', label: 'Wallet' },
  tx: { category: 'chain', tone: 'info', icon: 'link', label: 'Transaction' },
}

export const LOG_CATEGORIES: { id: LogCategory; label: string }[] = [
  { id: 'experiment', label: 'Experiments' },
  { id: 'round', label: 'Rounds' },
  { id: 'update', label: 'Updates' },
  { id: 'defense', label: 'Defense' },
  { id: 'model', label: 'Models' },
  { id: 'wallet', label: 'Wallets' },
  { id: 'chain', label: 'Chain' },
  { id: 'other', label: 'Other' },
]

const TX_HASH = /0x[0-9a-fA-F]{64}/
const ADDRESS = /^0x[0-9a-fA-F]{40}$/

function asTxHash(value: unknown): `0x${string}` | null {
  return typeof value === 'string' && /^0x[0-9a-fA-F]{64}$/.test(value) ? (value as `0x${string}`) : null
}

export function explorerTxHref(hash: string): string {
  return `#/explorer?tx=${hash}`
}

export function explorerWalletHref(address: string): string {
  return `#/explorer?wallet=${address}`
}

const VERDICT_OUTCOME: Partial<Record<string, Outcome>> = {
  'update.accepted': 'accepted',
  'update.excluded': 'excluded',
  'update.slashed': 'slashed',
  'update.rejected': 'slashed',
} satisfies Record<Extract<EventKind, `update.${Outcome}`> | LegacyEventKind, Outcome>

const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null)

/** "left out, not slashed · root_alignment: alignment -0.16 below -0.41" — without repeating the message. */
function verdictDetail(outcome: Outcome, message: string, data: Record<string, unknown>): string | null {
  if (outcome === 'accepted') return null
  const rule = text(data.rule)
  const reason = text(data.reason)
  const why = [rule && !message.includes(rule) ? rule : null, reason && !message.includes(reason) ? reason : null]
    .filter(Boolean)
    .join(': ')
  return [OUTCOME_META[outcome].meaning, why].filter(Boolean).join(' · ')
}

export function toLogEntry(event: FedEvent): LogEntry {
  const data = event.data ?? {}
  const prefix = event.kind.split('.')[0]
  const style = styleOf(event.kind) ??
    PREFIX_FALLBACK[prefix] ?? { category: 'other', tone: 'neutral', icon: 'info', label: event.kind }
  const txHash =
    asTxHash(data.tx_hash) ??
    asTxHash(data.tx) ??
    asTxHash(data.transaction_hash) ??
    (style.category === 'chain' ? asTxHash(data.hash) : null) ??
    asTxHash(event.message.match(TX_HASH)?.[0])
  const addressValue = [data.address, data.node_address, data.wallet, data.node].find(
    (v) => typeof v === 'string' && ADDRESS.test(v),
  )
  const kindOutcome = VERDICT_OUTCOME[event.kind]
  const outcome = kindOutcome ? (isOutcome(data.outcome) ? data.outcome : kindOutcome) : null
  return {
    id: event.id,
    ts: event.ts,
    kind: event.kind,
    ...style,
    text: event.message,
    detail: outcome ? verdictDetail(outcome, event.message, data) : null,
    outcome,
    counts: event.kind === 'model.aggregated' ? payloadOutcomes(data) : null,
    experimentId: event.experiment_id,
    round: event.round,
    txHash,
    txHref: txHash ? explorerTxHref(txHash) : null,
    address: (addressValue as `0x${string}` | undefined) ?? null,
  }
}

export interface LogFilter {
  /** Kinds shown; none chosen shows every kind (a chip picks what to see, it never hides). */
  categories: ReadonlySet<LogCategory>
  query: string
  experimentId: number | null
  /** Verdict outcomes shown; none chosen: entries with any outcome or none. */
  outcomes?: ReadonlySet<Outcome>
  /** Only what an attack did and what it cost: plans launched, updates left out, stakes slashed. */
  attacksOnly?: boolean
}

/** Whether an entry tells of an attack or its consequences. */
export function isAttackEntry(e: LogEntry): boolean {
  return e.kind === 'attack.updated' || e.kind === 'wallet.slashed' || e.kind === 'update.rejected' ||
    e.outcome === 'excluded' || e.outcome === 'slashed'
}

export function filterLog(entries: readonly LogEntry[], filter: LogFilter): LogEntry[] {
  const needle = filter.query.trim().toLowerCase()
  return entries.filter(
    (e) =>
      (filter.categories.size === 0 || filter.categories.has(e.category)) &&
      (!filter.outcomes?.size || (e.outcome !== null && filter.outcomes.has(e.outcome))) &&
      (!filter.attacksOnly || isAttackEntry(e)) &&
      (filter.experimentId === null || e.experimentId === null || e.experimentId === filter.experimentId) &&
      (!needle ||
        e.text.toLowerCase().includes(needle) ||
        (e.detail?.toLowerCase().includes(needle) ?? false) ||
        e.label.toLowerCase().includes(needle) ||
        e.kind.includes(needle) ||
        (e.address?.toLowerCase().includes(needle) ?? false) ||
        (e.txHash?.toLowerCase().includes(needle) ?? false)),
  )
}

/** Merges newly arrived events into a bounded, id-ordered, duplicate-free buffer (reconnects replay). */
export function mergeEvents(current: readonly FedEvent[], incoming: readonly FedEvent[], cap = 1000): FedEvent[] {
  if (!incoming.length) return current as FedEvent[]
  const last = current.length ? current[current.length - 1].id : -Infinity
  let merged: FedEvent[]
  if (incoming.every((e, i) => e.id > last && (i === 0 || e.id > incoming[i - 1].id))) {
    merged = [...current, ...incoming]
  } else {
    const byId = new Map<number, FedEvent>()
    for (const e of current) byId.set(e.id, e)
    for (const e of incoming) byId.set(e.id, e)
    merged = [...byId.values()].sort((a, b) => a.id - b.id)
  }
  return merged.length > cap ? merged.slice(merged.length - cap) : merged
}
