import {
  ContractFunctionExecutionError,
  ContractFunctionRevertedError,
  encodeErrorResult,
  UserRejectedRequestError,
} from 'viem'
import { describe, expect, it } from 'vitest'
import { stakingWithTokenErrorsAbi } from '../contracts'
import { describeTxError } from './tx-error'

const FLT = 10n ** 18n
const abi = stakingWithTokenErrorsAbi

function reverted(functionName: string, data: `0x${string}`) {
  const cause = new ContractFunctionRevertedError({ abi, data, functionName })
  return new ContractFunctionExecutionError(cause, { abi, functionName, args: [] })
}

describe('describeTxError', () => {
  it('decodes InsufficientStake with amounts in FLT', () => {
    const data = encodeErrorResult({ abi, errorName: 'InsufficientStake', args: [50n * FLT, 20n * FLT] })
    const text = describeTxError(reverted('requestUnstake', data))
    expect(text.errorName).toBe('InsufficientStake')
    expect(text.message).toBe('Insufficient stake: you asked to unstake 50 FLT but have 20 FLT staked.')
    expect(text.short).toContain('requestUnstake')
  })

  it('decodes CooldownActive with the time left', () => {
    const data = encodeErrorResult({ abi, errorName: 'CooldownActive', args: [1_000_000n + 7200n, 1_000_000n] })
    expect(describeTxError(reverted('withdraw', data)).message).toMatch(/in 2h 00m\)\.$/)
  })

  it('decodes argument-less errors and token errors raised inside stake', () => {
    const nothing = encodeErrorResult({ abi, errorName: 'NothingToWithdraw' })
    expect(describeTxError(reverted('withdraw', nothing)).message).toBe('Nothing to withdraw: request an unstake first.')
    const allowance = encodeErrorResult({
      abi,
      errorName: 'ERC20InsufficientAllowance',
      args: ['0x0000000000000000000000000000000000000001', 0n, 5n * FLT],
    })
    expect(describeTxError(reverted('stake', allowance)).message).toContain('needs 5 FLT')
  })

  it('recognises a rejection in the wallet', () => {
    const error = new UserRejectedRequestError(new Error('User denied'))
    expect(describeTxError(error).message).toBe('You rejected the request in your wallet.')
  })

  it('falls back to shortMessage, then to the message', () => {
    const undecodable = reverted('stake', '0xdeadbeef')
    expect(describeTxError(undecodable).message).toBe(undecodable.shortMessage)
    expect(describeTxError(new Error('boom')).message).toBe('boom')
  })
})
