/** The connected wallet's position in FedShield, read from the chain: balance, allowance, stake, pending. */
import type { Address } from 'viem'
import { useReadContracts } from 'wagmi'
import { useDeployment } from './deployment'

export function useWalletState(address: Address | undefined) {
  const { contracts } = useDeployment()
  const enabled = Boolean(contracts && address)
  const calls =
    contracts && address
      ? ([
          { ...contracts.token, functionName: 'balanceOf', args: [address] },
          { ...contracts.token, functionName: 'allowance', args: [address, contracts.staking.address] },
          { ...contracts.staking, functionName: 'stakeOf', args: [address] },
          { ...contracts.staking, functionName: 'pendingWithdrawalOf', args: [address] },
          { ...contracts.staking, functionName: 'isEligible', args: [address] },
          { ...contracts.staking, functionName: 'minStake' },
          { ...contracts.staking, functionName: 'cooldown' },
        ] as const)
      : undefined
  const read = useReadContracts({
    contracts: calls,
    allowFailure: false,
    query: { enabled, placeholderData: (previous) => previous },
  })
  const data = read.data
  return {
    ...read,
    enabled,
    state: data
      ? {
          balance: data[0],
          allowance: data[1],
          stake: data[2],
          pending: data[3][0],
          unlockAt: Number(data[3][1]),
          eligible: data[4],
          minStake: data[5],
          cooldown: Number(data[6]),
        }
      : null,
  }
}

export type WalletChainState = NonNullable<ReturnType<typeof useWalletState>['state']>
