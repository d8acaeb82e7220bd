import { Wallet } from 'lucide-react'
import { useConnection } from 'wagmi'
import { cn } from '../../lib/cn'
import { useDeployment } from '../../lib/deployment'
import { shortHex } from '../../lib/numbers'
import { routeHref } from '../../lib/router'

export function ConnectionPill({ className }: { className?: string }) {
  const connection = useConnection()
  const { chain } = useDeployment()
  const wrongChain = connection.isConnected && connection.chainId !== chain.id
  return (
    <a
      href={routeHref('wallet')}
      className={cn(
        'inline-flex items-center gap-1.5 rounded-full border px-2.5 py-1 text-xs font-medium',
        !connection.isConnected
          ? 'border-accent/40 bg-accent/10 text-accent hover:bg-accent/20'
          : wrongChain
            ? 'border-warn/30 bg-warn/10 text-warn'
            : 'border-line-strong/60 bg-surface-3 text-fg hover:bg-surface-4',
        className,
      )}
    >
      <Wallet className="size-3.5" aria-hidden />
      {!connection.isConnected ? 'Connect wallet' : wrongChain ? 'Wrong network' : <span className="font-mono">{shortHex(connection.address)}</span>}
    </a>
  )
}
