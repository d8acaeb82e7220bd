/** The deployment (chain, addresses, ABIs) fetched once from the orchestrator, and the wagmi config built on it. */
import { useQuery } from '@tanstack/react-query'
import { createContext, type ReactNode, use, useMemo } from 'react'
import type { Chain } from 'viem'
import { WagmiProvider } from 'wagmi'
import { type Contracts, contractsFor, fedShieldStakingAbi, flTokenAbi, isDeploymentUsable, missingAbiItems } from '../contracts'
import { chainFor, createWagmiConfig, FALLBACK_CHAIN } from '../wagmi'
import { api, errorMessage } from './api'
import type { Deployment } from './types'

export interface DeploymentState {
  status: 'loading' | 'ready' | 'unavailable'
  deployment: Deployment | null
  contracts: Contracts | null
  chain: Chain
  error: string | null
  /** Functions or events the dashboard uses that the served ABI lacks. */
  abiWarnings: string[]
  retry: () => void
}

const DeploymentContext = createContext<DeploymentState | null>(null)

export function DeploymentProvider({ children, fallback }: { children: ReactNode; fallback: ReactNode }) {
  const query = useQuery({
    queryKey: ['deployment'],
    queryFn: ({ signal }) => api.deployment(signal),
    staleTime: Infinity,
    retry: 1,
  })
  const deployment = isDeploymentUsable(query.data) ? query.data : null
  const chainId = deployment?.chain_id
  const rpcUrl = deployment?.rpc_url
  const chain = useMemo(
    () => (chainId !== undefined && rpcUrl ? chainFor(chainId, rpcUrl) : FALLBACK_CHAIN),
    [chainId, rpcUrl],
  )
  const config = useMemo(() => createWagmiConfig(chain), [chain])
  const { isPending, error, data, refetch } = query
  const state = useMemo<DeploymentState>(() => {
    const abiWarnings = deployment
      ? [
          ...missingAbiItems(deployment.token.abi, flTokenAbi).map((s) => `FLToken: ${s}`),
          ...missingAbiItems(deployment.staking.abi, fedShieldStakingAbi).map((s) => `FedShieldStaking: ${s}`),
        ]
      : []
    return {
      status: isPending ? 'loading' : deployment ? 'ready' : 'unavailable',
      deployment,
      contracts: deployment ? contractsFor(deployment) : null,
      chain,
      error: error
        ? errorMessage(error)
        : data && !deployment
          ? 'The deployment file lacks contract addresses.'
          : null,
      abiWarnings,
      retry: () => void refetch(),
    }
  }, [deployment, chain, isPending, error, data, refetch])

  // Hold the first paint until the deployment is known, so wagmi starts on the right chain (a fraction of a
  // second); if the orchestrator is down the dashboard still opens, on the fallback chain, and says so.
  if (isPending) return <>{fallback}</>
  return (
    <DeploymentContext value={state}>
      {/* A new chain means a new config: remount wagmi rather than mutate a live one. */}
      <WagmiProvider key={chain.id + chain.rpcUrls.default.http[0]} config={config} reconnectOnMount>
        {children}
      </WagmiProvider>
    </DeploymentContext>
  )
}

export function useDeployment(): DeploymentState {
  const state = use(DeploymentContext)
  if (!state) throw new Error('useDeployment outside DeploymentProvider')
  return state
}
