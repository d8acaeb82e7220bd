import { ArrowLeftRight, TriangleAlert } from 'lucide-react'
import type { ReactNode } from 'react'
import type { BaseError } from 'viem'
import { useConnection, useSwitchChain } from 'wagmi'
import { useDeployment } from '../../lib/deployment'
import { Button } from '../ui/button'
import { InlineError } from '../ui/states'

/** Shows its children only on the deployment's chain; otherwise says so and offers to switch. */
export function NetworkGuard({ children }: { children: ReactNode }) {
  const connection = useConnection()
  const { chain } = useDeployment()
  const switchChain = useSwitchChain()
  if (!connection.isConnected || connection.chainId === chain.id) return <>{children}</>
  return (
    <div role="alert" className="glass space-y-3 rounded-2xl border-warn/40 p-5" data-testid="wrong-network">
      <p className="flex items-center gap-2 font-semibold text-warn">
        <TriangleAlert className="size-5" aria-hidden /> Wrong network
      </p>
      <p className="text-sm text-muted">
        Your wallet is on chain {connection.chainId ?? 'unknown'}; FedShield's contracts live on{' '}
        <span className="font-medium text-fg">
          {chain.name} (chain {chain.id})
        </span>
        . Switch to read and stake with this wallet.
      </p>
      <Button variant="primary" busy={switchChain.isPending} onClick={() => switchChain.mutate({ chainId: chain.id })}>
        <ArrowLeftRight aria-hidden /> Switch to {chain.name}
      </Button>
      {switchChain.isError && <InlineError>{(switchChain.error as BaseError).shortMessage ?? switchChain.error.message}</InlineError>}
    </div>
  )
}
