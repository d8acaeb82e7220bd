import { describe, expect, it } from 'vitest'
import { describeWalletEvent, eventTone, formatEventArg, toBigInt } from './chain-format'

describe('formatEventArg', () => {
  it('shows wei amounts as FLT, whether number or string', () => {
    expect(formatEventArg('Slashed', 'amount', '15000000000000000000')).toEqual({ kind: 'flt', text: '15 FLT' })
    expect(formatEventArg('RewardPaid', 'amount', 1e18)).toEqual({ kind: 'flt', text: '1 FLT' })
  })

  it('keeps counts and ids as integers', () => {
    expect(formatEventArg('RoundSettled', 'rewardedCount', 8)).toEqual({ kind: 'plain', text: '8' })
    expect(formatEventArg('RoundSettled', 'roundId', 3)).toEqual({ kind: 'plain', text: '3' })
  })

  it('recognises addresses, hashes and times', () => {
    const address = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
    expect(formatEventArg('Slashed', 'node', address)).toMatchObject({ kind: 'address', value: address })
    expect(formatEventArg('RoundSettled', 'modelHash', `0x${'a'.repeat(64)}`).kind).toBe('hash')
    expect(formatEventArg('UnstakeRequested', 'unlockAt', 1_700_000_000).kind).toBe('time')
  })
})

describe('wallet history', () => {
  it('describes rewards and slashes in words', () => {
    const ours = new Map([[2, { experiment_id: 1, round: 7 }]])
    expect(describeWalletEvent('RewardPaid', { roundId: 2, amount: '10000000000000000000' }, ours)).toBe(
      'Rewarded 10 FLT for round 7 of experiment #1',
    )
    expect(describeWalletEvent('Slashed', { roundId: 3, amount: '15000000000000000000' }, ours)).toBe('Slashed 15 FLT in chain round 3')
    expect(describeWalletEvent('Mystery', {})).toBe('Mystery')
  })

  it('gives each event a tone', () => {
    expect(eventTone('Slashed')).toBe('bad')
    expect(eventTone('RewardPaid')).toBe('ok')
  })

  it('parses uint256 shapes', () => {
    expect(toBigInt('123')).toBe(123n)
    expect(toBigInt(1.5)).toBeNull()
    expect(toBigInt('0x1')).toBeNull()
  })
})
