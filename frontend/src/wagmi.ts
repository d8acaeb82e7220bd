/**
 * The one wagmi config. The chain and its RPC URL come from the deployment the orchestrator serves, so the
 * config is made once that is known (anvil at 31337 locally, Arbitrum Sepolia at 421614).
 */
import { type Chain, defineChain } from 'viem'
import { arbitrumSepolia, foundry } from 'viem/chains'
import { createConfig, http } from 'wagmi'
import { injected } from 'wagmi/connectors'

const KNOWN_CHAINS: Record<number, Chain> = { [foundry.id]: foundry, [arbitrumSepolia.id]: arbitrumSepolia }

/** The chain to read and transact on, with the deployment's RPC URL (what the wallet is asked to add, too). */
export function chainFor(chainId: number, rpcUrl: string): Chain {
  const known = KNOWN_CHAINS[chainId]
  const rpcUrls = { default: { http: [rpcUrl] } }
  if (known) return { ...known, rpcUrls }
  return defineChain({
    id: chainId,
    name: `Chain ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls,
  })
}

export const FALLBACK_CHAIN = chainFor(foundry.id, 'http://127.0.0.1:8545')

export function createWagmiConfig(chain: Chain) {
  return createConfig({
    chains: [chain],
    // One generic injected connector; EIP-6963 wallets (MetaMask, Rabby, …) are discovered and added by wagmi.
    connectors: [injected()],
    multiInjectedProviderDiscovery: true,
    transports: { [chain.id]: http(chain.rpcUrls.default.http[0], { batch: true }) },
    // anvil mines a block per transaction: a short poll keeps balances in step with settlements.
    pollingInterval: chain.id === foundry.id ? 1_000 : 4_000,
  })
}

export type WagmiConfig = ReturnType<typeof createWagmiConfig>
