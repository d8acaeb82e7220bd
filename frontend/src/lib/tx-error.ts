/** Turns a failed wallet or contract call into words: decoded custom errors first, viem's shortMessage always. */
import { BaseError, ContractFunctionRevertedError, UserRejectedRequestError } from 'viem'
import { formatFlt } from './flt'
import { formatDuration } from './numbers'

export interface TxErrorText {
  /** What went wrong, for a person: "Cooldown active: withdrawable in 2h 00m". */
  message: string
  /** viem's shortMessage (what the library reports), shown beneath in small print. */
  short: string
  errorName: string | null
}

function decodedRevert(error: unknown): ContractFunctionRevertedError | null {
  if (!(error instanceof BaseError)) return null
  const found = error.walk((e) => e instanceof ContractFunctionRevertedError)
  return found instanceof ContractFunctionRevertedError ? found : null
}

function rejectedByUser(error: unknown): boolean {
  if (!(error instanceof BaseError)) return false
  return Boolean(
    error.walk(
      (e) => e instanceof UserRejectedRequestError || (e as { code?: number } | null)?.code === 4001,
    ),
  )
}

export function describeTxError(error: unknown, nowSeconds = Math.floor(Date.now() / 1000)): TxErrorText {
  const short =
    error instanceof BaseError ? error.shortMessage : error instanceof Error ? error.message : String(error)
  if (rejectedByUser(error)) {
    return { message: 'You rejected the request in your wallet.', short, errorName: 'UserRejectedRequest' }
  }
  const revert = decodedRevert(error)
  const name = revert?.data?.errorName ?? null
  const args = (revert?.data?.args ?? []) as readonly unknown[]
  const big = (i: number) => (typeof args[i] === 'bigint' ? (args[i] as bigint) : 0n)
  let message: string
  switch (name) {
    case 'InsufficientStake':
      message = `Insufficient stake: you asked to unstake ${formatFlt(big(0))} but have ${formatFlt(big(1))} staked.`
      break
    case 'NothingToWithdraw':
      message = 'Nothing to withdraw: request an unstake first.'
      break
    case 'CooldownActive': {
      const unlockAt = Number(big(0))
      const wait = Math.max(0, unlockAt - Number(big(1) || BigInt(nowSeconds)))
      message = `Cooldown active: withdrawable at ${new Date(unlockAt * 1000).toLocaleString()} (in ${formatDuration(wait * 1000)}).`
      break
    }
    case 'ZeroAmount':
      message = 'The amount must be greater than zero.'
      break
    case 'ERC20InsufficientAllowance':
      message = `Allowance too low: the staking contract may spend ${formatFlt(big(1))}, it needs ${formatFlt(big(2))}. Approve first.`
      break
    case 'ERC20InsufficientBalance':
      message = `Insufficient FLT: you hold ${formatFlt(big(1))}, this needs ${formatFlt(big(2))}.`
      break
    case 'AccessControlUnauthorizedAccount':
      message = 'This wallet is not allowed to do that (missing role).'
      break
    default:
      message = name ? `The contract reverted with ${name}.` : short
  }
  return { message, short, errorName: name }
}
