/** Decoded contract events for display: amounts in FLT, addresses and hashes linkable, times as dates. */
import { formatFlt } from './flt'
import { formatDateTime } from './numbers'

const FLT_ARGS = new Set(['amount', 'newStake', 'pendingTotal', 'totalSlashed', 'value', 'previous', 'current', 'requested', 'available'])
const TIME_ARGS = new Set(['unlockAt', 'currentTime'])

export type ArgView =
  | { kind: 'flt'; text: string }
  | { kind: 'address'; text: string; value: `0x${string}` }
  | { kind: 'hash'; text: string; value: `0x${string}` }
  | { kind: 'time'; text: string }
  | { kind: 'plain'; text: string }

/** uint256 arrives as a JSON number, or as a decimal string beyond 2^53 — both become a bigint. */
export function toBigInt(value: unknown): bigint | null {
  if (typeof value === 'bigint') return value
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value)
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value)
  return null
}

export function formatEventArg(event: string, name: string, value: unknown): ArgView {
  if (typeof value === 'string' && /^0x[0-9a-fA-F]{40}$/.test(value)) {
    return { kind: 'address', text: value, value: value as `0x${string}` }
  }
  if (typeof value === 'string' && /^0x[0-9a-fA-F]{64}$/.test(value)) {
    return { kind: 'hash', text: value, value: value as `0x${string}` }
  }
  const big = toBigInt(value)
  // Counts ("rewardedCount") and ids ("roundId") stay integers; FLT fields are wei. The parameter events of
  // the cooldown carry seconds, not wei.
  if (big !== null && FLT_ARGS.has(name) && event !== 'CooldownUpdated') return { kind: 'flt', text: formatFlt(big, { maxDecimals: 4 }) }
  if (big !== null && TIME_ARGS.has(name)) return { kind: 'time', text: formatDateTime(Number(big)) }
  if (typeof value === 'object' && value !== null) return { kind: 'plain', text: JSON.stringify(value) }
  return { kind: 'plain', text: String(value) }
}

export type EventTone = 'ok' | 'bad' | 'info' | 'accent' | 'neutral'

export function eventTone(name: string): EventTone {
  switch (name) {
    case 'RewardPaid':
      return 'ok'
    case 'Slashed':
      return 'bad'
    case 'RoundSettled':
      return 'accent'
    case 'Staked':
    case 'UnstakeRequested':
    case 'Withdrawn':
      return 'info'
    default:
      return 'neutral'
  }
}

/** "Slashed 15 FLT" / "Rewarded 10 FLT": one line for a wallet's history. */
/** An experiment's round, as everything outside the chain counts rounds. */
export interface ExperimentRound {
  experiment_id: number | null
  round: number | null
}

/** The round a wallet event belongs to, in experiment rounds ("round 3 of experiment #1") when the chain
 * round id is known to be one of ours, else by the chain's own round id. */
export function roundText(chainRoundId: unknown, rounds?: ReadonlyMap<number, ExperimentRound>): string {
  const id = toBigInt(chainRoundId)
  if (id === null) return ''
  const ours = rounds?.get(Number(id))
  if (ours?.round != null && ours.experiment_id != null) return `round ${ours.round} of experiment #${ours.experiment_id}`
  return `chain round ${id}`
}

export function describeWalletEvent(
  name: string,
  args: Record<string, unknown>,
  rounds?: ReadonlyMap<number, ExperimentRound>,
): string {
  const amount = toBigInt(args.amount)
  const flt = amount !== null ? formatFlt(amount) : ''
  const round = roundText(args.roundId, rounds)
  switch (name) {
    case 'RewardPaid':
      return `Rewarded ${flt}${round ? ` for ${round}` : ''}`
    case 'Slashed':
      return `Slashed ${flt}${round ? ` in ${round}` : ''}`
    case 'Staked':
      return `Staked ${flt}`
    case 'UnstakeRequested':
      return `Requested unstake of ${flt}`
    case 'Withdrawn':
      return `Withdrew ${flt}`
    case 'Transfer':
      return `Transfer of ${flt}`
    default:
      return name
  }
}
