import { useQueryClient } from '@tanstack/react-query'
import { Blocks } from 'lucide-react'
import { useEffect } from 'react'
import { useBlockNumber } from 'wagmi'
import { cn } from '../../lib/cn'
import { useDeployment } from '../../lib/deployment'

const CHAIN_READS = new Set(['readContract', 'readContracts', 'balance'])

/**
 * Watches the chain head; each new block marks every on-chain read stale, so balances and stakes follow
 * settlements block by block without each card polling on its own.
 */
export function ChainStatus({ className }: { className?: string }) {
  const { chain, status } = useDeployment()
  const queryClient = useQueryClient()
  const block = useBlockNumber({ watch: true, query: { enabled: status === 'ready' } })
  useEffect(() => {
    if (block.data === undefined) return
    void queryClient.invalidateQueries({ predicate: (q) => CHAIN_READS.has(String(q.queryKey[0])) })
  }, [block.data, queryClient])
  const down = status !== 'ready' || block.isError
  return (
    <span
      data-block={block.data?.toString()}
      className={cn(
        'inline-flex items-center gap-1.5 rounded-full border px-2.5 py-1 text-xs font-medium',
        down ? 'border-bad/30 bg-bad/10 text-bad' : 'border-line-strong/60 bg-surface-3 text-muted',
        className,
      )}
      title={chain.rpcUrls.default.http[0]}
    >
      <Blocks className="size-3.5" aria-hidden />
      <span className="hidden sm:inline">{chain.name}</span>
      <span className="tabular font-mono">
        {status !== 'ready' ? 'no deployment' : block.isError ? 'RPC unreachable' : block.data !== undefined ? `#${block.data}` : '…'}
      </span>
    </span>
  )
}
