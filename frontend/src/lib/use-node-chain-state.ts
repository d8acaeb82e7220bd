/** FLT balance and stake of many wallets, read straight from the chain in one batched query per block. */
import { useMemo } from 'react'
import type { Address } from 'viem'
import { useReadContracts } from 'wagmi'
import { useDeployment } from './deployment'

export interface ChainHoldings {
  balance: bigint | null
  stake: bigint | null
}

export function useChainHoldings(addresses: readonly Address[]) {
  const { contracts } = useDeployment()
  const calls = useMemo(
    () =>
      contracts
        ? addresses.flatMap((address) => [
            { ...contracts.token, functionName: 'balanceOf', args: [address] } as const,
            { ...contracts.staking, functionName: 'stakeOf', args: [address] } as const,
          ])
        : [],
    [contracts, addresses],
  )
  const read = useReadContracts({
    contracts: calls,
    allowFailure: true,
    query: { enabled: calls.length > 0, placeholderData: (previous) => previous },
  })
  const holdings = useMemo(() => {
    const out = new Map<string, ChainHoldings>()
    addresses.forEach((address, i) => {
      const balance = read.data?.[2 * i]
      const stake = read.data?.[2 * i + 1]
      out.set(address.toLowerCase(), {
        balance: balance?.status === 'success' ? (balance.result as bigint) : null,
        stake: stake?.status === 'success' ? (stake.result as bigint) : null,
      })
    })
    return out
  }, [addresses, read.data])
  return { holdings, isPending: read.isPending && calls.length > 0, error: read.error, enabled: calls.length > 0 }
}
